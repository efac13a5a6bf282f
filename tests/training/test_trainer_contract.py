"""KFoldTrainer's scikit-learn contract: the constructor stores, fit sets ``attr_``, clone."""

import inspect
import io
import json

import pytest

from idckit.training import (
    CrossValidationResult,
    KFoldTrainer,
    Run,
    TrainingConfig,
    get_recipe,
    model_builder,
)

QUICK = TrainingConfig(n_splits=2, epochs=1, batch_size=32)


def _everything():
    return {
        "build_model": model_builder("benchmark", filters=2),
        "config": QUICK,
        "splitter": None,
        "callbacks": [],
        "strategy": None,
        "out_dir": "somewhere",
        "resume": True,
        "verbose": 0,
        "stream": io.StringIO(),
        "model_config": {"name": "benchmark", "kwargs": {"filters": 2}},
    }


def test_get_params_returns_exactly_what_was_passed():
    passed = _everything()
    trainer = KFoldTrainer(**passed)
    params = trainer.get_params()
    assert list(params) == list(inspect.signature(KFoldTrainer).parameters) == list(passed)
    assert all(params[name] is passed[name] for name in passed)
    defaults = KFoldTrainer(passed["build_model"]).get_params()
    assert defaults["config"] is None and defaults["out_dir"] is None
    assert (defaults["resume"], defaults["verbose"]) == (False, 1)


def test_the_config_is_positional_and_the_rest_keyword_only():
    build = model_builder("benchmark")
    assert KFoldTrainer(build, QUICK).config is QUICK
    with pytest.raises(TypeError):
        KFoldTrainer(build, QUICK, None)  # splitter is keyword-only
    assert KFoldTrainer(build).training_config == TrainingConfig()


def test_clone_gives_an_unfitted_twin_with_changes():
    trainer = KFoldTrainer(**_everything())
    twin = trainer.clone()
    assert twin is not trainer and type(twin) is KFoldTrainer
    assert twin.get_params() == trainer.get_params()
    other = trainer.clone(out_dir="elsewhere", config=QUICK.replace(seed=2))
    assert (other.out_dir, other.config.seed, trainer.out_dir) == ("elsewhere", 2, "somewhere")
    with pytest.raises(ValueError, match=r"Invalid `verbose`"):
        trainer.clone(verbose=5)  # a clone is checked as a new trainer


def test_a_built_model_is_refused_with_the_remedy():
    from idckit.models import build_benchmark_cnn

    with pytest.raises(ValueError, match=r"Invalid `build_model` for KFoldTrainer: expected a "
                       r"no-argument callable that returns a new model\. Received: "
                       r"build_model=\"<built Functional 'benchmark_cnn'>\"\. Pass the "
                       r"builder itself \(e\.g\. build_benchmark_cnn, not "
                       r"build_benchmark_cnn\(\)\)"):  # fmt: skip
        KFoldTrainer(build_benchmark_cnn(filters=2))


@pytest.mark.parametrize("config", [{"epochs": 2}, get_recipe("cpu"), 3])
def test_a_config_that_is_not_a_training_config_is_refused(config):
    match = r"Invalid `config` for KFoldTrainer: expected a TrainingConfig or None.*Put the"
    with pytest.raises(ValueError, match=match + r" settings in a TrainingConfig"):
        KFoldTrainer(model_builder("benchmark"), config)


def test_old_setting_keywords_are_gone():
    with pytest.raises(TypeError, match="epochs"):
        KFoldTrainer(model_builder("benchmark"), epochs=2)


@pytest.mark.slow  # one 2-fold, 1-epoch run of a 2-filter CNN
def test_fit_sets_attributes_and_leaves_the_arguments_as_passed(tiny_dataset):
    trainer = KFoldTrainer(model_builder("benchmark", filters=2), QUICK, verbose=0)
    params = trainer.get_params()
    result = trainer.fit(tiny_dataset)
    assert trainer.get_params() == params and trainer.out_dir is None  # None stays None
    assert trainer.result_ is result and isinstance(result, CrossValidationResult)
    assert trainer.run_dir_.name.startswith("idckit-run-")
    assert (trainer.run_dir_ / "report.json").is_file() and result.run_dir == trainer.run_dir_
    assert isinstance(trainer.run_, Run) and trainer.run_.path == trainer.run_dir_
    assert trainer.run_.result is result and trainer.run_.config == QUICK
    assert trainer.run_.threshold == result.threshold
    twin = trainer.clone()
    for name in ("result_", "run_dir_", "run_"):
        assert not hasattr(twin, name)
    assert twin.get_params() == params


def _raises_in_fold_1():
    raise RuntimeError("the builder broke")


def _wrong_shape():
    from idckit.models import build_benchmark_cnn

    return build_benchmark_cnn(input_shape=(64, 64, 3), filters=2)


@pytest.mark.slow  # one 2-fold, 1-epoch run after two failed starts
def test_a_run_that_never_finished_an_epoch_does_not_block_the_retry(tiny_dataset, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="the builder broke"):
        KFoldTrainer(_raises_in_fold_1, QUICK, out_dir=out, verbose=0).fit(tiny_dataset)
    assert (out / "config.json").is_file()  # the failed start left its files
    with pytest.raises(ValueError, match=r"Invalid `build_model` for KFoldTrainer: expected a "
                       r"model taking \(50, 50, 3\) images"):  # fmt: skip
        KFoldTrainer(_wrong_shape, QUICK, out_dir=out, verbose=0).fit(tiny_dataset)
    stream = io.StringIO()
    good = KFoldTrainer(model_builder("benchmark", filters=2), QUICK, out_dir=out, stream=stream)
    result = good.fit(tiny_dataset)  # no resume=True needed
    assert f"starting again in {out}: the run there never finished an epoch" in stream.getvalue()
    assert len(result.folds) == 2 and (out / "report.json").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["model"] != "tests.training.test_trainer_contract._wrong_shape"
    assert "filters" in json.dumps(config["model"])
    assert good.out_dir == out


def test_a_run_with_a_finished_epoch_still_needs_resume(tiny_dataset, tmp_path):
    trainer = KFoldTrainer(model_builder("benchmark"), QUICK, out_dir=tmp_path, verbose=0)
    (tmp_path / "config.json").write_text(json.dumps(trainer.run_config(tiny_dataset)))
    (tmp_path / "fold_1").mkdir()
    (tmp_path / "fold_1" / "state.json").write_text("{}")
    with pytest.raises(ValueError, match=r"Invalid `out_dir` for KFoldTrainer: expected a new or "
                       r"empty run directory.*It holds a run: pass resume=True"):  # fmt: skip
        trainer.fit(tiny_dataset)
    assert (tmp_path / "config.json").is_file() and (tmp_path / "fold_1" / "state.json").is_file()
