"""One patient's patches put back in place: the tissue, its annotation and a model's errors.

The data set cuts each slide into patches named by their position (``x``, ``y``); laid out on
that grid again they show where IDC(+) was annotated and where a model's false positives and
false negatives lie, which a confusion matrix cannot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.collections import LineCollection
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from idckit._errors import invalid_argument
from idckit.reporting._report import TARGET_NAMES

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

_OWNER = "plot_patient_map"

#: Colours of the error panel by outcome code: 0 TN, 1 FP, 2 FN, 3 TP.
_OUTCOME_COLOURS = ListedColormap(["#d9d9d9", "#ff7f0e", "#1f77b4", "#d62728"])
#: The error panel's legend, in reading order: (outcome code, name).
_OUTCOMES = ((3, "true positive"), (1, "false positive"), (2, "false negative"),
             (0, "true negative"))  # fmt: skip
_LABEL_COLOURS = ListedColormap(["#d9d9d9", "#d62728"])


def _key(colour: Any, label: str) -> Patch:
    return Patch(facecolor=colour, edgecolor="0.6", label=label)


def _legend(ax: Axes, handles: list[Artist], title: str | None = None) -> None:
    """Draw a panel's colour key under it, where it hides no cell."""
    ax.legend(
        handles=handles, title=title, loc="upper center", bbox_to_anchor=(0.5, -0.01),
        ncol=2, fontsize="small", title_fontsize="small", frameon=False,
        handlelength=1.2, columnspacing=1.2,
    )  # fmt: skip


def patch_grid(
    x: npt.ArrayLike, y: npt.ArrayLike, step: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], tuple[int, int]]:
    """Return the row and column of each patch on its patient's grid, and the grid's shape.

    Examples
    --------
    >>> rows, cols, shape = patch_grid([1, 51, 1], [1, 1, 101], 50)
    >>> rows.tolist(), cols.tolist(), shape
    ([0, 0, 2], [0, 1, 0], (3, 2))
    """
    x, y = np.asarray(x, np.int64), np.asarray(y, np.int64)
    cols = ((x - x.min()) // step).astype(np.intp)
    rows = ((y - y.min()) // step).astype(np.intp)
    return rows, cols, (int(rows.max()) + 1, int(cols.max()) + 1)


def _cells(values: npt.ArrayLike, rows: Any, cols: Any, shape: tuple[int, int]) -> Any:
    """Return a masked grid holding ``values`` at their cells (cells without a patch masked)."""
    grid = np.ma.MaskedArray(np.zeros(shape), mask=np.ones(shape, dtype=bool))
    grid[rows, cols] = np.asarray(values, np.float64)
    return grid


def _outline(annotated: npt.NDArray[np.float64]) -> list[list[tuple[float, float]]]:
    """Return the cell edges between annotated IDC(+) cells and the rest, as line segments.

    Cell ``(row, col)`` is centred on ``(col, row)``, as ``imshow`` draws it.

    Examples
    --------
    >>> _outline(np.array([[0.0, 1.0]]))  # one cell: its four sides
    [[(0.5, -0.5), (1.5, -0.5)], [(0.5, 0.5), (1.5, 0.5)], [(0.5, -0.5), (0.5, 0.5)], \
[(1.5, -0.5), (1.5, 0.5)]]
    """
    inside = np.pad(annotated > 0.5, 1)
    across_rows = np.argwhere(inside[:-1, 1:-1] != inside[1:, 1:-1])  # edge above cell (r, c)
    across_cols = np.argwhere(inside[1:-1, :-1] != inside[1:-1, 1:])  # edge left of (r, c)
    horizontal = [[(c - 0.5, r - 0.5), (c + 0.5, r - 0.5)] for r, c in across_rows.tolist()]
    vertical = [[(c - 0.5, r - 0.5), (c - 0.5, r + 0.5)] for r, c in across_cols.tolist()]
    return horizontal + vertical


def _tissue(images: npt.NDArray[np.uint8], rows: Any, cols: Any, shape: tuple[int, int]) -> Any:
    step = images.shape[1]
    canvas = np.full((shape[0] * step, shape[1] * step, 3), 255, np.uint8)
    for image, row, col in zip(images, rows, cols, strict=True):
        canvas[row * step : (row + 1) * step, col * step : (col + 1) * step] = image[..., :3]
    return canvas


def check_patient(dataset: Any, patient: object, owner: str) -> None:
    """Raise the standard error unless ``patient`` is one of ``dataset``'s patients."""
    if str(patient) not in set(dataset.patient_ids):
        raise invalid_argument(
            "patient", owner, "one of the dataset's patients", patient,
            f"It has {len(dataset.patient_ids)}, e.g. {list(dataset.patient_ids[:3])}.",
        )  # fmt: skip


def patient_patches(
    dataset: Any, patient: str
) -> tuple[npt.NDArray[np.intp], Any, npt.NDArray[np.int64], Any]:
    """Return a patient's rows in ``dataset``, its images, labels and ``patch_grid``."""
    rows_in_dataset = np.flatnonzero(np.asarray(dataset.patients) == str(patient))
    images = dataset.load_images(rows_in_dataset)
    labels = np.asarray(dataset.labels)[rows_in_dataset]
    grid = patch_grid(
        np.asarray(dataset.x)[rows_in_dataset],
        np.asarray(dataset.y)[rows_in_dataset],
        images.shape[1],
    )
    return rows_in_dataset, images, labels, grid


def _check(dataset: Any, patient: object, prob_idc: Any, threshold: object) -> Any:
    check_patient(dataset, patient, _OWNER)
    number = isinstance(threshold, float | int) and not isinstance(threshold, bool)
    if not number or not 0 < threshold < 1:  # type: ignore[operator]
        raise invalid_argument("threshold", _OWNER, "a number in (0, 1)", threshold)
    if prob_idc is None:
        return None
    prob = np.asarray(prob_idc, dtype=np.float64)
    if prob.shape != (len(dataset),):
        raise invalid_argument(
            "prob_idc", _OWNER, f"one probability per patch of the dataset ({len(dataset)},)",
            f"shape {prob.shape}",
        )  # fmt: skip
    return prob


def _draw_slide(axes: list[Axes], patient: str, images: Any, labels: Any, grid: Any) -> None:
    """Draw the tissue mosaic and the annotation (IDC(+) red), each with its key."""
    rows, cols, shape = grid
    axes[0].imshow(_tissue(images, rows, cols, shape), extent=(0, shape[1], shape[0], 0))
    axes[0].set_title(f"Patient {patient}: tissue")
    size = f"{len(images)} patches of {images.shape[1]}x{images.shape[2]} px"
    _legend(axes[0], [_key("white", "no patch")], title=size)
    axes[1].imshow(
        _cells(labels, rows, cols, shape), cmap=_LABEL_COLOURS, vmin=0, vmax=1,
        interpolation="nearest",
    )  # fmt: skip
    counts = np.bincount(labels, minlength=2)
    classes = [
        _key(_LABEL_COLOURS(k), f"{name} ({counts[k]})") for k, name in enumerate(TARGET_NAMES)
    ]
    _legend(axes[1], [*classes, _key("white", "no patch")])
    axes[1].set_title("Annotation: IDC(+) red")


def _draw_probability(figure: Figure, ax: Axes, prob: Any, labels: Any, grid: Any) -> None:
    """Draw P(IDC+) with its colour bar, the annotated IDC(+) cells outlined."""
    rows, cols, shape = grid
    image = ax.imshow(
        _cells(prob, rows, cols, shape), cmap="viridis", vmin=0, vmax=1, interpolation="nearest"
    )
    figure.colorbar(image, ax=ax, shrink=0.8, label="P(IDC+)")
    handles: list[Artist] = [_key("white", "no patch")]
    if labels.any():
        annotated = _cells(labels, rows, cols, shape).filled(0)
        ax.add_collection(LineCollection(_outline(annotated), colors="red", linewidths=1.5))
        outline = Line2D([], [], color="red", linewidth=1.5, label="annotated IDC(+) (outline)")
        handles.insert(0, outline)
    _legend(ax, handles)
    ax.set_title("P(IDC+)")


def _draw_outcomes(ax: Axes, prob: Any, labels: Any, grid: Any, threshold: float) -> None:
    """Draw each patch's outcome at ``threshold``, with a key naming (and counting) each."""
    rows, cols, shape = grid
    decided = prob >= threshold
    outcome = np.where(labels == 1, np.where(decided, 3, 2), np.where(decided, 1, 0))
    ax.imshow(
        _cells(outcome, rows, cols, shape), cmap=_OUTCOME_COLOURS, vmin=-0.5, vmax=3.5,
        interpolation="nearest",
    )  # fmt: skip
    counts = np.bincount(outcome, minlength=4)
    keys = [_key(_OUTCOME_COLOURS(code), f"{name} ({counts[code]})") for code, name in _OUTCOMES]
    _legend(ax, [*keys, _key("white", "no patch")])
    ax.set_title(f"At threshold {threshold:.2f}: FP {counts[1]}, FN {counts[2]}")


def plot_patient_map(
    dataset: Any,
    patient: str,
    prob_idc: npt.ArrayLike | None = None,
    *,
    threshold: float = 0.5,
) -> Figure:
    """Put one patient's patches back on their slide grid: tissue, annotation, P(IDC+), errors.

    Each patch is placed at its ``x``, ``y`` position (one grid cell per patch side). The
    first panel shows the tissue, the second the annotation (IDC(+) red). With ``prob_idc``
    two more show the model's P(IDC+) per patch (with a colour bar), the annotated IDC(+)
    cells outlined in red, and each patch's outcome at ``threshold``: true positive red,
    false positive orange, false negative blue, true negative grey. Every panel has its key
    underneath (the annotation's and the outcomes' with the number of patches of each);
    cells without a patch stay blank (and of two patches at one position, the later is
    drawn).

    Parameters
    ----------
    dataset
        An :class:`~idckit.data.IDCPatchDataset` (with patch positions, as read from a tree).
    patient
        The patient to draw.
    prob_idc
        P(IDC+) of every patch of ``dataset``, in its order (e.g.
        ``run.predict_proba(dataset)`` of a finished :class:`~idckit.training.Run`), or None.
    threshold
        Decision threshold for the error panel.

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, or four with ``prob_idc`` (then ``figure.axes[4]`` is the colour bar of
        P(IDC+)); each panel's key is its ``ax.get_legend()``.

    Examples
    --------
    >>> from idckit.data import IDCPatchDataset
    >>> images = np.zeros((3, 50, 50, 3), np.uint8)
    >>> ds = IDCPatchDataset([1, 0, 0], ["7"] * 3, images=images, x=[1, 51, 1], y=[1, 1, 101])
    >>> fig = plot_patient_map(ds, "7", [0.9, 0.6, 0.1])
    >>> [ax.get_title() for ax in fig.axes[:4]]
    ['Patient 7: tissue', 'Annotation: IDC(+) red', 'P(IDC+)', 'At threshold 0.50: FP 1, FN 0']
    >>> key = [text.get_text() for text in fig.axes[3].get_legend().get_texts()]
    >>> key[:3], key[3:]
    (['true positive (1)', 'false positive (1)', 'false negative (0)'], \
['true negative (1)', 'no patch'])
    """
    prob = _check(dataset, patient, prob_idc, threshold)
    rows_in_dataset, images, labels, grid = patient_patches(dataset, patient)
    panels = 2 if prob is None else 4
    figure = Figure(figsize=(4.2 * panels, 4.9), layout="constrained")
    axes: list[Axes] = [figure.add_subplot(1, panels, k + 1) for k in range(panels)]
    _draw_slide(axes, patient, images, labels, grid)
    if prob is not None:
        _draw_probability(figure, axes[2], prob[rows_in_dataset], labels, grid)
        _draw_outcomes(axes[3], prob[rows_in_dataset], labels, grid, threshold)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return figure
