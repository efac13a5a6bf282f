import json
import os

import pytest

from idckit.training._atomic import (
    atomic_save,
    atomic_write_csv,
    atomic_write_json,
    atomic_write_text,
    read_json,
)


def test_json_round_trip_and_no_temporary_left(tmp_path):
    path = atomic_write_json(tmp_path / "sub" / "a.json", {"x": [1, 2.5]})
    assert read_json(path) == {"x": [1, 2.5]}
    assert os.listdir(path.parent) == ["a.json"]


def test_a_failing_writer_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = atomic_write_text(tmp_path / "a.txt", "old")

    def half_write(temp):
        temp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError, match="killed mid-write"):
        atomic_save(path, half_write)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_temporary_keeps_the_suffix_keras_insists_on(tmp_path):
    seen = []
    atomic_save(tmp_path / "m.weights.h5", lambda p: (seen.append(p.name), p.write_bytes(b"x")))
    assert seen[0].endswith(".weights.h5") and seen[0] != "m.weights.h5"


def test_csv_has_header_and_rows(tmp_path):
    path = atomic_write_csv(tmp_path / "h.csv", ["epoch", "loss"], [[1, 0.5], [2, 0.25]])
    assert path.read_text().splitlines() == ["epoch,loss", "1,0.5", "2,0.25"]


def test_json_replaces_content_whole(tmp_path):
    path = tmp_path / "c.json"
    atomic_write_json(path, {"a": "x" * 1000})
    atomic_write_json(path, {"b": 1})
    assert json.loads(path.read_text()) == {"b": 1}
