"""Patient metadata and selection: counts, class weights (vs scikit-learn), subsets, splits."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_class_weight

from idckit.data import CRUZ_ROA_2014, IDCPatchDataset, PatchRecord


@st.composite
def datasets(draw, min_size=1):
    n = draw(st.integers(min_size, 60))
    labels = draw(st.lists(st.sampled_from([0, 1]), min_size=n, max_size=n))
    patients = draw(
        st.lists(st.sampled_from(["p1", "p2", "p3", "p4", "p5"]), min_size=n, max_size=n)
    )
    return IDCPatchDataset(labels, patients)


@given(datasets(), st.data())
def test_class_weights_match_scikit_learn_on_any_subset(ds, data):
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=len(ds), max_size=len(ds))))
    if not mask.any():
        mask[0] = True
    sub = ds.take(mask)
    classes = np.unique(sub.labels)
    expected = compute_class_weight("balanced", classes=classes, y=sub.labels)
    got = sub.class_weights("balanced")
    assert list(got) == classes.tolist()
    np.testing.assert_allclose(list(got.values()), expected, rtol=1e-12)


@given(datasets())
def test_counts_agree_with_a_plain_count(ds):
    labels, patients = ds.labels.tolist(), ds.patients.tolist()
    assert ds.class_counts() == {0: labels.count(0), 1: labels.count(1)}
    assert ds.patient_counts() == dict(Counter(patients))
    by_class = ds.patient_counts(by_class=True)
    for p in ds.patient_ids:
        pairs = [lab for lab, q in zip(labels, patients, strict=True) if q == p]
        assert by_class[p] == {0: pairs.count(0), 1: pairs.count(1)}
    assert ds.patient_ids == tuple(sorted(set(patients)))


@settings(max_examples=50)
@given(datasets(min_size=4), st.integers(0, 1000))
def test_train_test_split_is_patient_disjoint_and_complete(ds, seed):
    if len(ds.patient_ids) < 2:
        return
    train, test = ds.train_test_split(0.3, seed=seed)
    assert not set(train.patient_ids) & set(test.patient_ids)
    assert len(train) + len(test) == len(ds)
    assert sorted(train.patients.tolist() + test.patients.tolist()) == sorted(ds.patients.tolist())
    again = ds.train_test_split(0.3, seed=seed)
    assert again[1].patient_ids == test.patient_ids


def test_named_split_keeps_only_present_patients():
    train_id, val_id, test_id = (CRUZ_ROA_2014[k][0] for k in ("train", "validation", "test"))
    ds = IDCPatchDataset([0, 1, 1, 0, 1], [train_id, train_id, val_id, test_id, "99999"])
    parts = ds.named_split("cruz-roa-2014")
    assert set(parts) == {"train", "validation", "test"}
    assert [parts[k].patient_ids for k in ("train", "validation", "test")] == [
        (train_id,),
        (val_id,),
        (test_id,),
    ]
    with pytest.raises(ValueError, match="Invalid `name`"):
        ds.named_split("no-such-split")


def test_take_and_subset():
    ds = IDCPatchDataset([0, 1, 1, 0], ["a", "b", "a", "c"], x=[1, 2, 3, 4])
    assert ds.take([3, 0]).x.tolist() == [4, 1]
    assert ds.take(np.array([True, False, True, False])).labels.tolist() == [0, 1]
    assert ds.take([]).patient_ids == ()
    assert ds.subset(["a", "c"]).x.tolist() == [1, 3, 4]
    assert ds.subset("b").x.tolist() == [2]
    assert ds.take([2, 0]).take([1]).x.tolist() == [1]


@pytest.mark.parametrize(
    ("indices", "match"),
    [
        ([4], r"integers in \[0, 4\)"),
        ([-1], r"integers in \[0, 4\)"),
        ([True], "boolean mask"),
        ([0.5], "1-D array of integers"),
    ],
)
def test_take_refuses_bad_indices(indices, match):
    ds = IDCPatchDataset([0, 1, 1, 0], ["a", "b", "a", "c"])
    with pytest.raises(ValueError, match=match):
        ds.take(indices)


def test_subset_refuses_unknown_patients():
    with pytest.raises(ValueError, match=r"Invalid `patients`.*\['zz'\]"):
        IDCPatchDataset([0], ["a"]).subset(["a", "zz"])


def test_class_weights_refuses_other_methods_and_empty_data():
    ds = IDCPatchDataset([0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="Invalid `method`"):
        ds.class_weights("inverse")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one patch"):
        ds.take([]).class_weights()


def test_constructor_validates_and_does_no_io():
    with pytest.raises(ValueError, match="Invalid `patients`"):
        IDCPatchDataset([0, 1], ["a"])
    with pytest.raises(ValueError, match="Invalid `labels`"):
        IDCPatchDataset([[0, 1]], ["a"])
    with pytest.raises(ValueError, match="Invalid `images`"):
        IDCPatchDataset([0], ["a"], images=np.zeros((1, 50, 50, 3), np.float32))
    ds = IDCPatchDataset([0], ["a"], paths=["/nowhere/a.png"])
    with pytest.raises(ValueError, match=r"Invalid `images`.*from_directory"):
        ds.images  # noqa: B018
    assert ds.build_cache.__doc__


def test_record_and_repr():
    ds = IDCPatchDataset([1, 0], ["9036", "9037"], paths=["a.png", "b.png"], x=[5, 6], y=[7, 8])
    assert ds.record(-1) == PatchRecord("b.png", "9037", 6, 8, 0)
    assert repr(ds) == "IDCPatchDataset(n_patches=2, n_patients=2, class_counts={0: 1, 1: 1})"
    assert ds.report.n_patches == 2 and not ds.report.verified


def test_arrays_are_read_only():
    ds = IDCPatchDataset([0, 1], ["a", "b"], images=np.zeros((2, 50, 50, 3), np.uint8))
    for arr in (ds.labels, ds.patients, ds.paths, ds.x, ds.y, ds.images):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[1]
