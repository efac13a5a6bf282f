"""A run that learned nothing says so: a fold that separates nothing, an extreme threshold."""

import warnings

import pytest

from idckit.models import build_benchmark_cnn
from idckit.training import FoldResult, KFoldTrainer, TrainingConfig
from idckit.training._outputs import _warn_if_extreme, warn_if_fold_learned_nothing


def _fold(**metrics):
    scores = {"f1_pos": 0.8, "balanced_accuracy": 0.85, **metrics}
    return FoldResult(2, scores, 3, 4, ("a",), ("b",), 10, 5, 1.0)


@pytest.mark.parametrize(
    "metrics",
    [{"f1_pos": 0.0}, {"balanced_accuracy": 0.5}, {"f1_pos": 0.4, "balanced_accuracy": 0.45}],
)
def test_a_fold_that_separates_nothing_warns(metrics):
    with pytest.warns(
        UserWarning, match=r"Run quality: fold 2 learned nothing.*best epoch 3 of 4"
    ):
        warn_if_fold_learned_nothing(_fold(**metrics))


def test_a_fold_that_learned_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_fold_learned_nothing(_fold(f1_pos=0.01, balanced_accuracy=0.51))


@pytest.mark.parametrize(("threshold", "called"), [(0.029, r"IDC\(\+\)"), (0.97, r"IDC\(-\)")])
def test_an_extreme_chosen_threshold_warns(threshold, called):
    with pytest.warns(UserWarning, match=rf"is {threshold:.3f}, so the run calls almost every "
                      rf"patch {called}"):  # fmt: skip
        _warn_if_extreme(threshold, "f1")


@pytest.mark.parametrize(("threshold", "objective"), [(0.5, "f1"), (0.05, "youden"), (0.01, 0.01)])
def test_sane_or_fixed_thresholds_do_not_warn(threshold, objective):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_if_extreme(threshold, objective)


@pytest.mark.slow
def test_a_run_that_cannot_learn_warns_during_fit(tiny_dataset, tmp_path):
    frozen = {"class_name": "SGD", "config": {"learning_rate": 0.0}}  # the weights never move
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=32, optimizer=frozen)
    trainer = KFoldTrainer(build_benchmark_cnn, config, out_dir=tmp_path, verbose=0)
    with warnings.catch_warnings(record=True) as caught:  # TensorFlow's own warnings too
        warnings.simplefilter("always")
        trainer.fit(tiny_dataset)
    said = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any(m.startswith("Run quality: fold 1 learned nothing") for m in said), said
