import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GroupKFold, KFold

from idckit.training._splits import check_splits, make_splits


def _cohort(n_patients, seed, per_patient=6):
    rng = np.random.default_rng(seed)
    patients = np.repeat([f"p{i:03d}" for i in range(n_patients)], per_patient)
    labels = rng.integers(0, 2, size=patients.size)
    # every patient holds both classes, so any n_splits <= n_patients is feasible
    labels[::per_patient], labels[1::per_patient] = 0, 1
    return patients, labels


def _assert_invariants(folds, patients, labels):
    all_val = [p for _, val in folds for p in val]
    assert len(all_val) == len(set(all_val)), "a patient is in two validation folds"
    assert sorted(all_val) == sorted(set(patients.tolist()))
    for train, val in folds:
        assert not set(train) & set(val), "a patient is in its own training set"
        assert set(labels[np.isin(patients, val)]) == {0, 1}
        assert sorted(set(train) | set(val)) == sorted(set(patients.tolist()))


@settings(max_examples=30, deadline=None)
@given(n_patients=st.integers(4, 30), k=st.integers(2, 4), seed=st.integers(0, 10_000))
def test_folds_are_patient_disjoint_and_hold_both_classes(n_patients, k, seed):
    patients, labels = _cohort(n_patients, seed)
    folds = make_splits(patients, labels, min(k, n_patients), seed=seed)
    assert len(folds) == min(k, n_patients)
    _assert_invariants(folds, patients, labels)


def test_the_seed_shuffles_patients_reproducibly():
    patients, labels = _cohort(30, 0)
    assert make_splits(patients, labels, 3, seed=1) == make_splits(patients, labels, 3, seed=1)
    assert make_splits(patients, labels, 3, seed=1) != make_splits(patients, labels, 3, seed=2)


def test_folds_are_roughly_stratified():
    rng = np.random.default_rng(0)
    patients = np.repeat([f"p{i}" for i in range(40)], 10)
    labels = (rng.random(400) < np.repeat(rng.random(40), 10)).astype(int)
    folds = make_splits(patients, labels, 4, seed=0)
    rates = [labels[np.isin(patients, val)].mean() for _, val in folds]
    assert max(rates) - min(rates) < 0.15


def test_any_group_splitter_is_accepted():
    patients, labels = _cohort(9, 1)
    folds = make_splits(patients, labels, 3, splitter=GroupKFold(n_splits=3))
    _assert_invariants(folds, patients, labels)


def test_a_splitter_that_mixes_patients_is_refused():
    patients, labels = _cohort(7, 2)  # 42 patches: folds of 14 cut patients in two
    ignored = pytest.warns(UserWarning, match="groups parameter is ignored")
    refused = pytest.raises(
        ValueError, match=r"both training and validation.*StratifiedGroupKFold"
    )
    with ignored, refused:
        make_splits(patients, labels, 3, splitter=KFold(n_splits=3))


def test_too_few_patients_is_a_clear_error():
    patients, labels = _cohort(3, 0)
    with pytest.raises(ValueError, match=r"at most the number of patients in the data set \(3\)"):
        make_splits(patients, labels, 4)


def test_too_few_positive_patients_is_a_clear_error():
    patients = np.repeat(["a", "b", "c", "d"], 2)
    labels = np.array([0, 1, 0, 1, 0, 0, 0, 0])
    with pytest.raises(ValueError, match=r"patients with IDC\(\+\) patches \(2\)"):
        make_splits(patients, labels, 3)


@pytest.mark.parametrize("k", [1, 0, 2.5, True])
def test_n_splits_must_be_an_integer_of_at_least_two(k):
    with pytest.raises(ValueError, match="Invalid `n_splits`"):
        make_splits(["a", "b"], [0, 1], k)


def test_check_splits_catches_repeated_validation_patients_and_one_class_folds():
    patients = np.array(["a", "a", "b", "b", "c", "c"])
    labels = np.array([0, 1, 0, 1, 0, 0])
    with pytest.raises(ValueError, match="at most one validation fold"):
        check_splits([(("b",), ("a",)), (("b",), ("a",))], patients, labels)
    with pytest.raises(ValueError, match=r"fold 1's hold only \[0\]"):
        check_splits([(("a", "b"), ("c",))], patients, labels)
