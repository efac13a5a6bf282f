"""``idckit heatmap`` on one patient's folder or a tree, and ``idckit evaluate --per-patient``."""

import contextlib
import csv
import io
import json
import re

import numpy as np
import pytest
from matplotlib.image import imread

from idckit.cli._main import main
from idckit.datasets import make_synthetic

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished two-fold, one-epoch run, and a held-out tree of three patients."""
    base = tmp_path_factory.mktemp("heatmap-cli")
    data = make_synthetic(base / "data", n_patients=6, patches_per_patient=20, seed=1)
    held_out = make_synthetic(base / "test", n_patients=3, patches_per_patient=30, seed=2)
    argv = ["train", str(data), "--out", str(base / "run"), "--model", "benchmark", "--folds",
            "2", "--epochs", "1", "--batch-size", "16", "--seed", "0"]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    return base / "run", held_out


def _patients(root):
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def _run(capsys, argv):
    capsys.readouterr()
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_heatmap_of_one_patients_folder_and_of_a_tree_agree(tiny_run, tmp_path, capsys):
    run_dir, tree = tiny_run
    patient = max(_patients(tree), key=lambda p: len(list((tree / p / "1").glob("*.png"))))
    n_patches = len(list((tree / patient).glob("*/*.png")))
    one = tmp_path / "one.png"
    status, out_one, err = _run(
        capsys, ["heatmap", str(run_dir), str(tree / patient), "--out", str(one)]
    )
    assert status == 0, err
    assert out_one.startswith(f"wrote {one}: patient {patient}, {n_patches} patches, ")
    assert "(the run's)" in out_one and "patch F1(+)" in out_one
    image = imread(one)
    assert image.ndim == 3 and min(image.shape[:2]) > 100
    nested = tmp_path / "figures" / "tree.png"  # a missing parent folder is made
    status, out_tree, err = _run(
        capsys, ["heatmap", str(run_dir), str(tree), "--patient", patient, "--out", str(nested)]
    )
    assert status == 0, err
    assert nested.is_file()
    # the same patches, the same predictions: the same agreement line
    assert out_tree.splitlines()[1:] == out_one.splitlines()[1:]


def test_heatmap_threshold_is_the_given_one(tiny_run, tmp_path, capsys):
    run_dir, tree = tiny_run
    patient = _patients(tree)[0]
    out_png = tmp_path / "t.png"
    argv = ["heatmap", str(run_dir), str(tree / patient), "--out", str(out_png),
            "--threshold", "0.25"]  # fmt: skip
    status, out, err = _run(capsys, argv)
    assert status == 0, err
    assert "at threshold 0.2500 (given)" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--patient", "123456789"], "unknown patient '123456789': DATA_DIR holds 3 patients"),
        ([], "DATA_DIR holds 3 patients: name one with --patient ID"),
        (["--threshold", "1.5"], r"--threshold must lie in \(0, 1\]"),
        (["--alpha", "-1"], r"--alpha must lie in \[0, 1\]"),
    ],
)
def test_heatmap_errors_are_one_line(tiny_run, tmp_path, capsys, extra, message):
    run_dir, tree = tiny_run
    out_png = tmp_path / "x.png"
    status, _, err = _run(capsys, ["heatmap", str(run_dir), str(tree), "--out", str(out_png),
                                   *extra])  # fmt: skip
    assert status == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("idckit heatmap: error: ")
    assert re.search(message, err), err
    assert not out_png.exists()


def test_evaluate_per_patient_writes_one_row_per_patient(tiny_run, tmp_path, capsys):
    from idckit.data import IDCPatchDataset
    from idckit.reporting import region_agreement
    from idckit.training import Run

    run_dir, tree = tiny_run
    table = tmp_path / "tables" / "per_patient.csv"
    status, out, err = _run(capsys, ["evaluate", str(run_dir), str(tree), "--per-patient",
                                     str(table)])  # fmt: skip
    assert status == 0, err
    assert "Dice per patient at threshold" in out and "quartiles" in out
    with table.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["patient"] for row in rows] == _patients(tree)
    assert sum(int(row["n_patches"]) for row in rows) == len(list(tree.glob("*/*/*.png")))
    run = Run.load(run_dir)
    dataset = IDCPatchDataset.from_directory(tree, progress=False)
    expected = region_agreement(dataset.patients, dataset.x, dataset.y, dataset.labels,
                                run.predict_proba(dataset), threshold=run.threshold)  # fmt: skip
    for row, want in zip(rows, expected.to_rows(), strict=True):
        for name in ("dice", "iou", "f1_pos", "predicted_fraction"):
            assert np.isclose(float(row[name]), want[name], equal_nan=True), name
    status, out, err = _run(capsys, ["evaluate", str(run_dir), str(tree), "--json",
                                     "--per-patient", str(table)])  # fmt: skip
    assert status == 0, err
    summary = json.loads(out)
    assert summary["per_patient"]["n_patients"] == 3
    assert set(summary["per_patient"]) >= {"dice_median", "dice_q1", "dice_q3", "iou_median"}
