"""A slide heat map: P(IDC+) blended over one patient's tissue, the IDC regions outlined.

What a pathologist compares: where the model sees IDC on the tissue itself, against the region
that was annotated (and, at a threshold, the region the model calls IDC(+)).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from idckit._errors import invalid_argument
from idckit.reporting._agreement import cell_masks, mask_agreement
from idckit.reporting._inputs import check_probability
from idckit.reporting._patient_map import (
    _cells,
    _key,
    _legend,
    _outline,
    _tissue,
    check_patient,
    patient_patches,
)
from idckit.reporting._plots import new_axes

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

_OWNER = "plot_slide_heatmap"
#: The colour map of P(IDC+), and the colours of the two outlines.
CMAP = "viridis"
ANNOTATED_COLOUR, PREDICTED_COLOUR = "red", "black"


def _check(dataset: Any, patient: object, prob_idc: Any, threshold: object, alpha: object) -> Any:
    check_patient(dataset, patient, _OWNER)
    prob = np.asarray(prob_idc, dtype=np.float64)
    if prob.shape != (len(dataset),):
        raise invalid_argument(
            "prob_idc", _OWNER, f"one probability per patch of the dataset ({len(dataset)},)",
            f"shape {prob.shape}",
        )  # fmt: skip
    if not np.all((prob >= 0) & (prob <= 1)):  # also rejects NaN
        raise invalid_argument("prob_idc", _OWNER, "probabilities in [0, 1]", "other values")
    if threshold is not None:  # the rule of region_agreement, whose Dice the title gives
        check_probability("threshold", _OWNER, threshold, open_low=True)
    check_probability("alpha", _OWNER, alpha, open_low=False)
    return prob


def _draw_outline(ax: Axes, mask: npt.NDArray[np.bool_], colour: str, style: str) -> None:
    if mask.any():
        segments = _outline(mask.astype(np.float64))
        lines = LineCollection(segments, colors=colour, linewidths=2.0, linestyles=style)
        lines.set_clip_on(False)  # whole lines on the grid's border too
        ax.add_collection(lines)


def _patches(mask: npt.NDArray[np.bool_]) -> str:
    count = int(mask.sum())
    return f"{count} patch" if count == 1 else f"{count} patches"


def plot_slide_heatmap(
    dataset: Any,
    patient: str,
    prob_idc: npt.ArrayLike,
    *,
    threshold: float | None = None,
    alpha: float = 0.5,
    ax: Axes | None = None,
) -> Figure:
    r"""Draw P(IDC+) over one patient's tissue mosaic, the annotated IDC(+) region outlined.

    The patient's patches are put back on their slide grid by their ``x``, ``y`` positions (as
    :func:`plot_patient_map` does), P(IDC+) is blended over the tissue with a colour map and
    a colour bar, and the annotated IDC(+) region (the cells of label-1 patches) is outlined
    in red. With ``threshold``, the predicted region (cells with P(IDC+) >= ``threshold``) is
    outlined too, dashed black, and the title gives the Dice of the two regions (as
    :func:`region_agreement` computes it). Cells without a patch stay white; the legend under
    the map names both outlines with their numbers of patches.

    Parameters
    ----------
    dataset
        An :class:`~idckit.data.IDCPatchDataset` (with patch positions, as read from a tree).
    patient
        The patient to draw.
    prob_idc
        P(IDC+) of every patch of ``dataset``, in its order (e.g.
        ``run.predict_proba(dataset)`` of a finished :class:`~idckit.training.Run`).
    threshold
        Decision threshold in (0, 1] that outlines the predicted region, or None.
    alpha
        Opacity of the P(IDC+) colours over the tissue, in [0, 1] (0: tissue only).
    ax
        Axes to draw into; a new figure is made when None.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the map (the one of ``ax`` when given) and its colour bar; the map's
        key is ``ax.get_legend()``.

    Examples
    --------
    >>> from idckit.data import IDCPatchDataset
    >>> images = np.full((3, 50, 50, 3), 200, np.uint8)
    >>> ds = IDCPatchDataset([1, 0, 0], ["7"] * 3, images=images, x=[1, 51, 1], y=[1, 1, 101])
    >>> fig = plot_slide_heatmap(ds, "7", [0.9, 0.6, 0.1], threshold=0.5)
    >>> fig.axes[0].get_title()
    'Patient 7: P(IDC+) over the tissue\nDice 0.67 at threshold 0.50'
    >>> [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    ['annotated IDC(+) (1 patch)', 'predicted IDC(+) at 0.50 (2 patches)', 'no patch']
    """
    prob = _check(dataset, patient, prob_idc, threshold, alpha)
    rows_in_dataset, images, labels, (rows, cols, shape) = patient_patches(dataset, patient)
    prob = prob[rows_in_dataset]
    figure, ax = new_axes(ax, (6.0, 6.4))
    extent = (-0.5, shape[1] - 0.5, shape[0] - 0.5, -0.5)  # cell (r, c) centred on (c, r)
    ax.imshow(_tissue(images, rows, cols, shape), extent=extent)
    overlay = _cells(prob, rows, cols, shape)
    ax.imshow(overlay, cmap=CMAP, vmin=0, vmax=1, alpha=alpha, interpolation="nearest",
              extent=extent)  # fmt: skip
    colours = ScalarMappable(norm=ax.images[-1].norm, cmap=CMAP)  # the bar without alpha
    figure.colorbar(colours, ax=ax, shrink=0.8, label="P(IDC+)")
    masks = [labels == 1] if threshold is None else [labels == 1, prob >= threshold]
    cells = cell_masks(rows, cols, shape, *masks)
    _draw_outline(ax, cells[0], ANNOTATED_COLOUR, "solid")
    handles: list[Artist] = [
        Line2D([], [], color=ANNOTATED_COLOUR, linewidth=2.0,
               label=f"annotated IDC(+) ({_patches(masks[0])})"),
    ]  # fmt: skip
    title = f"Patient {patient}: P(IDC+) over the tissue"
    if threshold is not None:
        _draw_outline(ax, cells[1], PREDICTED_COLOUR, "dashed")
        handles.append(
            Line2D([], [], color=PREDICTED_COLOUR, linewidth=2.0, linestyle="dashed",
                   label=f"predicted IDC(+) at {threshold:.2f} ({_patches(masks[1])})")
        )  # fmt: skip
        dice, _ = mask_agreement(cells[0], cells[1])
        shown = (
            "undefined (no IDC(+) annotated or predicted)" if math.isnan(dice) else f"{dice:.2f}"
        )
        title += f"\nDice {shown} at threshold {threshold:.2f}"
    _legend(ax, [*handles, _key("white", "no patch")])
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return figure
