"""ClassificationReport: every number of a binary IDC classifier's evaluation, in one record."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument
from idckit.metrics import (
    confusion_counts,
    f1_from_confusion,
    precision_from_confusion,
    recall_from_confusion,
)
from idckit.reporting._inputs import (
    binary_labels,
    check_probability,
    is_hard_labels,
    positive_scores,
    same_length,
)
from idckit.reporting._text import format_report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

TARGET_NAMES = ("IDC(-)", "IDC(+)")
_OWNER = "ClassificationReport"
_EXTRA_KEYS = (
    "accuracy", "macro avg", "weighted avg", "balanced_accuracy", "roc_auc", "average_precision",
    "sensitivity", "specificity", "confusion_matrix", "threshold",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class ClassificationReport:
    """The evaluation of a binary IDC classifier: scikit-learn's report and more.

    Every number derives from the confusion matrix, except ROC-AUC and average precision,
    which need the scores. Build one with :meth:`from_predictions`; the constructor only
    stores and checks its fields.

    Parameters
    ----------
    confusion_matrix
        ``[[tn, fp], [fn, tp]]`` (rows true class, columns predicted class).
    threshold
        Probability at or above which IDC(+) was predicted; None for hard labels.
    roc_auc, average_precision
        Ranking metrics of the scores; None without scores or when undefined (a single
        class in ``y_true``; no IDC(+) for average precision).
    target_names
        Names of class 0 and class 1.
    y_true, y_score
        Labels and P(IDC+) scores the report was built from, kept for the ROC and
        precision-recall plots; None when unknown.

    Examples
    --------
    >>> r = ClassificationReport.from_predictions([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.4])
    >>> r.confusion_matrix.tolist(), r.sensitivity, r.roc_auc
    ([[1, 1], [1, 1]], 0.5, 0.75)
    >>> r.to_dict()["IDC(+)"]
    {'precision': 0.5, 'recall': 0.5, 'f1-score': 0.5, 'support': 2}
    """

    confusion_matrix: npt.NDArray[np.int64]
    threshold: float | None = 0.5
    roc_auc: float | None = None
    average_precision: float | None = None
    target_names: tuple[str, str] = TARGET_NAMES
    y_true: npt.NDArray[np.int64] | None = field(default=None, repr=False)
    y_score: npt.NDArray[np.floating] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        cm = np.asarray(self.confusion_matrix)
        if cm.shape != (2, 2) or cm.dtype.kind not in "iu" or np.any(cm < 0):
            rule = "a 2x2 matrix of non-negative integer counts"
            raise invalid_argument("confusion_matrix", _OWNER, rule, cm.tolist())
        cm = cm.astype(np.int64)
        cm.setflags(write=False)
        object.__setattr__(self, "confusion_matrix", cm)
        if self.threshold is not None:
            threshold = check_probability("threshold", _OWNER, self.threshold, open_low=False)
            object.__setattr__(self, "threshold", threshold)
        for name in ("roc_auc", "average_precision"):
            if getattr(self, name) is not None:
                value = check_probability(name, _OWNER, getattr(self, name), open_low=False)
                object.__setattr__(self, name, value)
        object.__setattr__(self, "target_names", _two_names(self.target_names, _OWNER))
        self._check_scores()

    def _check_scores(self) -> None:
        if (self.y_true is None) != (self.y_score is None):
            raise invalid_argument(
                "y_score", _OWNER, "given together with y_true", "only one of them"
            )
        if self.y_true is not None and self.y_score is not None:
            y_true = binary_labels(self.y_true, _OWNER)
            y_score = positive_scores(self.y_score, "y_score", _OWNER)
            same_length(y_true, y_score, "y_score", _OWNER)
            object.__setattr__(self, "y_true", y_true)
            object.__setattr__(self, "y_score", y_score)

    @classmethod
    def from_predictions(
        cls,
        y_true: npt.ArrayLike,
        y_prob_or_pred: npt.ArrayLike,
        *,
        threshold: float = 0.5,
        target_names: Sequence[str] = TARGET_NAMES,
    ) -> ClassificationReport:
        """Evaluate predictions against labels.

        Parameters
        ----------
        y_true
            Labels, 0 = IDC(-) and 1 = IDC(+), shape ``(N,)`` or ``(N, 1)``.
        y_prob_or_pred
            Floating probabilities, P(IDC+) of shape ``(N,)``/``(N, 1)`` or class
            probabilities ``(N, 2)`` (column 1 is P(IDC+)); or hard labels as integers or
            booleans (then ROC-AUC and average precision are None, and so is the threshold).
        threshold
            IDC(+) is predicted where P(IDC+) >= threshold, in [0, 1] (closed, unlike
            :class:`~idckit.metrics.StreamingF1`'s: :func:`~idckit.reporting.choose_threshold`
            may return any score, 0 and 1 included); ignored for hard labels. For ``(N, 2)``
            softmax outputs 0.5 agrees with the argmax except on exact ties, which go to
            IDC(+).
        target_names
            Names of class 0 and class 1.

        Returns
        -------
        ClassificationReport

        Examples
        --------
        >>> report = ClassificationReport.from_predictions([0, 1, 1], [[0.8, 0.2], [0.3, 0.7],
        ...                                                            [0.6, 0.4]])
        >>> round(report.to_dict()["macro avg"]["f1-score"], 4)
        0.6667
        """
        owner = f"{_OWNER}.from_predictions"
        labels = binary_labels(y_true, owner)
        threshold = check_probability("threshold", owner, threshold, open_low=False)
        if is_hard_labels(y_prob_or_pred):
            predicted = binary_labels(y_prob_or_pred, owner, "y_prob_or_pred")
            same_length(labels, predicted, "y_prob_or_pred", owner)
            cm = confusion_counts(labels, predicted, 2)
            return cls(cm, None, target_names=_two_names(target_names, owner))
        scores = positive_scores(y_prob_or_pred, "y_prob_or_pred", owner)
        same_length(labels, scores, "y_prob_or_pred", owner)
        cm = confusion_counts(labels, (scores >= threshold).astype(np.int64), 2)
        return cls(
            cm,
            threshold,
            roc_auc=_roc_auc(labels, scores),
            average_precision=_average_precision(labels, scores),
            target_names=_two_names(target_names, owner),
            y_true=labels,
            y_score=scores,
        )

    def at_threshold(self, threshold: float) -> ClassificationReport:
        """Return the report of the same scores at another threshold.

        Parameters
        ----------
        threshold
            IDC(+) is predicted where P(IDC+) >= threshold, in [0, 1].

        Examples
        --------
        >>> r = ClassificationReport.from_predictions([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.4])
        >>> r.at_threshold(0.3).sensitivity, r.at_threshold(0.3).specificity
        (1.0, 0.5)
        """
        if self.y_true is None or self.y_score is None:
            raise invalid_argument(
                "threshold", f"{_OWNER}.at_threshold", "a report built from scores",
                threshold, "This report holds hard labels or was rebuilt from a dict.",
            )  # fmt: skip
        return self.from_predictions(
            self.y_true, self.y_score, threshold=threshold, target_names=self.target_names
        )

    # -- numbers, all from the confusion matrix ------------------------------------------------

    def _per_class(self, score: Literal["precision", "recall", "f1"]) -> npt.NDArray[np.float64]:
        per_class = {
            "precision": precision_from_confusion,
            "recall": recall_from_confusion,
            "f1": f1_from_confusion,
        }[score]
        return np.asarray(per_class(self.confusion_matrix, average=None), dtype=np.float64)

    @property
    def precision(self) -> npt.NDArray[np.float64]:
        """Precision of each class (0 where nothing was predicted in it)."""
        return self._per_class("precision")

    @property
    def recall(self) -> npt.NDArray[np.float64]:
        """Recall of each class (0 where the class has no sample)."""
        return self._per_class("recall")

    @property
    def f1(self) -> npt.NDArray[np.float64]:
        """F1 score of each class."""
        return self._per_class("f1")

    @property
    def support(self) -> npt.NDArray[np.int64]:
        """Number of samples of each class."""
        return np.asarray(self.confusion_matrix.sum(axis=1))

    @property
    def accuracy(self) -> float:
        """Fraction of samples classified correctly."""
        total = int(self.confusion_matrix.sum())
        return float(np.trace(self.confusion_matrix) / total) if total else 0.0

    @property
    def balanced_accuracy(self) -> float:
        """Mean recall over the classes present in ``y_true``."""
        present = self.support > 0
        return float(self.recall[present].mean()) if present.any() else 0.0

    @property
    def sensitivity(self) -> float:
        """Recall of IDC(+): the fraction of cancers found (1 - missed-cancer rate)."""
        return float(self.recall[1])

    @property
    def specificity(self) -> float:
        """Recall of IDC(-): the fraction of healthy tissue called healthy."""
        return float(self.recall[0])

    def _average(self, weights: npt.NDArray[np.float64] | None) -> dict[str, float | int]:
        scores = {"precision": self.precision, "recall": self.recall, "f1-score": self.f1}
        averaged: dict[str, float | int] = dict.fromkeys(scores, 0.0)
        if weights is None or weights.sum() > 0:
            averaged = {k: float(np.average(v, weights=weights)) for k, v in scores.items()}
        return averaged | {"support": int(self.support.sum())}

    @property
    def macro_avg(self) -> dict[str, float | int]:
        """Unweighted mean over the two classes: precision, recall, f1-score, support."""
        return self._average(None)

    @property
    def weighted_avg(self) -> dict[str, float | int]:
        """Support-weighted mean over the two classes: precision, recall, f1-score, support."""
        return self._average(self.support.astype(np.float64))

    # -- serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain Python values, keyed as scikit-learn's ``output_dict``.

        Class names map to ``precision``/``recall``/``f1-score``/``support``; then come
        ``accuracy``, ``macro avg``, ``weighted avg``, ``balanced_accuracy``, ``roc_auc``,
        ``average_precision``, ``sensitivity``, ``specificity``, ``confusion_matrix``
        (``[[tn, fp], [fn, tp]]``) and ``threshold``.

        Examples
        --------
        >>> r = ClassificationReport.from_predictions([0, 1], [0, 1])
        >>> r.to_dict()["confusion_matrix"], r.to_dict()["threshold"]
        ([[1, 0], [0, 1]], None)
        """
        rows = zip(self.precision, self.recall, self.f1, self.support, strict=True)
        data: dict[str, Any] = {
            name: {"precision": float(p), "recall": float(r), "f1-score": float(f),
                   "support": int(s)}
            for name, (p, r, f, s) in zip(self.target_names, rows, strict=True)
        }  # fmt: skip
        return data | {
            "accuracy": self.accuracy,
            "macro avg": self.macro_avg,
            "weighted avg": self.weighted_avg,
            "balanced_accuracy": self.balanced_accuracy,
            "roc_auc": self.roc_auc,
            "average_precision": self.average_precision,
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "confusion_matrix": self.confusion_matrix.tolist(),
            "threshold": self.threshold,
        }

    def summary(self) -> dict[str, Any]:
        """Return the headline scores as a flat dict (what ``idckit evaluate --json`` prints).

        Keys: ``f1_pos``, ``f1_macro``, ``f1_weighted``, ``precision_pos``, ``recall_pos``,
        ``accuracy``, ``balanced_accuracy``, ``roc_auc`` (NaN without scores),
        ``confusion_matrix`` (``[[tn, fp], [fn, tp]]``) and ``threshold``.

        Examples
        --------
        >>> r = ClassificationReport.from_predictions([0, 1, 1], [0.2, 0.9, 0.3], threshold=0.5)
        >>> r.summary()["recall_pos"], r.summary()["confusion_matrix"]
        (0.5, [[1, 0], [1, 1]])
        """
        data = self.to_dict()
        positive = data[self.target_names[1]]
        roc_auc, threshold = data["roc_auc"], data["threshold"]
        return {
            "f1_pos": float(positive["f1-score"]),
            "f1_macro": float(data["macro avg"]["f1-score"]),
            "f1_weighted": float(data["weighted avg"]["f1-score"]),
            "precision_pos": float(positive["precision"]),
            "recall_pos": float(positive["recall"]),
            "accuracy": float(data["accuracy"]),
            "balanced_accuracy": float(data["balanced_accuracy"]),
            "roc_auc": float("nan") if roc_auc is None else float(roc_auc),
            "confusion_matrix": np.asarray(data["confusion_matrix"]).astype(int).tolist(),
            "threshold": None if threshold is None else float(threshold),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassificationReport:
        """Rebuild a report from :meth:`to_dict` output (the scores for plots are not kept).

        Examples
        --------
        >>> r = ClassificationReport.from_predictions([0, 1, 1], [0.2, 0.9, 0.3])
        >>> ClassificationReport.from_dict(r.to_dict()).to_dict() == r.to_dict()
        True
        """
        owner = f"{_OWNER}.from_dict"
        missing = [k for k in ("confusion_matrix", "threshold") if k not in data]
        names = tuple(k for k in data if k not in _EXTRA_KEYS)
        if missing or len(names) != 2:
            rule = "a mapping written by ClassificationReport.to_dict"
            received = f"keys {sorted(data)}"
            raise invalid_argument("data", owner, rule, received)
        report = cls(
            np.asarray(data["confusion_matrix"], dtype=np.int64),
            data["threshold"],
            roc_auc=data.get("roc_auc"),
            average_precision=data.get("average_precision"),
            target_names=_two_names(names, owner),
        )
        _check_consistent(report.to_dict(), data, owner)
        return report

    def to_json(self, **kwargs: Any) -> str:
        """Return :meth:`to_dict` as JSON (``kwargs`` go to :func:`json.dumps`, e.g. indent).

        Examples
        --------
        >>> r = ClassificationReport.from_predictions([0, 1], [0.3, 0.8])
        >>> ClassificationReport.from_json(r.to_json()).confusion_matrix.tolist()
        [[1, 0], [0, 1]]
        """
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> ClassificationReport:
        """Rebuild a report from :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    # -- text and plots -------------------------------------------------------------------------

    def to_text(self, digits: int = 2) -> str:
        """Format the report: ``sklearn.metrics.classification_report``'s table, then the extras.

        Examples
        --------
        >>> r = ClassificationReport.from_predictions([0, 1, 1], [0.2, 0.9, 0.3])
        >>> print(r.to_text().splitlines()[0])
                      precision    recall  f1-score   support
        """
        return format_report(self.to_dict(), self.target_names, digits)

    def __str__(self) -> str:
        return self.to_text()

    def plot_confusion_matrix(
        self, normalize: Literal[False, "true"] = False, *, ax: Axes | None = None
    ) -> Figure:
        """Heat map of the confusion matrix: counts, or rows normalised to 1 (``"true"``).

        See :func:`idckit.reporting.plot_confusion_matrix`.
        """
        from idckit.reporting._plots import plot_confusion_matrix

        return plot_confusion_matrix(self, normalize=normalize, ax=ax)

    def plot_roc(self, *, ax: Axes | None = None) -> Figure:
        """ROC curve with the operating point at :attr:`threshold` marked.

        See :func:`idckit.reporting.plot_roc`.
        """
        from idckit.reporting._plots import plot_roc

        return plot_roc(self, ax=ax)

    def plot_precision_recall(self, *, ax: Axes | None = None) -> Figure:
        """Precision-recall curve with the operating point at :attr:`threshold` marked.

        See :func:`idckit.reporting.plot_precision_recall`.
        """
        from idckit.reporting._plots import plot_precision_recall

        return plot_precision_recall(self, ax=ax)


def _two_names(names: Sequence[str], owner: str) -> tuple[str, str]:
    values = tuple(names)
    if len(values) != 2 or len(set(values)) != 2 or not all(isinstance(n, str) for n in values):
        raise invalid_argument("target_names", owner, "two distinct strings", values)
    return values[0], values[1]


def _roc_auc(labels: npt.NDArray[np.int64], scores: npt.NDArray[np.floating]) -> float | None:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores)) if np.unique(labels).size == 2 else None


def _average_precision(
    labels: npt.NDArray[np.int64], scores: npt.NDArray[np.floating]
) -> float | None:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(labels, scores)) if labels.any() else None


def _check_consistent(rebuilt: Mapping[str, Any], data: Mapping[str, Any], owner: str) -> None:
    """Reject a dict whose numbers contradict its own confusion matrix."""
    for key, value in rebuilt.items():
        given = data.get(key, value)
        if isinstance(value, dict):
            given = {k: given.get(k, v) for k, v in value.items()}
            same = all(np.isclose(given[k], v, rtol=0, atol=1e-9) for k, v in value.items())
        elif isinstance(value, float):
            same = given is not None and bool(np.isclose(given, value, rtol=0, atol=1e-9))
        else:
            same = True
        if not same:
            rule = f"{key!r} consistent with 'confusion_matrix' ({value})"
            raise invalid_argument("data", owner, rule, f"{key}={given}")
