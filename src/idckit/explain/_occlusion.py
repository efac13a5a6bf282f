"""Occlusion sensitivity: which part of a patch (or of its context mosaic) drives P(IDC+).

A square window of background white is slid over the image; wherever hiding it lowers the
model's P(IDC+), that region spoke for IDC(+). It needs only the model's predictions, so it
works for every idckit model on every Keras backend, context mosaics included (hiding a
neighbour shows how much the decision leans on the context rather than on the patch itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from idckit._errors import FILL_VALUE, check_choice, check_positive_int, invalid_argument

_OWNER = "occlusion_map"
_BATCHES_PER_READ = 4  # batches of occluded images built (in memory) and predicted at a time
_LOGIT_EPS = 1e-6  # P(IDC+) is kept this far from 0 and 1 for log-odds


def window_positions(size: int, window: int, stride: int) -> list[int]:
    """Start of every window along an axis of ``size`` pixels, the last one flush with the edge.

    With ``stride <= window``, every pixel is covered by at least one window.

    Examples
    --------
    >>> window_positions(50, 10, 5)[-3:]
    [30, 35, 40]
    >>> window_positions(10, 4, 4)
    [0, 4, 6]
    """
    starts = list(range(0, size - window + 1, stride))
    if starts[-1] != size - window:
        starts.append(size - window)
    return starts


def _positive_int_or_none(name: str, value: Any) -> int | None:
    if value is None:
        return None
    return check_positive_int(name, _OWNER, value, "a positive int, or None for the default")


def check_images(images: Any, owner: str) -> npt.NDArray[Any]:
    """Return ``images`` as an array of one or more RGB images ``(N, H, W, 3)``, or raise."""
    array = images if isinstance(images, np.ndarray) else np.asarray(images)
    if array.ndim != 4 or array.shape[-1] != 3 or len(array) == 0:
        raise invalid_argument(
            "images", owner, "one or more RGB images of shape (N, H, W, 3)", array.shape
        )
    return array


def _check_fill(fill: Any) -> npt.NDArray[np.float64]:
    try:
        values = None if isinstance(fill, bool) else np.asarray(fill, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if (
        values is None
        or values.shape not in ((), (3,))
        or not np.all((values >= 0) & (values <= 255))
    ):
        raise invalid_argument(
            "fill", _OWNER, "a pixel value or an RGB triple in 0-255", fill,
            "The default, 255, is the white of the slide's background.",
        )  # fmt: skip
    return np.broadcast_to(values, (3,))


def _working_dtype(images: npt.NDArray[Any], colour: npt.NDArray[np.float64]) -> Any:
    """``uint8`` when images and fill are whole 0-255 values (a quarter of float32's memory)."""
    exact = images.dtype == np.uint8 and np.array_equal(colour, np.round(colour))
    return np.uint8 if exact else np.float32


def _window_and_stride(
    shape: tuple[int, ...], window: int | None, stride: int | None
) -> tuple[int, int]:
    side = min(shape[1], shape[2])
    window = max(1, side // 5) if window is None else window
    if window > side:
        raise invalid_argument(
            "window", _OWNER, f"at most the images' shorter side ({side} pixels)", window
        )
    stride = max(1, window // 2) if stride is None else stride
    if stride > window:
        raise invalid_argument(
            "stride", _OWNER, f"at most the window ({window} pixels), so no pixel is skipped",
            stride,
        )  # fmt: skip
    return window, stride


def _check_models(model: Any) -> list[Any]:
    models = list(model) if isinstance(model, list | tuple) else [model]
    if not models:
        raise invalid_argument("model", _OWNER, "a Keras model or a non-empty list", model)
    return models


def _boxes(
    shape: tuple[int, ...], window: int, stride: int
) -> tuple[list[tuple[int, int]], npt.NDArray[np.float64]]:
    """Top-left corners of the windows, and how many windows cover each pixel."""
    rows = window_positions(shape[1], window, stride)
    cols = window_positions(shape[2], window, stride)
    boxes = [(r, c) for r in rows for c in cols]
    coverage = np.zeros(shape[1:3], dtype=np.float64)
    for r, c in boxes:
        coverage[r : r + window, c : c + window] += 1
    return boxes, coverage


def _scaled_probability(
    models: list[Any], images: npt.NDArray[Any], batch_size: int, scale: str
) -> npt.NDArray[np.float64]:
    """Return the models' mean P(IDC+) of ``images``, as a probability or as log-odds."""
    from idckit.inference import predict_proba

    prob = np.mean([predict_proba(m, images, batch_size=batch_size) for m in models], axis=0)
    if scale == "logit":
        prob = np.clip(prob, _LOGIT_EPS, 1 - _LOGIT_EPS)
        return np.asarray(np.log(prob / (1 - prob)), dtype=np.float64)
    return np.asarray(prob, dtype=np.float64)


def _hidden_probability(
    models: list[Any],
    chunk: npt.NDArray[Any],
    boxes: list[tuple[int, int]],
    window: int,
    colour: npt.NDArray[np.float64],
    batch_size: int,
    scale: str,
) -> npt.NDArray[np.float64]:
    """Return ``(len(chunk), len(boxes))`` scaled P(IDC+) with each box hidden in turn."""
    occluded = np.repeat(chunk[:, None], len(boxes), axis=1)
    for k, (r, c) in enumerate(boxes):
        occluded[:, k, r : r + window, c : c + window] = colour.astype(chunk.dtype)
    flat = occluded.reshape(-1, *chunk.shape[1:])
    return _scaled_probability(models, flat, batch_size, scale).reshape(len(chunk), len(boxes))


def occlusion_map(
    model: Any,
    images: npt.ArrayLike,
    *,
    window: int | None = None,
    stride: int | None = None,
    fill: float | Sequence[float] = FILL_VALUE,
    scale: Literal["probability", "logit"] = "probability",
    batch_size: int = 256,
) -> npt.NDArray[np.float64]:
    """How much each pixel's region speaks for IDC(+): P(IDC+) lost when it is hidden.

    A ``window x window`` square filled with ``fill`` is moved over every image in steps of
    ``stride`` pixels (the last step flush with the edge, so every pixel is covered), and the
    model predicts every occluded copy (with :func:`~idckit.inference.predict_proba`). A
    pixel's value is the mean, over the windows that cover it, of ``P(IDC+) of the image -
    P(IDC+) with the window hidden``: positive where the region supports IDC(+), negative where
    it speaks against it, near 0 where the model ignores it.

    Parameters
    ----------
    model
        A Keras model as for :func:`~idckit.inference.predict_proba` (a softmax or one sigmoid
        unit), or a list of them, an ensemble such as
        :meth:`KFoldTrainer.fold_models() <idckit.training.KFoldTrainer.fold_models>`: the map
        is then the map of their mean P(IDC+).
    images
        ``(N, H, W, 3)`` images the model takes, ``uint8`` or floats 0-255: patches, or for a
        model trained with context, the mosaics of
        :meth:`~idckit.data.IDCPatchDataset.load_images` with ``context=r``.
    window
        Side of the occluding square in pixels. Default: a fifth of the images' shorter side
        (10 pixels on a 50x50 patch, 30 on a 3x3 mosaic of them).
    stride
        Step between windows in pixels, at most ``window``. Default: half the window. The work
        is one prediction per window position and model, about ``(H / stride) * (W / stride)``
        per image.
    fill
        Pixel value (or RGB triple, 0-255) of the occluding square. Default 255, the white of
        the slide's background, which idckit also uses for missing neighbours in mosaics.
    scale
        ``"probability"`` (default): drops in P(IDC+), between -1 and 1 (an ensemble's map is
        then the mean of its members' maps). ``"logit"``: drops in log-odds,
        ``log(p / (1 - p))`` with ``p`` kept within 1e-6 of 0 and 1, which still show what
        matters in a call the model is sure of (a drop from 0.999 to 0.99 is 2.3 in log-odds,
        0.009 in P(IDC+)).
    batch_size
        Images per forward pass.

    Returns
    -------
    numpy.ndarray
        ``(N, H, W)`` ``float64``, in units of ``scale``.

    Examples
    --------
    >>> from idckit.models import build_benchmark_cnn
    >>> model = build_benchmark_cnn(filters=2)
    >>> images = np.full((2, 50, 50, 3), 200, np.uint8)
    >>> occlusion_map(model, images, window=25, stride=25).shape
    (2, 50, 50)
    """
    models = _check_models(model)
    images = check_images(images, _OWNER)
    window, stride = _window_and_stride(
        images.shape,
        _positive_int_or_none("window", window),
        _positive_int_or_none("stride", stride),
    )
    colour = _check_fill(fill)
    check_choice("scale", _OWNER, scale, ("probability", "logit"))
    batch_size = check_positive_int("batch_size", _OWNER, batch_size)
    dtype = _working_dtype(images, colour)
    boxes, coverage = _boxes(images.shape, window, stride)

    maps = np.zeros(images.shape[:3], dtype=np.float64)
    per_read = batch_size * _BATCHES_PER_READ  # occluded images built in memory at a time
    images_per_read = max(1, per_read // len(boxes))
    for start in range(0, len(images), images_per_read):
        chunk = np.asarray(images[start : start + images_per_read], dtype=dtype)
        base = _scaled_probability(models, chunk, batch_size, scale)
        for first in range(0, len(boxes), per_read):  # one block unless an image has more boxes
            block = boxes[first : first + per_read]
            hidden = _hidden_probability(models, chunk, block, window, colour, batch_size, scale)
            for k, (r, c) in enumerate(block):
                maps[start : start + len(chunk), r : r + window, c : c + window] += (
                    base - hidden[:, k]
                )[:, None, None]
    return maps / coverage
