"""Per-patch predictions: P(IDC+) with each patch's path, patient, position and label."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument
from idckit.training._atomic import atomic_write_csv

_COLUMNS = ("path", "patient", "x", "y", "label", "prob_idc")


@dataclass(frozen=True, eq=False)
class Predictions:
    """P(IDC+) for every patch of a data set, with the patch's metadata.

    Parameters
    ----------
    paths, patients, x, y
        Per-patch metadata, as in :class:`idckit.data.IDCPatchDataset`.
    labels
        True labels (0/1), or None when unknown.
    prob_idc
        Predicted probability of IDC(+), shape ``(N,)``.

    Examples
    --------
    >>> import numpy as np
    >>> p = Predictions(["a.png"], ["8863"], np.array([0]), np.array([50]), np.array([1]),
    ...                 np.array([0.75]))
    >>> len(p), p.predicted_labels(0.5).tolist()
    (1, [1])
    """

    paths: Sequence[str]
    patients: Sequence[str]
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64] | None
    prob_idc: npt.NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.prob_idc)
        sizes = {len(self.paths), len(self.patients), len(self.x), len(self.y), n}
        if self.labels is not None:
            sizes.add(len(self.labels))
        if len(sizes) != 1:
            raise invalid_argument(
                "prob_idc", "Predictions", "one value per patch, like every other column", n
            )

    def __len__(self) -> int:
        return len(self.prob_idc)

    def predicted_labels(self, threshold: float = 0.5) -> npt.NDArray[np.int64]:
        """Return hard labels: 1 where ``prob_idc >= threshold``."""
        return (np.asarray(self.prob_idc) >= threshold).astype(np.int64)

    def to_csv(self, path: os.PathLike[str] | str) -> Path:
        """Write the columns ``path, patient, x, y, label`` (when known) ``, prob_idc``."""
        columns = [c for c in _COLUMNS if c != "label" or self.labels is not None]
        labels = self.labels if self.labels is not None else [None] * len(self)
        rows = (
            [
                path_,
                patient,
                int(x),
                int(y),
                *([int(lab)] if lab is not None else []),
                repr(float(p)),
            ]
            for path_, patient, x, y, lab, p in zip(
                self.paths, self.patients, self.x, self.y, labels, self.prob_idc, strict=True
            )
        )
        return atomic_write_csv(path, columns, rows)

    @classmethod
    def from_csv(cls, path: os.PathLike[str] | str) -> Predictions:
        """Read a file written by :meth:`to_csv`."""
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        has_labels = bool(rows) and "label" in rows[0]
        return cls(
            paths=[r["path"] for r in rows],
            patients=[r["patient"] for r in rows],
            x=np.array([int(r["x"]) for r in rows], dtype=np.int64),
            y=np.array([int(r["y"]) for r in rows], dtype=np.int64),
            labels=np.array([int(r["label"]) for r in rows], dtype=np.int64)
            if has_labels
            else None,
            prob_idc=np.array([float(r["prob_idc"]) for r in rows], dtype=np.float64),
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Predictions]) -> Predictions:
        """Join predictions (e.g. the validation folds into the out-of-fold set)."""
        known = all(p.labels is not None for p in parts)
        return cls(
            paths=[path for p in parts for path in p.paths],
            patients=[patient for p in parts for patient in p.patients],
            x=np.concatenate([p.x for p in parts]),
            y=np.concatenate([p.y for p in parts]),
            labels=np.concatenate([p.labels for p in parts if p.labels is not None])
            if known
            else None,
            prob_idc=np.concatenate([p.prob_idc for p in parts]),
        )
