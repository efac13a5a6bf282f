"""The text form of a report: scikit-learn's ``classification_report`` table, then the extras."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_HEADERS = ("precision", "recall", "f1-score", "support")
_KEYS = ("precision", "recall", "f1-score", "support")
_EXTRAS = (
    ("balanced accuracy", "balanced_accuracy"),
    ("sensitivity", "sensitivity"),
    ("specificity", "specificity"),
    ("ROC-AUC", "roc_auc"),
    ("average precision", "average_precision"),
    ("threshold", "threshold"),
)


def _table(data: Mapping[str, Any], names: tuple[str, str], digits: int, width: int) -> str:
    """Format the table exactly as ``classification_report(..., digits=digits)`` prints it."""
    head = "{:>{width}s} " + " {:>9}" * len(_HEADERS)
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    text = head.format("", *_HEADERS, width=width) + "\n\n"
    for name in names:
        text += row.format(name, *(data[name][k] for k in _KEYS), width=width, digits=digits)
    accuracy_row = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
    support = data["macro avg"]["support"]
    text += "\n" + accuracy_row.format(
        "accuracy", "", "", data["accuracy"], support, width=width, digits=digits
    )
    for average in ("macro avg", "weighted avg"):
        text += row.format(average, *(data[average][k] for k in _KEYS), width=width, digits=digits)
    return text


def _value(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def format_report(data: Mapping[str, Any], names: tuple[str, str], digits: int) -> str:
    """Format ``ClassificationReport.to_dict()`` output as text.

    The first block equals ``sklearn.metrics.classification_report`` with the same
    ``digits``; then come balanced accuracy, sensitivity, specificity, ROC-AUC, average
    precision, the threshold and the confusion matrix.
    """
    width = max(*(len(n) for n in names), len("weighted avg"), digits)
    text = _table(data, names, digits, width)
    extra_width = max(width, *(len(label) for label, _ in _EXTRAS))
    text += "\n"
    for label, key in _EXTRAS:
        text += f"{label:>{extra_width}s}  {_value(data[key], digits):>9}\n"
    text += "\nconfusion matrix (rows: true class, columns: predicted class)\n"
    text += f"{'':>{width}s} " + "".join(f" {name:>9}" for name in names) + "\n"
    for name, counts in zip(names, data["confusion_matrix"], strict=True):
        text += f"{name:>{width}s} " + "".join(f" {count:>9}" for count in counts) + "\n"
    return text
