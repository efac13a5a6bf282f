"""P(IDC+) from a Keras model, optionally averaged over the 8 dihedral transforms (TTA)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._data_parallel import check_batch_size, pad_rows
from idckit._errors import check_positive_int, invalid_argument

_OWNER = "predict_proba"
_BATCHES_PER_READ = 16  # images read (and transformed) at a time: 16 batches


def positive_probability(output: Any) -> npt.NDArray[np.float64]:
    """P(IDC+) from a model's output: column 1 of a softmax ``(N, C)``, or a sigmoid ``(N, 1)``.

    Examples
    --------
    >>> positive_probability(np.array([[0.3, 0.7]])).tolist()
    [0.7]
    >>> positive_probability(np.array([[0.2]])).tolist()
    [0.2]
    """
    array = np.asarray(output, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] >= 2:
        return np.ascontiguousarray(array[:, 1])
    return array.reshape(-1)


def dihedral_transforms(batch: npt.NDArray[Any]) -> Iterator[npt.NDArray[Any]]:
    """Yield the 8 dihedral transforms of ``(N, H, W, C)`` images (identity first).

    The four 90-degree rotations of the images and of their transposes: every combination of
    horizontal flip, vertical flip and transpose.

    Examples
    --------
    >>> images = np.arange(4).reshape(1, 2, 2, 1)
    >>> len({t.tobytes() for t in dihedral_transforms(images)})
    8
    """
    for image in (batch, batch.transpose(0, 2, 1, 3)):
        for k in range(4):
            yield np.ascontiguousarray(np.rot90(image, k, axes=(1, 2)))


def _check(images: Any, tta: bool, batch_size: Any) -> None:
    shape = getattr(images, "shape", None)
    if shape is None or len(shape) != 4 or shape[-1] != 3:
        raise invalid_argument("images", _OWNER, "RGB images of shape (N, H, W, 3)", shape)
    if tta and shape[1] != shape[2]:
        raise invalid_argument(
            "images", _OWNER, "square patches for tta=True (transposes keep the shape)", shape
        )
    check_positive_int("batch_size", _OWNER, batch_size)


def predict_proba(
    model: Any, images: npt.ArrayLike, *, tta: bool = False, batch_size: int = 256
) -> npt.NDArray[np.float64]:
    """P(IDC+) of every image under ``model``, optionally with 8-way test-time augmentation.

    Images are read 16 batches at a time (a memory-mapped array is never copied whole) and
    passed to ``model.predict`` as they are (idckit models normalise ``uint8`` inside), so
    ``tf.distribute`` strategies and ``keras.distribution`` layouts apply (under a
    data-parallel layout, ``batch_size`` must be a multiple of its devices, and the last images
    are padded with copies to split evenly across them, then dropped from the output). With
    ``tta=True`` each patch's probability is the mean over its 8 dihedral transforms (flips,
    transposes and 90-degree rotations), to which tissue patches have no preferred orientation.

    Parameters
    ----------
    model
        A Keras model ending in a softmax (``num_classes`` units, IDC(+) = column 1) or in
        one sigmoid unit.
    images
        ``(N, H, W, 3)`` images, ``uint8`` (or floats 0-255); an array or a ``numpy.memmap``.
    tta
        Average over the 8 dihedral transforms (8 times the work).
    batch_size
        Images per forward pass.

    Returns
    -------
    numpy.ndarray
        P(IDC+) per image, ``float64``, shape ``(N,)``.

    Examples
    --------
    >>> from idckit.models import build_benchmark_cnn
    >>> model = build_benchmark_cnn(filters=2)
    >>> images = np.zeros((3, 50, 50, 3), np.uint8)
    >>> predict_proba(model, images, tta=True, batch_size=2).shape
    (3,)
    """
    if not isinstance(images, np.ndarray):
        images = np.asarray(images)
    _check(images, bool(tta), batch_size)
    shards = check_batch_size(int(batch_size), _OWNER)
    out = np.empty(len(images), dtype=np.float64)
    step = int(batch_size) * _BATCHES_PER_READ
    for start in range(0, len(images), step):
        chunk = np.asarray(images[start : start + step])
        n = len(chunk)
        chunk = pad_rows(chunk, shards)  # once, before the 8 TTA views of it
        views = dihedral_transforms(chunk) if tta else iter((chunk,))
        probs = [
            positive_probability(model.predict(view, batch_size=int(batch_size), verbose=0))[:n]
            for view in views
        ]
        out[start : start + n] = np.mean(probs, axis=0)
    return out
