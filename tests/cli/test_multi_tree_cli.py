"""``idckit train A B``, ``evaluate``/``predict RUN A B``: several data trees as one data set."""

import contextlib
import csv
import io
import json

import pytest

from idckit.cli._main import build_parser, main
from idckit.datasets import make_synthetic


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("multi-cli")
    a = make_synthetic(base / "a", n_patients=4, patches_per_patient=20, seed=1)
    b = make_synthetic(base / "b", n_patients=3, patches_per_patient=20, seed=2)
    return base, a, b


def _patients(root):
    return {p.parent.parent.name for p in root.glob("*/*/*.png")}


def _n_patches(root):
    return len(list(root.glob("*/*/*.png")))


def test_data_commands_take_one_or_more_trees():
    parser = build_parser()
    assert parser.parse_args(["train", "a", "b", "--out", "r"]).data_dir == ["a", "b"]
    args = parser.parse_args(["train", "a", "--out", "r", "--test-data", "t", "u"])
    assert args.test_data == ["t", "u"]
    for command in ("evaluate", "predict", "explain"):
        extra = [] if command == "evaluate" else ["--out", "o"]
        args = parser.parse_args([command, "run", "a", "b", *extra])
        assert (args.run_dir, args.data_dir) == ("run", ["a", "b"])


def _one_line_error(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("idckit train: error: ")
    return err


def test_a_patient_in_two_trees_is_a_one_line_error(trees, tmp_path, capsys):
    base, a, _ = trees
    twin = make_synthetic(tmp_path / "twin", n_patients=4, patches_per_patient=20, seed=1)
    argv = ["train", str(a), str(twin), "--out", str(tmp_path / "run"), "--cache-dir",
            str(base / "cache")]  # fmt: skip
    err = _one_line_error(capsys, argv)
    assert "Invalid `root` for IDCPatchDataset.from_directory" in err
    assert f"are in both '{a}' and '{twin}'" in err and "rename them" in err
    assert not (tmp_path / "run").exists()


def test_the_same_tree_twice_and_a_missing_tree_are_one_line_errors(trees, tmp_path, capsys):
    base, a, _ = trees
    common = ["--out", str(tmp_path / "run"), "--cache-dir", str(base / "cache")]
    err = _one_line_error(capsys, ["train", str(a), f"{a}/", *common])
    assert "are the same folder: pass each tree once" in err
    err = _one_line_error(capsys, ["train", str(a), str(tmp_path / "nope"), *common])
    assert "no such data directory" in err and "nope" in err


@pytest.mark.slow
def test_train_on_two_trees_then_evaluate_and_predict_on_two(trees, capsys):
    base, a, b = trees
    run, cache = base / "run", str(base / "cache")
    argv = ["train", str(a), str(b), "--out", str(run), "--model", "benchmark", "--folds", "2",
            "--epochs", "1", "--batch-size", "16", "--seed", "4",
            "--cache-dir", cache]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    dataset = json.loads((run / "config.json").read_text())["dataset"]
    assert dataset["n_patients"] == len(_patients(a)) + len(_patients(b)) == 7
    assert dataset["n_patches"] == _n_patches(a) + _n_patches(b)
    folds = json.loads((run / "splits.json").read_text())
    assert set(json.dumps(folds).split('"')) >= _patients(a) | _patients(b)

    capsys.readouterr()
    assert main(["evaluate", str(run), str(a), str(b), "--json", "--cache-dir", cache]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n_patients"], summary["n_patches"]) == (7, dataset["n_patches"])

    target = base / "preds.csv"
    assert main(["predict", str(run), str(b), str(a), "--out", str(target), "--cache-dir",
                 cache]) == 0  # fmt: skip
    with open(target, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == dataset["n_patches"]
    assert all(r["path"].startswith(str(b) + "/") for r in rows[: _n_patches(b)])
    assert all(r["path"].startswith(str(a) + "/") for r in rows[_n_patches(b) :])
    assert "(7 patients)" in capsys.readouterr().out
