"""Reporting: classification report, curves and threshold choice (no deep-learning framework).

Nothing here imports Keras: the confusion and F1 arithmetic is shared with
:class:`idckit.metrics.StreamingF1` through the NumPy module :mod:`idckit.metrics._confusion`.

Examples
--------
>>> from idckit.reporting import ClassificationReport, choose_threshold
>>> y_true, y_prob = [0, 0, 1, 1, 1], [0.1, 0.6, 0.55, 0.8, 0.9]
>>> threshold = choose_threshold(y_true, y_prob, "min_recall", min_recall=0.9)
>>> report = ClassificationReport.from_predictions(y_true, y_prob, threshold=threshold)
>>> report.sensitivity, threshold
(1.0, 0.55)
"""

from __future__ import annotations

from idckit.reporting._curves import plot_learning_curves
from idckit.reporting._patient_map import plot_patient_map
from idckit.reporting._plots import plot_confusion_matrix, plot_precision_recall, plot_roc
from idckit.reporting._report import ClassificationReport
from idckit.reporting._threshold import choose_threshold

__all__ = [
    "ClassificationReport",
    "choose_threshold",
    "plot_confusion_matrix",
    "plot_learning_curves",
    "plot_patient_map",
    "plot_precision_recall",
    "plot_roc",
]
