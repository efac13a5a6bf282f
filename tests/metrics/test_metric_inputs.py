"""Hostile metric inputs: non-finite values, wrong lengths and empty input (issue 21, class 6).

One rule for both paths: the NumPy functions and :class:`StreamingF1` refuse NaN and infinity
in weights, probabilities and labels, and weights or predictions of another length, with a
``ValueError`` naming the argument. Inside a traced ``fit`` (where Python cannot see values) a
non-finite batch makes the metric NaN, never a clean score.
"""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

keras = pytest.importorskip("keras")

from idckit.metrics import (  # noqa: E402 - after the importorskip guard
    StreamingF1,
    confusion_counts,
    f1_from_confusion,
)
from idckit.metrics._confusion import averaged_score  # noqa: E402

NON_FINITE = [float("nan"), float("inf"), -float("inf")]
NOT_FINITE = r"expected finite real numbers \(no NaN or inf\)\. Received: {}='{} NaN or inf"


@st.composite
def poisoned(draw, width=1):
    """``(y_true, values, bad)``: a batch whose ``values`` hold ``bad`` non-finite entries."""
    n = draw(st.integers(1, 12))
    y_true = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    values = np.array(draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=n * width)))
    values = values[: n * width].reshape(n, width) if width > 1 else values[:n]
    rows = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    kinds = draw(st.lists(st.sampled_from(NON_FINITE), min_size=len(rows), max_size=len(rows)))
    if width > 1:
        values[rows, draw(st.integers(0, width - 1))] = kinds
    else:
        values[rows] = kinds
    return y_true, values, len(rows)


def counts(metric):
    variables = (metric.true_positives, metric.false_positives, metric.false_negatives)
    return [keras.ops.convert_to_numpy(v).tolist() for v in variables]


# --- the NumPy path ---------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(case=poisoned())
def test_confusion_counts_refuses_non_finite_weights(case):
    y_true, weights, bad = case
    with pytest.raises(ValueError, match=NOT_FINITE.format("sample_weight", bad)):
        confusion_counts(y_true, y_true, 2, sample_weight=weights)
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match="sample_weight"):
        confusion_matrix(y_true, y_true, labels=[0, 1], sample_weight=weights)  # sklearn too


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (
            [1.0],
            r"^Invalid `sample_weight` for confusion_counts: expected shape \(3,\): one weight "
            r"per sample of y_true \(3 samples\)\. Received: sample_weight='shape \(1,\): 1 "
            r"weights'\.$",
        ),
        ([1.0, 2.0, 3.0, 4.0], r"`sample_weight` .* \(3 samples\)\. .*'shape \(4,\): 4 weights'"),
        ([[1.0, 2.0, 3.0]] * 2, r"`sample_weight` .*'shape \(2, 3\): 6 weights'"),
        (2.0, r"`sample_weight` .*'shape \(\): 1 weights'"),
        (["a", "b", "c"], r"`sample_weight` .* finite real numbers\. Received: .*dtype <U1"),
        ([1.0, None, 2.0], r"`sample_weight` .* finite real numbers\. Received: .*dtype object"),
    ],
)
def test_confusion_counts_weight_errors_name_both_lengths(weights, match):
    with pytest.raises(ValueError, match=match):
        confusion_counts([0, 1, 1], [0, 1, 0], 2, sample_weight=weights)


def test_confusion_counts_still_takes_a_column_of_weights():
    cm = confusion_counts([0, 1, 1], [0, 1, 0], 2, sample_weight=[[1.0], [2.0], [0.5]])
    assert cm.tolist() == [[1.0, 0.0], [0.5, 2.0]]


@pytest.mark.parametrize("labels", [[], np.zeros(0, dtype=np.int64), np.zeros(0)])
def test_confusion_counts_refuses_empty_input_like_sklearn(labels):
    with pytest.raises(ValueError, match="empty input"):
        confusion_matrix(labels, labels, labels=[0, 1])
    match = r"^Invalid `y_true` for confusion_counts: expected at least one sample .*shape \(0,\)"
    with pytest.raises(ValueError, match=match):
        confusion_counts(labels, labels, 2)
    with pytest.raises(ValueError, match="at least one sample"):
        confusion_counts(labels, labels, 2, sample_weight=[])


@pytest.mark.parametrize("bad", NON_FINITE)
def test_confusion_counts_refuses_non_finite_labels(bad):
    with pytest.raises(ValueError, match=r"`y_pred` .* integer class labels"):
        confusion_counts([0, 1], [0, bad], 2)


@pytest.mark.parametrize("average", ["binary", "macro", "weighted", "micro", None])
def test_nan_counts_give_nan_scores_never_a_clean_zero(average):
    tp, fp, fn = (np.array([np.nan, np.nan]) for _ in range(3))
    score = averaged_score("f1", tp, fp, fn, average=average)
    assert np.all(np.isnan(score))
    clean = averaged_score("f1", np.zeros(2), np.zeros(2), np.zeros(2), average=average)
    assert np.all(np.asarray(clean) == 0.0)  # zero_division=0 is unchanged


def test_weighted_confusion_still_equals_sklearn():
    y_true, y_pred, weights = [0, 1, 1, 0], [0, 1, 0, 0], [0.5, 2.0, 1.0, 0.0]
    expected = confusion_matrix(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(
        confusion_counts(y_true, y_pred, 2, sample_weight=weights), expected
    )
    assert f1_from_confusion(expected) == pytest.approx(0.8)


# --- StreamingF1, called eagerly ----------------------------------------------------------------


@pytest.mark.backend
@pytest.mark.parametrize("as_tensor", [False, True], ids=["numpy", "tensor"])
@settings(max_examples=10, deadline=None)
@given(case=poisoned())
def test_streaming_f1_refuses_non_finite_weights_and_keeps_its_counts(as_tensor, case):
    y_true, weights, bad = case
    metric = StreamingF1()
    metric.update_state(np.array([0, 1]), np.array([0.2, 0.9]))
    before = counts(metric)
    if as_tensor:
        weights = keras.ops.convert_to_tensor(weights)
    match = "^Invalid `sample_weight` for StreamingF1: " + NOT_FINITE.format("sample_weight", bad)
    with pytest.raises(ValueError, match=match):
        metric.update_state(y_true, np.full(len(y_true), 0.7), sample_weight=weights)
    assert counts(metric) == before
    assert float(metric.result()) == pytest.approx(1.0)


@pytest.mark.backend
@pytest.mark.parametrize("form", ["probability", "column", "scores"])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_streaming_f1_refuses_non_finite_predictions(form, data):
    y_true, y_pred, bad = data.draw(poisoned(width=2 if form == "scores" else 1))
    if form == "column":
        y_pred = y_pred[:, None]
    metric = StreamingF1()
    with pytest.raises(ValueError, match="`y_pred` .*" + NOT_FINITE.format("y_pred", bad)):
        metric.update_state(y_true, y_pred)
    with pytest.raises(ValueError, match="`y_pred` .*" + NOT_FINITE.format("y_pred", bad)):
        metric.update_state(y_true, keras.ops.convert_to_tensor(y_pred))
    assert counts(metric) == [[0.0, 0.0]] * 3


@pytest.mark.backend
@pytest.mark.parametrize("bad", NON_FINITE)
def test_streaming_f1_refuses_non_finite_labels(bad):
    with pytest.raises(ValueError, match="`y_true` .*" + NOT_FINITE.format("y_true", 1)):
        StreamingF1().update_state(np.array([0.0, bad]), np.array([0.2, 0.9]))


@pytest.mark.backend
@pytest.mark.parametrize("bad", NON_FINITE)
def test_both_paths_give_the_same_message(bad):
    """One rule: the same words from the NumPy function and the Keras metric."""
    messages = []
    for call in (
        lambda: confusion_counts([0, 1], [0, 1], 2, sample_weight=[1.0, bad]),
        lambda: StreamingF1().update_state([0, 1], [0.1, 0.9], sample_weight=[1.0, bad]),
    ):
        with pytest.raises(ValueError) as info:
            call()
        messages.append(str(info.value))
    numpy_message, keras_message = messages
    assert numpy_message.replace("confusion_counts", "StreamingF1") == keras_message


@pytest.mark.backend
@pytest.mark.parametrize("as_tensor", [False, True], ids=["numpy", "tensor"])
@pytest.mark.parametrize(
    ("weights", "received"),
    [([1.0, 2.0], "shape (2,): 2 weights"), ([[1.0]] * 4, "shape (4, 1): 4 weights")],
)
def test_streaming_f1_weight_of_another_length_is_a_clear_value_error(as_tensor, weights,
                                                                      received):  # fmt: skip
    metric = StreamingF1()
    weights = np.array(weights)
    if as_tensor:
        weights = keras.ops.convert_to_tensor(weights)
    match = (
        r"^Invalid `sample_weight` for StreamingF1: expected shape \(3,\): one weight per "
        rf"sample of y_true \(3 samples\)\. Received: sample_weight='{re.escape(received)}'\.$"
    )
    with pytest.raises(ValueError, match=match):
        metric.update_state(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4]), sample_weight=weights)
    assert counts(metric) == [[0.0, 0.0]] * 3


@pytest.mark.backend
def test_streaming_f1_predictions_of_another_length_is_a_clear_value_error():
    match = (
        r"^Invalid `y_pred` for StreamingF1: expected one prediction per label of y_true "
        r"\(3 samples\)\. Received: y_pred='shape \(2, 2\): 2 predictions'\.$"
    )
    with pytest.raises(ValueError, match=match):
        StreamingF1().update_state(np.array([0, 1, 1]), np.full((2, 2), 0.5))


@pytest.mark.backend
def test_streaming_f1_scalar_weight_and_empty_batch_still_work():
    metric = StreamingF1()
    metric.update_state(np.array([0, 1, 1]), np.array([0.2, 0.9, 0.4]), sample_weight=2.0)
    metric.update_state(np.zeros(0, dtype="int32"), np.zeros(0, dtype="float32"))
    assert counts(metric) == [[2.0, 2.0], [2.0, 0.0], [0.0, 2.0]]
    assert float(metric.result()) == pytest.approx(2 / 3)


# --- StreamingF1 inside fit and evaluate (traced where the backend traces) --------------------


# The frozen model has no trainable weights, on purpose; Keras warns about it in fit.
FROZEN = pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")


def frozen_model(metrics, loss="binary_crossentropy", **compile_kwargs):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.layers[0].trainable = False  # a NaN loss cannot reach the weights: outputs stay clean
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=loss,
        metrics=metrics,
        **compile_kwargs,
    )
    return model


def data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32")


def traces():
    """Whether ``fit`` runs its steps traced (TensorFlow, JAX) rather than eagerly (PyTorch)."""
    return keras.backend.backend() in ("tensorflow", "jax")


@pytest.mark.backend
@FROZEN
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weight_in_fit_is_nan_never_a_clean_score(bad):
    keras.utils.set_random_seed(0)
    x, y = data()
    weights = np.ones(len(y), dtype="float32")
    weights[3] = bad
    model = frozen_model([StreamingF1()], weighted_metrics=[StreamingF1(name="weighted_f1")])
    if not traces():  # values are known in an eager step: the clear error instead
        with pytest.raises(ValueError, match="`sample_weight` for StreamingF1"):
            model.fit(x, y, sample_weight=weights, batch_size=8, epochs=1, verbose=0)
        return
    history = model.fit(x, y, sample_weight=weights, batch_size=8, epochs=1, verbose=0).history
    assert np.isnan(history["weighted_f1"][0])
    assert np.isfinite(history["f1"][0])  # the unweighted metric never saw the weights
    # The next epoch starts from reset counts: finite weights give a finite score again.
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["weighted_f1"][0])


@pytest.mark.backend
def test_nan_prediction_in_evaluate_is_nan_never_a_negative():
    keras.utils.set_random_seed(0)
    x, y = data()
    x[5] = np.nan  # the model's output for this patch is NaN
    # PyTorch's own binary cross-entropy refuses a NaN probability before any metric sees it:
    # a loss that passes NaN on leaves the metric to speak on every backend.
    model = frozen_model([StreamingF1()], loss="mean_squared_error")
    if not traces():
        with pytest.raises(ValueError, match="`y_pred` for StreamingF1"):
            model.evaluate(x, y, batch_size=8, verbose=0)
        return
    assert np.isnan(model.evaluate(x, y, batch_size=8, return_dict=True, verbose=0)["f1"])


@pytest.mark.backend
@FROZEN
def test_run_eagerly_gives_the_clear_error_inside_fit():
    keras.utils.set_random_seed(0)
    x, y = data()
    weights = np.ones(len(y), dtype="float32")
    weights[0] = np.nan
    model = frozen_model([], weighted_metrics=[StreamingF1()], run_eagerly=True)
    with pytest.raises(ValueError, match=NOT_FINITE.format("sample_weight", 1)):
        model.fit(x, y, sample_weight=weights, batch_size=8, epochs=1, verbose=0)
