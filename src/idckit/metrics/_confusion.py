"""Confusion counts and the precision/recall/F1 arithmetic: the single home of these numbers.

The arithmetic is written once, against an array namespace ``xp`` that is either NumPy or
``keras.ops`` (both spell ``sum``, ``mean``, ``where``, ``ones_like`` and ``zeros_like`` the same
way). The public functions here call it with NumPy; :class:`~idckit.metrics.StreamingF1` calls it
with ``keras.ops`` on its accumulated counts, so the streaming metric and
:class:`~idckit.reporting.ClassificationReport` cannot disagree.

Conventions follow scikit-learn's ``precision_recall_fscore_support`` with
``labels=range(num_classes)`` and ``zero_division=0``: a ratio whose denominator is zero is 0,
F1 is ``2 TP / (2 TP + FP + FN)``, ``"weighted"`` weights classes by their support
(``TP + FN``) and ``"micro"`` pools the counts of every class. Inputs follow scikit-learn too:
no samples, a NaN or infinite weight or a weight vector of another length is an error (one rule,
:func:`check_sample_weight` and :func:`check_finite`, that ``StreamingF1`` applies as well).

This module imports NumPy only (never Keras).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from idckit._errors import check_choice, invalid_argument

Average = Literal["binary", "macro", "weighted", "micro"] | None
Score = Literal["precision", "recall", "f1"]
AVERAGES: tuple[Average, ...] = ("binary", "macro", "weighted", "micro", None)


def check_num_classes(num_classes: object, owner: str) -> int:
    """Return ``num_classes`` if it is an int >= 2, else raise the standard error."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise invalid_argument("num_classes", owner, "an int >= 2", num_classes)
    if num_classes < 2:
        raise invalid_argument("num_classes", owner, "an int >= 2", num_classes)
    return int(num_classes)


def check_class_index(name: str, owner: str, value: object, num_classes: int) -> int:
    """Return ``value`` if it is an int in ``[0, num_classes)``, else raise the standard error."""
    rule = f"an int in [0, {num_classes - 1}] (num_classes={num_classes})"
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise invalid_argument(name, owner, rule, value)
    if not 0 <= value < num_classes:
        raise invalid_argument(name, owner, rule, value)
    return int(value)


def check_finite(name: str, owner: str, values: npt.ArrayLike) -> npt.NDArray[Any]:
    """Return ``values`` as an array of real numbers, or raise unless every one is finite.

    The one rule for NaN and infinity in what the metrics count (weights, probabilities,
    labels): the NumPy functions and :class:`~idckit.metrics.StreamingF1` both apply it.

    Examples
    --------
    >>> check_finite("sample_weight", "confusion_counts", [1.0, float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: Invalid `sample_weight` for confusion_counts: expected finite real numbers ...
    """
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise invalid_argument(name, owner, "finite real numbers", f"dtype {array.dtype}")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        received = f"{bad} NaN or infinite of {array.size} values"
        raise invalid_argument(name, owner, "finite real numbers (no NaN or inf)", received)
    return array


def check_sample_weight(
    sample_weight: npt.ArrayLike, n_samples: int, owner: str
) -> npt.NDArray[np.float64]:
    """Return ``sample_weight`` as ``float64`` of shape ``(n_samples,)``, or raise.

    One finite real weight per sample (any shape holding ``n_samples`` values, e.g. ``(N,)``
    or ``(N, 1)``), as scikit-learn requires; the message names both lengths.

    Examples
    --------
    >>> check_sample_weight([[1], [2]], 2, "confusion_counts").tolist()
    [1.0, 2.0]
    >>> check_sample_weight([1.0], 2, "confusion_counts")
    Traceback (most recent call last):
    ...
    ValueError: Invalid `sample_weight` for confusion_counts: expected shape (2,): one weight ...
    """
    array = np.asarray(sample_weight)
    check_weight_count(array.shape, n_samples, owner)
    return check_finite("sample_weight", owner, array).astype(np.float64).reshape(-1)


def check_weight_count(shape: tuple[int, ...], n_samples: int, owner: str) -> None:
    """Raise the standard error unless a ``sample_weight`` of ``shape`` has ``n_samples`` values.

    Examples
    --------
    >>> check_weight_count((3, 1), 3, "StreamingF1")
    """
    size = math.prod(shape)
    if size != n_samples:
        rule = f"shape ({n_samples},): one weight per sample of y_true ({n_samples} samples)"
        received = f"shape {tuple(shape)}: {size} weights"
        raise invalid_argument("sample_weight", owner, rule, received)


def _labels(values: npt.ArrayLike, name: str, num_classes: int) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise invalid_argument(name, "confusion_counts", "a 1-D array", f"shape {array.shape}")
    if array.dtype.kind not in "biuf" or not np.all(np.isfinite(array)):
        raise invalid_argument(name, "confusion_counts", "integer class labels", array.dtype)
    if array.size and (
        np.any(array != np.round(array)) or array.min() < 0 or array.max() >= num_classes
    ):
        rule = f"integer class labels in [0, {num_classes - 1}]"
        raise invalid_argument(name, "confusion_counts", rule, np.unique(array).tolist())
    return array.astype(np.int64)


def confusion_counts(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    num_classes: int,
    *,
    sample_weight: npt.ArrayLike | None = None,
) -> npt.NDArray[Any]:
    """Count (true class, predicted class) pairs into a confusion matrix.

    Parameters
    ----------
    y_true, y_pred
        Integer class labels, shape ``(N,)``, in ``[0, num_classes)``.
    num_classes
        Number of classes (>= 2); fixes the matrix size even when a class is absent.
    sample_weight
        Optional weights, shape ``(N,)``; each pair then counts its weight instead of 1.
        They must be finite (NaN and infinity are refused, as scikit-learn does).

    Returns
    -------
    numpy.ndarray
        ``(num_classes, num_classes)`` matrix, rows = true class, columns = predicted class
        (scikit-learn's layout); ``int64`` counts, or ``float64`` when weighted.

    Raises
    ------
    ValueError
        On labels outside ``[0, num_classes)``, arrays of different lengths, non-finite
        weights, or no samples at all: like ``sklearn.metrics.confusion_matrix``, an empty
        ``y_true`` is refused rather than counted as a matrix of zeros (whose F1 would read 0).

    Examples
    --------
    >>> confusion_counts([0, 0, 1, 1], [0, 1, 1, 1], num_classes=2).tolist()
    [[1, 1], [0, 2]]
    """
    num_classes = check_num_classes(num_classes, "confusion_counts")
    true = _labels(y_true, "y_true", num_classes)
    pred = _labels(y_pred, "y_pred", num_classes)
    if true.shape != pred.shape:
        rule = f"the same length as y_true ({true.size})"
        raise invalid_argument("y_pred", "confusion_counts", rule, f"length {pred.size}")
    if true.size == 0:
        rule = "at least one sample (scikit-learn's confusion_matrix refuses empty input too)"
        raise invalid_argument("y_true", "confusion_counts", rule, "shape (0,)")
    weights = None
    if sample_weight is not None:
        weights = check_sample_weight(sample_weight, true.size, "confusion_counts")
    flat = np.bincount(true * num_classes + pred, weights=weights, minlength=num_classes**2)
    return flat.reshape(num_classes, num_classes)


def counts_from_confusion(
    confusion: npt.ArrayLike,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """Per-class true positives, false positives and false negatives of a confusion matrix.

    Parameters
    ----------
    confusion
        A square ``(C, C)`` confusion matrix, rows true classes, columns predicted classes.

    Returns
    -------
    tuple of numpy.ndarray
        ``(tp, fp, fn)``, each of shape ``(C,)``.

    Examples
    --------
    >>> tp, fp, fn = counts_from_confusion([[5, 1], [2, 3]])
    >>> tp.tolist(), fp.tolist(), fn.tolist()
    ([5, 3], [2, 1], [1, 2])
    """
    cm = np.asarray(confusion)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 2:
        received = f"shape {cm.shape}"
        raise invalid_argument("confusion", "counts_from_confusion", "a square matrix", received)
    if cm.dtype.kind not in "biuf" or np.any(cm < 0) or not np.all(np.isfinite(cm)):
        rule = "non-negative finite counts"
        raise invalid_argument("confusion", "counts_from_confusion", rule, cm.tolist())
    tp = np.diagonal(cm).copy()
    return tp, cm.sum(axis=0) - tp, cm.sum(axis=1) - tp


def safe_divide(numerator: Any, denominator: Any, xp: Any = np) -> Any:
    """``numerator / denominator``, 0 where the denominator is 0 (``zero_division=0``).

    A NaN denominator stays NaN (never a clean 0): a count poisoned by a non-finite input
    inside a traced ``StreamingF1.update_state`` shows in the result.
    """
    positive = denominator > 0
    safe = xp.where(positive, denominator, xp.ones_like(denominator))
    quotient = xp.where(positive, numerator / safe, xp.zeros_like(numerator))
    return xp.where(xp.isnan(denominator), denominator, quotient)


def per_class_score(score: Score, tp: Any, fp: Any, fn: Any, xp: Any = np) -> Any:
    """Precision, recall or F1 of each class from its counts (works on scalars too)."""
    if score == "precision":
        return safe_divide(tp, tp + fp, xp)
    if score == "recall":
        return safe_divide(tp, tp + fn, xp)
    return safe_divide(2 * tp, 2 * tp + fp + fn, xp)


def averaged_score(
    score: Score,
    tp: Any,
    fp: Any,
    fn: Any,
    *,
    average: Average,
    positive_class: int = 1,
    xp: Any = np,
) -> Any:
    """Average a per-class score as scikit-learn does (``labels=range(C)``, zero_division=0).

    ``tp``, ``fp`` and ``fn`` are per-class vectors (NumPy arrays or backend tensors, matching
    ``xp``); the result is a scalar, or the per-class vector when ``average`` is None.
    """
    if average == "micro":
        return per_class_score(score, xp.sum(tp), xp.sum(fp), xp.sum(fn), xp)
    scores = per_class_score(score, tp, fp, fn, xp)
    if average is None:
        return scores
    if average == "binary":
        return scores[positive_class]
    if average == "macro":
        return xp.mean(scores)
    support = tp + fn
    return safe_divide(xp.sum(scores * support), xp.sum(support), xp)


def _from_confusion(
    score: Score, confusion: npt.ArrayLike, average: Average, positive_class: int, owner: str
) -> float | npt.NDArray[np.float64]:
    check_choice("average", owner, average, AVERAGES)
    tp, fp, fn = (c.astype(np.float64) for c in counts_from_confusion(confusion))
    check_class_index("positive_class", owner, positive_class, tp.size)
    value = averaged_score(score, tp, fp, fn, average=average, positive_class=positive_class)
    return np.asarray(value, dtype=np.float64) if average is None else float(value)


def f1_from_confusion(
    confusion: npt.ArrayLike, *, average: Average = "binary", positive_class: int = 1
) -> float | npt.NDArray[np.float64]:
    """F1 score from a confusion matrix, as ``sklearn.metrics.f1_score`` computes it.

    Parameters
    ----------
    confusion
        ``(C, C)`` matrix of counts (rows true, columns predicted), e.g. from
        :func:`confusion_counts`.
    average
        ``"binary"`` (F1 of ``positive_class``), ``"macro"``, ``"weighted"`` (by support),
        ``"micro"`` (pooled counts), or None for the per-class vector.
    positive_class
        The class reported by ``average="binary"``.

    Returns
    -------
    float or numpy.ndarray
        Equal to ``f1_score(y_true, y_pred, labels=range(C), average=..., zero_division=0)``
        (with ``pos_label=positive_class`` for ``"binary"``).

    Examples
    --------
    >>> f1_from_confusion([[5, 1], [2, 3]])
    0.6666666666666666
    >>> f1_from_confusion([[5, 1], [2, 3]], average=None).round(4).tolist()
    [0.7692, 0.6667]
    """
    return _from_confusion("f1", confusion, average, positive_class, "f1_from_confusion")


def precision_from_confusion(
    confusion: npt.ArrayLike, *, average: Average = "binary", positive_class: int = 1
) -> float | npt.NDArray[np.float64]:
    """Precision from a confusion matrix, as ``sklearn.metrics.precision_score`` computes it.

    Parameters
    ----------
    confusion
        A square ``(C, C)`` confusion matrix, rows true classes, columns predicted classes.
    average
        ``"binary"`` (the score of ``positive_class``), ``None`` (one score per class),
        ``"macro"``, ``"weighted"`` or ``"micro"``, as in :func:`f1_from_confusion`.
    positive_class
        The class scored when ``average="binary"``.

    Returns
    -------
    float or numpy.ndarray
        The precision; an array of shape ``(C,)`` when ``average`` is None.

    Examples
    --------
    >>> precision_from_confusion([[5, 1], [2, 3]])
    0.75
    """
    return _from_confusion(
        "precision", confusion, average, positive_class, "precision_from_confusion"
    )


def recall_from_confusion(
    confusion: npt.ArrayLike, *, average: Average = "binary", positive_class: int = 1
) -> float | npt.NDArray[np.float64]:
    """Recall from a confusion matrix, as ``sklearn.metrics.recall_score`` computes it.

    Parameters
    ----------
    confusion
        A square ``(C, C)`` confusion matrix, rows true classes, columns predicted classes.
    average
        ``"binary"`` (the score of ``positive_class``), ``None`` (one score per class),
        ``"macro"``, ``"weighted"`` or ``"micro"``, as in :func:`f1_from_confusion`.
    positive_class
        The class scored when ``average="binary"``.

    Returns
    -------
    float or numpy.ndarray
        The recall; an array of shape ``(C,)`` when ``average`` is None.

    Examples
    --------
    >>> recall_from_confusion([[5, 1], [2, 3]])
    0.6
    """
    return _from_confusion("recall", confusion, average, positive_class, "recall_from_confusion")
