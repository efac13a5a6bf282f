import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_score, recall_score

from idckit.training._metrics import (
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
