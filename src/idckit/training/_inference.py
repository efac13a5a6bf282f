"""Inference shared by folds, ``evaluate`` and ``predict``: P(IDC+) and flat report metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument
from idckit.training._predictions import Predictions


def positive_probability(output: Any) -> npt.NDArray[np.float64]:
    """P(IDC+) from a model's output: column 1 of a softmax ``(N, C)``, or a sigmoid ``(N, 1)``.

    Examples
    --------
    >>> positive_probability(np.array([[0.3, 0.7]])).tolist()
    [0.7]
    >>> positive_probability(np.array([[0.2]])).tolist()
    [0.2]
    """
    array = np.asarray(output, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] >= 2:
        return np.ascontiguousarray(array[:, 1])
    return array.reshape(-1)


def predict_probability(models: Sequence[Any], dataset: Any, batch_size: int) -> Any:
    """Mean P(IDC+) of ``models`` (an ensemble) for every patch of ``dataset``, in order."""
    feed = dataset.to_keras(batch_size, shuffle=False, augment=False)
    probs = [positive_probability(model.predict(feed, verbose=0)) for model in models]
    return np.mean(probs, axis=0)


def dataset_predictions(dataset: Any, prob: npt.NDArray[np.float64]) -> Predictions:
    """Attach ``dataset``'s per-patch metadata to ``prob``."""
    labels = getattr(dataset, "labels", None)
    known = labels is not None and len(labels) == len(prob) and bool(np.all(labels >= 0))
    return Predictions(
        paths=[str(p) for p in dataset.paths],
        patients=[str(p) for p in dataset.patients],
        x=np.asarray(dataset.x, dtype=np.int64),
        y=np.asarray(dataset.y, dtype=np.int64),
        labels=np.asarray(labels, dtype=np.int64) if known else None,
        prob_idc=np.asarray(prob, dtype=np.float64),
    )


def report_for(predictions: Predictions, threshold: float) -> Any:
    """Build the :class:`~idckit.reporting.ClassificationReport` of labelled predictions."""
    from idckit.reporting import ClassificationReport

    if predictions.labels is None:
        raise invalid_argument("dataset", "KFoldTrainer", "patches with known labels", None)
    return ClassificationReport.from_predictions(
        predictions.labels, predictions.prob_idc, threshold=threshold
    )


def flat_metrics(report: Any) -> dict[str, Any]:
    """Flatten a ``ClassificationReport`` into the summary ``idckit evaluate --json`` prints.

    Keys: ``f1_pos``, ``f1_macro``, ``f1_weighted``, ``precision_pos``, ``recall_pos``,
    ``accuracy``, ``balanced_accuracy``, ``roc_auc``, ``confusion_matrix`` (``[[tn, fp], [fn,
    tp]]``) and ``threshold``.
    """
    data: Mapping[str, Any] = report.to_dict()
    positive = data[report.target_names[1]]
    return {
        "f1_pos": float(positive["f1-score"]),
        "f1_macro": float(data["macro avg"]["f1-score"]),
        "f1_weighted": float(data["weighted avg"]["f1-score"]),
        "precision_pos": float(positive["precision"]),
        "recall_pos": float(positive["recall"]),
        "accuracy": float(data["accuracy"]),
        "balanced_accuracy": float(data["balanced_accuracy"]),
        "roc_auc": _optional_float(data.get("roc_auc")),
        "confusion_matrix": np.asarray(data["confusion_matrix"]).astype(int).tolist(),
        "threshold": float(data["threshold"]),
    }


def _optional_float(value: Any) -> float:
    return float("nan") if value is None else float(value)
