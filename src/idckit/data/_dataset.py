"""IDCPatchDataset: the patches of a tree, their patients and labels, and their pixels."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from idckit._errors import check_choice, invalid_argument
from idckit.data._cache import CacheSpec, PixelStore, open_tree, rebuild
from idckit.data._context import check_context, gather_mosaics, neighbour_indices
from idckit.data._decode import PadMode
from idckit.data._records import DEFAULT_PATTERN, PatchRecord, compile_pattern
from idckit.data._report import ScanReport
from idckit.data._scan import OnError, ScanResult

if TYPE_CHECKING:  # pragma: no cover
    from keras.utils import PyDataset
    from matplotlib.figure import Figure

    from idckit.data._augment import Augmentation

_OWNER = "IDCPatchDataset"
_TARGET_NAMES = ("IDC(-)", "IDC(+)")


class IDCPatchDataset:
    """The patches of a tree: paths, patients, positions, labels, and their pixels.

    Most users call :meth:`from_directory`, which indexes a tree laid out like the Kaggle IDC
    data set (``<patient>/<0|1>/<patient>_idx5_x<X>_y<Y>_class<C>.png``) and decodes it once
    into a memory-mapped cache. The constructor itself stores arrays and does no I/O.

    Parameters
    ----------
    labels
        Label of every patch, 0 = IDC(-), 1 = IDC(+), shape ``(N,)``.
    patients
        Patient id of every patch (converted to ``str``), shape ``(N,)``.
    images
        Optional pixels, ``uint8`` of shape ``(N, P, P, 3)`` (a memory map is fine).
    paths, x, y
        Optional file paths and positions (empty strings and zeros when omitted).
    report
        Optional :class:`ScanReport` of the scan that found the patches.

    Examples
    --------
    >>> import numpy as np
    >>> ds = IDCPatchDataset([0, 1, 1], ["p1", "p1", "p2"],
    ...                      images=np.zeros((3, 50, 50, 3), dtype=np.uint8))
    >>> len(ds), ds.patient_ids, ds.class_counts()
    (3, ('p1', 'p2'), {0: 1, 1: 2})
    """

    def __init__(
        self,
        labels: npt.ArrayLike,
        patients: npt.ArrayLike,
        *,
        images: npt.NDArray[np.uint8] | None = None,
        paths: npt.ArrayLike | None = None,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
        report: ScanReport | None = None,
    ) -> None:
        self._labels = _int_array(labels, "labels")
        n = len(self._labels)
        self._patients = _str_array(patients, "patients", n)
        self._relpaths = _str_array([""] * n if paths is None else paths, "paths", n)
        self._x = _int_array(np.zeros(n, np.int64) if x is None else x, "x", n)
        self._y = _int_array(np.zeros(n, np.int64) if y is None else y, "y", n)
        self._root = ""
        self._report = report
        self._rows: npt.NDArray[np.intp] | None = None
        self._cache: CacheSpec | None = None
        self._store = None if images is None else PixelStore(array=_check_images(images, n))
        self._abspaths: npt.NDArray[np.str_] | None = None
        self._neighbours: dict[tuple[int, int], npt.NDArray[np.intp]] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_directory(
        cls,
        root: str | os.PathLike[str],
        *,
        pattern: str | re.Pattern[str] = DEFAULT_PATTERN,
        patch_size: int = 50,
        pad_mode: PadMode = "constant",
        on_error: OnError = "skip",
        cache_dir: str | os.PathLike[str] | None = None,
        n_jobs: int | None = None,
        progress: bool = True,
    ) -> IDCPatchDataset:
        """Index a tree of patches and decode it into the cache (or reuse the cache).

        The first call on a tree decodes every patch once, in parallel, into a memory-mapped
        cache; later calls find the cache by the tree's fingerprint (paths, sizes, mtimes)
        and reuse it at once. A changed tree is decoded again.

        Parameters
        ----------
        root
            The folder of patches. Hidden files, ``__MACOSX/``, ``._*`` and non-image
            files are ignored; symlink loops are not followed; a patch found twice (the
            nested ``IDC_regular_ps50_idx5/`` copy) is kept once and counted as duplicate.
        pattern
            File-name regex with named groups ``patient``, ``x``, ``y`` and optionally
            ``label`` (else the ``0``/``1`` class folder gives it), matched against the whole
            name. A label in the name must agree with the class folder.
        patch_size
            Side of the square patches, in pixels.
        pad_mode
            How smaller (edge) patches are brought to size: ``"constant"`` pads with white,
            ``"reflect"`` mirrors, ``"resize"`` scales bicubically. Larger ones are skipped.
        on_error
            ``"skip"`` counts each bad file in :attr:`report` and goes on; ``"raise"`` raises
            :class:`PatchError` naming the first one.
        cache_dir
            Where the cache goes; ``$IDCKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/idckit`` or
            ``~/.cache/idckit`` when None.
        n_jobs
            Decoding threads (OpenCV decodes without holding the GIL); all cores when None
            or -1.
        progress
            Show progress bars (tqdm) while scanning and decoding.

        Returns
        -------
        IDCPatchDataset
            The dataset, its pixels backed by the cache.

        Examples
        --------
        >>> import tempfile
        >>> from idckit.datasets import make_synthetic
        >>> tmp = tempfile.mkdtemp()
        >>> root = make_synthetic(tmp + "/data", n_patients=3, patches_per_patient=20)
        >>> ds = IDCPatchDataset.from_directory(root, cache_dir=tmp + "/cache", progress=False)
        >>> ds.images.shape, len(ds.patient_ids)
        ((60, 50, 50, 3), 3)
        """
        result, report, spec = open_tree(
            root,
            pattern=compile_pattern(pattern),
            patch_size=patch_size,
            pad_mode=pad_mode,
            on_error=on_error,
            cache_dir=cache_dir,
            n_jobs=n_jobs,
            progress=progress,
        )
        return cls._from_result(result, report, spec)

    @classmethod
    def _from_result(
        cls, result: ScanResult, report: ScanReport, spec: CacheSpec
    ) -> IDCPatchDataset:
        ds = cls.__new__(cls)
        ds._labels, ds._patients = result.labels, result.patients
        ds._relpaths, ds._x, ds._y = result.relpaths, result.x, result.y
        ds._root, ds._report, ds._rows = result.root, report, None
        ds._cache = replace(spec, result=result)
        ds._store = PixelStore(spec.entry / "images.npy")
        ds._abspaths = None
        ds._neighbours = {}
        return ds

    def _derive(self, keep: npt.NDArray[np.intp]) -> IDCPatchDataset:
        """Return a dataset of the patches ``keep`` (indices), sharing the pixels."""
        ds = self.__class__.__new__(self.__class__)
        ds.__dict__.update(self.__dict__)
        ds._labels, ds._patients = self._labels[keep], self._patients[keep]
        ds._relpaths, ds._x, ds._y = self._relpaths[keep], self._x[keep], self._y[keep]
        base = np.arange(len(self), dtype=np.intp) if self._rows is None else self._rows
        ds._rows = base[keep]
        ds._abspaths = None if self._abspaths is None else self._abspaths[keep]
        ds._neighbours = {}  # neighbours are looked up within the selection
        return ds

    # ------------------------------------------------------------------ per-patch arrays
    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        counts = self.class_counts()
        where = f", root={self._root!r}" if self._root else ""
        return (
            f"IDCPatchDataset(n_patches={len(self)}, n_patients={len(self.patient_ids)}, "
            f"class_counts={counts}{where})"
        )

    @property
    def paths(self) -> npt.NDArray[np.str_]:
        """The file of every patch (absolute for datasets read from a folder)."""
        if self._abspaths is None:
            prefix = self._root + os.sep if self._root else ""
            self._abspaths = np.char.add(prefix, self._relpaths) if prefix else self._relpaths
        return _read_only(self._abspaths)

    @property
    def patients(self) -> npt.NDArray[np.str_]:
        """The patient id of every patch."""
        return _read_only(self._patients)

    @property
    def x(self) -> npt.NDArray[np.int64]:
        """The x position of every patch in its slide, in pixels."""
        return _read_only(self._x)

    @property
    def y(self) -> npt.NDArray[np.int64]:
        """The y position of every patch in its slide, in pixels."""
        return _read_only(self._y)

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        """The label of every patch: 0 = IDC(-), 1 = IDC(+)."""
        return _read_only(self._labels)

    @property
    def report(self) -> ScanReport:
        """The :class:`ScanReport` of the scan that made this dataset (shared by subsets)."""
        if self._report is None:
            self._report = ScanResult(
                self._root, self._relpaths, self._patients, self._x, self._y, self._labels,
                n_files=len(self),
            ).report(padded=0, verified=False)  # fmt: skip
        return self._report

    def record(self, index: int) -> PatchRecord:
        """Return the :class:`PatchRecord` of patch ``index``.

        Examples
        --------
        >>> ds = IDCPatchDataset([1], ["9036"], paths=["a.png"], x=[51], y=[101])
        >>> ds.record(0)
        PatchRecord(path='a.png', patient='9036', x=51, y=101, label=1)
        """
        i = int(np.arange(len(self))[index])
        return PatchRecord(
            str(self.paths[i]), str(self._patients[i]), int(self._x[i]), int(self._y[i]),
            int(self._labels[i]),
        )  # fmt: skip

    # ------------------------------------------------------------------ patients and classes
    @property
    def patient_ids(self) -> tuple[str, ...]:
        """The distinct patient ids, sorted."""
        return tuple(str(p) for p in np.unique(self._patients))

    def class_counts(self) -> dict[int, int]:
        """Patches per label, ``{0: n, 1: n}`` (both keys always present)."""
        values, counts = np.unique(self._labels, return_counts=True)
        return {0: 0, 1: 0} | {int(v): int(c) for v, c in zip(values, counts, strict=True)}

    def patient_counts(self, *, by_class: bool = False) -> dict[str, Any]:
        """Patches per patient, ``{patient: n}``, or ``{patient: {0: n, 1: n}}`` by class.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1, 1], ["a", "a", "b"])
        >>> ds.patient_counts(), ds.patient_counts(by_class=True)["a"]
        ({'a': 2, 'b': 1}, {0: 1, 1: 1})
        """
        ids, codes = np.unique(self._patients, return_inverse=True)
        if not by_class:
            return {
                str(p): int(c)
                for p, c in zip(ids, np.bincount(codes, minlength=len(ids)), strict=True)
            }
        classes = sorted({0, 1} | {int(v) for v in np.unique(self._labels)})
        table = np.zeros((len(ids), max(classes) + 1), dtype=np.int64)
        np.add.at(table, (codes, self._labels), 1)
        return {str(p): {k: int(table[i, k]) for k in classes} for i, p in enumerate(ids)}

    def class_weights(self, method: Literal["balanced"] = "balanced") -> dict[int, float]:
        """Class weights for ``model.fit(class_weight=...)``, computed on this dataset.

        ``"balanced"`` gives ``n_patches / (n_classes * count[c])`` for every class present,
        as :func:`sklearn.utils.class_weight.compute_class_weight` does.

        Examples
        --------
        >>> IDCPatchDataset([0, 0, 0, 1], ["a"] * 4).class_weights()
        {0: 0.6666666666666666, 1: 2.0}
        """
        check_choice("method", f"{_OWNER}.class_weights", method, ("balanced",))
        if len(self) == 0:
            raise invalid_argument(
                "dataset", f"{_OWNER}.class_weights", "at least one patch", "an empty dataset"
            )
        values, counts = np.unique(self._labels, return_counts=True)
        weights = len(self) / (len(values) * counts.astype(np.float64))
        return {int(v): float(w) for v, w in zip(values, weights, strict=True)}

    # ------------------------------------------------------------------ selection
    def take(self, indices: npt.ArrayLike) -> IDCPatchDataset:
        """Select the patches at ``indices`` (integers, or a boolean mask), sharing the cache.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1, 1], ["a", "b", "c"])
        >>> ds.take([2, 0]).patients.tolist()
        ['c', 'a']
        """
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise invalid_argument(
                    "indices", f"{_OWNER}.take", f"a boolean mask of shape ({len(self)},)",
                    f"mask of shape {idx.shape}",
                )  # fmt: skip
            idx = np.flatnonzero(idx)
        if idx.size == 0:
            idx = idx.astype(np.intp)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise invalid_argument("indices", f"{_OWNER}.take", "a 1-D array of integers", idx)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise invalid_argument(
                "indices", f"{_OWNER}.take", f"integers in [0, {len(self)})",
                f"values in [{idx.min()}, {idx.max()}]",
            )  # fmt: skip
        return self._derive(idx.astype(np.intp))

    def subset(self, patients: Iterable[str] | str) -> IDCPatchDataset:
        """Select the patches of the given patients (in their order here), sharing the cache.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1, 1], ["a", "b", "a"])
        >>> ds.subset(["a"]).labels.tolist()
        [0, 1]
        """
        wanted = np.asarray([patients] if isinstance(patients, str) else list(patients), str)
        unknown = np.setdiff1d(wanted, self._patients)
        if unknown.size:
            raise invalid_argument(
                "patients", f"{_OWNER}.subset", "ids of patients in this dataset",
                unknown[:5].tolist(), f"Known patients: {list(self.patient_ids[:5])}...",
            )  # fmt: skip
        return self.take(np.isin(self._patients, wanted))

    def train_test_split(
        self, test_size: float | int = 0.2, *, seed: int = 0, stratify: bool = True
    ) -> tuple[IDCPatchDataset, IDCPatchDataset]:
        """Split by patient into train and test datasets (no patient in both).

        See :func:`idckit.data.patient_train_test_split` for the parameters.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1] * 5, list("aabbccddee"))
        >>> train, test = ds.train_test_split(0.2, seed=0)
        >>> len(train) + len(test), set(train.patient_ids) & set(test.patient_ids)
        (10, set())
        """
        from idckit.data._splits import patient_train_test_split

        train, test = patient_train_test_split(
            self._patients, self._labels, test_size=test_size, seed=seed, stratify=stratify
        )
        return self.take(train), self.take(test)

    def named_split(self, name: str = "cruz-roa-2014") -> dict[str, IDCPatchDataset]:
        """Split by a published patient split, e.g. Cruz-Roa et al. 2014's train/validation/test.

        Patients of the split that this dataset lacks are simply absent.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1], ["10304", "13688"])
        >>> {k: len(v) for k, v in ds.named_split("cruz-roa-2014").items()}
        {'train': 1, 'validation': 1, 'test': 0}
        """
        from idckit.data._splits import named_patient_split

        parts: Mapping[str, tuple[str, ...]] = named_patient_split(name)
        return {k: self.take(np.isin(self._patients, list(v))) for k, v in parts.items()}

    # ------------------------------------------------------------------ pixels
    def build_cache(self, *, force: bool = False) -> Path | None:
        """Make sure the pixels are available; decode the tree again if the cache is gone.

        Parameters
        ----------
        force
            Decode again even when the cache exists.

        Returns
        -------
        pathlib.Path or None
            The cache folder; None for a dataset made from arrays.
        """
        if self._cache is None:
            if self._store is None:
                raise self._no_pixels()
            return None
        if force or not self._store_ready():
            result, _ = rebuild(self._cache, "raise")
            if len(result) != len(self._cache.result):  # pragma: no cover - drop_failed raised
                raise RuntimeError("the tree changed while it was being decoded")
            self._store = PixelStore(self._cache.entry / "images.npy")
        return self._cache.entry

    @property
    def images(self) -> npt.NDArray[np.uint8]:
        """All pixels, ``(N, P, P, 3)`` ``uint8``.

        The memory-mapped cache itself for a dataset read from a folder; a gathered in-memory
        copy for a subset or selection of one (use :meth:`load_images` or :meth:`to_keras`
        to read a large subset piece by piece).
        """
        array, rows = self._pixels().array, self._rows
        if rows is None:
            return _read_only(array)
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and (np.diff(rows) == 1).all():
            return _read_only(array[rows[0] : rows[-1] + 1])  # contiguous: a view, no copy
        return array[rows]

    def load_images(self, indices: npt.ArrayLike, *, context: int = 0) -> npt.NDArray[np.uint8]:
        """Gather the pixels of the patches at ``indices`` in one fancy-indexing read.

        With ``context=r``, each patch comes as the mosaic of its ``(2r+1) x (2r+1)``
        neighbourhood on its patient's slide grid (see :meth:`neighbours`), ``(2r+1) * P``
        pixels a side, the patch itself at the centre and missing neighbours white.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1], ["a", "a"], x=[0, 50], y=[0, 0],
        ...                      images=np.zeros((2, 50, 50, 3), np.uint8))
        >>> ds.load_images([1]).shape, ds.load_images([1], context=1).shape
        ((1, 50, 50, 3), (1, 150, 150, 3))
        """
        idx = np.arange(len(self))[np.asarray(indices, dtype=np.intp)]
        context = check_context(context, "IDCPatchDataset.load_images")
        pixels = self._pixels().array
        if context:
            return gather_mosaics(pixels, self._context_rows(context, idx))
        rows = idx if self._rows is None else self._rows[idx]
        return np.asarray(pixels[rows])

    def neighbours(self, radius: int = 1) -> npt.NDArray[np.intp]:
        """Index of every patch's neighbours on its patient's slide grid, ``-1`` for none.

        The grid step is the patch size (50 px unless the pixels say otherwise); neighbours are
        looked up within this dataset (a patch-level selection may lack some). Computed once
        per radius.

        Parameters
        ----------
        radius
            Neighbourhood radius in grid cells (1: the 3x3 cells around each patch).

        Returns
        -------
        numpy.ndarray
            ``(N, (2 * radius + 1) ** 2)`` indices into this dataset, row-major over the
            neighbourhood (see :func:`idckit.data.neighbour_indices`).

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1], ["a", "a"], x=[0, 50], y=[0, 0])
        >>> ds.neighbours(1)[0].tolist()
        [-1, -1, -1, -1, 0, 1, -1, -1, -1]
        """
        step = self._store.array.shape[1] if self._store_ready() else 50  # type: ignore[union-attr]
        key = (check_context(radius, "IDCPatchDataset.neighbours"), int(step))
        if key not in self._neighbours:
            table = neighbour_indices(self._patients, self._x, self._y, radius=key[0], step=key[1])
            self._neighbours[key] = _read_only(table)
        return self._neighbours[key]

    def _context_rows(
        self, context: int, indices: npt.NDArray[np.intp] | None = None
    ) -> npt.NDArray[np.intp]:
        """:meth:`neighbours` (of ``indices`` only, if given) as rows of the pixel store.

        ``-1`` (no neighbour) stays ``-1``.
        """
        table = self.neighbours(context)
        if indices is not None:
            table = table[indices]  # map only the rows asked for (load_images reads blocks)
        if self._rows is None:
            return table
        return np.where(table >= 0, self._rows[table], -1)

    def to_keras(
        self,
        batch_size: int = 64,
        *,
        shuffle: bool = True,
        augment: bool | Augmentation = False,
        seed: int | None = None,
        context: int = 0,
        workers: int = 1,
    ) -> PyDataset:
        """Feed Keras: a ``keras.utils.PyDataset`` of ``(uint8 images, int32 labels)`` batches.

        Batches are gathered from the cache in one read each; ``shuffle`` draws a new order
        every epoch; ``augment=True`` applies a random flip/90-degree rotation per patch, an
        :class:`~idckit.data.Augmentation` also colour/stain jitter (``seed`` fixes its draws
        too). With ``context=r`` every patch comes as the mosaic of its neighbourhood (see
        :meth:`load_images`). ``workers > 1`` has Keras prepare that many batches ahead in
        threads while the model trains (the same batches; it did not pay off in the GPU benchmarks,
        where the threads compete with the training loop for Python's interpreter lock).
        Under a data-parallel ``keras.distribution`` layout the feed leaves out the last few
        patches of each epoch (fewer than the devices; its ``patches_per_epoch`` says how many
        it feeds) so that every batch splits evenly across them, and ``batch_size`` must be a
        multiple of the devices. Keras is imported here, not before.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1], ["a", "b"], images=np.zeros((2, 50, 50, 3), np.uint8))
        >>> x, y = ds.to_keras(batch_size=2)[0]
        >>> x.shape, y.dtype
        ((2, 50, 50, 3), dtype('int32'))
        """
        from idckit.data._feed import PatchFeed

        context = check_context(context, "IDCPatchDataset.to_keras")
        if context:
            rows = self._context_rows(context)
        else:
            rows = np.arange(len(self), dtype=np.intp) if self._rows is None else self._rows
        return PatchFeed(
            self._pixels(), rows, self._labels, batch_size, shuffle=shuffle, augment=augment,
            seed=seed, workers=workers,
        )  # fmt: skip

    def _pixels(self) -> PixelStore:
        if self._store is None:
            raise self._no_pixels()
        if self._cache is not None and not self._store_ready():
            self.build_cache()
        return self._store

    def _store_ready(self) -> bool:
        return self._store is not None and self._store.exists()

    def _no_pixels(self) -> ValueError:
        return invalid_argument(
            "images", _OWNER, "pixels for this dataset", None,
            "Create it with IDCPatchDataset.from_directory(...) or pass images=...",
        )  # fmt: skip

    # ------------------------------------------------------------------ plots
    def plot_class_balance(
        self, *, ax: Any = None, target_names: tuple[str, str] = _TARGET_NAMES
    ) -> Figure:
        """Plot the class balance (pie charts over patches and patients); return the Figure."""
        from idckit.data._eda import plot_class_balance

        return plot_class_balance(self._labels, self._patients, target_names=target_names, ax=ax)

    def plot_samples(
        self,
        n_per_class: int = 25,
        *,
        seed: int = 0,
        target_names: tuple[str, str] = _TARGET_NAMES,
    ) -> Figure:
        """Plot a grid of random patches of each class; return the Figure.

        Only the drawn patches are read from the cache of a dataset read from a folder (a
        subset gathers its pixels first, see :attr:`images`).
        """
        from idckit.data._eda import plot_patch_grid

        return plot_patch_grid(
            self.images, self._labels, n_per_class=n_per_class, seed=seed,
            target_names=target_names,
        )  # fmt: skip


def cache_status(dataset: IDCPatchDataset) -> tuple[Path | None, bool]:
    """Return the cache folder of ``dataset`` (None without one) and whether it was reused."""
    spec = dataset._cache
    return (None, False) if spec is None else (spec.entry, spec.reused)


def _int_array(values: npt.ArrayLike, name: str, n: int | None = None) -> npt.NDArray[np.int64]:
    arr = np.asarray(values)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if (
        arr.ndim != 1
        or not np.issubdtype(arr.dtype, np.integer)
        or (n is not None and len(arr) != n)
    ):
        shape = f"({n},)" if n is not None else "(N,)"
        raise invalid_argument(name, _OWNER, f"a 1-D integer array of shape {shape}", arr)
    return arr.astype(np.int64, copy=False)


def _str_array(values: npt.ArrayLike, name: str, n: int) -> npt.NDArray[np.str_]:
    arr = np.asarray(values).astype(str)
    if arr.shape != (n,):
        raise invalid_argument(name, _OWNER, f"a 1-D array of shape ({n},)", arr)
    return arr


def _check_images(images: npt.NDArray[np.uint8], n: int) -> npt.NDArray[np.uint8]:
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[0] != n or arr.shape[3] != 3:
        raise invalid_argument(
            "images", _OWNER, f"a uint8 array of shape ({n}, P, P, 3)",
            f"{arr.dtype} array of shape {arr.shape}",
        )  # fmt: skip
    return arr


def _read_only(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    view: npt.NDArray[Any] = arr.view()
    view.flags.writeable = False
    return view
