"""Occlusion and Grad-CAM maps drawn over the images they explain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from idckit._errors import check_choice, check_context, invalid_argument
from idckit.explain._occlusion import check_images

if TYPE_CHECKING:
    from matplotlib.axes import Axes

_OWNER = "plot_occlusion"
_UNITS = {"probability": "P(IDC+)", "logit": "log-odds of IDC(+)"}


def _check(
    images: Any, maps: Any, titles: Any, owner: str = _OWNER, source: str = "occlusion_map"
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
    images, maps = check_images(images, owner), np.asarray(maps, dtype=np.float64)
    if maps.shape != images.shape[:3]:
        raise invalid_argument(
            "maps", owner, f"one map per image, shape {images.shape[:3]}", f"shape {maps.shape}",
            f"Pass what {source} returned for these images.",
        )  # fmt: skip
    if titles is not None and len(titles) != len(images):
        raise invalid_argument("titles", owner, f"{len(images)} titles, one per image", titles)
    return images, maps


def _outline_centre(ax: Axes, shape: tuple[int, ...], context: int) -> None:
    """Outline the patch being classified in the middle of a ``(2r+1) x (2r+1)`` mosaic."""
    side = 2 * context + 1
    height, width = shape[0] / side, shape[1] / side
    ax.add_patch(
        Rectangle(
            (context * width - 0.5, context * height - 0.5), width, height,
            fill=False, edgecolor="black", linewidth=1.2, linestyle="--",
        )
    )  # fmt: skip


def plot_occlusion(
    images: npt.ArrayLike,
    maps: npt.ArrayLike,
    *,
    titles: Sequence[str] | None = None,
    context: int = 0,
    scale: Literal["probability", "logit"] = "probability",
) -> Figure:
    """Draw each image above its occlusion map (from :func:`occlusion_map`).

    The top row shows the images, the bottom row their maps over a faded copy of them: red
    where hiding the region lowers P(IDC+) (it supports IDC(+)), blue where it raises it. All
    maps share one colour scale, symmetric around 0, so their strengths compare.

    Parameters
    ----------
    images
        The ``(N, H, W, 3)`` images that were explained.
    maps
        Their ``(N, H, W)`` occlusion maps.
    titles
        One title per image (e.g. its P(IDC+) and label), or None.
    context
        The context radius of mosaics: with ``context >= 1`` the classified patch in the middle
        is outlined.
    scale
        The ``scale`` the maps were computed in, for the colour bar's label.

    Returns
    -------
    matplotlib.figure.Figure
        Two rows of ``N`` panels and a colour bar.

    Examples
    --------
    >>> images = np.full((2, 50, 50, 3), 200, np.uint8)
    >>> maps = np.zeros((2, 50, 50))
    >>> fig = plot_occlusion(images, maps, titles=["P(IDC+) 0.9", "P(IDC+) 0.2"])
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['P(IDC+) 0.9', 'P(IDC+) 0.2']
    """
    pixels, values = _check(images, maps, titles)
    context = check_context(context, _OWNER)
    check_choice("scale", _OWNER, scale, tuple(_UNITS))
    limit = float(np.abs(values).max()) or 1e-6
    colours = {"cmap": "RdBu_r", "vmin": -limit, "vmax": limit}
    label = f"{_UNITS[scale]} lost when hidden"
    return _draw(pixels, values, titles, context, colours, ("occlusion map", label))


def plot_grad_cam(
    images: npt.ArrayLike,
    maps: npt.ArrayLike,
    *,
    titles: Sequence[str] | None = None,
    context: int = 0,
) -> Figure:
    """Draw each image above its Grad-CAM map (from :func:`grad_cam`).

    The top row shows the images, the bottom row their maps over a faded copy of them, from
    dark (no evidence for the class) to bright yellow (the image's strongest evidence), on one
    0-1 scale: each map is relative to its own image's peak.

    Parameters
    ----------
    images
        The ``(N, H, W, 3)`` images that were explained.
    maps
        Their ``(N, H, W)`` Grad-CAM maps, in [0, 1].
    titles
        One title per image (e.g. its P(IDC+) and label), or None.
    context
        The context radius of mosaics: with ``context >= 1`` the classified patch in the middle
        is outlined.

    Returns
    -------
    matplotlib.figure.Figure
        Two rows of ``N`` panels and a colour bar.

    Examples
    --------
    >>> images = np.full((2, 50, 50, 3), 200, np.uint8)
    >>> fig = plot_grad_cam(images, np.zeros((2, 50, 50)), titles=["a", "b"])
    >>> fig.axes[2].get_ylabel(), fig.axes[-1].get_ylabel()
    ('Grad-CAM', 'evidence for the class (share of the peak)')
    """
    owner = "plot_grad_cam"
    pixels, values = _check(images, maps, titles, owner, "grad_cam")
    context = check_context(context, owner)
    colours = {"cmap": "inferno", "vmin": 0.0, "vmax": 1.0}
    label = "evidence for the class (share of the peak)"
    return _draw(pixels, values, titles, context, colours, ("Grad-CAM", label))


def _draw(
    pixels: npt.NDArray[Any],
    values: npt.NDArray[np.float64],
    titles: Sequence[str] | None,
    context: int,
    colours: dict[str, Any],
    labels: tuple[str, str],
) -> Figure:
    """Images on top, their maps over a faded grey copy below, one shared colour bar."""
    n = len(pixels)
    figure = Figure(figsize=(2.2 * n + 1.2, 4.6), layout="constrained")
    axes: list[Axes] = [figure.add_subplot(2, n, k + 1) for k in range(2 * n)]
    for k, (image, value) in enumerate(zip(pixels, values, strict=True)):
        top, bottom = axes[k], axes[n + k]
        top.imshow(np.clip(image, 0, 255).astype(np.uint8))
        bottom.imshow(image.mean(axis=-1), cmap="gray", vmin=0, vmax=255, alpha=0.35)
        shown = bottom.imshow(value, alpha=0.75, **colours)
        if titles is not None:
            top.set_title(str(titles[k]), fontsize=9)
        if context:
            _outline_centre(top, image.shape, context)
            _outline_centre(bottom, image.shape, context)
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[n].set_ylabel(labels[0])
    figure.colorbar(shown, ax=axes[n:], shrink=0.9, label=labels[1])
    return figure
