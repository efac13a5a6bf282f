import json
import subprocess
import sys

import pytest

from idckit.data import Augmentation
from idckit.training import RECIPES, Recipe, TrainingConfig, get_recipe, model_builder


def test_seed_recipe_reproduces_the_capstone():
    seed, config = RECIPES["seed"], RECIPES["seed"].config
    assert (seed.model, config.n_splits, config.epochs, config.batch_size) == ("vgg19", 7, 15, 50)
    assert dict(seed.model_kwargs) == {"weights": "imagenet", "freeze": 6}
    assert config.optimizer["class_name"] == "SGD"
    assert dict(config.optimizer["config"]) == {"learning_rate": 1e-4, "momentum": 0.2}
    assert config.class_weight == "balanced"
    assert config.tta is False and config.smoothing is None  # the capstone had neither


def test_cpu_recipe_is_the_researched_recipe():
    cpu, config = RECIPES["cpu"], RECIPES["cpu"].config
    assert cpu.model == "idc_cnn"
    assert dict(cpu.model_kwargs) == {"width": 16, "depth": 4, "dropout": 0.3}
    assert (config.n_splits, config.epochs, config.batch_size) == (3, 12, 128)
    assert config.context == 1
    assert config.optimizer["class_name"] == "AdamW"
    assert dict(config.optimizer["config"]) == {"learning_rate": 2e-3, "weight_decay": 1e-4}
    assert (config.lr_schedule, config.class_weight) == ("warmup_cosine", "balanced")
    assert config.augment == Augmentation(hed=0.2, hed_shift=0.2)  # flips and HED-strong
    assert config.label_smoothing == 0.1
    assert config.tta is False and config.threshold_objective == "youden"
    assert (config.smoothing.alpha, config.smoothing.radius) == (0.7, 1)
    assert "\n" not in cpu.description and cpu.description


def test_cpu_recipe_builds_the_two_stream_context_cnn():
    from idckit.models import build_idc_cnn

    cpu = RECIPES["cpu"]
    model = cpu.build_model()
    assert model_builder(cpu.model, **cpu.builder_kwargs())().count_params() == 123_434
    assert model.count_params() == 123_434 == build_idc_cnn(context=1).count_params()
    assert model.input_shape == (None, 150, 150, 3)
    assert build_idc_cnn().count_params() == 98_418  # the patch stream alone
    assert model.layers[-1].activation.__name__ == "softmax"


def test_recipes_are_frozen_data_and_serialise_to_json():
    seed = RECIPES["seed"]
    with pytest.raises(AttributeError):
        seed.model = "vgg16"
    with pytest.raises(AttributeError):
        seed.config.epochs = 1
    with pytest.raises(TypeError):
        seed.model_kwargs["freeze"] = 0
    data = json.loads(json.dumps(seed.to_dict()))
    assert data["config"]["optimizer"]["config"]["momentum"] == 0.2
    copy = _from_dict({**data, "name": "copy"})
    assert copy.to_dict() == {**seed.to_dict(), "name": "copy"}
    cpu = RECIPES["cpu"]
    data = json.loads(json.dumps(cpu.to_dict()))
    assert data["config"]["threshold_objective"] == "youden"
    assert data["config"]["augment"]["hed_shift"] == 0.2
    assert data["config"]["lr_schedule"] == "warmup_cosine"
    assert _from_dict(data) == cpu


def _from_dict(data):
    return Recipe(**{**data, "config": TrainingConfig.from_dict(data["config"])})


def test_smoothing_settings_round_trip_through_json_and_reach_the_trainer():
    from idckit.inference import SpatialSmoothing
    from idckit.training import KFoldTrainer

    recipe = RECIPES["seed"].replace(tta=True, smoothing={"alpha": 0.5, "radius": 2})
    assert recipe.config.smoothing == SpatialSmoothing(alpha=0.5, radius=2)
    data = json.loads(json.dumps(recipe.to_dict()))["config"]
    assert data["tta"] is True and data["smoothing"] == {"alpha": 0.5, "radius": 2, "step": 50}
    assert TrainingConfig.from_dict(data) == recipe.config
    trainer = KFoldTrainer.from_recipe(recipe)
    assert trainer.config is recipe.config
    with pytest.raises(ValueError, match=r"Invalid `smoothing` for TrainingConfig"):
        RECIPES["seed"].replace(smoothing="on")


def test_replace_overrides_and_keeps_the_rest():
    short = RECIPES["seed"].replace(epochs=2, n_splits=3)
    assert (short.config.epochs, short.config.n_splits, short.config.batch_size) == (2, 3, 50)
    assert short.config == RECIPES["seed"].config.replace(epochs=2, n_splits=3)
    assert (short.name, short.model, short.model_kwargs) == (
        "seed", "vgg19", RECIPES["seed"].model_kwargs
    )  # fmt: skip


def test_unknown_recipe_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Invalid `recipe`.*'seed'.*Received: recipe='gpu'"):
        get_recipe("gpu")


def test_from_recipe_maps_the_recipe_onto_the_trainer():
    from idckit.training import KFoldTrainer

    trainer = KFoldTrainer.from_recipe(RECIPES["seed"], verbose=0)
    assert trainer.config.n_splits == 7 and trainer.config.batch_size == 50
    assert trainer.build_model.args == ("vgg19",)
    assert trainer.build_model.keywords == {"weights": "imagenet", "freeze": 6}
    assert trainer.config.label_smoothing == 0.0 and trainer.verbose == 0
    assert trainer.model_config == {
        "name": "vgg19",
        "kwargs": {"weights": "imagenet", "freeze": 6},
    }
    smoothed = RECIPES["seed"].replace(label_smoothing=0.1)
    assert KFoldTrainer.from_recipe(smoothed).config.label_smoothing == 0.1
    assert smoothed.to_dict()["config"]["label_smoothing"] == 0.1


def test_model_builder_builds_fresh_models_by_name():
    build = model_builder("benchmark", filters=4)
    first, second = build(), build()
    assert first is not second
    assert first.layers[-1].activation.__name__ == "softmax"
    transfer = model_builder("vgg16", weights=None, freeze=0)()
    assert transfer.count_params() > 1_000_000


def test_idc_cnn_is_exported_and_looked_up_when_built(monkeypatch):
    from idckit import models

    assert "build_idc_cnn" in models.__all__ and callable(models.build_idc_cnn)
    calls = []
    monkeypatch.setattr(models, "build_idc_cnn", lambda **kw: calls.append(kw) or "model")
    assert model_builder("idc_cnn", width=16)() == "model" and calls == [{"width": 16}]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"lr_schedule": "step"}, r"Invalid `lr_schedule` for TrainingConfig.*'warmup_cosine'"),
        (
            {"threshold_objective": 1.0},
            r"Invalid `threshold_objective` for TrainingConfig.*\(0, 1\)",
        ),
        ({"threshold_objective": "fixed"}, r"Received: threshold_objective='fixed'"),
        ({"label_smoothing": 1.0}, r"Invalid `label_smoothing` for TrainingConfig: .*\[0, 1\)"),
        ({"label_smoothing": -0.1}, r"Received: label_smoothing=-0.1"),
    ],
)
def test_recipes_validate_schedule_and_threshold(changes, match):
    with pytest.raises(ValueError, match=match):
        RECIPES["cpu"].replace(**changes)


def test_model_builder_rejects_a_non_name():
    with pytest.raises(ValueError, match="Invalid `name` for model_builder"):
        model_builder("")


def test_importing_recipes_does_not_import_keras():
    code = (
        "import sys; from idckit.training import RECIPES, get_recipe; get_recipe('cpu');"
        "print(any(m in sys.modules for m in ('keras', 'tensorflow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_replace_routes_recipe_fields_to_the_recipe_and_settings_to_its_config():
    cpu = RECIPES["cpu"]
    changed = cpu.replace(name="mine", model_kwargs={"width": 4}, description="d", epochs=3)
    assert (changed.name, dict(changed.model_kwargs), changed.description) == (
        "mine", {"width": 4}, "d"
    )  # fmt: skip
    assert changed.config == cpu.config.replace(epochs=3)
    config = TrainingConfig(n_splits=2, epochs=1)
    assert cpu.replace(model="idc_cnn", config=config).config == config
    # a config passed whole, and settings over it
    assert cpu.replace(config=config, seed=4).config == config.replace(seed=4)
    assert cpu.replace(model="benchmark", model_kwargs={}, context=0).model == "benchmark"
    assert cpu.replace() == cpu


def test_replace_refuses_a_name_that_is_neither_a_recipe_field_nor_a_setting():
    with pytest.raises(ValueError, match=r"Invalid `learning_rat` for TrainingConfig: expected "
                       r"one of its settings \(n_splits, .*stain_normalization, "
                       r"learning_rate\)"):  # fmt: skip
        RECIPES["cpu"].replace(learning_rat=0.1)


def test_replace_routes_model_arguments_and_the_learning_rate():
    cpu = RECIPES["cpu"]
    changed = cpu.replace(model__dropout=0.2, model__width=8, learning_rate=4e-3, epochs=2)
    assert dict(changed.model_kwargs) == {**cpu.model_kwargs, "dropout": 0.2, "width": 8}
    assert changed.config == cpu.config.replace(epochs=2, learning_rate=4e-3)
    assert changed.config.optimizer["config"]["weight_decay"] == 1e-4  # the rest is kept
    fresh = cpu.replace(model="benchmark", model_kwargs={}, model__filters=2, context=0)
    assert dict(fresh.model_kwargs) == {"filters": 2}  # merged into the new kwargs
    assert dict(cpu.model_kwargs) == {"width": 16, "depth": 4, "dropout": 0.3}  # untouched


def test_context_needs_the_idc_cnn():
    with pytest.raises(ValueError, match=r"Invalid `context` for Recipe: expected 0 unless "
                       r"model='idc_cnn'.*Received: context=1"):  # fmt: skip
        RECIPES["cpu"].replace(model="benchmark")
    plain = RECIPES["cpu"].replace(model="benchmark", context=0)
    assert plain.config.context == 0 and "context" not in plain.builder_kwargs()
    with pytest.raises(ValueError, match=r"Invalid `config` for Recipe: expected a TrainingConf"):
        Recipe(name="x", model="benchmark", config={"epochs": 1})


def test_build_model_is_a_builder_of_fresh_models_with_the_context():
    cpu = RECIPES["cpu"].replace(model_kwargs={"width": 2, "depth": 2})
    build = cpu.build_model
    first, second = build(), build()
    assert first is not second and first.input_shape == (None, 150, 150, 3)
    assert build.keywords == {"width": 2, "depth": 2, "context": 1}
    assert cpu.model_config() == {"name": "idc_cnn", "kwargs": build.keywords}
    assert RECIPES["seed"].build_model.keywords == {"weights": "imagenet", "freeze": 6}
