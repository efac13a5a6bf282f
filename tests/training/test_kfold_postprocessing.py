"""KFoldTrainer with test-time augmentation and spatial smoothing: one tiny 2-fold run."""

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from idckit.inference import SpatialSmoothing, smooth_probabilities
from idckit.reporting import choose_threshold
from idckit.training import KFoldTrainer, Predictions, Run, TrainingConfig, model_builder

SMOOTHING = SpatialSmoothing(alpha=0.5, radius=1)
pytestmark = pytest.mark.slow  # one shared 2-fold, 1-epoch run (~8 s on 2 cores)


@pytest.fixture(scope="module")
def run(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("post") / "run"
    config = TrainingConfig(
        n_splits=2, epochs=1, batch_size=16, seed=5, tta=True, smoothing=SMOOTHING
    )
    trainer = KFoldTrainer(model_builder("benchmark", filters=2), config, out_dir=out, verbose=0)
    return trainer, trainer.fit(tiny_dataset)


def _expected(models, dataset, symmetries, smooth=True):
    """Mean over models of the mean over the 8 transforms, then smoothed per patient."""
    images = dataset.images
    prob = np.mean(
        [np.mean([m.predict(v, verbose=0)[:, 1] for v in symmetries(images)], 0) for m in models],
        axis=0,
    )
    if not smooth:
        return prob
    return smooth_probabilities(prob, dataset.patients, dataset.x, dataset.y, alpha=0.5)


def test_config_records_tta_and_smoothing(run):
    config = json.loads((run[1].run_dir / "config.json").read_text())
    assert config["tta"] is True
    assert config["smoothing"] == {"alpha": 0.5, "radius": 1, "step": 50}


def test_fold_predictions_and_metrics_are_post_processed(run, tiny_dataset, square_symmetries):
    trainer, result = run
    for fold, model in zip(result.folds, trainer.run_.fold_models(), strict=True):
        val = tiny_dataset.subset(list(fold.val_patients))
        stored = Predictions.from_csv(result.run_dir / f"fold_{fold.fold}" / "val_predictions.csv")
        expected = _expected([model], val, square_symmetries)
        np.testing.assert_allclose(stored.prob_idc, expected, atol=1e-6)
        f1 = f1_score(val.labels, expected >= 0.5, zero_division=0)
        assert fold.metrics["f1_pos"] == pytest.approx(f1)


def test_threshold_is_chosen_on_post_processed_oof_predictions(run):
    _, result = run
    threshold = choose_threshold(result.oof.labels, result.oof.prob_idc, "f1")
    assert result.threshold == pytest.approx(threshold)


def test_predict_and_evaluate_use_tta_and_smooth_the_ensemble(
    run, tiny_dataset, square_symmetries
):
    fitted = run[0].run_
    expected = _expected(fitted.fold_models(), tiny_dataset, square_symmetries)
    np.testing.assert_allclose(fitted.predictions(tiny_dataset).prob_idc, expected, atol=1e-6)
    np.testing.assert_allclose(fitted.predict_proba(tiny_dataset), expected, atol=1e-6)
    raw = _expected(fitted.fold_models(), tiny_dataset, square_symmetries, smooth=False)
    assert np.abs(raw - expected).max() > 1e-3  # the synthetic patches do have neighbours
    report = fitted.evaluate(tiny_dataset)
    assert report.confusion_matrix.sum() == len(tiny_dataset)
    # smoothing never mixes patients: predicting some patients alone changes nothing
    some = tiny_dataset.subset(tiny_dataset.patient_ids[:3])
    rows = np.isin(tiny_dataset.patients, tiny_dataset.patient_ids[:3])
    np.testing.assert_allclose(fitted.predictions(some).prob_idc, expected[rows], atol=1e-6)


def test_images_get_the_unsmoothed_ensemble_with_a_warning(run, tiny_dataset, square_symmetries):
    fitted = run[0].run_
    rows = np.arange(0, len(tiny_dataset), 9)
    images = tiny_dataset.load_images(rows)
    raw = _expected(fitted.fold_models(), tiny_dataset.take(rows), square_symmetries, False)
    with pytest.warns(UserWarning, match=r"smooths P\(IDC\+\).*unsmoothed ensemble"):
        prob = fitted.predict_proba(images)
    np.testing.assert_allclose(prob, raw, atol=1e-6)
    with pytest.warns(UserWarning, match=r"unsmoothed"):
        np.testing.assert_array_equal(fitted.predict(images), raw >= fitted.threshold)


def test_run_load_restores_the_settings(run, tiny_dataset):
    trainer, result = run
    reloaded = Run.load(result.run_dir)
    assert reloaded.config.tta is True and reloaded.config.smoothing == SMOOTHING
    assert reloaded.config == trainer.config
    np.testing.assert_allclose(
        reloaded.predictions(tiny_dataset).prob_idc,
        trainer.run_.predictions(tiny_dataset).prob_idc,
        atol=1e-9,
    )


def test_resume_refuses_changed_post_processing(run, tiny_dataset):
    trainer, _ = run
    with pytest.raises(ValueError, match=r"tta: stored True, now False"):
        trainer.clone(resume=True, config=trainer.config.replace(tta=False)).fit(tiny_dataset)
    with pytest.raises(ValueError, match=r"smoothing\.alpha: stored 0\.5, now 0\.7"):
        changed = trainer.config.replace(smoothing=SpatialSmoothing())
        trainer.clone(resume=True, config=changed).fit(tiny_dataset)
