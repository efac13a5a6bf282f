"""KFoldTrainer with neighbourhood context: one tiny 2-fold run of a two-stream idc_cnn."""

import json

import numpy as np
import pytest

from idckit.training import RECIPES, KFoldTrainer, Recipe, Run, TrainingConfig, model_builder

pytestmark = pytest.mark.slow  # one shared 2-fold, 1-epoch run


@pytest.fixture(scope="module")
def run(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("context") / "run"
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=16, seed=3, context=1)
    trainer = KFoldTrainer(
        model_builder("idc_cnn", width=2, depth=2, context=1), config, out_dir=out,
        verbose=0,
    )  # fmt: skip
    return trainer, trainer.fit(tiny_dataset)


def test_config_records_the_context_and_a_reloaded_run_keeps_it(run):
    trainer, result = run
    assert json.loads((result.run_dir / "config.json").read_text())["context"] == 1
    assert Run.load(result.run_dir).config.context == 1
    assert trainer.run_.fold_models()[0].input_shape == (None, 150, 150, 3)


def test_predictions_are_the_models_on_the_mosaics(run, tiny_dataset):
    trainer, result = run
    mosaics = tiny_dataset.load_images(np.arange(len(tiny_dataset)), context=1)
    models = trainer.run_.fold_models()
    expected = np.mean([m.predict(mosaics, verbose=0)[:, 1] for m in models], 0)
    np.testing.assert_allclose(
        trainer.run_.predictions(tiny_dataset).prob_idc, expected, atol=1e-6
    )
    reloaded = Run.load(result.run_dir)
    np.testing.assert_allclose(reloaded.predictions(tiny_dataset).prob_idc, expected, atol=1e-6)
    np.testing.assert_allclose(reloaded.predict_proba(mosaics), expected, atol=1e-6)
    assert np.isfinite(result.oof.prob_idc).all() and len(result.oof.prob_idc) == len(tiny_dataset)


def test_a_context_run_refuses_arrays_that_are_not_its_mosaics(run, tiny_dataset):
    patches = tiny_dataset.load_images([0, 1])
    with pytest.raises(ValueError, match=r"150x150 mosaics.*context=1.*load_images\(rows, cont"):
        run[0].run_.predict_proba(patches)
    with pytest.raises(ValueError, match=r"150x150 mosaics"):
        run[0].run_.predict(patches)


def test_a_model_that_does_not_take_mosaics_is_refused(tiny_dataset, tmp_path):
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=16, context=1)
    trainer = KFoldTrainer(
        model_builder("idc_cnn", width=2), config, out_dir=tmp_path / "run", verbose=0
    )
    with pytest.raises(ValueError, match=r"150x150 mosaic.*build_idc_cnn\(context=1\)"):
        trainer.fit(tiny_dataset)


def test_context_is_validated():
    with pytest.raises(ValueError, match="Invalid `context` for TrainingConfig"):
        TrainingConfig(context=5)
    with pytest.raises(ValueError, match="model='idc_cnn'"):
        Recipe(name="x", model="benchmark", config=TrainingConfig(context=1))
    with pytest.raises(ValueError, match=r"Invalid `context` for Recipe.*model='idc_cnn'"):
        RECIPES["seed"].replace(context=1)
    assert RECIPES["seed"].replace(model="idc_cnn", context=1).config.context == 1


def test_recipe_context_reaches_the_builder_and_the_trainer():
    recipe = RECIPES["cpu"].replace(context=2)
    assert recipe.builder_kwargs()["context"] == 2
    trainer = KFoldTrainer.from_recipe(recipe)
    assert trainer.config.context == 2
    assert trainer.build_model.keywords["context"] == 2
    assert trainer.model_config["kwargs"]["context"] == 2
    assert "context" not in RECIPES["seed"].builder_kwargs()


def test_input_check_names_the_shapes_and_skips_what_it_cannot_read():
    from types import SimpleNamespace

    from idckit.training._fold import check_input_matches

    check_input_matches(SimpleNamespace(input_shape=(None, 50, 50, 3)), (50, 50, 3), 0)
    check_input_matches(SimpleNamespace(input_shape=(None, None, None, 3)), (150, 150, 3), 1)
    check_input_matches(SimpleNamespace(input_shape=[(None, 50), (None, 3)]), (50, 50, 3), 0)
    check_input_matches(SimpleNamespace(), (50, 50, 3), 0)
    with pytest.raises(ValueError, match=r"\(50, 50, 3\) images.*set `context`"):
        check_input_matches(SimpleNamespace(input_shape=(None, 150, 150, 3)), (50, 50, 3), 0)
