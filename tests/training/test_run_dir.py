import pytest

from idckit.training import TrainingConfig
from idckit.training._run_dir import RunDir, config_differences

DEFAULTS = TrainingConfig().to_dict()


def test_config_differences_names_nested_and_missing_keys():
    stored = {"epochs": 3, "optimizer": {"config": {"learning_rate": 0.1}}, "seed": 0}
    current = {"epochs": 3, "optimizer": {"config": {"learning_rate": 0.01}}, "extra": True}
    assert config_differences(stored, current) == [
        "extra: stored 'absent', now True",
        "optimizer.config.learning_rate: stored 0.1, now 0.01",
        "seed: stored 0, now 'absent'",
    ]


def test_tuples_and_lists_compare_equal_as_after_json():
    assert config_differences({"a": (1, 2)}, {"a": [1, 2]}) == []


def test_check_config_refuses_with_the_differing_keys(tmp_path):
    run = RunDir(tmp_path)
    config = {**DEFAULTS, "epochs": 3, "batch_size": 32}
    run.write_config(config)
    run.check_config(config)  # same: accepted
    with pytest.raises(ValueError, match=r"epochs: stored 3, now 5.*Resume with the stored"):
        run.check_config({**config, "epochs": 5})


def test_splits_round_trip_in_the_documented_layout(tmp_path):
    run = RunDir(tmp_path)
    folds = [(("a", "b"), ("c",)), (("a", "c"), ("b",))]
    run.write_splits(folds)
    assert run.read_splits() == folds
    import json

    payload = json.loads(run.splits_path.read_text())
    assert payload["folds"][0] == {"train_patients": ["a", "b"], "val_patients": ["c"]}


def test_fold_bookkeeping(tmp_path):
    run = RunDir(tmp_path)
    assert not run.has_run() and not run.complete and not run.fold_done(1)
    run.metrics_path(1).parent.mkdir()
    run.metrics_path(1).write_text("{}")
    assert run.fold_done(1) and not run.fold_done(2)
    assert run.model_path(2) == tmp_path / "fold_2" / "model.keras"


def test_progress_is_a_finished_epoch_and_only_a_run_without_it_is_cleared(tmp_path):
    run = RunDir(tmp_path)
    run.write_config(DEFAULTS)
    run.write_splits([(("a",), ("b",))])
    run.fold_dir(1).mkdir()
    (run.fold_dir(1) / "history.csv").write_text("epoch\n")
    assert run.has_run() and not run.has_progress()
    run.clear()
    assert not run.has_run() and list(tmp_path.iterdir()) == []
    for marker in ("state.json", "metrics.json"):
        run.write_config(DEFAULTS)
        run.fold_dir(2).mkdir(exist_ok=True)
        (run.fold_dir(2) / marker).write_text("{}")
        assert run.has_progress()
        with pytest.raises(ValueError, match=r"Invalid `run_dir` for RunDir\.clear: expected a"):
            run.clear()
        assert run.has_run() and (run.fold_dir(2) / marker).is_file()
        (run.fold_dir(2) / marker).unlink()


def test_a_config_from_before_newer_settings_reads_as_trained_with_their_defaults(tmp_path):
    run = RunDir(tmp_path)
    run.write_config({"epochs": 3})  # as an idckit from before TTA, smoothing, context, ...
    assert run.read_config() == {**DEFAULTS, "epochs": 3}
    run.check_config({**DEFAULTS, "epochs": 3})  # resumed with those values: accepted
    with pytest.raises(ValueError, match=r"label_smoothing: stored 0\.0, now 0\.1"):
        run.check_config({**DEFAULTS, "epochs": 3, "label_smoothing": 0.1})
    assert TrainingConfig.from_dict(run.read_config()) == TrainingConfig(epochs=3)


def test_a_stored_setting_is_never_replaced_by_its_added_default(tmp_path):
    run = RunDir(tmp_path)
    run.write_config({"tta": True, "context": 1})
    config = run.read_config()
    assert config["tta"] is True and config["context"] == 1
    assert config["label_smoothing"] == 0.0
