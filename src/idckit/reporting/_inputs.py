"""Validate what users pass as labels and as predictions (probabilities or hard labels)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument

# Rows of (N, 2) class probabilities must sum to 1 within this (float32 softmax outputs).
_ROW_SUM_TOLERANCE = 1e-3


def _column(values: npt.ArrayLike, name: str, owner: str) -> npt.NDArray[np.generic]:
    """``(N,)`` or ``(N, 1)`` as ``(N,)``; anything else is an error."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or array.size == 0:
        rule = "a non-empty array of shape (N,) or (N, 1)"
        raise invalid_argument(name, owner, rule, f"shape {array.shape}")
    return array


def binary_labels(
    y_true: npt.ArrayLike, owner: str, name: str = "y_true"
) -> npt.NDArray[np.int64]:
    """Return ``y_true`` as ``int64`` labels in {0, 1}, shape ``(N,)``."""
    array = _column(y_true, name, owner)
    if array.dtype.kind not in "biuf" or not np.all(np.isin(array, (0, 1))):
        shown = np.unique(array).tolist() if array.dtype.kind in "biufUS" else array.dtype
        raise invalid_argument(name, owner, "labels 0 (IDC-) and 1 (IDC+)", shown)
    return array.astype(np.int64)


def is_hard_labels(y_prob_or_pred: npt.ArrayLike) -> bool:
    """Integer or boolean arrays are hard labels; floating arrays are probabilities."""
    return np.asarray(y_prob_or_pred).dtype.kind in "biu"


def positive_scores(y_prob: npt.ArrayLike, name: str, owner: str) -> npt.NDArray[np.floating]:
    """Return P(IDC+) of each sample from ``(N,)``, ``(N, 1)`` or ``(N, 2)`` probabilities."""
    array = np.asarray(y_prob)
    if array.dtype.kind != "f":
        rule = "floating probabilities"
        raise invalid_argument(name, owner, rule, f"dtype {array.dtype}")
    if not np.all(np.isfinite(array)) or np.any(array < 0) or np.any(array > 1):
        rule = "probabilities in [0, 1]"
        received = f"values in [{np.nanmin(array)}, {np.nanmax(array)}]"
        if not np.all(np.isfinite(array)):
            received = "non-finite values"
        raise invalid_argument(name, owner, rule, received, "Apply a sigmoid or softmax first.")
    if array.ndim == 2 and array.shape[1] == 2:
        if not np.allclose(array.sum(axis=1), 1.0, rtol=0, atol=_ROW_SUM_TOLERANCE):
            rule = "class probabilities whose rows sum to 1"
            raise invalid_argument(name, owner, rule, "rows that do not", "Apply a softmax.")
        return np.asarray(array[:, 1], dtype=array.dtype)
    return np.asarray(_column(array, name, owner), dtype=array.dtype)


def same_length(y_true: npt.NDArray[np.generic], other: npt.NDArray[np.generic], name: str,
                owner: str) -> None:  # fmt: skip
    """Raise unless both arrays have the same number of samples."""
    if len(other) != len(y_true):
        rule = f"one entry per label ({len(y_true)})"
        raise invalid_argument(name, owner, rule, f"{len(other)} entries")


def check_probability(name: str, owner: str, value: object, *, open_low: bool) -> float:
    """Return ``value`` as a float in [0, 1] (or (0, 1] when ``open_low``)."""
    rule = "a float in (0, 1]" if open_low else "a float in [0, 1]"
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise invalid_argument(name, owner, rule, value)
    low_ok = value > 0 if open_low else value >= 0
    if not (low_ok and value <= 1):  # also rejects NaN
        raise invalid_argument(name, owner, rule, value)
    return float(value)
