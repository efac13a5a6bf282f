"""Patient-grouped, stratified folds, and the invariants every fold must satisfy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument
from idckit.training._run_dir import FoldSplit

_OWNER = "KFoldTrainer"


class Splitter(Protocol):
    """Anything with scikit-learn's ``split(X, y, groups)`` yielding ``(train, test)`` indices."""

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Any:  # noqa: N803 - sklearn's name
        """Yield ``(train_indices, test_indices)`` pairs."""


def _check_enough_patients(patients: npt.NDArray[Any], labels: npt.NDArray[Any], k: int) -> None:
    n_patients = len(np.unique(patients))
    if n_patients < k:
        raise invalid_argument(
            "n_splits",
            _OWNER,
            f"at most the number of patients in the data set ({n_patients})",
            k,
            "Use fewer folds or more patients.",
        )
    for label, name in ((1, "IDC(+)"), (0, "IDC(-)")):
        n_with = len(np.unique(patients[labels == label]))
        if n_with < k:
            raise invalid_argument(
                "n_splits",
                _OWNER,
                f"at most the number of patients with {name} patches ({n_with}), so that every "
                "validation fold holds both classes",
                k,
                "Use fewer folds or more patients.",
            )


def default_splitter(n_splits: int) -> Splitter:
    """Return ``StratifiedGroupKFold`` without its own shuffling (patients are pre-shuffled)."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter: Splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=False)
    return splitter


def make_splits(
    patients: Sequence[str] | npt.NDArray[Any],
    labels: Sequence[int] | npt.NDArray[Any],
    n_splits: int,
    *,
    splitter: Splitter | None = None,
    seed: int = 0,
) -> list[FoldSplit]:
    """Split patients into folds and check the folds' invariants.

    Parameters
    ----------
    patients, labels
        Per-patch patient ids and labels.
    n_splits
        Number of folds (at least 2).
    splitter
        Any scikit-learn-style splitter; default ``StratifiedGroupKFold(n_splits)`` over
        patients shuffled with ``seed`` (an explicit shuffle: ``StratifiedGroupKFold``'s own
        ``shuffle=True`` was broken before scikit-learn 1.3).
    seed
        Seed of the patient shuffle.

    Returns
    -------
    list of (train_patients, val_patients)
        Sorted patient tuples per fold.

    Examples
    --------
    >>> patients = [f"p{i}" for i in range(6) for _ in range(4)]
    >>> labels = [0, 1, 0, 0] * 6
    >>> folds = make_splits(patients, labels, 3, seed=0)
    >>> sorted(p for _, val in folds for p in val) == sorted(set(patients))
    True
    """
    if not isinstance(n_splits, int | np.integer) or isinstance(n_splits, bool) or n_splits < 2:
        raise invalid_argument("n_splits", _OWNER, "an integer >= 2", n_splits)
    patients = np.asarray(patients).astype(str)
    labels = np.asarray(labels).astype(np.int64)
    _check_enough_patients(patients, labels, int(n_splits))
    unique = np.unique(patients)
    order = np.random.default_rng(seed).permutation(len(unique))
    codes = order[np.searchsorted(unique, patients)]  # seeded patient order, one code each
    splitter = default_splitter(int(n_splits)) if splitter is None else splitter
    folds: list[FoldSplit] = []
    for train_idx, val_idx in splitter.split(np.zeros((len(labels), 1)), labels, codes):
        train = tuple(sorted(set(patients[np.asarray(train_idx)].tolist())))
        val = tuple(sorted(set(patients[np.asarray(val_idx)].tolist())))
        folds.append((train, val))
    check_splits(folds, patients, labels)
    return folds


def check_splits(
    folds: Sequence[FoldSplit],
    patients: npt.NDArray[Any],
    labels: npt.NDArray[Any],
) -> None:
    """Raise unless every fold is patient-disjoint and both sides hold both classes.

    Examples
    --------
    >>> import numpy as np
    >>> patients, labels = np.array(["a", "a"]), np.array([0, 1])
    >>> check_splits([(("a",), ("a",))], patients, labels)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid `splitter` for KFoldTrainer: expected ...
    """
    if not folds:
        raise invalid_argument("splitter", _OWNER, "a splitter that yields folds", folds)
    seen: set[str] = set()
    for k, (train, val) in enumerate(folds, start=1):
        both = sorted(set(train) & set(val))
        if both:
            raise invalid_argument(
                "splitter",
                _OWNER,
                "folds that keep every patient on one side, but fold "
                f"{k} has patient(s) {both[:5]} in both training and validation",
                type(folds).__name__,
                "Use a group splitter such as sklearn's StratifiedGroupKFold.",
            )
        again = sorted(seen & set(val))
        if again:
            raise invalid_argument(
                "splitter",
                _OWNER,
                f"each patient in at most one validation fold, but fold {k} repeats {again[:5]}",
                type(folds).__name__,
            )
        seen |= set(val)
        for side, members in (("training", train), ("validation", val)):
            present = set(np.unique(labels[np.isin(patients, members)]).tolist())
            if present != {0, 1}:
                raise invalid_argument(
                    "n_splits",
                    _OWNER,
                    f"folds whose {side} patients hold both classes, but fold {k}'s hold only "
                    f"{sorted(present)}",
                    len(folds),
                    "Use fewer folds or more patients.",
                )
