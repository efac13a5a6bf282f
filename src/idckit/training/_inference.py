"""Inference shared by folds, ``evaluate`` and ``predict``: ensemble P(IDC+), flat metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument
from idckit.inference import SpatialSmoothing
from idckit.reporting import ClassificationReport
from idckit.training._predictions import Predictions

_BATCHES_PER_READ = 16  # pixels read from the cache per step: 16 batches


def predict_probability(
    models: Sequence[Any], dataset: Any, batch_size: int, *, tta: bool = False, context: int = 0
) -> npt.NDArray[np.float64]:
    """Mean P(IDC+) of ``models`` (an ensemble) for every patch of ``dataset``, in order.

    Pixels are read a block of batches at a time (:meth:`IDCPatchDataset.load_images`, as
    mosaics of each patch's neighbourhood with ``context``) and every model predicts each
    block, with the 8-way dihedral test-time augmentation if ``tta``.
    """
    from idckit.inference import predict_proba

    total = np.zeros(len(dataset), dtype=np.float64)
    block = batch_size * _BATCHES_PER_READ
    for start in range(0, len(dataset), block):
        rows = np.arange(start, min(start + block, len(dataset)))
        images = dataset.load_images(rows, context=context)
        for model in models:
            total[rows] += predict_proba(model, images, tta=tta, batch_size=batch_size)
    return total / max(len(models), 1)


def postprocess(
    prob: npt.NDArray[np.float64], dataset: Any, smoothing: SpatialSmoothing | None
) -> npt.NDArray[np.float64]:
    """Apply spatial smoothing (when set) over ``dataset``'s patients and grid positions."""
    if smoothing is None:
        return prob
    return smoothing.apply(prob, dataset.patients, dataset.x, dataset.y)


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


def report_for(predictions: Predictions, threshold: float) -> ClassificationReport:
    """Build the :class:`~idckit.reporting.ClassificationReport` of labelled predictions."""
    if predictions.labels is None:
        raise invalid_argument("dataset", "KFoldTrainer", "patches with known labels", None)
    return ClassificationReport.from_predictions(
        predictions.labels, predictions.prob_idc, threshold=threshold
    )
