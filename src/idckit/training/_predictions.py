"""Per-patch predictions: P(IDC+) with each patch's path, patient, position and label."""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        """Read a file written by :meth:`to_csv`, checking every row.

        The header must be :meth:`to_csv`'s (with or without ``label``), every row must have
        its fields, ``x`` and ``y`` integers, ``label`` 0 or 1 and ``prob_idc`` a probability
        (NaN refused). Anything else raises one ``ValueError`` naming the file, line and column.
        """
        rows = _read_rows(Path(path))
        header, body = rows[0], rows[1:]
        with_labels = list(_COLUMNS)
        if header not in (with_labels, [c for c in _COLUMNS if c != "label"]):
            raise _bad(path, 1, f"the header must be {','.join(_COLUMNS)} (label optional)",
                       ",".join(header))  # fmt: skip
        columns: dict[str, list[str]] = {name: [] for name in header}
        for line, row in enumerate(body, start=2):
            if len(row) != len(header):
                raise _bad(path, line, f"{len(header)} fields", ",".join(row))
            for name, value in zip(header, row, strict=True):
                columns[name].append(value)
        has_labels = "label" in columns
        return cls(
            paths=columns["path"],
            patients=columns["patient"],
            x=_integers(path, columns["x"], "x"),
            y=_integers(path, columns["y"], "y"),
            labels=_integers(path, columns["label"], "label", (0, 1)) if has_labels else None,
            prob_idc=_probabilities(path, columns["prob_idc"]),
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


def _bad(path: os.PathLike[str] | str, line: int, rule: str, value: Any) -> ValueError:
    from idckit.training._run_files import run_file_error

    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    return run_file_error(path, f"line {line} must have {rule}, got {shown}")


def _read_rows(path: Path) -> list[list[str]]:
    from idckit.training._run_files import run_file_error

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle, strict=True))
    except FileNotFoundError:
        raise run_file_error(path, "the file is missing") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise run_file_error(path, f"not a readable CSV file ({error})") from None
    if not rows:
        raise run_file_error(path, "the file is empty (not even a header line)")
    return rows


def _integers(
    path: os.PathLike[str] | str, values: list[str], column: str,
    allowed: tuple[int, ...] | None = None,
) -> npt.NDArray[np.int64]:  # fmt: skip
    numbers = []
    for line, text in enumerate(values, start=2):
        rule = f"an integer `{column}`" if allowed is None else f"`{column}` 0 or 1"
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise _bad(path, line, rule, text)
        number = int(text)
        if allowed is not None and number not in allowed:
            raise _bad(path, line, rule, text)
        numbers.append(number)
    return np.array(numbers, dtype=np.int64)


def _probabilities(path: os.PathLike[str] | str, values: list[str]) -> npt.NDArray[np.float64]:
    probabilities = []
    for line, text in enumerate(values, start=2):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not 0.0 <= number <= 1.0:  # NaN fails too
            raise _bad(path, line, "a probability `prob_idc` in [0, 1]", text)
        probabilities.append(number)
    return np.array(probabilities, dtype=np.float64)
