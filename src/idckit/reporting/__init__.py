"""Reporting: classification report, curves and threshold choice (no deep-learning framework).

Nothing here imports Keras: the confusion and F1 arithmetic is shared with
:class:`idckit.metrics.StreamingF1` through the NumPy functions of :mod:`idckit.metrics`.

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

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.reporting._agreement import RegionAgreement as RegionAgreement
    from idckit.reporting._agreement import region_agreement as region_agreement
    from idckit.reporting._curves import plot_learning_curves as plot_learning_curves
    from idckit.reporting._patient_map import plot_patient_map as plot_patient_map
    from idckit.reporting._plots import plot_confusion_matrix as plot_confusion_matrix
    from idckit.reporting._plots import plot_precision_recall as plot_precision_recall
    from idckit.reporting._plots import plot_roc as plot_roc
    from idckit.reporting._report import ClassificationReport as ClassificationReport
    from idckit.reporting._run_report import ReportEvaluation as ReportEvaluation
    from idckit.reporting._run_report import RunReport as RunReport
    from idckit.reporting._slide import plot_slide_heatmap as plot_slide_heatmap
    from idckit.reporting._threshold import choose_threshold as choose_threshold

_EXPORTS = {
    "ClassificationReport": "idckit.reporting._report",
    "RegionAgreement": "idckit.reporting._agreement",
    "ReportEvaluation": "idckit.reporting._run_report",
    "RunReport": "idckit.reporting._run_report",
    "choose_threshold": "idckit.reporting._threshold",
    "plot_confusion_matrix": "idckit.reporting._plots",
    "plot_learning_curves": "idckit.reporting._curves",
    "plot_patient_map": "idckit.reporting._patient_map",
    "plot_precision_recall": "idckit.reporting._plots",
    "plot_roc": "idckit.reporting._plots",
    "plot_slide_heatmap": "idckit.reporting._slide",
    "region_agreement": "idckit.reporting._agreement",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
