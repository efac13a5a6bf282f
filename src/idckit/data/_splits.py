"""Patient-level splits: a stratified patient-grouped train/test split and named splits.

:meth:`IDCPatchDataset.train_test_split <idckit.data.IDCPatchDataset.train_test_split>` and
:meth:`~idckit.data.IDCPatchDataset.named_split` are the public way to use them.
Patches of one patient are strongly correlated (same slide, stain and tumour), so every split
here keeps each patient's patches on one side.

References
----------
.. [1] A. Cruz-Roa, A. Basavanhally, F. Gonzalez, H. Gilmore, M. Feldman, S. Ganesan, N. Shih,
   J. Tomaszewski and A. Madabhushi, "Automatic detection of invasive ductal carcinoma in whole
   slide images with convolutional neural networks", Proc. SPIE 9041, Medical Imaging 2014:
   Digital Pathology, 904103 (2014). https://doi.org/10.1117/12.2043872
.. [2] A. Janowczyk and A. Madabhushi, "Deep learning for digital pathology image analysis:
   A comprehensive tutorial with selected use cases", J. Pathol. Inform. 7:29 (2016).
   https://doi.org/10.4103/2153-3539.186902
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from numpy.typing import ArrayLike

from idckit._errors import invalid_argument

_SPLIT_OWNER = "IDCPatchDataset.train_test_split"

# The patient lists of [1], as published with the use-case-6 code of [2]
# (github.com/choosehappy/public, "DL tutorial Code/6-idc/cases_{train,val,test}.txt"),
# in the order of those files.
_CRUZ_ROA_TRAIN = """
10304 9346 9029 12911 9043 9044 12884 12752 12819 12890 9024 9124 9178 10291 12871 9257 9323
8974 10302 12932 9266 9325 10285 14079 14304 9037 8980 10264 12749 12891 8915 15633 13024
10288 9081 12820 12930 9255 12882 9267 9177 8865 10262 8957 12811 12901 9259 13692 14213 12931
10256 10254 9174 9041 9175 9321 12818 8951 9173 9126 12872 10275 12900 10293 10308 10268 12869
9320 9228 8975 10258 8955 13689 9256 14212 9383 12822 9123 9265 9083 12750 10257 8913 15902
"""
_CRUZ_ROA_VALIDATION = """
13688 9381 16554 12867 12880 9076 12626 10299 8959 9023 15473 12896 13591 13461 9078 9324 9022
8956 9036 10260 10269 10261 8917 10277 12875 16896 9345 8914 8867
"""
_CRUZ_ROA_TEST = """
12909 9382 9075 9290 12881 12895 8864 14191 10259 10274 10303 12907 9225 13402 10295 10306 9176
13023 12821 10307 9322 9073 12905 13106 12906 13401 13403 10292 9261 8916 8918 9254 15515 13458
16550 9250 9347 14081 12826 13460 10276 10273 14189 9181 13687 10286 10255 10301 9125
"""

#: The patient split of Cruz-Roa et al. (2014), reused by Janowczyk & Madabhushi (2016):
#: ``"train"`` (84 patient ids), ``"validation"`` (29) and ``"test"`` (49), as strings.
CRUZ_ROA_2014: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "train": tuple(_CRUZ_ROA_TRAIN.split()),
        "validation": tuple(_CRUZ_ROA_VALIDATION.split()),
        "test": tuple(_CRUZ_ROA_TEST.split()),
    }
)

#: Named patient splits: name -> {part name -> patient ids}.
NAMED_SPLITS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"cruz-roa-2014": CRUZ_ROA_2014}
)


def named_patient_split(name: str) -> Mapping[str, tuple[str, ...]]:
    """Return a published patient split by name.

    Parameters
    ----------
    name
        One of :data:`NAMED_SPLITS` (case and ``_``/``-`` are ignored), e.g.
        ``"cruz-roa-2014"``: the train/validation/test patients of Cruz-Roa et al. (2014).

    Returns
    -------
    Mapping[str, tuple[str, ...]]
        Part name (e.g. ``"train"``, ``"validation"``, ``"test"``) -> patient ids (strings).
        A local copy of the data may lack some of these patients.

    Examples
    --------
    >>> split = named_patient_split("cruz-roa-2014")
    >>> {part: len(ids) for part, ids in split.items()}
    {'train': 84, 'validation': 29, 'test': 49}
    """
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else name
    if key not in NAMED_SPLITS:
        known = ", ".join(repr(k) for k in NAMED_SPLITS)
        raise invalid_argument("name", "IDCPatchDataset.named_split", f"one of {known}", name)
    return NAMED_SPLITS[key]


def patient_train_test_split(
    patients: ArrayLike,
    labels: ArrayLike,
    *,
    test_size: float | int = 0.2,
    seed: int = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Split patch indices into patient-disjoint train and test sets.

    What :meth:`IDCPatchDataset.train_test_split` does (its docstring describes the
    arguments and the stratification), on arrays of patch patients and labels; returns the
    sorted ``intp`` patch indices of each side.

    Examples
    --------
    >>> patients = ["a", "a", "b", "b", "c", "c", "d", "d", "e", "e"]
    >>> labels = [0, 1, 0, 0, 1, 1, 0, 0, 0, 1]
    >>> train, test = patient_train_test_split(patients, labels, test_size=2, seed=0)
    >>> len(set(patients[i] for i in test)), len(train) + len(test)
    (2, 10)
    """
    groups, label_array = _check_inputs(patients, labels)
    unique, inverse = np.unique(groups, return_inverse=True)
    n_test = _n_test_patients(test_size, unique.size)
    rng = np.random.default_rng(_check_seed(seed))
    if stratify:
        positive = np.bincount(inverse, weights=label_array, minlength=unique.size)
        fraction = positive / np.bincount(inverse, minlength=unique.size)
        chosen = _stratified_draw(rng, fraction, n_test)
    else:
        chosen = rng.choice(unique.size, size=n_test, replace=False)
    in_test = np.zeros(unique.size, dtype=bool)
    in_test[chosen] = True
    test_mask = in_test[inverse]
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def _check_inputs(patients: ArrayLike, labels: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    owner = _SPLIT_OWNER
    groups = np.asarray(patients)
    label_array = np.asarray(labels)
    if groups.ndim != 1 or groups.size == 0:
        raise invalid_argument(
            "patients", owner, "a non-empty 1-D array", f"array of shape {groups.shape}"
        )
    if label_array.shape != groups.shape:
        raise invalid_argument(
            "labels",
            owner,
            f"one label per patch, shape {groups.shape}",
            f"array of shape {label_array.shape}",
        )
    if not np.isin(label_array, (0, 1)).all():
        bad = np.unique(label_array[~np.isin(label_array, (0, 1))])[:5]
        raise invalid_argument("labels", owner, "only 0 and 1", f"values {bad.tolist()}")
    return groups, label_array.astype(np.int64)


def _n_test_patients(test_size: float | int, n_patients: int) -> int:
    """Turn ``test_size`` (fraction or count of patients) into a count in [1, n - 1]."""
    owner = _SPLIT_OWNER
    if n_patients < 2:
        raise invalid_argument(
            "patients", owner, "at least 2 distinct patients to split", f"{n_patients} patient"
        )
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise invalid_argument("test_size", owner, "a float in (0, 1) or an int", test_size)
    if isinstance(test_size, numbers.Integral):
        if not 1 <= int(test_size) <= n_patients - 1:
            raise invalid_argument(
                "test_size",
                owner,
                f"a number of patients in [1, {n_patients - 1}] (there are {n_patients})",
                test_size,
            )
        return int(test_size)
    if not 0.0 < float(test_size) < 1.0:
        raise invalid_argument("test_size", owner, "a fraction in (0, 1)", test_size)
    n_test = math.ceil(float(test_size) * n_patients - 1e-9)  # 0.3 * 10 is 3, not 4
    if n_test > n_patients - 1:
        raise invalid_argument(
            "test_size",
            owner,
            f"a fraction that leaves a training patient (there are {n_patients} patients)",
            test_size,
        )
    return n_test


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise invalid_argument("seed", _SPLIT_OWNER, "a non-negative int", seed)
    return int(seed)


def _stratified_draw(rng: np.random.Generator, fraction: np.ndarray, n_test: int) -> np.ndarray:
    """Pick one patient from each of ``n_test`` consecutive strata of IDC(+) fraction."""
    order = np.lexsort((rng.random(fraction.size), fraction))  # ties broken at random
    bounds = np.floor(np.linspace(0, fraction.size, n_test + 1)).astype(np.int64)
    picks = rng.integers(bounds[:-1], bounds[1:])
    chosen: np.ndarray = order[picks]
    return chosen
