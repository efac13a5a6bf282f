import csv
import json

import pytest

from idckit.cli._main import main


@pytest.mark.slow
def test_demo_runs_end_to_end_and_a_rerun_reuses_its_work(tmp_path, capsys):
    argv = ["demo", "--out", str(tmp_path), "--folds", "2", "--epochs", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "synthetic data: wrote" in out and "held out" in out
    assert "fold 2/2 epoch 1/1" in out and "held-out patients, fold ensemble at threshold" in out
    for path in ("run/report.json", "run/fold_1/learning_curves.png", "run/fold_2/model.keras",
                 "evaluation/report.txt", "evaluation/confusion_matrix.png"):  # fmt: skip
        assert (tmp_path / path).is_file(), path
    assert str(tmp_path / "evaluation") in out
    folds = json.loads((tmp_path / "run" / "splits.json").read_text())["folds"]
    cross_validated = {p for fold in folds for p in fold["val_patients"]}
    with open(tmp_path / "evaluation" / "predictions.csv", newline="") as handle:
        held_out = {row["patient"] for row in csv.DictReader(handle)}
    assert held_out and cross_validated and not held_out & cross_validated

    assert main(argv) == 0
    again = capsys.readouterr().out
    assert "synthetic data: reusing" in again and "resuming the run" in again
    assert "epoch 1/1" not in again  # nothing retrained


def test_demo_rejects_bad_counts_in_one_line(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--folds", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "Invalid `n_splits` for TrainingConfig: expected an integer >= 2" in err
    assert not (tmp_path / "data").exists()  # refused before any work
