"""A fixed decision threshold (``threshold_objective=0.5``): stored, reloaded, not re-chosen."""

import json
import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from idckit.training import (
    FoldResult,
    KFoldTrainer,
    Predictions,
    Run,
    TrainingConfig,
    model_builder,
)
from idckit.training._outputs import finish_run, load_result
from idckit.training._run_dir import RunDir


def _fold_files(run, rng):
    folds = []
    for k, patients in enumerate((["a", "b"], ["c", "d"]), start=1):
        labels = rng.integers(0, 2, 30)
        prob = np.clip(labels * 0.3 + rng.random(30) * 0.7, 0, 1)
        preds = Predictions([f"{k}_{i}.png" for i in range(30)], list(np.repeat(patients, 15)),
                            np.arange(30), np.arange(30), labels, prob)  # fmt: skip
        run.fold_dir(k).mkdir(parents=True)
        preds.to_csv(run.fold_dir(k) / "val_predictions.csv")
        folds.append(FoldResult(k, {"f1_pos": 0.5}, 1, 1, ("x",), tuple(patients), 10, 30, 0.1))
    return tuple(folds)


@pytest.mark.parametrize("fixed", [0.5, 0.3])
def test_a_fixed_threshold_is_the_runs_threshold_and_scores_the_oof(tmp_path, fixed):
    run = RunDir(tmp_path)
    said = []
    result = finish_run(run, _fold_files(run, np.random.default_rng(2)), fixed, 0.9, said.append)
    assert result.threshold == fixed and result.threshold_objective == fixed
    oof = Predictions.from_csv(run.oof_path)
    expected = f1_score(oof.labels, oof.prob_idc >= fixed)
    assert result.oof_metrics["f1_pos"] == pytest.approx(expected)
    report = json.loads(run.report_path.read_text())
    assert report["threshold"] == fixed and report["threshold_objective"] == fixed
    assert f"threshold {fixed:.4f} (fixed, not chosen" in said[0]
    loaded = load_result(run)
    assert loaded.threshold == fixed and loaded.threshold_objective == fixed


def test_run_load_keeps_the_fixed_threshold(tmp_path, tiny_dataset):
    config = TrainingConfig(threshold_objective=0.5)
    trainer = KFoldTrainer(model_builder("benchmark"), config, out_dir=tmp_path)
    run = RunDir(tmp_path)
    run.write_config(trainer.run_config(tiny_dataset))
    finish_run(run, _fold_files(run, np.random.default_rng(3)), 0.5, 0.9, lambda line: None)
    reloaded = Run.load(tmp_path)
    assert reloaded.threshold == 0.5 and reloaded.config.threshold_objective == 0.5


def test_the_fixed_threshold_is_recorded_and_a_resume_with_another_is_refused(
    tmp_path, tiny_dataset
):
    config = TrainingConfig(threshold_objective=0.5)
    trainer = KFoldTrainer(model_builder("benchmark"), config, out_dir=tmp_path)
    stored = trainer.run_config(tiny_dataset)
    assert stored["threshold_objective"] == 0.5
    run = RunDir(tmp_path)
    run.write_config(stored)
    run.write_splits([(("a",), ("b",)), (("b",), ("a",))])
    run.fold_dir(1).mkdir()
    (run.fold_dir(1) / "state.json").write_text("{}")  # an epoch finished: a run to resume
    for objective, match in ((0.6, r"stored 0\.5, now 0\.6"), ("f1", r"stored 0\.5, now 'f1'")):
        changed = trainer.clone(resume=True, config=config.replace(threshold_objective=objective))
        with pytest.raises(ValueError, match=r"threshold_objective: " + match):
            changed.fit(tiny_dataset)


@pytest.mark.parametrize(
    "value", [0, 1, 1.5, -0.1, math.nan, True, "0.5", "fixed", None, np.float64(1.0)]
)
def test_bad_threshold_objectives_are_refused(value):
    with pytest.raises(ValueError, match=r"Invalid `threshold_objective` for TrainingConfig: "
                       r"expected one of 'f1', 'youden', 'min_recall', or a fixed threshold "
                       r"in \(0, 1\)"):  # fmt: skip
        TrainingConfig(threshold_objective=value)


def test_numpy_thresholds_become_plain_floats():
    config = TrainingConfig(threshold_objective=np.float32(0.25))
    assert config.threshold_objective == 0.25 and type(config.threshold_objective) is float
