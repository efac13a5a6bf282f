"""Spatial smoothing of patch probabilities on each patient's grid (numpy only)."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import check_positive_int, invalid_argument

_OWNER = "smooth_probabilities"


def check_smoothing(alpha: Any, radius: Any, step: Any, owner: str = _OWNER) -> None:
    """Raise the standard error unless ``alpha`` is in [0, 1] and ``radius``/``step`` >= 1.

    Examples
    --------
    >>> check_smoothing(0.7, 1, 50)
    """
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, numbers.Real)
        or not 0 <= float(alpha) <= 1
    ):
        raise invalid_argument("alpha", owner, "a float in [0, 1]", alpha)
    for name, value in (("radius", radius), ("step", step)):
        check_positive_int(name, owner, value)


def _column(values: npt.ArrayLike, name: str, n: int | None) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1 or (n is not None and len(array) != n):
        rule = "a 1-D array" + ("" if n is None else f" of length {n}, like `prob`")
        raise invalid_argument(name, _OWNER, rule, f"array of shape {array.shape}")
    return array


def _grid(values: npt.ArrayLike, name: str, n: int, step: int) -> npt.NDArray[np.int64]:
    array = _column(values, name, n)
    integral = array.dtype.kind in "iu" or (
        array.dtype.kind == "f" and bool(np.all(np.isfinite(array) & (array == np.rint(array))))
    )
    if not integral:
        raise invalid_argument(name, _OWNER, "integer pixel coordinates", array[:5])
    return np.floor_divide(array.astype(np.int64), step)


def _probabilities(prob: npt.ArrayLike) -> npt.NDArray[np.float64]:
    p = _column(prob, "prob", None).astype(np.float64)
    outside = ~((p >= 0) & (p <= 1))  # NaN included
    if outside.any():
        raise invalid_argument("prob", _OWNER, "probabilities in [0, 1]", p[outside][:5])
    return p


def _cell_keys(
    pid: npt.NDArray[np.intp], gx: npt.NDArray[np.int64], gy: npt.NDArray[np.int64], radius: int
) -> tuple[npt.NDArray[np.int64], int]:
    """One int64 key per patch for (patient, cell); offsets of +-radius stay in the patient."""
    order = np.argsort(pid, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(pid[order]) != 0])
    cx = gx - np.minimum.reduceat(gx[order], starts)[pid] + radius
    cy = gy - np.minimum.reduceat(gy[order], starts)[pid] + radius
    width, height = int(cx.max()) + radius + 1, int(cy.max()) + radius + 1
    if (int(pid.max()) + 1) * width * height >= 2**62:
        raise invalid_argument(
            "x", _OWNER, "a grid small enough for int64 cell keys (patients x width x "
            "height < 2**62)", (width, height),
        )  # fmt: skip
    return (pid.astype(np.int64) * width + cx) * height + cy, height


def smooth_probabilities(
    prob: npt.ArrayLike,
    patients: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    alpha: float = 0.7,
    radius: int = 1,
    step: int = 50,
) -> npt.NDArray[np.float64]:
    """Blend each patch's P(IDC+) with the mean of its neighbours on the same patient's grid.

    ``out[i] = (1 - alpha) * prob[i] + alpha * mean(prob[j])`` over the other patches ``j`` of
    the same patient whose grid cell (``x // step``, ``y // step``) lies within ``radius``
    cells (Chebyshev distance: ``radius=1`` is the 8 surrounding patches). A patch without
    neighbours keeps its probability. No labels are used, and patients never influence each
    other: it post-processes one patient's own predictions at test time.

    Parameters
    ----------
    prob
        P(IDC+) per patch, in [0, 1], shape ``(N,)``.
    patients, x, y
        Patient id and top-left pixel coordinates (from the file names) per patch, ``(N,)``.
    alpha
        Weight of the neighbour mean, in [0, 1] (0 leaves ``prob`` unchanged).
    radius
        Neighbourhood radius in grid cells, an integer >= 1.
    step
        Grid step in pixels (the patch size, 50 for the IDC patches).

    Returns
    -------
    numpy.ndarray
        Smoothed probabilities, ``float64``, shape ``(N,)``, in the order of ``prob``.

    Examples
    --------
    >>> smooth_probabilities([1.0, 0.0, 0.0], ["a", "a", "b"], [1, 51, 1], [1, 1, 1], alpha=0.5)
    array([0.5, 0.5, 0. ])
    """
    check_smoothing(alpha, radius, step)
    p = _probabilities(prob)
    n = len(p)
    pats = _column(patients, "patients", n)
    gx, gy = _grid(x, "x", n, int(step)), _grid(y, "y", n, int(step))
    if n == 0 or alpha == 0:
        return np.array(p, dtype=np.float64)
    _, pid = np.unique(pats, return_inverse=True)
    keys, height = _cell_keys(pid.reshape(-1), gx, gy, int(radius))
    cells, cell_of = np.unique(keys, return_inverse=True)
    cell_sum = np.bincount(cell_of, weights=p, minlength=len(cells))
    cell_count = np.bincount(cell_of, minlength=len(cells)).astype(np.float64)
    near_sum, near_count = np.zeros(len(cells)), np.zeros(len(cells))
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            wanted = cells + dx * height + dy
            at = np.minimum(np.searchsorted(cells, wanted), len(cells) - 1)
            found = cells[at] == wanted
            near_sum += np.where(found, cell_sum[at], 0.0)
            near_count += np.where(found, cell_count[at], 0.0)
    total = near_sum[cell_of] - p  # a patch is not its own neighbour
    count = near_count[cell_of] - 1.0
    has = count > 0
    mean = np.divide(total, count, out=np.zeros_like(total), where=has)
    blended = np.where(has, (1.0 - alpha) * p + alpha * mean, p)
    out: npt.NDArray[np.float64] = np.clip(blended, 0.0, 1.0)  # the subtraction can overshoot
    return out
