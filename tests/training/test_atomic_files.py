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


def test_a_writer_that_fails_after_making_a_folder_leaves_no_temporary(tmp_path):
    def export(temp):
        (temp / "variables").mkdir(parents=True)  # as SavedModel-style writers do
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_save(tmp_path / "m.keras", export)
    assert os.listdir(tmp_path) == []


def test_two_writers_of_one_pid_use_distinct_temporaries(tmp_path):
    seen = []
    for _ in range(2):
        atomic_save(tmp_path / "s.json", lambda p: (seen.append(p.name), p.write_text("{}")))
    assert len(set(seen)) == 2 and all(n.startswith(f".tmp-{os.getpid()}-") for n in seen)


def test_stale_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    import subprocess
    import sys

    from idckit.training._atomic import remove_stale_temporaries

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f".tmp-{dead.pid}-00ff00ff-summary.json").write_text("{")
    (tmp_path / f".tmp-{os.getppid()}-00ff00ff-oof.csv").write_text("")
    (tmp_path / ".tmp-junk").write_text("")  # no pid: nobody can be writing it
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted(
        [f".tmp-{dead.pid}-00ff00ff-summary.json", ".tmp-junk"]
    )
    assert os.listdir(tmp_path) == [f".tmp-{os.getppid()}-00ff00ff-oof.csv"]


def test_read_json_names_the_file_of_bad_content(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff{")
    with pytest.raises(ValueError, match=r"Invalid JSON file '.*x\.json'"):
        read_json(path)
