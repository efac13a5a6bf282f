"""choose_threshold: pick the probability cut-off for IDC(+) from validation predictions."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from idckit._errors import check_choice, invalid_argument
from idckit.reporting._inputs import binary_labels, check_probability, positive_scores, same_length

Objective = Literal["f1", "youden", "min_recall"]
_OWNER = "choose_threshold"


def threshold_sweep(
    y_true: npt.NDArray[np.int64], scores: npt.NDArray[np.floating]
) -> tuple[npt.NDArray[np.floating], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Every distinct score as a threshold (descending), with TP and FP counts at ``>=`` it."""
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_labels = scores[order], y_true[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_each]
    false_positives = last_of_each + 1 - true_positives
    return sorted_scores[last_of_each], true_positives, false_positives


def _lowest_best(values: npt.NDArray[np.generic]) -> int:
    """Index of the last maximum: thresholds descend, so ties go to the lowest threshold."""
    return int(values.size - 1 - np.argmax(values[::-1]))


def choose_threshold(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    objective: Objective = "f1",
    *,
    min_recall: float = 0.9,
) -> float:
    """Choose the threshold on P(IDC+) at which to predict IDC(+) (``p >= threshold``).

    Candidates are the distinct values of ``y_prob`` (the thresholds of scikit-learn's
    ``precision_recall_curve`` and ``roc_curve``); the result is one of them.

    Parameters
    ----------
    y_true
        Labels, 0 = IDC(-) and 1 = IDC(+), shape ``(N,)``; at least one IDC(+) (and, for
        ``"youden"``, one IDC(-)).
    y_prob
        P(IDC+) ``(N,)``/``(N, 1)``, or class probabilities ``(N, 2)``, as floats.
    objective
        ``"f1"``: maximise the F1 score of IDC(+). ``"youden"``: maximise Youden's J,
        sensitivity + specificity - 1. ``"min_recall"``: the highest threshold whose
        sensitivity (recall of IDC(+)) is at least ``min_recall``, i.e. the fewest false
        alarms while missing at most ``1 - min_recall`` of the cancers. Ties in the first two
        go to the lowest threshold (the more sensitive one).
    min_recall
        Target sensitivity in (0, 1] for ``objective="min_recall"``; ignored otherwise. The
        default 0.9 is the capstone's aim of fewer than 10% missed cancers.

    Returns
    -------
    float
        The threshold, to pass to ``ClassificationReport.from_predictions(threshold=...)``.

    Examples
    --------
    >>> y_true = [0, 0, 0, 1, 1, 1]
    >>> y_prob = [0.1, 0.4, 0.35, 0.8, 0.3, 0.9]
    >>> choose_threshold(y_true, y_prob)
    0.8
    >>> choose_threshold(y_true, y_prob, "min_recall", min_recall=1.0)  # miss no cancer
    0.3
    """
    check_choice("objective", _OWNER, objective, ("f1", "youden", "min_recall"))
    min_recall = check_probability("min_recall", _OWNER, min_recall, open_low=True)
    labels = binary_labels(y_true, _OWNER)
    scores = positive_scores(y_prob, "y_prob", _OWNER)
    same_length(labels, scores, "y_prob", _OWNER)
    positives, negatives = int(labels.sum()), int(labels.size - labels.sum())
    if positives == 0 or (objective == "youden" and negatives == 0):
        rule = "both classes (0 and 1)" if objective == "youden" else "at least one IDC(+) (1)"
        raise invalid_argument("y_true", _OWNER, rule, np.unique(labels).tolist())
    thresholds, tp, fp = threshold_sweep(labels, scores)
    if objective == "f1":  # 2TP / (2TP + FP + FN) with FN = P - TP; exact ratios tie exactly
        best = _lowest_best(2 * tp / (tp + fp + positives))
    elif objective == "youden":  # J = TP/P - FP/N, compared exactly as TP*N - FP*P
        best = _lowest_best(tp * negatives - fp * positives)
    else:  # recall never falls as the threshold descends: the first to reach the target
        best = int(np.argmax(tp / positives >= min_recall))
    return float(thresholds[best])
