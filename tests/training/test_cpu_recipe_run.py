"""The ``cpu`` recipe end to end on the tiny tree: warm-up + cosine, HED-strong jitter, smoothing,
the threshold of the best balanced accuracy out of fold."""

import math

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from idckit.reporting import choose_threshold
from idckit.training import RECIPES, KFoldTrainer, Run
from idckit.training._fold import _load_checkpoint

pytestmark = pytest.mark.slow  # one 2-fold, 2-epoch run of a small idc_cnn (~10 s on 2 cores)
BATCH = 4  # enough steps (~50 per fold) for a warm-up of a few steps


@pytest.fixture(scope="module")
def run(tiny_dataset, tmp_path_factory):
    # the recipe as it is, smaller: a narrower CNN, fewer folds and epochs, smaller batches
    recipe = RECIPES["cpu"].replace(
        model_kwargs={"width": 4, "depth": 2}, n_splits=2, epochs=2, batch_size=BATCH, seed=3
    )
    out = tmp_path_factory.mktemp("cpu") / "run"
    trainer = KFoldTrainer.from_recipe(recipe, out_dir=out, verbose=0)
    return trainer, trainer.fit(tiny_dataset)


def test_the_threshold_is_youdens_out_of_fold(run):
    _, result = run
    assert result.threshold_objective == "youden"
    assert result.threshold == choose_threshold(result.oof.labels, result.oof.prob_idc, "youden")


def test_the_recipe_jitters_the_stains_as_tellez_hed_strong(run):
    trainer, _ = run
    assert trainer.config.augment.to_dict() == {
        "dihedral": True, "hed": 0.2, "hed_shift": 0.2, "brightness": 0.0, "contrast": 0.0,
        "saturation": 0.0,
    }  # fmt: skip


def test_each_fold_trained_with_the_warmup_cosine_schedule(run):
    _, result = run
    for fold in result.folds:
        model = _load_checkpoint(result.run_dir / f"fold_{fold.fold}" / "model.keras")
        total = 2 * math.ceil(fold.n_train / BATCH)
        schedule = model.optimizer._learning_rate
        config = schedule.get_config()
        assert config["warmup_steps"] == int(0.05 * total) >= 2
        assert config["decay_steps"] == total - int(0.05 * total)
        assert config["warmup_target"] == pytest.approx(2e-3)
        assert config["initial_learning_rate"] == pytest.approx(2e-4)
        assert float(schedule(total)) == pytest.approx(0.0, abs=1e-9)


def test_evaluate_and_predict_use_the_runs_threshold(run, tiny_dataset):
    trainer, result = run
    reloaded = Run.load(trainer.out_dir)
    cpu = RECIPES["cpu"].config
    threshold = result.threshold
    assert reloaded.threshold == threshold and reloaded.config.smoothing == cpu.smoothing
    assert reloaded.config.augment == cpu.augment
    assert reloaded.config.context == cpu.context == 1
    prob = reloaded.predictions(tiny_dataset).prob_idc
    np.testing.assert_allclose(prob, trainer.run_.predictions(tiny_dataset).prob_idc, atol=1e-9)
    report = reloaded.evaluate(tiny_dataset)
    decided = (prob >= threshold).astype(int)
    expected = confusion_matrix(tiny_dataset.labels, decided, labels=[0, 1])
    np.testing.assert_array_equal(report.confusion_matrix, expected)
    np.testing.assert_array_equal(reloaded.predict(tiny_dataset), decided)
