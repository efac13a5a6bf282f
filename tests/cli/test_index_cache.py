"""``idckit index`` and ``idckit cache`` on the hostile mini tree (and the real one)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from idckit.cli import main

_spec = importlib.util.spec_from_file_location(
    "idckit_test_hostile_tree", Path(__file__).parents[1] / "data" / "hostile_tree.py"
)
hostile_tree = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hostile_tree)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    return hostile_tree.build_hostile_tree(tmp_path_factory.mktemp("cli") / "data")


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IDCKIT_CACHE_DIR", str(tmp_path / "default-cache"))


def _json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def test_index_json_is_one_object_with_the_summary(hostile, capsys):
    code, data, _ = _json(capsys, ["index", str(hostile["root"]), "--json"])
    assert code == 0
    assert data["n_patches"] == hostile["n_patches"] + 1  # the corrupt file needs --verify
    assert data["n_patients"] == hostile["n_patients"]
    assert data["padded"] == len(hostile["padded"])
    assert data["duplicates"] == hostile["duplicates"]
    assert data["skipped"] == hostile["skipped_headers"]
    assert data["verified"] is False


def test_index_verify_decodes_and_finds_the_corrupt_file(hostile, capsys):
    code, data, _ = _json(capsys, ["index", str(hostile["root"]), "--json", "--verify"])
    assert code == 0
    assert data["n_patches"] == hostile["n_patches"]
    assert data["class_counts"] == {str(k): v for k, v in hostile["class_counts"].items()}
    assert data["skipped"] == hostile["skipped_decoded"]
    assert [hostile["corrupt"], "undecodable"] in [
        [str(Path(p).relative_to(hostile["root"])), r] for p, r in data["skipped_files"]
    ]


def test_index_text_summary(hostile, capsys):
    assert main(["index", str(hostile["root"])]) == 0
    out = capsys.readouterr().out
    assert f"{hostile['n_patches'] + 1} patches from 3 patients" in out
    assert "duplicates dropped: 5" in out


@pytest.mark.parametrize("verify", [[], ["--verify"]])
def test_index_strict_exits_1_with_one_line_naming_the_file(hostile, capsys, verify):
    code = main(["index", str(hostile["root"]), "--strict", *verify])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("idckit index: ") and "thumbnail.png: bad_name" in err


def test_index_strict_passes_on_a_clean_tree(hostile, tmp_path, capsys):
    clean = tmp_path / "clean" / "10001" / "0"
    clean.mkdir(parents=True)
    for rel in hostile["pixels"]:
        if rel.startswith("10001/0/"):
            (clean / Path(rel).name).write_bytes((hostile["root"] / rel).read_bytes())
    assert main(["index", str(tmp_path / "clean"), "--strict", "--verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_patches"] == 3


def test_index_of_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["index", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("idckit index: error: Invalid `root`") and err.count("\n") == 1


@pytest.mark.parametrize(("flags", "env"), [(["--debug"], None), ([], "1"), ([], "yes")])
def test_debug_shows_the_library_error_with_its_traceback(tmp_path, monkeypatch, flags, env):
    if env is not None:
        monkeypatch.setenv("IDCKIT_DEBUG", env)
    with pytest.raises(ValueError, match=r"Invalid `root` for scan_tree") as info:
        main([*flags, "index", str(tmp_path / "nope")])
    frames = [frame.name for frame in info.traceback]
    assert "check_root" in frames  # raised deep inside the library, not by the CLI


def test_idckit_debug_0_keeps_one_line_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IDCKIT_DEBUG", "0")
    assert main(["index", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cache_builds_then_reuses(hostile, tmp_path, capsys):
    argv = ["cache", str(hostile["root"]), "--cache-dir", str(tmp_path / "c"), "--json"]
    code, first, _ = _json(capsys, argv)
    assert code == 0 and first["reused"] is False
    assert first["patches"] == hostile["n_patches"]
    assert first["images_per_s"] > 0 and first["seconds"] > 0
    assert Path(first["cache"]).parent == tmp_path / "c"
    code, second, _ = _json(capsys, argv)
    assert second["reused"] is True and second["cache"] == first["cache"]
    assert main(["cache", str(hostile["root"]), "--cache-dir", str(tmp_path / "c")]) == 0
    assert capsys.readouterr().out.startswith(f"reused cache of {hostile['n_patches']} patches")


def test_data_commands_never_import_a_deep_learning_framework(hostile, tmp_path):
    code = (
        "import sys; from idckit.cli import main;"
        f"main(['index', {str(hostile['root'])!r}, '--json', '--verify']);"
        f"main(['cache', {str(hostile['root'])!r}, '--cache-dir', {str(tmp_path)!r}, '--json']);"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules];"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_python_dash_m_idckit_index(hostile):
    out = subprocess.run(
        [sys.executable, "-m", "idckit", "index", str(hostile["root"]), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["n_patients"] == 3


@pytest.mark.integration
def test_index_of_the_real_patches(real_data_root, capsys):
    code, data, _ = _json(capsys, ["index", str(real_data_root), "--json"])
    assert code == 0
    assert data["n_patches"] == 27_865
    assert data["n_patients"] == 111
    assert data["class_counts"] == {"0": 22_094, "1": 5_771}
    assert data["padded"] == 254
    assert data["duplicates"] == 0 and data["skipped"] == {}
