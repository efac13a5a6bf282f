import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.data._splits import (
    CRUZ_ROA_2014,
    NAMED_SPLITS,
    named_patient_split,
    patient_train_test_split,
)


def cohort(n_patients=40, seed=0):
    """Patients with 10-60 patches each and IDC(+) fractions spread over [0, 0.8]."""
    rng = np.random.default_rng(seed)
    patients, labels = [], []
    for i, fraction in enumerate(rng.permutation(np.linspace(0, 0.8, n_patients))):
        n = int(rng.integers(10, 60))
        patients += [f"p{i}"] * n
        labels += list((rng.random(n) < fraction).astype(int))
    return np.array(patients), np.array(labels)


def patient_fraction(patients, labels, idx):
    ids = np.unique(patients[idx])
    return np.array([labels[patients == p].mean() for p in ids])


# --- the Cruz-Roa et al. 2014 split ------------------------------------------------------


def test_cruz_roa_split_has_the_published_sizes_and_no_overlap():
    sizes = {part: len(ids) for part, ids in CRUZ_ROA_2014.items()}
    assert sizes == {"train": 84, "validation": 29, "test": 49}
    every = [i for ids in CRUZ_ROA_2014.values() for i in ids]
    assert len(set(every)) == 162  # 162 slides of the paper, one per patient
    assert all(i.isdigit() and 8863 <= int(i) <= 16896 for i in every)


def test_cruz_roa_split_spot_checks():
    assert CRUZ_ROA_2014["train"][:3] == ("10304", "9346", "9029")
    assert "16896" in CRUZ_ROA_2014["validation"]
    assert "8864" in CRUZ_ROA_2014["test"] and "8863" not in CRUZ_ROA_2014["test"]


@pytest.mark.integration
def test_real_patients_are_the_available_train_and_validation_patients(real_data_root):
    local = {p.name for p in real_data_root.iterdir() if p.is_dir()}
    listed = set(CRUZ_ROA_2014["train"]) | set(CRUZ_ROA_2014["validation"])
    assert len(local) == 111
    assert local <= listed and listed - local == {"8915", "9024"}
    assert not local & set(CRUZ_ROA_2014["test"])


def test_named_split_lookup_is_forgiving_about_case_and_underscores():
    assert named_patient_split("cruz-roa-2014") is CRUZ_ROA_2014
    assert named_patient_split(" Cruz_Roa_2014 ") is CRUZ_ROA_2014
    assert set(NAMED_SPLITS) == {"cruz-roa-2014"}


def test_unknown_named_split_lists_the_known_names():
    with pytest.raises(ValueError, match=r"Invalid `name`.*one of 'cruz-roa-2014'.*'camelyon'"):
        named_patient_split("camelyon")


def test_named_splits_are_read_only():
    with pytest.raises(TypeError):
        CRUZ_ROA_2014["train"] = ()  # type: ignore[index]


# --- patient_train_test_split -------------------------------------------------------------


def test_split_is_patient_disjoint_and_covers_every_patch_once():
    patients, labels = cohort()
    train, test = patient_train_test_split(patients, labels, test_size=0.25, seed=1)
    assert np.intersect1d(patients[train], patients[test]).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    assert np.unique(patients[test]).size == 10  # ceil(0.25 * 40)
    assert train.dtype == np.intp and np.all(np.diff(train) > 0)


def test_test_size_as_a_number_of_patients():
    patients, labels = cohort(n_patients=12)
    _, test = patient_train_test_split(patients, labels, test_size=5)
    assert np.unique(patients[test]).size == 5


def test_same_seed_same_split_different_seed_different_split():
    patients, labels = cohort()
    a = patient_train_test_split(patients, labels, seed=7)
    b = patient_train_test_split(patients, labels, seed=7)
    c = patient_train_test_split(patients, labels, seed=8)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_stratification_spreads_test_patients_over_the_idc_burden():
    patients, labels = cohort(n_patients=40)
    overall = patient_fraction(patients, labels, np.arange(len(labels))).mean()
    errors = {True: [], False: []}
    for stratify in (True, False):
        for seed in range(40):
            _, test = patient_train_test_split(
                patients, labels, test_size=8, seed=seed, stratify=stratify
            )
            errors[stratify].append(patient_fraction(patients, labels, test).mean() - overall)
    assert np.std(errors[True]) < 0.5 * np.std(errors[False])
    assert abs(np.mean(errors[True])) < 0.03


def test_stratified_draw_takes_one_patient_per_stratum():
    patients = np.repeat([f"p{i}" for i in range(10)], 4)
    labels = np.concatenate([np.r_[np.ones(i % 5), np.zeros(4 - i % 5)] for i in range(10)])
    _, test = patient_train_test_split(patients, labels, test_size=5, seed=3)
    fractions = sorted(patient_fraction(patients, labels, test))
    np.testing.assert_allclose(fractions, [0.0, 0.25, 0.5, 0.75, 1.0])


def test_patient_ids_may_be_integers():
    patients = np.repeat(np.arange(5), 3)
    train, test = patient_train_test_split(patients, np.zeros(15, dtype=int), test_size=2)
    assert np.intersect1d(patients[train], patients[test]).size == 0


@pytest.mark.parametrize(
    ("patients", "labels", "kwargs", "match"),
    [
        (["a", "a"], [0, 1], {}, r"Invalid `patients`.*at least 2 distinct patients"),
        ([], [], {}, r"Invalid `patients`.*non-empty 1-D array"),
        (["a", "b"], [0], {}, r"Invalid `labels`.*one label per patch"),
        (["a", "b"], [0, 2], {}, r"Invalid `labels`.*only 0 and 1.*\[2\]"),
        (["a", "b", "c"], [0, 0, 1], {"test_size": 3}, r"Invalid `test_size`.*\[1, 2\]"),
        (["a", "b", "c"], [0, 0, 1], {"test_size": 0}, r"Invalid `test_size`"),
        (["a", "b", "c"], [0, 0, 1], {"test_size": 1.0}, r"Invalid `test_size`.*\(0, 1\)"),
        (["a", "b", "c"], [0, 0, 1], {"test_size": 0.9}, r"leaves a training patient"),
        (["a", "b", "c"], [0, 0, 1], {"test_size": "0.2"}, r"Invalid `test_size`"),
        (["a", "b", "c"], [0, 0, 1], {"test_size": True}, r"Invalid `test_size`"),
        (["a", "b", "c"], [0, 0, 1], {"seed": -1}, r"Invalid `seed`"),
    ],
)
def test_impossible_requests_are_clear_errors(patients, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        patient_train_test_split(patients, labels, **kwargs)


@st.composite
def patch_tables(draw):
    n_patients = draw(st.integers(2, 15))
    sizes = draw(st.lists(st.integers(1, 8), min_size=n_patients, max_size=n_patients))
    patients = np.repeat([f"id{i}" for i in range(n_patients)], sizes)
    order = draw(st.permutations(range(patients.size)))
    labels = draw(st.lists(st.integers(0, 1), min_size=patients.size, max_size=patients.size))
    test_size = draw(
        st.one_of(st.integers(1, n_patients - 1), st.floats(0.01, (n_patients - 1.5) / n_patients))
    )
    return patients[list(order)], np.array(labels), test_size


@settings(max_examples=60, deadline=None)
@given(patch_tables(), st.integers(0, 2**32 - 1), st.booleans())
def test_split_properties_hold_for_any_table(table, seed, stratify):
    patients, labels, test_size = table
    train, test = patient_train_test_split(
        patients, labels, test_size=test_size, seed=seed, stratify=stratify
    )
    assert np.intersect1d(patients[train], patients[test]).size == 0
    np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(patients.size))
    n_patients = np.unique(patients).size
    expected = test_size if isinstance(test_size, int) else int(np.ceil(test_size * n_patients))
    assert np.unique(patients[test]).size == expected
    assert train.size > 0 and test.size > 0
    again = patient_train_test_split(
        patients, labels, test_size=test_size, seed=seed, stratify=stratify
    )
    np.testing.assert_array_equal(again[1], test)
