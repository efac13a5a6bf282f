"""PatchIndex: the per-patch table of a dataset (paths, patients, positions, labels).

The table behind :class:`~idckit.data.IDCPatchDataset`: checking the arrays it is made of,
selecting patches by index or patient, and counting them by class and patient. Pixels are
elsewhere (:mod:`idckit.data._pixels`). This module imports NumPy only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from idckit._errors import check_choice, invalid_argument
from idckit.data._records import PatchRecord
from idckit.data._report import ScanReport
from idckit.data._scan import ScanResult

_OWNER = "IDCPatchDataset"


@dataclass(frozen=True, eq=False)  # eq=False: arrays do not compare to a bool
class PatchIndex:
    """Per-patch arrays of the same length: labels, patients, file paths and positions.

    ``relpaths`` are relative to ``root`` (``""`` for a dataset made from arrays).

    Examples
    --------
    >>> index = PatchIndex.from_arrays([0, 1, 1], ["a", "b", "a"])
    >>> index.patient_ids, index.class_counts()
    (('a', 'b'), {0: 1, 1: 2})
    """

    labels: npt.NDArray[np.int64]
    patients: npt.NDArray[np.str_]
    relpaths: npt.NDArray[np.str_]
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    root: str = ""

    @classmethod
    def from_arrays(
        cls,
        labels: npt.ArrayLike,
        patients: npt.ArrayLike,
        *,
        paths: npt.ArrayLike | None = None,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
    ) -> PatchIndex:
        """Check and convert the arrays a user passes to ``IDCPatchDataset(...)``."""
        labels_ = int_array(labels, "labels")
        n = len(labels_)
        return cls(
            labels_,
            str_array(patients, "patients", n),
            str_array([""] * n if paths is None else paths, "paths", n),
            int_array(np.zeros(n, np.int64) if x is None else x, "x", n),
            int_array(np.zeros(n, np.int64) if y is None else y, "y", n),
        )

    @classmethod
    def from_scan(cls, result: ScanResult) -> PatchIndex:
        """Return the table of a scanned tree."""
        r = result
        return cls(r.labels, r.patients, r.relpaths, r.x, r.y, r.root)

    @classmethod
    def concat(cls, indexes: Sequence[PatchIndex]) -> PatchIndex:
        """Return the tables end to end (at least one).

        Tables of trees keep their files absolute: the root becomes the roots' common folder
        and each relative path starts with its tree's folder under it. When any table has no
        root (arrays), the paths are kept as they are and the root is ``""``.

        Examples
        --------
        >>> one = PatchIndex.from_arrays([0], ["a"])
        >>> both = PatchIndex.concat([one, PatchIndex.from_arrays([1, 1], ["b", "c"])])
        >>> both.patients.tolist(), both.labels.tolist()
        (['a', 'b', 'c'], [0, 1, 1])
        """
        root, relpaths = _common_root(indexes)
        return cls(
            np.concatenate([i.labels for i in indexes]),
            np.concatenate([i.patients for i in indexes]),
            relpaths,
            np.concatenate([i.x for i in indexes]),
            np.concatenate([i.y for i in indexes]),
            root,
        )

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, keep: npt.NDArray[np.intp]) -> PatchIndex:
        """Return the rows ``keep`` (checked indices, see :meth:`indices`)."""
        taken = PatchIndex(
            self.labels[keep], self.patients[keep], self.relpaths[keep], self.x[keep],
            self.y[keep], self.root,
        )  # fmt: skip
        if "paths" in self.__dict__:  # already joined: select rather than join again
            taken.__dict__["paths"] = self.paths[keep]
        return taken

    @cached_property
    def paths(self) -> npt.NDArray[np.str_]:
        """The file of every patch (absolute for a tree, as given for arrays)."""
        root = self.root
        prefix = root if not root or root.endswith(os.sep) else root + os.sep
        return np.char.add(prefix, self.relpaths) if prefix else self.relpaths

    # ------------------------------------------------------------------ selection
    def indices(self, indices: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Check ``indices`` (integers, or a boolean mask) and return them as ``intp``."""
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
        return idx.astype(np.intp)

    def patient_mask(self, patients: Iterable[str] | str) -> npt.NDArray[np.bool_]:
        """Return where the patches of ``patients`` (all known here) are."""
        wanted = np.asarray([patients] if isinstance(patients, str) else list(patients), str)
        unknown = np.setdiff1d(wanted, self.patients)
        if unknown.size:
            raise invalid_argument(
                "patients", f"{_OWNER}.subset", "ids of patients in this dataset",
                unknown[:5].tolist(), f"Known patients: {list(self.patient_ids[:5])}...",
            )  # fmt: skip
        return np.isin(self.patients, wanted)

    # ------------------------------------------------------------------ counts
    @property
    def patient_ids(self) -> tuple[str, ...]:
        """The distinct patient ids, sorted."""
        return tuple(str(p) for p in np.unique(self.patients))

    def class_counts(self) -> dict[int, int]:
        """Patches per label, ``{0: n, 1: n}`` (both keys always present)."""
        values, counts = np.unique(self.labels, return_counts=True)
        return {0: 0, 1: 0} | {int(v): int(c) for v, c in zip(values, counts, strict=True)}

    def patient_counts(self, *, by_class: bool = False) -> dict[str, Any]:
        """Patches per patient, or per patient and class."""
        ids, codes = np.unique(self.patients, return_inverse=True)
        if not by_class:
            counts = np.bincount(codes, minlength=len(ids))
            return {str(p): int(c) for p, c in zip(ids, counts, strict=True)}
        classes = sorted({0, 1} | {int(v) for v in np.unique(self.labels)})
        table = np.zeros((len(ids), max(classes) + 1), dtype=np.int64)
        np.add.at(table, (codes, self.labels), 1)
        return {str(p): {k: int(table[i, k]) for k in classes} for i, p in enumerate(ids)}

    def class_weights(self, method: Literal["balanced"]) -> dict[int, float]:
        """``n_patches / (n_classes * count[c])`` for every class present."""
        check_choice("method", f"{_OWNER}.class_weights", method, ("balanced",))
        if len(self) == 0:
            raise invalid_argument(
                "dataset", f"{_OWNER}.class_weights", "at least one patch", "an empty dataset"
            )
        values, counts = np.unique(self.labels, return_counts=True)
        weights = len(self) / (len(values) * counts.astype(np.float64))
        return {int(v): float(w) for v, w in zip(values, weights, strict=True)}

    # ------------------------------------------------------------------ records
    def record(self, index: int) -> PatchRecord:
        """Return the :class:`PatchRecord` of row ``index`` (negative counts from the end)."""
        i = int(np.arange(len(self))[index])
        return PatchRecord(
            str(self.paths[i]), str(self.patients[i]), int(self.x[i]), int(self.y[i]),
            int(self.labels[i]),
        )  # fmt: skip

    def scan_report(self) -> ScanReport:
        """Return a :class:`ScanReport` of this table, for a dataset that was not scanned."""
        return ScanResult(
            self.root, self.relpaths, self.patients, self.x, self.y, self.labels,
            n_files=len(self),
        ).report(padded=0, verified=False)  # fmt: skip


def _common_root(indexes: Sequence[PatchIndex]) -> tuple[str, npt.NDArray[np.str_]]:
    """Return the tables' common root and every path relative to it (see ``concat``)."""
    roots = [i.root for i in indexes]
    try:
        common = os.path.commonpath(roots) if all(roots) else ""
    except ValueError:  # on different drives (Windows)
        common = ""
    if not common:
        return "", np.concatenate([i.paths for i in indexes])
    parts = []
    for index in indexes:
        under = os.path.relpath(index.root, common)
        prefix = "" if under == os.curdir else under + os.sep
        parts.append(np.char.add(prefix, index.relpaths) if prefix else index.relpaths)
    return common, np.concatenate(parts)


def int_array(values: npt.ArrayLike, name: str, n: int | None = None) -> npt.NDArray[np.int64]:
    """``values`` as a 1-D ``int64`` array (of length ``n`` if given), or the standard error."""
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


def str_array(values: npt.ArrayLike, name: str, n: int) -> npt.NDArray[np.str_]:
    """``values`` as a 1-D ``str`` array of length ``n``, or the standard error."""
    arr = np.asarray(values).astype(str)
    if arr.shape != (n,):
        raise invalid_argument(name, _OWNER, f"a 1-D array of shape ({n},)", arr)
    return arr


def read_only(arr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return a read-only view of ``arr``."""
    view: npt.NDArray[Any] = arr.view()
    view.flags.writeable = False
    return view
