"""Exploratory plots of a patch data set: class balance and grids of random patches.

Figures are built with :class:`matplotlib.figure.Figure` (no pyplot state, nothing shown):
display one in a notebook by leaving it as the cell's last value, or call ``fig.savefig``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from idckit._errors import check_positive_int, invalid_argument

TARGET_NAMES = ("IDC(-)", "IDC(+)")
_COLOURS = ("#f2a7c3", "#6a3d9a")  # eosin pink for IDC(-), hematoxylin purple for IDC(+)


def plot_class_balance(
    labels: ArrayLike,
    patients: ArrayLike | None = None,
    *,
    target_names: Sequence[str] = TARGET_NAMES,
    ax: Axes | None = None,
) -> Figure:
    """Pie chart of the class balance, with the per-patient IDC(+) fractions beside it.

    What :meth:`IDCPatchDataset.plot_class_balance` draws (its docstring describes the
    arguments), from arrays of labels and patients; returns the figure.

    Examples
    --------
    >>> fig = plot_class_balance([0, 0, 0, 1], patients=["a", "a", "b", "b"])
    >>> [ax.get_title() for ax in fig.axes]
    ['Class balance (4 patches)', 'IDC(+) fraction per patient (2 patients)']
    """
    owner = "IDCPatchDataset.plot_class_balance"
    label_array = _check_labels(labels, owner)
    names = _check_names(target_names, owner)
    groups = None if patients is None else np.asarray(patients)
    if groups is not None and groups.shape != label_array.shape:
        raise invalid_argument(
            "patients", owner, f"one id per patch, shape {label_array.shape}",
            f"array of shape {groups.shape}",
        )  # fmt: skip
    if ax is not None:
        _draw_pie(ax, label_array, names)
        return _figure_of(ax)
    panels = 1 if groups is None else 2
    figure = Figure(figsize=(5 * panels, 4.5), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    _draw_pie(axes[0], label_array, names)
    if groups is not None:
        _draw_patient_histogram(axes[1], label_array, groups, names[1])
    return figure


def plot_patch_grid(
    images: ArrayLike,
    labels: ArrayLike,
    *,
    n_per_class: int = 25,
    seed: int = 0,
    target_names: Sequence[str] = TARGET_NAMES,
) -> Figure:
    """Grids of random patches of each class, side by side (5x5 each by default).

    What :meth:`IDCPatchDataset.plot_samples` draws (its docstring describes the arguments),
    from an array of patches and their labels; returns the figure.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.zeros((6, 50, 50, 3), dtype=np.uint8)
    >>> fig = plot_patch_grid(images, [0, 0, 0, 1, 1, 1], n_per_class=4)
    >>> sum(len(ax.images) for ax in fig.axes)
    6
    """
    owner = "IDCPatchDataset.plot_samples"
    label_array = _check_labels(labels, owner)
    names = _check_names(target_names, owner)
    n_per_class = check_positive_int("n_per_class", owner, n_per_class, "a positive int")
    pixels = images if isinstance(images, np.ndarray) else np.asarray(images)
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or len(pixels) != label_array.size:
        raise invalid_argument(
            "images",
            owner,
            f"an array of shape ({label_array.size}, H, W, 3)",
            f"array of shape {pixels.shape}",
        )
    rng = np.random.default_rng(seed)
    side = math.ceil(math.sqrt(n_per_class))
    figure = Figure(figsize=(2 * side * 1.1 + 0.5, side * 1.1 + 0.6), layout="constrained")
    spec = figure.add_gridspec(1, 2, wspace=0.04)
    panels = [figure.add_subfigure(spec[0, column]) for column in range(2)]
    for label, panel in enumerate(panels):
        members = np.flatnonzero(label_array == label)
        chosen = rng.choice(members, size=min(n_per_class, members.size), replace=False)
        _draw_grid(panel, _as_uint8(pixels[np.sort(chosen)]), side)
        panel.suptitle(f"{names[label]}: {chosen.size} of {members.size} patches")
    return figure


def _check_labels(labels: ArrayLike, owner: str) -> np.ndarray:
    label_array = np.asarray(labels)
    if label_array.ndim != 1 or label_array.size == 0:
        raise invalid_argument(
            "labels", owner, "a non-empty 1-D array", f"array of shape {label_array.shape}"
        )
    if not np.isin(label_array, (0, 1)).all():
        raise invalid_argument(
            "labels", owner, "only 0 and 1", f"values {np.unique(label_array)[:5].tolist()}"
        )
    return label_array.astype(np.int64)


def _check_names(target_names: Sequence[str], owner: str) -> tuple[str, str]:
    names = tuple(str(name) for name in target_names)
    if len(names) != 2:
        raise invalid_argument("target_names", owner, "two names (class 0, class 1)", target_names)
    return names[0], names[1]


def _figure_of(ax: Axes) -> Figure:
    """Return the root figure of ``ax`` (``SubFigure.figure`` is the root figure)."""
    parent = ax.figure
    root = getattr(parent, "figure", parent)
    if not isinstance(root, Figure):  # pragma: no cover - axes always belong to a figure
        raise TypeError("The axes do not belong to a figure.")
    return root


def _draw_pie(ax: Axes, labels: np.ndarray, names: tuple[str, str]) -> None:
    counts = np.bincount(labels, minlength=2)
    wedge_labels = [f"{name}\n{count:,}" for name, count in zip(names, counts, strict=True)]
    ax.pie(counts, labels=wedge_labels, colors=_COLOURS, autopct="%1.1f%%", startangle=90)
    ax.set_title(f"Class balance ({labels.size:,} patches)")
    ax.set_aspect("equal")


def _draw_patient_histogram(ax: Axes, labels: np.ndarray, patients: np.ndarray, name: str) -> None:
    _, inverse = np.unique(patients, return_inverse=True)
    fractions = np.bincount(inverse, weights=labels) / np.bincount(inverse)
    ax.hist(fractions, bins=[i / 10 for i in range(11)], color=_COLOURS[1], edgecolor="white")
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel(f"{name} fraction of the patient's patches")
    ax.set_ylabel("patients")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"{name} fraction per patient ({fractions.size:,} patients)")


def _as_uint8(pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    converted: np.ndarray = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    return converted


def _draw_grid(panel: SubFigure, patches: np.ndarray, side: int) -> None:
    """Draw ``patches`` into a ``side`` x ``side`` grid of axes; empty cells stay blank."""
    cells = panel.subplots(side, side, squeeze=False).ravel()
    for cell, patch in zip(cells, patches, strict=False):
        cell.imshow(patch, interpolation="nearest")
    for cell in cells:
        cell.set_axis_off()
