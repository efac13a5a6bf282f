"""KFoldTrainer's and Run's argument checks and errors that need no training."""

import pytest

from idckit.training import KFoldTrainer, Run, TrainingConfig, get_recipe, model_builder


def test_unfinished_or_missing_runs_cannot_be_loaded(tmp_path):
    with pytest.raises(ValueError, match=r"expected a finished run directory.*resume=True"):
        Run.load(tmp_path)


def test_an_unfitted_trainer_has_no_run():
    trainer = KFoldTrainer(model_builder("benchmark"))
    for name in ("result_", "run_dir_", "run_"):
        assert not hasattr(trainer, name)
        with pytest.raises(AttributeError, match=rf"KFoldTrainer\.{name} is set by fit: this "
                           r"trainer is not fitted yet\. Call fit\(dataset\) first"):  # fmt: skip
            getattr(trainer, name)
    with pytest.raises(AttributeError, match="'KFoldTrainer' object has no attribute 'evaluate'"):
        trainer.evaluate  # noqa: B018 - the attribute access is the test


def test_too_many_folds_for_the_data_is_a_clear_error(tiny_dataset, tmp_path):
    trainer = KFoldTrainer(
        model_builder("benchmark"), TrainingConfig(n_splits=8), out_dir=tmp_path / "r"
    )
    with pytest.raises(ValueError, match=r"patients with IDC\(\+\) patches \(7\)"):
        trainer.fit(tiny_dataset)
    assert not (tmp_path / "r" / "config.json").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_splits": 1}, "Invalid `n_splits`.*integer >= 2"),
        ({"epochs": 0}, "Invalid `epochs`"),
        ({"batch_size": 2.5}, "Invalid `batch_size`"),
        ({"lr_schedule": "step"}, "Invalid `lr_schedule`.*'constant', 'warmup_cosine'"),
        ({"class_weight": {1: 2.0}}, r"Invalid `class_weight`.*\{0: w0, 1: w1\}"),
        ({"threshold_objective": "auc"}, "Invalid `threshold_objective`"),
        ({"patience": 0}, "Invalid `patience`"),
        ({"seed": -1}, "Invalid `seed`"),
        ({"tta": "yes"}, r"Invalid `tta` for TrainingConfig: expected True or False"),
        ({"smoothing": 0.7}, r"Invalid `smoothing` for TrainingConfig: expected None, a"),
        ({"smoothing": {"alpha": 2}}, r"Invalid `alpha` for SpatialSmoothing"),
        ({"label_smoothing": 1}, r"Invalid `label_smoothing` for TrainingConfig: .*\[0, 1\)"),
        ({"label_smoothing": "0.1"}, r"Invalid `label_smoothing`"),
    ],
)
def test_bad_settings_are_refused_up_front(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainingConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"verbose": 3}, "Invalid `verbose`"),
        ({"strategy": "mirrored"}, "Invalid `strategy`.*tf.distribute.Strategy"),
    ],
)
def test_bad_trainer_arguments_are_refused_up_front(kwargs, match):
    with pytest.raises(ValueError, match=match):
        KFoldTrainer(model_builder("benchmark"), **kwargs)


def test_tta_and_smoothing_are_recorded_in_the_config(tiny_dataset):
    from idckit.inference import SpatialSmoothing

    plain = KFoldTrainer(model_builder("benchmark")).run_config(tiny_dataset)
    assert plain["tta"] is False and plain["smoothing"] is None
    config = TrainingConfig(tta=True, smoothing={"alpha": 0.6})
    trainer = KFoldTrainer(model_builder("benchmark"), config)
    assert trainer.config.smoothing == SpatialSmoothing(alpha=0.6)
    stored = trainer.run_config(tiny_dataset)
    assert stored["tta"] is True
    assert stored["smoothing"] == {"alpha": 0.6, "radius": 1, "step": 50}
    clone = trainer.clone(config=trainer.config.replace(epochs=1))
    assert (clone.config.tta, clone.config.smoothing) == (True, SpatialSmoothing(alpha=0.6))


def test_label_smoothing_is_recorded_in_the_config(tiny_dataset):
    plain = KFoldTrainer(model_builder("benchmark")).run_config(tiny_dataset)
    assert plain["label_smoothing"] == 0
    trainer = KFoldTrainer(model_builder("benchmark"), TrainingConfig(label_smoothing=0.1))
    assert trainer.run_config(tiny_dataset)["label_smoothing"] == 0.1
    assert trainer.clone(out_dir="elsewhere").config.label_smoothing == 0.1


def test_the_cpu_recipe_settings_are_recorded_in_the_config(tiny_dataset):
    config = KFoldTrainer.from_recipe(get_recipe("cpu")).run_config(tiny_dataset)
    assert config["lr_schedule"] == "warmup_cosine" and config["threshold_objective"] == "youden"
    assert config["augment"]["hed"] == config["augment"]["hed_shift"] == 0.2
    assert config["optimizer"] == {
        "class_name": "AdamW", "config": {"learning_rate": 2e-3, "weight_decay": 1e-4}
    }  # fmt: skip
    assert (config["n_splits"], config["epochs"], config["batch_size"]) == (3, 12, 128)
    assert config["smoothing"] == {"alpha": 0.7, "radius": 1, "step": 50}
    assert config["model"]["name"] == "idc_cnn" and config["tta"] is False
    assert config["context"] == 1 and config["model"]["kwargs"]["context"] == 1
    assert KFoldTrainer.from_recipe("cpu").run_config(tiny_dataset) == config


def test_a_model_builder_that_is_not_callable_is_refused():
    with pytest.raises(ValueError, match=r"Invalid `build_model`.*a no-argument callable that"):
        KFoldTrainer("benchmark")


def test_from_recipe_refuses_what_is_not_a_recipe():
    with pytest.raises(ValueError, match=r"Invalid `recipe` for get_recipe.*'seed', 'cpu'"):
        KFoldTrainer.from_recipe("gpu")
    with pytest.raises(ValueError, match=r"Invalid `recipe` for KFoldTrainer: expected a Recipe"):
        KFoldTrainer.from_recipe(TrainingConfig())
