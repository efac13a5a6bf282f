"""Neighbourhood context: a patch together with its neighbours on the patient's slide grid.

Every patch's position on its slide is in its file name (``_x<X>_y<Y>_``, in pixels, on a grid
whose step is the patch size). A model given context sees a mosaic of ``(2r+1) x (2r+1)``
patches centred on the patch it classifies; neighbours that are not in the data set (the slide's
edge, background that was never tiled, another patient) are white, like the slide's background.
Only pixels of the same patient are used, never labels, so context is available at test time.
This module imports no deep-learning framework.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from idckit._errors import FILL_VALUE, check_context, check_positive_int, invalid_argument


def neighbour_indices(
    patients: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    radius: int = 1,
    step: int = 50,
) -> npt.NDArray[np.intp]:
    """Index of every patch's grid neighbours of the same patient, ``-1`` where there is none.

    Parameters
    ----------
    patients, x, y
        Patient id and top-left pixel position of every patch, shape ``(N,)``.
    radius
        Neighbourhood radius in grid cells: the ``(2 * radius + 1) ** 2`` cells around (and
        including) each patch.
    step
        Grid step in pixels (the patch size); the cell of a patch is ``(x // step, y // step)``.

    Returns
    -------
    numpy.ndarray
        ``(N, (2 * radius + 1) ** 2)`` indices into the inputs, row-major over the
        neighbourhood (rows are ``y``, from the top; columns ``x``, from the left), so the
        centre column ``(2 * radius + 1) ** 2 // 2`` holds each patch's own index.
        Where two patches share a cell, the first one is used.

    Examples
    --------
    >>> neighbour_indices(["a", "a", "b"], [0, 50, 100], [0, 0, 0])
    array([[-1, -1, -1, -1,  0,  1, -1, -1, -1],
           [-1, -1, -1,  0,  1, -1, -1, -1, -1],
           [-1, -1, -1, -1,  2, -1, -1, -1, -1]])
    """
    step = check_positive_int("step", "neighbour_indices", step, "a positive int")
    radius = check_context(radius, "neighbour_indices")
    _, codes = np.unique(np.asarray(patients).astype(str), return_inverse=True)
    gx = np.asarray(x, dtype=np.int64) // int(step)
    gy = np.asarray(y, dtype=np.int64) // int(step)
    if not len(codes) == len(gx) == len(gy):
        raise invalid_argument(
            "x, y", "neighbour_indices", "one position per patient entry", (len(gx), len(gy))
        )
    width = 2 * radius + 1
    if len(codes) == 0:
        return np.empty((0, width * width), dtype=np.intp)
    # One int64 key per cell: patient, then row, then column, each shifted to be >= 0.
    gx, gy = gx - gx.min() + radius, gy - gy.min() + radius
    span = int(max(gx.max(), gy.max())) + radius + 1
    keys = (codes.astype(np.int64) * span + gy) * span + gx
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    out = np.full((len(keys), width * width), -1, dtype=np.intp)
    offsets = [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]
    for column, (dy, dx) in enumerate(offsets):
        wanted = keys + dy * span + dx
        at = np.minimum(np.searchsorted(sorted_keys, wanted), len(keys) - 1)
        found = sorted_keys[at] == wanted
        out[found, column] = order[at[found]]
    return out


def gather_mosaics(
    pixels: npt.NDArray[np.uint8], rows: npt.NDArray[np.intp]
) -> npt.NDArray[np.uint8]:
    """Assemble mosaics of patches: ``rows[i]`` (from :func:`neighbour_indices`) becomes image i.

    Parameters
    ----------
    pixels
        ``(M, P, P, 3)`` patches (an array or a memory map).
    rows
        ``(B, K)`` rows of ``pixels``, ``K`` a square number, ``-1`` for a white patch.

    Returns
    -------
    numpy.ndarray
        ``(B, k * P, k * P, 3)`` ``uint8`` mosaics with ``k = sqrt(K)``.

    Examples
    --------
    >>> pixels = np.arange(4, dtype=np.uint8).reshape(4, 1, 1, 1).repeat(3, axis=3)
    >>> gather_mosaics(pixels, np.array([[0, 1, 2, -1]]))[0, :, :, 0]
    array([[  0,   1],
           [  2, 255]], dtype=uint8)
    """
    rows = np.asarray(rows, dtype=np.intp)
    batch, cells = rows.shape
    side = math.isqrt(cells)
    if side * side != cells:
        raise invalid_argument("rows", "gather_mosaics", "a square number of columns", cells)
    missing = rows < 0
    tiles = np.asarray(pixels[np.where(missing, 0, rows).ravel()])
    tiles = tiles.reshape(batch, cells, *tiles.shape[1:])
    tiles[missing] = FILL_VALUE
    height, width, channels = tiles.shape[2:]
    mosaic = tiles.reshape(batch, side, side, height, width, channels).transpose(0, 1, 3, 2, 4, 5)
    return np.ascontiguousarray(mosaic.reshape(batch, side * height, side * width, channels))
