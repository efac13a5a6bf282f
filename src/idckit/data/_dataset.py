"""IDCPatchDataset: the patches of a tree, their patients and labels, and their pixels.

The class composes a :class:`~idckit.data._index.PatchIndex` (the per-patch table: selection,
counts) and a :class:`~idckit.data._pixels.PatchPixels` (the cache: patches, mosaics); its
Keras feed is :mod:`idckit.data._feed` and its plots :mod:`idckit.data._eda`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from idckit.data._cache import open_tree
from idckit.data._decode import PadMode
from idckit.data._index import PatchIndex, read_only
from idckit.data._pixels import PatchPixels
from idckit.data._records import DEFAULT_PATTERN, PatchRecord, compile_pattern
from idckit.data._report import ScanReport
from idckit.data._scan import OnError

if TYPE_CHECKING:  # pragma: no cover
    from keras.utils import PyDataset
    from matplotlib.figure import Figure

    from idckit.data._augment import Augmentation
    from idckit.data._normalize import StainNormalizer

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
        self._index = PatchIndex.from_arrays(labels, patients, paths=paths, x=x, y=y)
        self._pixels = PatchPixels.from_array(images, len(self._index))
        self._report = report

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_directory(
        cls,
        root: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
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

        Several trees are each read into their own cache (reused as for one tree) and then
        combined by :meth:`concat`, in the order given: a patient id in two trees, or a tree
        given twice, is an error, and :attr:`report` adds up the trees' reports.

        Parameters
        ----------
        root
            The folder of patches, or a sequence of folders (trees of distinct patients).
            Hidden files, ``__MACOSX/``, ``._*`` and non-image
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

        Two trees of different patients, as one dataset:

        >>> extra = make_synthetic(tmp + "/extra", n_patients=2, patches_per_patient=30, seed=1)
        >>> both = IDCPatchDataset.from_directory([root, extra], cache_dir=tmp + "/cache",
        ...                                       progress=False)
        >>> len(both), len(both.patient_ids), both.report.n_patches
        (120, 5, 120)
        """
        if not isinstance(root, str | os.PathLike):
            from idckit.data._combine import concat_datasets, tree_roots

            owner = "IDCPatchDataset.from_directory"
            parts = [
                cls.from_directory(
                    r, pattern=pattern, patch_size=patch_size, pad_mode=pad_mode,
                    on_error=on_error, cache_dir=cache_dir, n_jobs=n_jobs, progress=progress,
                )
                for r in tree_roots(root, owner)
            ]  # fmt: skip
            if len(parts) == 1:
                return parts[0]
            return cls._assemble(
                *concat_datasets(parts, cache_dir=cache_dir, owner=owner, argument="root")
            )
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
        ds = cls.__new__(cls)
        ds._index, ds._report = PatchIndex.from_scan(result), report
        ds._pixels = PatchPixels.from_cache(replace(spec, result=result))
        return ds

    @classmethod
    def concat(
        cls,
        datasets: Sequence[IDCPatchDataset],
        *,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> IDCPatchDataset:
        """Put datasets end to end: one dataset of all their patches, in the order given.

        The datasets must not share a patient id (rename them, or pass each patient once).
        Pixels stay out of memory where they can: datasets backed by decode caches get a
        combined memory-mapped cache entry, copied from theirs once and reused by later calls
        while their caches are unchanged (:meth:`cache_status` tells whether it was reused);
        in-memory pixels are concatenated in memory. Paths stay absolute for datasets read
        from folders; :attr:`report` adds up their reports.

        Parameters
        ----------
        datasets
            The datasets (subsets and selections too), all with pixels of one size or all
            without pixels.
        cache_dir
            Where the combined cache entry goes; next to the first dataset's cache when None.

        Returns
        -------
        IDCPatchDataset
            The combined dataset.

        Examples
        --------
        >>> a = IDCPatchDataset([0, 1], ["p1", "p1"], images=np.zeros((2, 50, 50, 3), np.uint8))
        >>> b = IDCPatchDataset([1], ["p2"], images=np.ones((1, 50, 50, 3), np.uint8))
        >>> both = IDCPatchDataset.concat([a, b])
        >>> len(both), both.patient_ids, int(both.load_images([2]).max())
        (3, ('p1', 'p2'), 1)
        """
        from idckit.data._combine import concat_datasets

        owner, argument = "IDCPatchDataset.concat", "datasets"
        return cls._assemble(
            *concat_datasets(datasets, cache_dir=cache_dir, owner=owner, argument=argument)
        )

    @classmethod
    def _assemble(
        cls, index: PatchIndex, pixels: PatchPixels, report: ScanReport | None
    ) -> IDCPatchDataset:
        """Return a dataset of these parts (checked by the caller)."""
        ds = cls.__new__(cls)
        ds._index, ds._pixels, ds._report = index, pixels, report
        return ds

    def _derive(self, keep: npt.NDArray[np.intp]) -> IDCPatchDataset:
        """Return a dataset of the patches ``keep`` (checked indices), sharing the pixels."""
        ds = self.__class__.__new__(self.__class__)
        ds._index, ds._report = self._index.take(keep), self._report
        ds._pixels = self._pixels.select(keep, len(self))
        return ds

    # ------------------------------------------------------------------ per-patch arrays
    def __len__(self) -> int:
        """Return the number of patches."""
        return len(self._index)

    def __getitem__(self, index: int) -> tuple[npt.NDArray[np.uint8], int]:
        """Return patch ``index`` as ``(image, label)``: a ``(50, 50, 3)`` uint8 array, 0 or 1.

        As a PyTorch ``Dataset`` item; negative indices count from the end. For several
        patches at once use :meth:`load_images` and :attr:`labels`; for a smaller dataset,
        :meth:`take` or :meth:`subset`.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1], ["a", "a"], images=np.zeros((2, 50, 50, 3), np.uint8))
        >>> image, label = ds[-1]
        >>> image.shape, label
        ((50, 50, 3), 1)
        """
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(
                f"IDCPatchDataset indices are integers (ds[i] is (image, label)); got "
                f"{type(index).__name__}. Use ds.take(indices) or ds.subset(patients) for a "
                "smaller dataset, ds.load_images(indices) for several images."
            )
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"patch index {int(index)} out of range for {n} patches")
        row = int(index) % n
        return self.load_images([row])[0], int(self.labels[row])

    def __iter__(self) -> Iterator[tuple[npt.NDArray[np.uint8], int]]:
        """Yield ``(image, label)`` for every patch, in order (see :meth:`__getitem__`)."""
        block = 1024  # read the cache a block at a time, not patch by patch
        for start in range(0, len(self), block):
            rows = np.arange(start, min(start + block, len(self)))
            images, labels = self.load_images(rows), self.labels[rows]
            for image, label in zip(images, labels, strict=True):
                yield image, int(label)

    def __repr__(self) -> str:
        root = self._index.root
        where = f", root={root!r}" if root else ""
        return (
            f"IDCPatchDataset(n_patches={len(self)}, n_patients={len(self.patient_ids)}, "
            f"class_counts={self.class_counts()}{where})"
        )

    @property
    def paths(self) -> npt.NDArray[np.str_]:
        """The file of every patch (absolute for datasets read from a folder)."""
        return read_only(self._index.paths)

    @property
    def patients(self) -> npt.NDArray[np.str_]:
        """The patient id of every patch."""
        return read_only(self._index.patients)

    @property
    def x(self) -> npt.NDArray[np.int64]:
        """The x position of every patch in its slide, in pixels."""
        return read_only(self._index.x)

    @property
    def y(self) -> npt.NDArray[np.int64]:
        """The y position of every patch in its slide, in pixels."""
        return read_only(self._index.y)

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        """The label of every patch: 0 = IDC(-), 1 = IDC(+)."""
        return read_only(self._index.labels)

    @property
    def report(self) -> ScanReport:
        """The :class:`ScanReport` of the scan that made this dataset (shared by subsets)."""
        if self._report is None:
            self._report = self._index.scan_report()
        return self._report

    def record(self, index: int) -> PatchRecord:
        """Return the :class:`PatchRecord` of patch ``index``.

        Examples
        --------
        >>> ds = IDCPatchDataset([1], ["9036"], paths=["a.png"], x=[51], y=[101])
        >>> ds.record(0)
        PatchRecord(path='a.png', patient='9036', x=51, y=101, label=1)
        """
        return self._index.record(index)

    # ------------------------------------------------------------------ patients and classes
    @property
    def patient_ids(self) -> tuple[str, ...]:
        """The distinct patient ids, sorted."""
        return self._index.patient_ids

    def class_counts(self) -> dict[int, int]:
        """Patches per label, ``{0: n, 1: n}`` (both keys always present)."""
        return self._index.class_counts()

    def patient_counts(self, *, by_class: bool = False) -> dict[str, Any]:
        """Patches per patient, ``{patient: n}``, or ``{patient: {0: n, 1: n}}`` by class.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1, 1], ["a", "a", "b"])
        >>> ds.patient_counts(), ds.patient_counts(by_class=True)["a"]
        ({'a': 2, 'b': 1}, {0: 1, 1: 1})
        """
        return self._index.patient_counts(by_class=by_class)

    def class_weights(self, method: Literal["balanced"] = "balanced") -> dict[int, float]:
        """Class weights for ``model.fit(class_weight=...)``, computed on this dataset.

        ``"balanced"`` gives ``n_patches / (n_classes * count[c])`` for every class present,
        as :func:`sklearn.utils.class_weight.compute_class_weight` does.

        Examples
        --------
        >>> IDCPatchDataset([0, 0, 0, 1], ["a"] * 4).class_weights()
        {0: 0.6666666666666666, 1: 2.0}
        """
        return self._index.class_weights(method)

    # ------------------------------------------------------------------ selection
    def take(self, indices: npt.ArrayLike) -> IDCPatchDataset:
        """Select the patches at ``indices`` (integers, or a boolean mask), sharing the cache.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1, 1], ["a", "b", "c"])
        >>> ds.take([2, 0]).patients.tolist()
        ['c', 'a']
        """
        return self._derive(self._index.indices(indices))

    def subset(self, patients: Iterable[str] | str) -> IDCPatchDataset:
        """Select the patches of the given patients (in their order here), sharing the cache.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1, 1], ["a", "b", "a"])
        >>> ds.subset(["a"]).labels.tolist()
        [0, 1]
        """
        return self.take(self._index.patient_mask(patients))

    def train_test_split(
        self, test_size: float | int = 0.2, *, seed: int = 0, stratify: bool = True
    ) -> tuple[IDCPatchDataset, IDCPatchDataset]:
        """Split by patient into train and test datasets (no patient in both).

        With ``stratify=True`` patients are ranked by their IDC(+) fraction and cut into as
        many consecutive strata as there are test patients; one random patient is drawn from
        each stratum, so the test patients span the range of IDC(+) burden of the whole cohort.

        Parameters
        ----------
        test_size
            Fraction of **patients** in (0, 1) (rounded up, at least one), or a number of
            patients; at least one patient must remain for training.
        seed
            Seed of the random draw; the same seed gives the same split.
        stratify
            Stratify by each patient's IDC(+) fraction (otherwise draw patients uniformly).

        Returns
        -------
        train, test : IDCPatchDataset
            Every patch is in exactly one of them (in their order here), and no patient is in
            both.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1] * 5, list("aabbccddee"))
        >>> train, test = ds.train_test_split(0.2, seed=0)
        >>> len(train) + len(test), set(train.patient_ids) & set(test.patient_ids)
        (10, set())
        """
        from idckit.data._splits import patient_train_test_split

        index = self._index
        train, test = patient_train_test_split(
            index.patients, index.labels, test_size=test_size, seed=seed, stratify=stratify
        )
        return self.take(train), self.take(test)

    def named_split(self, name: str = "cruz-roa-2014") -> dict[str, IDCPatchDataset]:
        """Split by a published patient split, e.g. Cruz-Roa et al. 2014's train/validation/test.

        Parameters
        ----------
        name
            The split's name (case and ``_``/``-`` are ignored): ``"cruz-roa-2014"``, the
            train/validation/test patients of Cruz-Roa et al. (2014), also available as
            :data:`~idckit.data.CRUZ_ROA_2014`.

        Returns
        -------
        dict[str, IDCPatchDataset]
            Part name -> the patches of its patients. Patients of the split that this dataset
            lacks are simply absent.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1], ["10304", "13688"])
        >>> {k: len(v) for k, v in ds.named_split("cruz-roa-2014").items()}
        {'train': 1, 'validation': 1, 'test': 0}
        """
        from idckit.data._splits import named_patient_split

        patients = self._index.patients
        parts = named_patient_split(name)
        return {k: self.take(np.isin(patients, list(v))) for k, v in parts.items()}

    # ------------------------------------------------------------------ pixels
    def cache_status(self) -> tuple[Path | None, bool]:
        """Return the cache folder (None without a cache) and whether it was reused.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 1], ["a", "b"])
        >>> ds.cache_status()
        (None, False)
        """
        return self._pixels.cache_status()

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
        return self._pixels.build_cache(force=force)

    def normalized(
        self, normalizer: StainNormalizer, *, per: Literal["patient", "patch"] = "patient"
    ) -> IDCPatchDataset:
        """Return the dataset with every patch stain-normalised by a fitted ``normalizer``.

        The patches, labels and patients stay; only the pixels change. For a dataset read from
        a folder the normalised pixels are cached beside the decoded ones, in a file named by a
        hash of the fitted normaliser, ``per`` and the patches, and reused by the next call;
        otherwise they are held in memory.

        Parameters
        ----------
        normalizer
            A fitted :class:`~idckit.data.MacenkoNormalizer` or
            :class:`~idckit.data.ReinhardNormalizer` (its reference: what patches become).
        per
            ``"patient"``: each patient's staining is estimated from all of its patches;
            ``"patch"``: each patch's from itself.

        Returns
        -------
        IDCPatchDataset
            The same patches, labels and patients with the normalised pixels.

        Examples
        --------
        >>> from idckit.data import MacenkoNormalizer
        >>> from idckit.datasets import make_synthetic
        >>> import tempfile
        >>> tmp = tempfile.mkdtemp()
        >>> ds = IDCPatchDataset.from_directory(
        ...     make_synthetic(tmp + "/d", n_patients=2, patches_per_patient=20, edge_patches=2),
        ...     cache_dir=tmp + "/cache", progress=False)
        >>> normalizer = MacenkoNormalizer().fit(ds.images)
        >>> ds.normalized(normalizer).images.shape
        (40, 50, 50, 3)
        """
        from idckit.data._normalize import normalized_store

        folder, _ = self.cache_status()
        ds = self.__class__.__new__(self.__class__)
        ds._index, ds._report = self._index, self._report
        ds._pixels = PatchPixels(normalized_store(self, normalizer, per, folder))
        return ds

    @property
    def images(self) -> npt.NDArray[np.uint8]:
        """All pixels, ``(N, P, P, 3)`` ``uint8``.

        The memory-mapped cache itself for a dataset read from a folder; a gathered in-memory
        copy for a subset or selection of one (use :meth:`load_images` or :meth:`to_keras`
        to read a large subset piece by piece).
        """
        return self._pixels.images()

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
        return self._pixels.load(self._index, indices, context)

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
        return self._pixels.neighbours(self._index, radius)

    def to_keras(
        self,
        batch_size: int = 64,
        *,
        shuffle: bool = True,
        augment: bool | Augmentation = False,
        seed: int | None = None,
        context: int = 0,
    ) -> PyDataset:
        """Feed Keras: a ``keras.utils.PyDataset`` of ``(uint8 images, int32 labels)`` batches.

        Batches are gathered from the cache in one read each, when Keras asks for them;
        ``shuffle`` draws a new order every epoch; ``augment=True`` applies a random
        flip/90-degree rotation per patch, an :class:`~idckit.data.Augmentation` also
        colour/stain jitter (``seed`` fixes its draws too). With ``context=r`` every patch comes
        as the mosaic of its neighbourhood (see :meth:`load_images`).
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

        rows = self._pixels.feed_rows(self._index, context)
        return PatchFeed(
            self._pixels.opened(), rows, self._index.labels, batch_size, shuffle=shuffle,
            augment=augment, seed=seed,
        )  # fmt: skip

    # ------------------------------------------------------------------ plots
    def plot_class_balance(
        self, *, ax: Any = None, target_names: tuple[str, str] = _TARGET_NAMES
    ) -> Figure:
        """Plot the class balance: a pie chart, and the IDC(+) fraction of each patient.

        Parameters
        ----------
        ax
            Axes to draw the pie into (only the pie: the per-patient panel needs a figure of
            its own); a new figure is made when None.
        target_names
            Names of class 0 and class 1.

        Returns
        -------
        matplotlib.figure.Figure
            The figure holding the chart(s).

        Examples
        --------
        >>> fig = IDCPatchDataset([0, 0, 0, 1], ["a", "a", "b", "b"]).plot_class_balance()
        >>> [ax.get_title() for ax in fig.axes]
        ['Class balance (4 patches)', 'IDC(+) fraction per patient (2 patients)']
        """
        from idckit.data._eda import plot_class_balance

        index = self._index
        return plot_class_balance(index.labels, index.patients, target_names=target_names, ax=ax)

    def plot_samples(
        self,
        n_per_class: int = 25,
        *,
        seed: int = 0,
        target_names: tuple[str, str] = _TARGET_NAMES,
    ) -> Figure:
        """Plot a grid of random patches of each class, side by side; return the Figure.

        Only the drawn patches are read from the cache of a dataset read from a folder (a
        subset gathers its pixels first, see :attr:`images`).

        Parameters
        ----------
        n_per_class
            Patches drawn per class (fewer when a class has fewer); the grid is square.
        seed
            Seed of the random choice of patches.
        target_names
            Names of class 0 and class 1, used as panel titles.

        Examples
        --------
        >>> ds = IDCPatchDataset([0, 0, 0, 1, 1, 1], list("aaabbb"),
        ...                      images=np.zeros((6, 50, 50, 3), np.uint8))
        >>> fig = ds.plot_samples(n_per_class=4)
        >>> sum(len(ax.images) for ax in fig.axes)
        6
        """
        from idckit.data._eda import plot_patch_grid

        return plot_patch_grid(
            self.images, self._index.labels, n_per_class=n_per_class, seed=seed,
            target_names=target_names,
        )  # fmt: skip
