"""Batches that split evenly under a data-parallel ``keras.distribution`` layout.

Under ``keras.distribution.set_distribution(keras.distribution.DataParallel())`` (the JAX
backend) Keras splits every batch across the devices of the mesh's batch dimension, and the
batch must hold a multiple of them: Keras does not pad (keras-team/keras#21167), so a last
batch of 3 patches on 2 devices stops training with a JAX ``IndivisibleError``. idckit evens
its batches out instead:

* feeds (:meth:`IDCPatchDataset.to_keras`, for training and for the validation metrics
  during training) leave out the last few patches of each epoch's order, fewer than the
  number of devices, so that the last batch splits evenly (different ones every epoch when
  shuffled);
* predictions pad the images with copies of the last one and drop the copies' outputs, so
  every patch is predicted, once (the out-of-fold predictions, fold metrics, reports).

Keras's compiled ``metrics`` ignore sample weights, so zero-weight padding would count the
copies in the validation metrics: leaving a few patches out is the smaller error.

Full batches split evenly only if ``batch_size`` is a multiple of the devices, which
:func:`check_batch_size` requires. This module imports Keras only inside its functions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument


def batch_shards() -> int:
    """How many parts the current ``keras.distribution`` splits each batch into (1: none).

    Examples
    --------
    >>> batch_shards()  # no distribution is set
    1
    """
    import keras

    distribution = keras.distribution.distribution()
    if distribution is None:
        return 1
    mesh = distribution.device_mesh
    return int(mesh.shape[list(mesh.axis_names).index(distribution.batch_dim_name)])


def check_batch_size(batch_size: int, owner: str) -> int:
    """Require ``batch_size`` to split evenly across the current distribution's devices.

    Returns
    -------
    int
        The number of parts each batch is split into (:func:`batch_shards`).

    Examples
    --------
    >>> check_batch_size(50, "KFoldTrainer")
    1
    """
    shards = batch_shards()
    if batch_size % shards:
        raise invalid_argument(
            "batch_size", owner,
            f"a multiple of {shards}, the devices the keras.distribution layout splits each "
            "batch across", batch_size,
            f"Use batch_size={batch_size + shards - batch_size % shards}, say.",
        )  # fmt: skip
    return shards


def pad_rows(array: npt.NDArray[Any], multiple: int) -> npt.NDArray[Any]:
    """``array`` with copies of its last row appended up to a multiple of ``multiple`` rows.

    Examples
    --------
    >>> pad_rows(np.array([1, 2, 3]), 2)
    array([1, 2, 3, 3])
    """
    missing = -len(array) % multiple
    if not missing:
        return array
    return np.concatenate([array, np.repeat(array[-1:], missing, axis=0)])
