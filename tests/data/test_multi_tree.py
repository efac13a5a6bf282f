"""Several trees as one dataset: from_directory([a, b]) and IDCPatchDataset.concat."""

from __future__ import annotations

import os
import pickle
import shutil

import numpy as np
import pytest

import idckit.data._cache as cache_module
from idckit.data import IDCPatchDataset
from idckit.data._report import ScanReport
from idckit.datasets import make_synthetic


def _open(root, cache_dir, **kwargs):
    return IDCPatchDataset.from_directory(root, cache_dir=cache_dir, progress=False, **kwargs)


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """Two small trees of different patients; ``a`` holds one file whose name does not parse."""
    base = tmp_path_factory.mktemp("multi")
    a = make_synthetic(base / "a", n_patients=3, patches_per_patient=20, seed=0)
    b = make_synthetic(base / "b", n_patients=2, patches_per_patient=30, seed=1)
    first = sorted(a.glob("*/*/*.png"))[0]
    shutil.copy(first, first.parent / "not-a-patch.png")
    return a, b


@pytest.fixture
def parts(trees, cache_dir):
    a, b = trees
    return _open(a, cache_dir), _open(b, cache_dir)


@pytest.fixture
def both(trees, cache_dir, parts):
    return _open(list(trees), cache_dir)


def test_two_trees_are_one_dataset_in_the_order_given(both, parts):
    a, b = parts
    assert not set(a.patient_ids) & set(b.patient_ids)
    assert len(both) == len(a) + len(b)
    assert both.patient_ids == tuple(sorted(a.patient_ids + b.patient_ids))
    np.testing.assert_array_equal(both.labels, np.concatenate([a.labels, b.labels]))
    np.testing.assert_array_equal(both.patients, np.concatenate([a.patients, b.patients]))
    np.testing.assert_array_equal(both.x, np.concatenate([a.x, b.x]))
    np.testing.assert_array_equal(both.images[: len(a)], a.images)
    np.testing.assert_array_equal(both.images[len(a) :], b.images)
    assert isinstance(both.images, np.memmap)  # one memory-mapped store, not a copy
    assert both.class_counts() == {k: a.class_counts()[k] + b.class_counts()[k] for k in (0, 1)}


def test_paths_stay_absolute_and_name_their_tree(both, parts, trees):
    a, b = parts
    assert both.paths.tolist() == a.paths.tolist() + b.paths.tolist()
    assert all(p.startswith(str(trees[1]) + os.sep) for p in both.paths[len(a) :])
    assert both.record(len(a)).path == b.paths[0] and os.path.isfile(both.record(len(a)).path)


def test_subset_by_patients_of_both_trees(both, parts):
    a, b = parts
    wanted = [a.patient_ids[1], b.patient_ids[0]]
    sub = both.subset(wanted)
    expected = np.concatenate([a.subset(wanted[:1]).images, b.subset(wanted[1:]).images])
    np.testing.assert_array_equal(sub.images, expected)
    np.testing.assert_array_equal(sub.load_images([len(sub) - 1, 0]), expected[[-1, 0]])
    assert sub.patient_ids == tuple(sorted(wanted))
    taken = both.take([len(a), 0])
    np.testing.assert_array_equal(taken.images, np.stack([b.images[0], a.images[0]]))


def test_context_mosaics_of_the_second_tree_match_its_own(both, parts):
    a, b = parts
    rows = np.arange(len(b))
    np.testing.assert_array_equal(
        both.load_images(rows + len(a), context=1), b.load_images(rows, context=1)
    )
    patient = b.patient_ids[-1]
    mine, theirs = both.subset([patient]), b.subset([patient])
    np.testing.assert_array_equal(
        mine.load_images(np.arange(len(mine)), context=2),
        theirs.load_images(np.arange(len(theirs)), context=2),
    )
    # neighbours never cross trees: every neighbour of a patch of b is a patch of b
    table = both.neighbours(1)[len(a) :]
    assert ((table == -1) | (table >= len(a))).all()


def test_a_patient_in_two_trees_is_refused_naming_it(trees, tmp_path, cache_dir):
    a, _ = trees
    twin = make_synthetic(tmp_path / "twin", n_patients=3, patches_per_patient=20, seed=0)
    with pytest.raises(ValueError, match=r"Invalid `root` for IDCPatchDataset.from_dir") as err:
        _open([a, twin], cache_dir)
    message = str(err.value)
    first = sorted(p.parent.parent.name for p in a.glob("*/*/*.png"))[0]
    assert f"Patients ['{first}'," in message
    assert f"are in both '{a}' and '{twin}'" in message and "rename them" in message
    ds_a, ds_twin = _open(a, cache_dir), _open(twin, cache_dir)
    with pytest.raises(ValueError, match=r"Invalid `datasets` for IDCPatchDataset.concat.*"
                                         r"are in both"):  # fmt: skip
        IDCPatchDataset.concat([ds_a, ds_twin])


def test_the_same_tree_twice_is_refused(trees, cache_dir):
    a, _ = trees
    with pytest.raises(ValueError, match=r"are the same folder: pass each tree once"):
        _open([a, str(a) + os.sep + "."], cache_dir)
    with pytest.raises(ValueError, match=r"a non-empty sequence of folders"):
        _open([], cache_dir)


def test_one_tree_in_a_list_is_that_tree(trees, cache_dir):
    entry = _open(trees[0], cache_dir).cache_status()[0]
    assert _open([trees[0]], cache_dir).cache_status() == (entry, True)  # no combined entry


def test_a_reopen_reuses_every_cache_without_decoding_or_copying(trees, cache_dir, monkeypatch):
    first = _open(list(trees), cache_dir)
    entry, reused = first.cache_status()
    assert not reused and entry.parent == cache_dir and entry.name.startswith("a+b-")
    monkeypatch.setattr(cache_module, "decode_files", _fail)
    monkeypatch.setattr("idckit.data._combine.write_combined", _fail)
    again = _open(list(trees), cache_dir)
    assert again.cache_status() == (entry, True)
    np.testing.assert_array_equal(again.images, first.images)


def _fail(*args, **kwargs):
    raise AssertionError("the caches should have been reused")


def test_a_changed_tree_is_decoded_and_combined_again(trees, tmp_path, cache_dir):
    a = trees[0]
    b = tmp_path / "b"
    shutil.copytree(trees[1], b)
    before = _open([a, b], cache_dir)
    victim = sorted(b.glob("*/*/*.png"))[0]
    victim.unlink()
    after = _open([a, b], cache_dir)
    assert after.cache_status()[0] == before.cache_status()[0]  # the same entry, copied again
    assert after.cache_status()[1] is False and len(after) == len(before) - 1
    fresh_b = _open(b, cache_dir)
    np.testing.assert_array_equal(after.images[len(after) - len(fresh_b) :], fresh_b.images)


def test_reports_are_added_up_and_keep_every_skipped_file(both, parts, trees):
    a, b = parts
    assert a.report.skipped == {"bad_name": 1} and b.report.n_skipped == 0
    report = both.report
    assert report.n_patches == len(both) and report.n_patients == len(both.patient_ids)
    assert report.n_files == a.report.n_files + b.report.n_files
    assert report.skipped == {"bad_name": 1} and report.padded == a.report.padded + b.report.padded
    assert report.skipped_files == a.report.skipped_files
    assert report.skipped_files[0][0].endswith("not-a-patch.png")
    assert report.verified and report.root == os.pathsep.join(map(str, trees))
    assert report == ScanReport.combine([a.report, b.report])
    assert ScanReport.combine([a.report]) is a.report


def test_keras_batches_read_the_combined_cache(both):
    feed = both.to_keras(batch_size=16, shuffle=False)
    batches = [feed[i] for i in range(len(feed))]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in batches]), both.images)
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), both.labels)
    mosaics = both.to_keras(batch_size=8, shuffle=False, context=1)[1][0]
    np.testing.assert_array_equal(mosaics, both.load_images(np.arange(8, 16), context=1))


def test_pickles_without_pixels_and_rebuilds_a_removed_combined_cache(both):
    sub = both.take(np.arange(5, len(both), 3))
    clone = pickle.loads(pickle.dumps(sub))
    assert len(pickle.dumps(sub)) < sub.images.nbytes
    np.testing.assert_array_equal(clone.images, sub.images)
    expected = np.array(both.images)
    entry = both.cache_status()[0]
    (entry / "images.npy").unlink()
    clone = pickle.loads(pickle.dumps(both))
    np.testing.assert_array_equal(clone.load_images([0, len(both) - 1]), expected[[0, -1]])
    assert (entry / "images.npy").is_file() and (entry / "meta.json").is_file()
    assert both.build_cache(force=True) == entry
    np.testing.assert_array_equal(both.images, expected)


def test_concat_of_subsets_copies_only_their_patches(parts, cache_dir):
    a, b = parts
    left, right = a.subset(a.patient_ids[:1]), b.take(np.arange(len(b))[::-1])
    both = IDCPatchDataset.concat([left, right])
    assert both.cache_status()[0].parent == cache_dir
    np.testing.assert_array_equal(both.images, np.concatenate([left.images, right.images]))
    assert both.report == ScanReport.combine([a.report, b.report])
    again = IDCPatchDataset.concat([left, right])
    assert again.cache_status() == (both.cache_status()[0], True)
    other = IDCPatchDataset.concat([left, b])  # other rows: another entry
    assert other.cache_status()[0] != both.cache_status()[0]
    halves = [a.subset(a.patient_ids[:1]), a.subset(a.patient_ids[1:])]
    assert IDCPatchDataset.concat(halves).report == a.report  # one tree: its report once


def test_concat_of_arrays_and_its_errors():
    a = IDCPatchDataset([0, 1], ["p", "p"], images=np.zeros((2, 50, 50, 3), np.uint8))
    b = IDCPatchDataset([1], ["q"], images=np.full((1, 50, 50, 3), 7, np.uint8))
    both = IDCPatchDataset.concat([a, b])
    assert both.cache_status() == (None, False) and both.images[2].max() == 7
    assert both.report.n_patches == 3
    no_pixels = IDCPatchDataset.concat([IDCPatchDataset([0], ["x"]), IDCPatchDataset([1], ["y"])])
    assert len(no_pixels) == 2
    with pytest.raises(ValueError, match="datasets that all have pixels, or none of them"):
        IDCPatchDataset.concat([a, IDCPatchDataset([1], ["y"])])
    small = IDCPatchDataset([1], ["s"], images=np.zeros((1, 40, 40, 3), np.uint8))
    with pytest.raises(ValueError, match="datasets with patches of one size"):
        IDCPatchDataset.concat([a, small])
    with pytest.raises(ValueError, match=r"are in both datasets\[0\] and datasets\[1\]"):
        IDCPatchDataset.concat([a, a])
    with pytest.raises(ValueError, match="at least one dataset"):
        IDCPatchDataset.concat([])


@pytest.mark.integration
def test_the_real_trees_combine_without_collision(real_data_root, tmp_path):
    extra = real_data_root.parent / "idc-extra"
    if not extra.is_dir():
        pytest.skip(f"real patches not found at {extra}")
    train = IDCPatchDataset.from_directory(real_data_root, cache_dir=tmp_path, progress=False)
    more = IDCPatchDataset.from_directory(extra, cache_dir=tmp_path, progress=False)
    assert (len(train.patient_ids), len(more.patient_ids)) == (111, 60)
    both = IDCPatchDataset.from_directory([real_data_root, extra], cache_dir=tmp_path,
                                          progress=False)  # fmt: skip
    assert len(both.patient_ids) == 171 and len(both) == len(train) + len(more)
    assert both.report.n_patches == len(both) and both.report.n_patients == 171
    rows = np.random.default_rng(0).choice(len(more), size=50, replace=False)
    np.testing.assert_array_equal(both.load_images(rows + len(train)), more.load_images(rows))
