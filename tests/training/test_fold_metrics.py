import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_score, recall_score

from idckit.training._metrics import (
    WARMUP_FRACTION,
    WARMUP_START,
    PositivePrecision,
    PositiveRecall,
    fold_metrics,
    make_optimizer,
    with_cosine_decay,
)


def _stream(metric, y, prob, batch):
    for start in range(0, len(y), batch):
        metric.update_state(y[start : start + batch], prob[start : start + batch])
    return float(metric.result())


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), n=st.integers(2, 60), batch=st.integers(1, 17))
def test_precision_and_recall_of_idc_pos_equal_sklearn_for_softmax_and_sigmoid(seed, n, batch):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p1 = rng.random(n)
    pred = (p1 >= 0.5).astype(int)
    softmax = np.stack([1 - p1, p1], axis=1).astype("float32")
    sigmoid = p1[:, None].astype("float32")
    for output in (softmax, sigmoid):
        precision = _stream(PositivePrecision(), y, output, batch)
        recall = _stream(PositiveRecall(), y, output, batch)
        assert precision == pytest.approx(precision_score(y, pred, zero_division=0), abs=1e-5)
        assert recall == pytest.approx(recall_score(y, pred, zero_division=0), abs=1e-5)


def test_history_names_are_stable():
    names = [m if isinstance(m, str) else m.name for m in fold_metrics()]
    assert names == ["f1", "precision", "recall", "accuracy"]


def test_every_optimizer_spec_gives_a_fresh_optimizer():
    import keras

    for spec in (
        "adam",
        {"class_name": "SGD", "config": {"momentum": 0.2}},
        keras.optimizers.RMSprop,
    ):
        first, second = make_optimizer(spec), make_optimizer(spec)
        assert isinstance(first, keras.optimizers.Optimizer) and first is not second


def test_an_optimizer_instance_is_refused_because_folds_need_fresh_ones():
    import keras

    with pytest.raises(ValueError, match="cannot be reused across folds"):
        make_optimizer(keras.optimizers.Adam())


def test_cosine_decay_starts_at_the_rate_and_ends_at_zero():
    optimizer = with_cosine_decay(
        make_optimizer({"class_name": "AdamW", "config": {"learning_rate": 0.01}}), 10
    )
    schedule = (
        optimizer.learning_rate if callable(optimizer.learning_rate) else optimizer._learning_rate
    )
    assert float(schedule(0)) == pytest.approx(0.01)
    assert float(schedule(10)) == pytest.approx(0.0, abs=1e-8)
    assert type(optimizer).__name__ == "AdamW"


def _schedule(optimizer):
    return optimizer._learning_rate  # the schedule object (learning_rate is its current value)


def _warmup_cosine(step, lr, total, fraction=0.05):
    """The recipe's curve written out: linear lr/10 -> lr over the warm-up, cosine to 0."""
    warm = int(fraction * total)
    if step < warm:
        return lr / 10 + (lr - lr / 10) * step / warm
    return lr * 0.5 * (1 + math.cos(math.pi * min(step - warm, total - warm) / (total - warm)))


@settings(max_examples=8, deadline=None)
@given(total=st.integers(20, 3000), lr=st.sampled_from([2e-3, 1e-2, 0.1]), seed=st.integers(0, 99))
def test_warmup_then_cosine_follows_the_formula(total, lr, seed):
    optimizer = with_cosine_decay(
        make_optimizer({"class_name": "AdamW", "config": {"learning_rate": lr}}), total,
        warmup=WARMUP_FRACTION,
    )  # fmt: skip
    schedule, warm = _schedule(optimizer), int(WARMUP_FRACTION * total)
    some = np.random.default_rng(seed).integers(0, total, 4).tolist()
    steps = sorted({0, max(warm - 1, 0), warm, warm + 1, total // 2, total - 1, total, *some})
    rates = {step: float(schedule(step)) for step in steps}
    for step, rate in rates.items():  # float32 arithmetic inside Keras
        assert rate == pytest.approx(_warmup_cosine(step, lr, total), rel=1e-4, abs=lr * 1e-6)
    assert rates[0] == pytest.approx(lr / 10 if warm else lr, rel=1e-5)  # start
    assert rates[warm] == pytest.approx(lr, rel=1e-5)  # the peak, at the end of the warm-up
    assert max(rates.values()) <= lr * (1 + 1e-6)
    assert rates[total] == pytest.approx(0.0, abs=1e-9)  # ~0 at the end


def test_warmup_is_five_percent_of_the_steps_from_a_tenth_of_the_rate():
    assert (WARMUP_FRACTION, WARMUP_START) == (0.05, 0.1)
    schedule = _schedule(with_cosine_decay(make_optimizer("adam"), 200, warmup=0.05))
    config = schedule.get_config()
    assert (config["warmup_steps"], config["decay_steps"]) == (10, 190)
    assert config["initial_learning_rate"] == pytest.approx(1e-4)  # Adam's 1e-3 / 10
    assert config["warmup_target"] == pytest.approx(1e-3) and config["alpha"] == 0.0
    rates = [float(schedule(s)) for s in range(11)]
    assert np.all(np.diff(rates) > 0)  # rising linearly up to the target
    np.testing.assert_allclose(np.diff(rates), 9e-5, rtol=1e-4)


def test_the_trainer_compiles_each_fold_with_the_named_schedule():
    from idckit.training import TrainingConfig, model_builder
    from idckit.training._fold import FoldSetup, _new_model

    config = TrainingConfig(
        epochs=4, batch_size=8, lr_schedule="warmup_cosine", class_weight=None, augment=False,
        optimizer={"class_name": "AdamW", "config": {"learning_rate": 2e-3}}, patience=None,
        seed=0,
    )  # fmt: skip
    build = model_builder("benchmark", filters=2)
    schedule = _schedule(_new_model(FoldSetup(build, config), steps_per_epoch=20).optimizer)
    assert schedule.get_config()["warmup_target"] == pytest.approx(2e-3)
    assert schedule.get_config()["warmup_steps"] == 4
    assert schedule.get_config()["decay_steps"] == 80 - 4
    constant = FoldSetup(build, config.replace(lr_schedule="constant"))
    rate = _new_model(constant, steps_per_epoch=20).optimizer.learning_rate
    assert float(rate) == pytest.approx(2e-3)  # no schedule: the optimizer's own rate
