"""Feeding Keras: a ``keras.utils.PyDataset`` that gathers whole batches from the cache.

This is the only module of :mod:`idckit.data` that imports Keras; it is imported by
:meth:`IDCPatchDataset.to_keras`, never by ``import idckit.data``.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import numpy.typing as npt

from idckit._data_parallel import check_batch_size
from idckit._errors import check_positive_int, invalid_argument
from idckit.data._augment import Augmentation
from idckit.data._cache import PixelStore
from idckit.data._context import gather_mosaics


class PatchFeed(keras.utils.PyDataset):  # type: ignore[misc]  # keras is untyped
    """Batches of ``(uint8 images, int32 labels)`` for ``model.fit``, on any Keras backend.

    Parameters
    ----------
    store
        The pixels (the memory-mapped cache, or an array).
    rows
        The row of each patch in ``store``, shape ``(N,)``; or ``(N, K)`` rows of each patch's
        neighbourhood (``-1`` for none, see :meth:`IDCPatchDataset.neighbours`) to feed
        mosaics of neighbouring patches instead (context).
    labels
        The label of each patch.
    batch_size
        Patches per batch (the last batch may be smaller).
    shuffle
        Draw a new order at the start and at the end of every epoch.
    augment
        ``True``: a random flip/90-degree rotation of every patch of every batch; an
        :class:`~idckit.data.Augmentation` for colour/stain jitter too; ``False``: none.
    seed
        Seed for the order and the augmentation; the same seed gives the same batches.

    Notes
    -----
    Under a data-parallel ``keras.distribution`` layout over ``D`` devices (JAX), every batch
    must split evenly across them (Keras does not pad), so the feed counts ``D`` when it is
    created and leaves out the last patches of each epoch's order that do not fill a multiple
    of ``D`` in the last batch: fewer than ``D`` patches, different ones every epoch when
    shuffled (``patches_per_epoch`` says how many are fed), and ``batch_size`` must be a
    multiple of ``D``. Predictions (:func:`~idckit.inference.predict_proba`,
    :class:`~idckit.training.KFoldTrainer`) pad instead and cover every patch.

    Examples
    --------
    >>> from idckit.data import IDCPatchDataset
    >>> ds = IDCPatchDataset([0, 1, 1], ["a", "b", "c"],
    ...                      images=np.zeros((3, 50, 50, 3), dtype=np.uint8))
    >>> feed = ds.to_keras(batch_size=2, seed=0)
    >>> len(feed), feed[1][0].shape
    (2, (1, 50, 50, 3))
    """

    def __init__(
        self,
        store: PixelStore,
        rows: npt.NDArray[np.intp],
        labels: npt.NDArray[np.integer[Any]],
        batch_size: int = 64,
        *,
        shuffle: bool = True,
        augment: bool | Augmentation = False,
        seed: int | None = None,
    ) -> None:
        owner = "IDCPatchDataset.to_keras"
        batch_size = check_positive_int("batch_size", owner, batch_size, "a positive int")
        # One worker, Keras's default: batches are gathered when they are asked for. Feed
        # threads (``PyDataset(workers=2)``) made GPU training slower, not faster: they compete
        # with the training loop for the interpreter lock (docs/benchmarks.rst, GPU training).
        super().__init__()
        if len(rows) == 0:
            raise invalid_argument("dataset", "IDCPatchDataset.to_keras", "at least one patch", 0)
        self.store = store
        self.rows = np.asarray(rows, dtype=np.intp)
        self.labels = np.asarray(labels, dtype=np.int32)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = Augmentation.coerce(augment, "IDCPatchDataset.to_keras")
        self.seed = int(np.random.default_rng().integers(2**62)) if seed is None else seed
        self.epoch = 0
        self.order = self._draw_order()
        self.patches_per_epoch = self._patches_per_epoch()

    def __len__(self) -> int:
        return math.ceil(self.patches_per_epoch / self.batch_size)

    def __getitem__(self, index: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int32]]:
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        start = index * self.batch_size
        pick = self.order[start : min(start + self.batch_size, self.patches_per_epoch)]
        if self.rows.ndim == 2:
            images = gather_mosaics(self.store.array, self.rows[pick])
        else:
            images = self.store.array[self.rows[pick]]
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            images = self.augment.apply(images, rng)
        return np.asarray(images), self.labels[pick]

    def _patches_per_epoch(self) -> int:
        """All patches, less the few left out to even out the last batch across devices."""
        n = len(self.rows)
        shards = check_batch_size(self.batch_size, "IDCPatchDataset.to_keras")
        used = n - n % self.batch_size % shards
        if used == 0:
            raise invalid_argument(
                "dataset", "IDCPatchDataset.to_keras",
                f"at least {shards} patches, one per device of the keras.distribution "
                "layout", n,
            )  # fmt: skip
        return used

    def on_epoch_end(self) -> None:
        """Draw the next epoch's order."""
        self.epoch += 1
        self.order = self._draw_order()

    def _draw_order(self) -> npt.NDArray[np.intp]:
        n = len(self.rows)
        if not self.shuffle:
            return np.arange(n, dtype=np.intp)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)
