"""Region agreement per patient: how well the predicted IDC region matches the annotated one.

Each patient's patches lie on the slide's 50-pixel grid. Thresholding P(IDC+) gives a
predicted IDC(+) mask on that grid, the labels the annotated one; Dice and IoU of the two
measure the region-level agreement behind the IDC detection maps of Cruz-Roa et al. (2014).
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import check_positive_int, invalid_argument
from idckit.metrics import confusion_counts, f1_from_confusion
from idckit.reporting._inputs import (
    binary_labels,
    check_probability,
    positive_scores,
    same_length,
)
from idckit.reporting._patient_map import patch_grid

_OWNER = "region_agreement"
#: The side of a grid cell in slide pixels: the data set's patches lie on a 50-pixel grid.
GRID_STEP = 50
#: The columns of :meth:`RegionAgreement.to_rows` and of the CSV, in order.
COLUMNS = (
    "patient", "n_patches", "n_idc", "annotated_fraction", "predicted_fraction", "dice", "iou",
    "f1_pos",
)  # fmt: skip


def cell_masks(
    rows: npt.ArrayLike, cols: npt.ArrayLike, shape: tuple[int, int], *masks: npt.ArrayLike
) -> list[npt.NDArray[np.bool_]]:
    """Put per-patch booleans on the patient's grid (cells without a patch False).

    Of two patches at one cell the later counts, as :func:`plot_patient_map` draws it.

    Examples
    --------
    >>> [m.astype(int).tolist() for m in cell_masks([0, 0, 1], [0, 1, 1], (2, 2), [1, 0, 1])]
    [[[1, 0], [0, 1]]]
    """
    grids = []
    for values in masks:
        grid = np.zeros(shape, dtype=bool)
        grid[np.asarray(rows), np.asarray(cols)] = np.asarray(values, dtype=bool)
        grids.append(grid)
    return grids


def mask_agreement(annotated: npt.ArrayLike, predicted: npt.ArrayLike) -> tuple[float, float]:
    """Dice and IoU of two boolean masks; both NaN when neither mask holds a cell.

    Examples
    --------
    >>> mask_agreement([[1, 1], [0, 0]], [[1, 0], [1, 0]])
    (0.5, 0.3333333333333333)
    >>> mask_agreement([0, 0], [0, 0])
    (nan, nan)
    """
    a, p = np.asarray(annotated, dtype=bool), np.asarray(predicted, dtype=bool)
    both, either = int(np.sum(a & p)), int(np.sum(a | p))
    if either == 0:
        return math.nan, math.nan
    return 2 * both / (int(a.sum()) + int(p.sum())), both / either


def _read_only(values: Any, dtype: Any) -> npt.NDArray[Any]:
    array = np.array(values, dtype=dtype)
    array.setflags(write=False)
    return array


def _quartiles(values: npt.NDArray[np.float64]) -> dict[str, float]:
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return {"median": math.nan, "q1": math.nan, "q3": math.nan, "mean": math.nan}
    q1, median, q3 = np.percentile(defined, [25, 50, 75]).tolist()
    return {"median": median, "q1": q1, "q3": q3, "mean": float(defined.mean())}


@dataclass(frozen=True, eq=False)
class RegionAgreement:
    """Per-patient agreement of a thresholded P(IDC+) map with the annotation (columns).

    Made by :func:`region_agreement`; one entry per patient in every column, patients sorted.
    The columns are stored as read-only NumPy arrays.

    Parameters
    ----------
    patients
        The patient ids.
    n_patches, n_idc
        Each patient's number of patches, and of annotated IDC(+) patches.
    annotated_fraction, predicted_fraction
        The share of the patient's patches annotated IDC(+), and called IDC(+) at
        ``threshold``: the IDC area fractions.
    dice, iou
        Dice and IoU (Jaccard) of the predicted IDC(+) cells against the annotated ones on the
        patient's grid. NaN when neither holds a cell (nothing to match); 0 when one of the two
        is empty and the other is not.
    f1_pos
        Patch-level F1(+) of the patient's patches, as ``sklearn.metrics.f1_score`` with
        ``zero_division=0`` (so 0, not NaN, when there is no IDC(+) annotated or predicted).
        It equals ``dice`` where each grid cell holds one patch and ``dice`` is defined.
    threshold
        The decision threshold on P(IDC+).

    Examples
    --------
    >>> agreement = region_agreement(["a", "a", "b"], [1, 51, 1], [1, 1, 1], [1, 0, 0],
    ...                              [0.9, 0.7, 0.2], threshold=0.5)
    >>> agreement.dice.tolist(), len(agreement)
    ([0.6666666666666666, nan], 2)
    """

    patients: tuple[str, ...]
    n_patches: npt.NDArray[np.int64]
    n_idc: npt.NDArray[np.int64]
    annotated_fraction: npt.NDArray[np.float64]
    predicted_fraction: npt.NDArray[np.float64]
    dice: npt.NDArray[np.float64]
    iou: npt.NDArray[np.float64]
    f1_pos: npt.NDArray[np.float64]
    threshold: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "patients", tuple(str(p) for p in self.patients))
        for name in COLUMNS[1:]:
            dtype = np.int64 if name.startswith("n_") else np.float64
            column = _read_only(getattr(self, name), dtype)
            if column.shape != (len(self.patients),):
                rule = f"one value per patient ({len(self.patients)},)"
                raise invalid_argument(name, "RegionAgreement", rule, f"shape {column.shape}")
            object.__setattr__(self, name, column)

    def __len__(self) -> int:
        return len(self.patients)

    def __repr__(self) -> str:
        return f"RegionAgreement({len(self)} patients, threshold={self.threshold:.4f})"

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per patient, keys in CSV column order, plain Python values.

        Examples
        --------
        >>> (row,) = region_agreement(["a"], [1], [1], [1], [0.8], threshold=0.5).to_rows()
        >>> list(row)[:4], row["dice"]
        (['patient', 'n_patches', 'n_idc', 'annotated_fraction'], 1.0)
        """
        columns = [list(self.patients)] + [getattr(self, n).tolist() for n in COLUMNS[1:]]
        return [dict(zip(COLUMNS, values, strict=True)) for values in zip(*columns, strict=True)]

    def to_csv(self, path: os.PathLike[str] | str) -> Path:
        """Write the table as CSV (header ``patient,n_patches,...,f1_pos``), atomically.

        Floats are written in full precision, NaN as ``nan``; returns the path written.

        Parameters
        ----------
        path
            The CSV file to write (its folder must exist).

        Examples
        --------
        >>> import tempfile
        >>> agreement = region_agreement(["a"], [1], [1], [0], [0.2], threshold=0.5)
        >>> path = agreement.to_csv(tempfile.mkdtemp() + "/per_patient.csv")
        >>> path.read_text().splitlines()[1]
        'a,1,0,0.0,0.0,nan,nan,0.0'
        """
        target = Path(path)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
                writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
                writer.writeheader()
                writer.writerows(self.to_rows())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def summary(self) -> dict[str, float | int]:
        """Median, quartiles and mean of Dice and IoU over the patients where they are defined.

        Returns
        -------
        dict
            ``dice_median``, ``dice_q1``, ``dice_q3``, ``dice_mean``, the same for ``iou_``,
            ``n_patients`` and ``n_undefined`` (patients with no IDC(+) annotated or predicted,
            left out of the statistics; all NaN when every patient is).

        Examples
        --------
        >>> agreement = region_agreement(["a", "a", "b", "c"], [1, 51, 1, 1], [1, 1, 1, 1],
        ...                              [1, 1, 1, 0], [0.9, 0.1, 0.8, 0.1], threshold=0.5)
        >>> summary = agreement.summary()
        >>> summary["dice_median"], summary["dice_q1"], summary["n_undefined"]
        (0.8333333333333333, 0.75, 1)
        """
        dice, iou = _quartiles(self.dice), _quartiles(self.iou)
        return {
            **{f"dice_{name}": value for name, value in dice.items()},
            **{f"iou_{name}": value for name, value in iou.items()},
            "n_patients": len(self),
            "n_undefined": int(np.isnan(self.dice).sum()),
        }

    def summary_line(self) -> str:
        """Describe the Dice distribution in one line (as ``idckit evaluate --per-patient``).

        Examples
        --------
        >>> agreement = region_agreement(["a", "b"], [1, 1], [1, 1], [1, 0], [0.9, 0.1],
        ...                              threshold=0.5)
        >>> print(agreement.summary_line())  # doctest: +NORMALIZE_WHITESPACE
        Dice per patient at threshold 0.5000: median 1.000 (quartiles 1.000-1.000), mean 1.000;
        IoU median 1.000; over 1 of 2 patients (1 undefined: no IDC(+) annotated or predicted)
        """
        s = self.summary()
        defined = s["n_patients"] - s["n_undefined"]
        return (
            f"Dice per patient at threshold {self.threshold:.4f}: median {s['dice_median']:.3f} "
            f"(quartiles {s['dice_q1']:.3f}-{s['dice_q3']:.3f}), mean {s['dice_mean']:.3f}; "
            f"IoU median {s['iou_median']:.3f}; over {defined} of {s['n_patients']} patients "
            f"({s['n_undefined']} undefined: no IDC(+) annotated or predicted)"
        )

    def worst(self, k: int | None = 5) -> RegionAgreement:
        """Return the ``k`` patients with the lowest Dice, lowest first (undefined Dice last).

        Parameters
        ----------
        k
            How many patients to keep; None sorts every patient. Ties keep the patients'
            order.

        Examples
        --------
        >>> agreement = region_agreement(["a", "b", "c", "c"], [1, 1, 1, 51], [1, 1, 1, 1],
        ...                              [0, 1, 1, 1], [0.1, 0.9, 0.9, 0.2], threshold=0.5)
        >>> agreement.worst(k=3).patients
        ('c', 'b', 'a')
        """
        if k is not None:
            check_positive_int("k", "RegionAgreement.worst", k)
        order = np.lexsort((self.dice, np.isnan(self.dice)))[:k]
        values = {name: getattr(self, name)[order] for name in COLUMNS[1:]}
        patients = tuple(self.patients[i] for i in order.tolist())
        return RegionAgreement(patients=patients, threshold=self.threshold, **values)


def _per_patch(values: npt.ArrayLike, name: str, n: int) -> npt.NDArray[Any]:
    array = np.asarray(values)
    if array.shape != (n,):
        rule = f"one value per label, shape ({n},)"
        raise invalid_argument(name, _OWNER, rule, f"shape {array.shape}")
    return array


def _patient_scores(
    x: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    labels: npt.NDArray[np.int64],
    called: npt.NDArray[np.bool_],
    step: int,
) -> list[float]:
    rows, cols, shape = patch_grid(x, y, step)
    annotated, predicted = cell_masks(rows, cols, shape, labels, called)
    dice, iou = mask_agreement(annotated, predicted)
    f1 = f1_from_confusion(confusion_counts(labels, called.astype(np.int64), 2))
    n = len(labels)
    return [n, int(labels.sum()), labels.sum() / n, called.sum() / n, dice, iou, float(f1)]


def region_agreement(
    patients: npt.ArrayLike,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    labels: npt.ArrayLike,
    prob_idc: npt.ArrayLike,
    *,
    threshold: float,
    step: int = GRID_STEP,
) -> RegionAgreement:
    """Dice, IoU, IDC area fractions and F1(+) of each patient's thresholded P(IDC+) map.

    Every patient's patches are put on its slide grid by their ``x``, ``y`` positions (as
    :func:`plot_patient_map` does). The annotated IDC(+) region is the cells of label-1
    patches; the predicted region is the cells whose P(IDC+) reaches ``threshold``. Dice is
    ``2 |A and P| / (|A| + |P|)`` and IoU ``|A and P| / |A or P|`` of the two; both are NaN
    for a patient with neither annotated nor predicted IDC(+) (there is no region to match,
    :meth:`RegionAgreement.summary` skips and counts them) and 0 when only one of the two is
    empty (e.g. IDC(+) annotated, none predicted).

    Parameters
    ----------
    patients, x, y, labels
        Per patch: patient id, slide position in pixels, label (0 = IDC(-), 1 = IDC(+)); e.g.
        the arrays of an :class:`~idckit.data.IDCPatchDataset`.
    prob_idc
        P(IDC+) per patch, ``(N,)`` (or ``(N, 2)`` class probabilities), in the same order.
    threshold
        A patch is called IDC(+) when P(IDC+) reaches it; in (0, 1].
    step
        The grid's cell side in pixels (patches lie on a 50-pixel grid).

    Returns
    -------
    RegionAgreement
        One entry per patient, patients sorted.

    Examples
    --------
    >>> agreement = region_agreement(["7", "7", "7", "8"], [1, 51, 101, 1], [1, 1, 1, 1],
    ...                              [1, 1, 0, 0], [0.9, 0.3, 0.6, 0.7], threshold=0.5)
    >>> agreement.dice.tolist(), agreement.iou.tolist()
    ([0.5, 0.0], [0.3333333333333333, 0.0])
    >>> agreement.predicted_fraction.tolist()
    [0.6666666666666666, 1.0]
    """
    y_true = binary_labels(labels, _OWNER, "labels")
    prob = positive_scores(prob_idc, "prob_idc", _OWNER)
    same_length(y_true, prob, "prob_idc", _OWNER)
    ids = _per_patch(patients, "patients", len(y_true)).astype(str)
    xs, ys = (_per_patch(v, n, len(y_true)) for n, v in (("x", x), ("y", y)))
    for name, values in (("x", xs), ("y", ys)):
        if values.dtype.kind not in "iu":
            raise invalid_argument(name, _OWNER, "integer pixel positions", values.dtype)
    cut = check_probability("threshold", _OWNER, threshold, open_low=True)
    check_positive_int("step", _OWNER, step)
    called = prob >= cut
    unique, codes = np.unique(ids, return_inverse=True)
    table = [
        _patient_scores(xs[mine], ys[mine], y_true[mine], called[mine], step)
        for mine in (codes == k for k in range(len(unique)))
    ]
    columns: dict[str, Any] = dict(zip(COLUMNS[1:], zip(*table, strict=True), strict=True))
    return RegionAgreement(patients=tuple(unique.tolist()), threshold=cut, **columns)
