"""The NumPy arithmetic against scikit-learn (no Keras needed)."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix, f1_score, precision_score, recall_score

from idckit.metrics import (
    confusion_counts,
    counts_from_confusion,
    f1_from_confusion,
    precision_from_confusion,
    recall_from_confusion,
)

FUNCTIONS = {
    "f1": (f1_from_confusion, f1_score),
    "precision": (precision_from_confusion, precision_score),
    "recall": (recall_from_confusion, recall_score),
}
AVERAGES = ["binary", "macro", "weighted", "micro", None]


@st.composite
def labelled(draw, min_size=1):
    num_classes = draw(st.integers(2, 5))
    n = draw(st.integers(min_size, 60))
    labels = st.lists(st.integers(0, num_classes - 1), min_size=n, max_size=n)
    y_true, y_pred = np.array(draw(labels)), np.array(draw(labels))
    weights = None
    if draw(st.booleans()):
        weights = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))) / 4
        if not weights.any():
            weights[0] = 1.0  # scikit-learn rejects all-zero weights
    positive_class = draw(st.integers(0, num_classes - 1))
    return num_classes, y_true, y_pred, weights, positive_class


def sklearn_score(reference, y_true, y_pred, num_classes, average, positive_class, weights):
    labels = list(range(num_classes))
    if average == "binary":
        per_class = reference(
            y_true, y_pred, labels=labels, average=None, sample_weight=weights, zero_division=0
        )
        return per_class[positive_class]
    return reference(
        y_true, y_pred, labels=labels, average=average, sample_weight=weights, zero_division=0
    )


@settings(max_examples=60, deadline=None)
@given(case=labelled())
def test_confusion_counts_equals_sklearn(case):
    num_classes, y_true, y_pred, weights, _ = case
    ours = confusion_counts(y_true, y_pred, num_classes, sample_weight=weights)
    expected = confusion_matrix(
        y_true, y_pred, labels=list(range(num_classes)), sample_weight=weights
    )
    np.testing.assert_allclose(ours, expected)
    assert ours.dtype == (np.float64 if weights is not None else np.int64)


@pytest.mark.parametrize("score", sorted(FUNCTIONS))
@settings(max_examples=40, deadline=None)
@given(case=labelled())
def test_scores_equal_sklearn_for_every_average(score, case):
    num_classes, y_true, y_pred, weights, positive_class = case
    ours_fn, reference = FUNCTIONS[score]
    cm = confusion_counts(y_true, y_pred, num_classes, sample_weight=weights)
    for average in AVERAGES:
        ours = ours_fn(cm, average=average, positive_class=positive_class)
        expected = sklearn_score(
            reference, y_true, y_pred, num_classes, average, positive_class, weights
        )
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12, err_msg=str(average))


def test_binary_average_matches_sklearn_pos_label_directly():
    y_true = np.array([0, 1, 1, 0, 1, 1, 0])
    y_pred = np.array([0, 1, 0, 1, 1, 1, 0])
    cm = confusion_counts(y_true, y_pred, 2)
    for positive_class in (0, 1):
        expected = f1_score(y_true, y_pred, pos_label=positive_class)
        assert f1_from_confusion(cm, positive_class=positive_class) == pytest.approx(expected)


def test_zero_division_gives_zero_like_sklearn():
    cm = confusion_counts([0, 0, 0], [0, 0, 0], 3)
    assert f1_from_confusion(cm, average=None).tolist() == [1.0, 0.0, 0.0]
    assert precision_from_confusion(cm, positive_class=2) == 0.0
    assert recall_from_confusion(np.zeros((2, 2)), average="weighted") == 0.0


def test_counts_from_confusion():
    tp, fp, fn = counts_from_confusion([[5, 1, 0], [2, 3, 1], [0, 4, 7]])
    assert tp.tolist() == [5, 3, 7]
    assert fp.tolist() == [2, 5, 1]
    assert fn.tolist() == [1, 3, 4]


def test_returns_python_float_or_vector():
    cm = [[5, 1], [2, 3]]
    assert type(f1_from_confusion(cm)) is float
    vector = f1_from_confusion(cm, average=None)
    assert isinstance(vector, np.ndarray) and vector.dtype == np.float64


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: confusion_counts([0, 1], [0, 1], 1), r"`num_classes` .* an int >= 2\. Received"),
        (lambda: confusion_counts([0, 1], [0, 1], True), r"num_classes=True"),
        (lambda: confusion_counts([0, 2], [0, 1], 2), r"`y_true` .* in \[0, 1\]\. .*=\[0, 2\]"),
        (lambda: confusion_counts([0, 1], [0, 0.5], 2), r"`y_pred` .* integer class labels"),
        (lambda: confusion_counts([0, 1], ["a", "b"], 2), r"`y_pred` .* integer class labels"),
        (lambda: confusion_counts([[0, 1]], [0, 1], 2), r"`y_true` .* a 1-D array"),
        (lambda: confusion_counts([0, 1], [0], 2), r"`y_pred` .* same length as y_true \(2\)"),
        (
            lambda: confusion_counts([0, 1], [0, 1], 2, sample_weight=[1.0]),
            r"`sample_weight` .* shape \(2,\)",
        ),
        (lambda: counts_from_confusion([[1, 2]]), r"`confusion` .* a square matrix"),
        (lambda: counts_from_confusion([[1, -2], [0, 1]]), r"non-negative finite counts"),
        (lambda: f1_from_confusion([[1, 2], [3, 4]], average="samples"), r"`average` .* one of"),
        (
            lambda: f1_from_confusion([[1, 2], [3, 4]], positive_class=2),
            r"`positive_class` for f1_from_confusion: expected an int in \[0, 1\]",
        ),
    ],
)
def test_errors_name_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_importing_the_arithmetic_does_not_import_keras():
    code = (
        "import sys, idckit.metrics, idckit.metrics._confusion;"
        "print(','.join(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
