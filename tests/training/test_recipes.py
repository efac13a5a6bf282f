import json
import subprocess
import sys

import pytest

from idckit.training import RECIPES, Recipe, get_recipe, model_builder


def test_seed_recipe_reproduces_the_capstone():
    seed = RECIPES["seed"]
    assert (seed.model, seed.n_splits, seed.epochs, seed.batch_size) == ("vgg19", 7, 15, 50)
    assert dict(seed.model_kwargs) == {"weights": "imagenet", "freeze": 6}
    assert seed.optimizer["class_name"] == "SGD"
    assert dict(seed.optimizer["config"]) == {"learning_rate": 1e-4, "momentum": 0.2}
    assert seed.class_weight == "balanced"
    assert seed.tta is False and seed.smoothing is None  # the capstone had neither


def test_cpu_recipe_is_the_researched_recipe():
    cpu = RECIPES["cpu"]
    assert cpu.model == "idc_cnn"
    assert dict(cpu.model_kwargs) == {"width": 16, "depth": 4, "convs_per_block": 1,
                                      "dropout": 0.3}  # fmt: skip
    assert (cpu.n_splits, cpu.epochs, cpu.batch_size) == (3, 12, 128)
    assert cpu.context == 1
    assert cpu.optimizer["class_name"] == "AdamW"
    assert dict(cpu.optimizer["config"]) == {"learning_rate": 2e-3, "weight_decay": 1e-4}
    assert (cpu.lr_schedule, cpu.augment, cpu.class_weight) == ("warmup_cosine", True, "balanced")
    assert cpu.label_smoothing == 0.1
    assert cpu.tta is False and cpu.threshold_objective == 0.5
    assert (cpu.smoothing.alpha, cpu.smoothing.radius) == (0.7, 1)
    assert "\n" not in cpu.description and cpu.description


def test_cpu_recipe_builds_the_two_stream_context_cnn():
    from idckit.models import build_idc_cnn

    cpu = RECIPES["cpu"]
    model = model_builder(cpu.model, **cpu.builder_kwargs())()
    assert model.count_params() == 123_434 == build_idc_cnn(context=1).count_params()
    assert model.input_shape == (None, 150, 150, 3)
    assert build_idc_cnn().count_params() == 98_418  # the patch stream alone
    assert model.layers[-1].activation.__name__ == "softmax"


def test_recipes_are_frozen_data_and_serialise_to_json():
    seed = RECIPES["seed"]
    with pytest.raises(AttributeError):
        seed.epochs = 1
    with pytest.raises(TypeError):
        seed.model_kwargs["freeze"] = 0
    data = json.loads(json.dumps(seed.to_dict()))
    assert data["optimizer"]["config"]["momentum"] == 0.2
    assert Recipe(**{**data, "name": "copy"}).to_dict() == {**seed.to_dict(), "name": "copy"}
    cpu = RECIPES["cpu"]
    data = json.loads(json.dumps(cpu.to_dict()))
    assert data["threshold_objective"] == 0.5 and data["lr_schedule"] == "warmup_cosine"
    assert Recipe(**data) == cpu


def test_smoothing_settings_round_trip_through_json_and_reach_the_trainer():
    from idckit.inference import SpatialSmoothing
    from idckit.training import KFoldTrainer

    recipe = RECIPES["seed"].replace(tta=True, smoothing={"alpha": 0.5, "radius": 2})
    assert recipe.smoothing == SpatialSmoothing(alpha=0.5, radius=2)
    data = json.loads(json.dumps(recipe.to_dict()))
    assert data["tta"] is True and data["smoothing"] == {"alpha": 0.5, "radius": 2, "step": 50}
    assert Recipe(**data) == recipe
    kwargs = recipe.trainer_kwargs()
    assert kwargs["tta"] is True and kwargs["smoothing"] == recipe.smoothing
    trainer = KFoldTrainer.from_recipe(recipe)
    assert trainer.tta is True and trainer.smoothing == recipe.smoothing
    with pytest.raises(ValueError, match=r"Invalid `smoothing` for Recipe"):
        RECIPES["seed"].replace(smoothing="on")


def test_replace_overrides_and_keeps_the_rest():
    short = RECIPES["seed"].replace(epochs=2, n_splits=3)
    assert (short.epochs, short.n_splits, short.batch_size) == (2, 3, 50)


def test_unknown_recipe_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Invalid `recipe`.*'seed'.*Received: recipe='gpu'"):
        get_recipe("gpu")


def test_trainer_kwargs_map_the_recipe_onto_the_trainer():
    kwargs = RECIPES["seed"].trainer_kwargs()
    assert kwargs["n_splits"] == 7 and kwargs["batch_size"] == 50
    assert kwargs["build_model"].args == ("vgg19",)
    assert kwargs["build_model"].keywords == {"weights": "imagenet", "freeze": 6}
    assert kwargs["label_smoothing"] == 0.0
    smoothed = RECIPES["seed"].replace(label_smoothing=0.1)
    assert smoothed.trainer_kwargs()["label_smoothing"] == 0.1
    assert smoothed.to_dict()["label_smoothing"] == 0.1


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
        ({"lr_schedule": "step"}, r"Invalid `lr_schedule` for Recipe.*'warmup_cosine'"),
        ({"threshold_objective": 1.0}, r"Invalid `threshold_objective` for Recipe.*\(0, 1\)"),
        ({"threshold_objective": "fixed"}, r"Received: threshold_objective='fixed'"),
        ({"label_smoothing": 1.0}, r"Invalid `label_smoothing` for Recipe: .*\[0, 1\)"),
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
