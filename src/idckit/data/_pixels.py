"""PatchPixels: where a dataset's pixels are, and reading them (patches, mosaics, batches).

The pixels behind :class:`~idckit.data.IDCPatchDataset`: a store (the memory-mapped cache of a
tree, or an array), the cache entry it belongs to (so that the tree can be decoded again when
the cache files are gone) and the row of each patch in the store (a selection shares the store
of the dataset it was taken from). This module imports NumPy only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from idckit._errors import check_context, invalid_argument
from idckit.data._cache import CacheSpec, PixelStore, rebuild
from idckit.data._combine import CombinedSpec, write_combined
from idckit.data._context import gather_mosaics, neighbour_indices
from idckit.data._index import PatchIndex, read_only

_OWNER = "IDCPatchDataset"


class PatchPixels:
    """The pixels of a dataset's patches, read from a shared store.

    Parameters
    ----------
    store
        The pixels, or None for a dataset without any.
    cache
        The cache entry ``store`` was opened from (None for an array): a tree's, or the
        combined entry of several datasets' caches (:mod:`idckit.data._combine`).
    rows
        The row of each patch in ``store``; None when patch ``i`` is row ``i``.

    Examples
    --------
    >>> pixels = PatchPixels.from_array(np.zeros((2, 50, 50, 3), np.uint8), 2)
    >>> pixels.select(np.array([1]), 2).images().shape
    (1, 50, 50, 3)
    """

    def __init__(
        self,
        store: PixelStore | None = None,
        cache: CacheSpec | CombinedSpec | None = None,
        rows: npt.NDArray[np.intp] | None = None,
    ) -> None:
        self.store = store
        self.cache = cache
        self.rows = rows
        self._neighbours: dict[tuple[int, int], npt.NDArray[np.intp]] = {}

    @classmethod
    def from_array(cls, images: npt.NDArray[np.uint8] | None, n: int) -> PatchPixels:
        """Check ``images`` (``(n, P, P, 3)`` ``uint8``, or None for no pixels) and hold them."""
        return cls(None if images is None else PixelStore(array=_check_images(images, n)))

    @classmethod
    def from_cache(cls, spec: CacheSpec) -> PatchPixels:
        """Return the pixels of a cache entry, memory-mapped on first use."""
        return cls(PixelStore(spec.entry / "images.npy"), spec)

    def select(self, keep: npt.NDArray[np.intp], n: int) -> PatchPixels:
        """Return the pixels of the patches ``keep`` of these ``n``, sharing the store."""
        base = np.arange(n, dtype=np.intp) if self.rows is None else self.rows
        return PatchPixels(self.store, self.cache, base[keep])

    # ------------------------------------------------------------------ the store
    def ready(self) -> bool:
        """Whether the pixels can be read without decoding the tree again."""
        return self.store is not None and self.store.exists()

    def build_cache(self, *, force: bool = False) -> Path | None:
        """Decode the tree again if the cache is gone (or ``force``); return the cache folder.

        A combined entry is copied again from its parts' caches (decoded again if ``force``).
        """
        if self.cache is None:
            if self.store is None:
                raise _no_pixels()
            return None
        if isinstance(self.cache, CombinedSpec):
            if force or not self.ready():
                write_combined(self.cache, force=force)
                self.store = PixelStore(self.cache.entry / "images.npy")
            return self.cache.entry
        if force or not self.ready():
            result, _ = rebuild(self.cache, "raise")
            if len(result) != len(self.cache.result):  # pragma: no cover - drop_failed raised
                raise RuntimeError("the tree changed while it was being decoded")
            self.store = PixelStore(self.cache.entry / "images.npy")
        return self.cache.entry

    def opened(self) -> PixelStore:
        """Return the store, decoding the tree again first if its cache files are gone."""
        if self.store is None:
            raise _no_pixels()
        if self.cache is not None and not self.ready():
            self.build_cache()
        return self.store

    def cache_status(self) -> tuple[Path | None, bool]:
        """Return the cache folder (None without one) and whether it was reused."""
        spec = self.cache
        return (None, False) if spec is None else (spec.entry, spec.reused)

    # ------------------------------------------------------------------ reading
    def images(self) -> npt.NDArray[np.uint8]:
        """All pixels: the store itself, a view of a contiguous selection, else a copy."""
        array, rows = self.opened().array, self.rows
        if rows is None:
            return read_only(array)
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and (np.diff(rows) == 1).all():
            return read_only(array[rows[0] : rows[-1] + 1])  # contiguous: a view, no copy
        return array[rows]

    def load(
        self, index: PatchIndex, indices: npt.ArrayLike, context: int
    ) -> npt.NDArray[np.uint8]:
        """Gather patches (or their mosaics with ``context``) in one fancy-indexing read."""
        idx = np.arange(len(index))[np.asarray(indices, dtype=np.intp)]
        context = check_context(context, f"{_OWNER}.load_images")
        pixels = self.opened().array
        if context:
            return gather_mosaics(pixels, self.context_rows(index, context, idx))
        rows = idx if self.rows is None else self.rows[idx]
        return np.asarray(pixels[rows])

    def feed_rows(self, index: PatchIndex, context: int) -> npt.NDArray[np.intp]:
        """Return the store rows a feed reads: ``(N,)``, or ``(N, K)`` with ``context``."""
        context = check_context(context, f"{_OWNER}.to_keras")
        if context:
            return self.context_rows(index, context)
        return np.arange(len(index), dtype=np.intp) if self.rows is None else self.rows

    # ------------------------------------------------------------------ neighbourhoods
    def neighbours(self, index: PatchIndex, radius: int) -> npt.NDArray[np.intp]:
        """Neighbour table of ``index`` (within it), computed once per radius and step."""
        step = self.store.array.shape[1] if self.ready() else 50  # type: ignore[union-attr]
        key = (check_context(radius, f"{_OWNER}.neighbours"), int(step))
        if key not in self._neighbours:
            table = neighbour_indices(index.patients, index.x, index.y, radius=key[0], step=key[1])
            self._neighbours[key] = read_only(table)
        return self._neighbours[key]

    def context_rows(
        self, index: PatchIndex, context: int, indices: npt.NDArray[np.intp] | None = None
    ) -> npt.NDArray[np.intp]:
        """:meth:`neighbours` (of ``indices`` only, if given) as store rows; ``-1`` stays."""
        table = self.neighbours(index, context)
        if indices is not None:
            table = table[indices]  # map only the rows asked for (load_images reads blocks)
        if self.rows is None:
            return table
        return np.where(table >= 0, self.rows[table], -1)


def _check_images(images: npt.NDArray[np.uint8], n: int) -> npt.NDArray[np.uint8]:
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[0] != n or arr.shape[3] != 3:
        raise invalid_argument(
            "images", _OWNER, f"a uint8 array of shape ({n}, P, P, 3)",
            f"{arr.dtype} array of shape {arr.shape}",
        )  # fmt: skip
    return arr


def _no_pixels() -> ValueError:
    return invalid_argument(
        "images", _OWNER, "pixels for this dataset", None,
        "Create it with IDCPatchDataset.from_directory(...) or pass images=...",
    )  # fmt: skip
