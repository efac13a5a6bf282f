"""Plots of a ClassificationReport: confusion-matrix heat map, ROC and precision-recall curves.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state, nothing shown):
display one in a notebook by leaving it as the cell's last value, or call ``fig.savefig``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from idckit._errors import check_choice, invalid_argument

if TYPE_CHECKING:
    from idckit.reporting._report import ClassificationReport


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``ax`` and its root figure, or a new figure with one axes."""
    if ax is None:
        figure = Figure(figsize=figsize, layout="constrained")
        return figure, figure.add_subplot()
    parent = ax.figure
    root = getattr(parent, "figure", parent)  # a SubFigure's .figure is the root figure
    if not isinstance(root, Figure):  # pragma: no cover - axes always belong to a figure
        raise TypeError("ax does not belong to a matplotlib Figure")
    return root, ax


def confusion_values(report: ClassificationReport, normalize: object) -> npt.NDArray[np.float64]:
    """Return the matrix drawn: counts, or rows over their totals (``"true"``; empty rows 0)."""
    check_choice("normalize", "plot_confusion_matrix", normalize, (False, "true"))
    counts = report.confusion_matrix.astype(np.float64)
    if normalize is False:
        return counts
    totals = counts.sum(axis=1, keepdims=True)
    normalised: npt.NDArray[np.float64] = np.divide(
        counts, totals, out=np.zeros_like(counts), where=totals > 0
    )
    return normalised


def plot_confusion_matrix(
    report: ClassificationReport,
    normalize: Literal[False, "true"] = False,
    *,
    ax: Axes | None = None,
    cmap: str = "Blues",
) -> Figure:
    """Heat map of a report's confusion matrix, each cell annotated with its value.

    Parameters
    ----------
    report
        The :class:`~idckit.reporting.ClassificationReport` to draw.
    normalize
        False for counts; ``"true"`` to divide each row by its class's support, so the
        diagonal shows specificity and sensitivity.
    ax
        Axes to draw into; a new figure is made when None.
    cmap
        Matplotlib colour map.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the heat map (the one of ``ax`` when given).

    Examples
    --------
    >>> from idckit.reporting import ClassificationReport
    >>> report = ClassificationReport.from_predictions([0, 0, 1, 1], [0.2, 0.7, 0.9, 0.4])
    >>> fig = plot_confusion_matrix(report, normalize="true")
    >>> fig.axes[0].images[0].get_array().tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    values = confusion_values(report, normalize)
    figure, ax = new_axes(ax, (4.8, 4.0))
    top = 1.0 if normalize else max(float(values.max()), 1.0)
    image = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=top)
    figure.colorbar(image, ax=ax)
    for (row, column), value in np.ndenumerate(values):
        text = f"{value:.2f}" if normalize else f"{int(value)}"
        colour = "white" if value > top / 2 else "black"
        ax.text(column, row, text, ha="center", va="center", color=colour)
    ticks = range(len(report.target_names))
    ax.set_xticks(ticks, report.target_names)
    ax.set_yticks(ticks, report.target_names)
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    ax.set_title("Confusion matrix" + (" (normalised by true class)" if normalize else ""))
    return figure


def _scores(
    report: ClassificationReport, owner: str, need: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.floating]]:
    if report.y_true is None or report.y_score is None:
        raise invalid_argument(
            "report", owner, "a report built from probabilities (it keeps y_true and y_score)",
            "a report without scores",
            "Build it with ClassificationReport.from_predictions(y_true, y_prob).",
        )  # fmt: skip
    single_class = np.unique(report.y_true).size < 2
    if (need == "both" and single_class) or not report.y_true.any():
        rule = "labels of both classes" if need == "both" else "at least one IDC(+) label"
        received = np.unique(report.y_true).tolist()
        raise invalid_argument("report.y_true", owner, rule, received)
    return report.y_true, report.y_score


def _mark_threshold(ax: Axes, x: float, y: float, threshold: float | None) -> None:
    label = "operating point" if threshold is None else f"threshold = {threshold:.2f}"
    ax.plot([x], [y], "o", color="crimson", markersize=8, label=label, zorder=3)


#: Marker and colour of each further operating point, in the order given (then repeated).
_EXTRA_MARKERS = (("s", "darkorange"), ("^", "forestgreen"), ("D", "purple"), ("v", "teal"))


def check_operating_points(value: object, owner: str) -> dict[str, float]:
    """Return ``operating_points`` as ``{name: threshold}``, or refuse it with the template."""
    if value is None:
        return {}
    rule = "None or a mapping of names to thresholds in [0, 1], e.g. {'90% recall': 0.31}"
    if not isinstance(value, Mapping):
        raise invalid_argument("operating_points", owner, rule, value)
    points = {}
    for name, threshold in value.items():
        number = threshold if isinstance(threshold, numbers.Real) else None
        if not isinstance(name, str) or number is None or isinstance(number, bool):
            raise invalid_argument("operating_points", owner, rule, dict(value))
        if not 0.0 <= float(number) <= 1.0:
            raise invalid_argument("operating_points", owner, rule, dict(value))
        points[name] = float(number)
    return points


def _mark_operating_points(
    ax: Axes,
    report: ClassificationReport,
    points: Mapping[str, float],
    position: str,
) -> None:
    """Mark each named threshold's (x, y) on a ROC (``"roc"``) or PR (``"pr"``) curve."""
    for k, (name, threshold) in enumerate(points.items()):
        at = report.at_threshold(threshold)
        if position == "roc":
            x, y = 1.0 - at.specificity, at.sensitivity
        else:
            x, y = float(at.recall[1]), float(at.precision[1])
        marker, colour = _EXTRA_MARKERS[k % len(_EXTRA_MARKERS)]
        label = f"{name} (threshold = {threshold:.2f})"
        ax.plot([x], [y], marker, color=colour, markersize=8, label=label, zorder=3)


def plot_roc(
    report: ClassificationReport,
    *,
    ax: Axes | None = None,
    operating_points: Mapping[str, float] | None = None,
) -> Figure:
    """ROC curve of the report's scores, with its operating point (at ``threshold``) marked.

    Parameters
    ----------
    report
        A :class:`~idckit.reporting.ClassificationReport` built from probabilities, with
        both classes among its labels.
    ax
        Axes to draw into; a new figure is made when None.
    operating_points
        Further thresholds to mark, by name (e.g. ``{"90% recall": run.recall_threshold}``):
        each is drawn at the report's ``(1 - specificity, sensitivity)`` at that threshold,
        with its own marker and a legend entry ``"<name> (threshold = t)"``.

    Returns
    -------
    matplotlib.figure.Figure
        Lines: the ROC curve (``sklearn.metrics.roc_curve``), the chance diagonal, the
        operating point ``(1 - specificity, sensitivity)`` and then one per entry of
        ``operating_points``, in order.

    Examples
    --------
    >>> from idckit.reporting import ClassificationReport
    >>> report = ClassificationReport.from_predictions([0, 0, 1, 1], [0.2, 0.7, 0.9, 0.4])
    >>> fig = plot_roc(report)
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'ROC curve (AUC = 0.750)'
    >>> fig = plot_roc(report, operating_points={"90% recall": 0.4})
    >>> fig.axes[0].get_legend().get_texts()[-1].get_text()
    '90% recall (threshold = 0.40)'
    """
    from sklearn.metrics import roc_curve

    y_true, y_score = _scores(report, "plot_roc", "both")
    points = check_operating_points(operating_points, "plot_roc")
    fpr, tpr, _ = roc_curve(y_true, y_score)
    figure, ax = new_axes(ax, (4.8, 4.4))
    ax.plot(fpr, tpr, label=f"ROC curve (AUC = {report.roc_auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    _mark_threshold(ax, 1.0 - report.specificity, report.sensitivity, report.threshold)
    _mark_operating_points(ax, report, points, "roc")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal", title="ROC curve")
    ax.set_xlabel("False positive rate (1 - specificity)")
    ax.set_ylabel("True positive rate (sensitivity)")
    ax.legend(loc="lower right")
    return figure


def plot_precision_recall(
    report: ClassificationReport,
    *,
    ax: Axes | None = None,
    operating_points: Mapping[str, float] | None = None,
) -> Figure:
    """Precision-recall curve of IDC(+), with the operating point (at ``threshold``) marked.

    Parameters
    ----------
    report
        A :class:`~idckit.reporting.ClassificationReport` built from probabilities, with at
        least one IDC(+) label.
    ax
        Axes to draw into; a new figure is made when None.
    operating_points
        Further thresholds to mark, by name (e.g. ``{"90% recall": run.recall_threshold}``):
        each is drawn at the report's ``(recall, precision)`` of IDC(+) at that threshold,
        with its own marker and a legend entry ``"<name> (threshold = t)"``.

    Returns
    -------
    matplotlib.figure.Figure
        Lines: the curve (``sklearn.metrics.precision_recall_curve``, drawn as steps), the
        prevalence of IDC(+) (a classifier without skill), the operating point
        ``(recall, precision)`` of IDC(+) and then one per entry of ``operating_points``.

    Examples
    --------
    >>> from idckit.reporting import ClassificationReport
    >>> report = ClassificationReport.from_predictions([0, 0, 1, 1], [0.2, 0.7, 0.9, 0.4])
    >>> fig = plot_precision_recall(report)
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'precision-recall (AP = 0.833)'
    """
    from sklearn.metrics import precision_recall_curve

    y_true, y_score = _scores(report, "plot_precision_recall", "positive")
    points = check_operating_points(operating_points, "plot_precision_recall")
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    figure, ax = new_axes(ax, (4.8, 4.4))
    label = f"precision-recall (AP = {report.average_precision:.3f})"
    ax.plot(recall, precision, drawstyle="steps-post", label=label)
    prevalence = float(y_true.mean())
    ax.axhline(prevalence, linestyle="--", color="grey", label=f"prevalence = {prevalence:.2f}")
    _mark_threshold(ax, float(report.recall[1]), float(report.precision[1]), report.threshold)
    _mark_operating_points(ax, report, points, "pr")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal")
    ax.set_title(f"Precision-recall curve of {report.target_names[1]}")
    ax.set_xlabel(f"Recall (sensitivity) of {report.target_names[1]}")
    ax.set_ylabel(f"Precision of {report.target_names[1]}")
    ax.legend(loc="lower left")
    return figure
