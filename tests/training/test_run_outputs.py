"""The run-level files from fold predictions: OOF, threshold, summary, report.json last."""

import json

import numpy as np
import pytest
from sklearn.metrics import recall_score

from idckit.reporting import choose_threshold
from idckit.training import FoldResult, Predictions
from idckit.training._outputs import finish_run, load_result
from idckit.training._run_dir import RunDir


def _fold_files(run, rng):
    folds = []
    for k, patients in enumerate((["a", "b"], ["c", "d"]), start=1):
        n = 40
        labels = rng.integers(0, 2, n)
        prob = np.clip(labels * 0.35 + rng.random(n) * 0.65, 0, 1)
        preds = Predictions([f"{k}_{i}.png" for i in range(n)], list(np.repeat(patients, n // 2)),
                            np.arange(n), np.arange(n), labels, prob)  # fmt: skip
        run.fold_dir(k).mkdir(parents=True)
        preds.to_csv(run.fold_dir(k) / "val_predictions.csv")
        metrics = {"f1_pos": 0.5 + k / 10, "balanced_accuracy": 0.7}
        folds.append(FoldResult(k, metrics, 1, 1, ("x",), tuple(patients), 10, n, 0.5))
    return tuple(folds)


@pytest.mark.parametrize(("objective", "min_recall"), [("f1", 0.9), ("min_recall", 0.8)])
def test_threshold_is_chosen_on_the_joined_out_of_fold_predictions(
    tmp_path, objective, min_recall
):
    run = RunDir(tmp_path)
    folds = _fold_files(run, np.random.default_rng(0))
    said = []
    result = finish_run(run, folds, objective, min_recall, said.append)
    oof = Predictions.from_csv(run.oof_path)
    assert len(oof) == 80 and sorted(set(oof.patients)) == ["a", "b", "c", "d"]
    assert result.threshold == choose_threshold(oof.labels, oof.prob_idc, objective,
                                                min_recall=min_recall)  # fmt: skip
    if objective == "min_recall":
        assert recall_score(oof.labels, oof.prob_idc >= result.threshold) >= 0.8
    report = json.loads(run.report_path.read_text())
    assert report["threshold_objective"] == objective and report["n_patients"] == 4
    assert report["summary"]["f1_pos"]["mean"] == pytest.approx(0.65)
    assert json.loads(run.summary_json_path.read_text()) == result.summary()
    summary = "run done: validation F1(+) 0.6500 +- 0.0500 over 2 folds (print the result for"
    assert said == [
        f"{summary} the table); {result.threshold_line()}",
        result.operating_points_line(),
    ]
    assert report["min_recall"] == min_recall
    assert report["operating_points"] == result.operating_points()


def test_load_result_reads_back_what_finish_run_wrote(tmp_path):
    run = RunDir(tmp_path)
    result = finish_run(run, _fold_files(run, np.random.default_rng(1)), "youden", 0.9, print)
    loaded = load_result(run)
    assert loaded.folds == result.folds and loaded.threshold == result.threshold
    assert loaded.min_recall == 0.9 and loaded.operating_points() == result.operating_points()
    np.testing.assert_array_equal(loaded.oof.prob_idc, result.oof.prob_idc)
