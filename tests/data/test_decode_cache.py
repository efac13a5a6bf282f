"""The decode cache: reuse by fingerprint, invalidation, location, parallel build, no pickle."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

import idckit.data._cache as cache_module
import idckit.data._decode as decode_module
import idckit.data._scan as scan_module
from idckit.data import IDCPatchDataset, PatchError, ScanReport
from idckit.data._cache import CacheWarning


def _open(root, cache_dir, **kwargs):
    return IDCPatchDataset.from_directory(root, cache_dir=cache_dir, progress=False, **kwargs)


def _forbid_decoding(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the cache should have been reused")

    monkeypatch.setattr(cache_module, "decode_files", fail)


def test_a_reopen_reuses_the_cache_without_decoding(hostile, cache_dir, monkeypatch):
    first = _open(hostile["root"], cache_dir)
    assert first.cache_status()[1] is False
    _forbid_decoding(monkeypatch)
    second = _open(hostile["root"], cache_dir)
    path, reused = second.cache_status()
    assert reused and path == first.cache_status()[0]
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.labels, first.labels)
    assert second.paths.tolist() == first.paths.tolist()
    assert second.report == first.report


@pytest.mark.parametrize("change", ["touch", "rewrite", "add", "remove"])
def test_a_changed_tree_invalidates_the_cache(hostile_copy, cache_dir, change):
    root = hostile_copy["root"]
    before = _open(root, cache_dir)
    rel = sorted(p for p in hostile_copy["pixels"] if p.startswith("10003/"))[0]
    target = root / rel
    if change == "touch":
        st = target.stat()
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    elif change == "rewrite":
        cv2.imwrite(str(target), np.zeros((50, 50, 3), np.uint8))
    elif change == "add":
        new = root / "10002" / "1" / "10002_idx5_x9_y9_class1.png"
        cv2.imwrite(str(new), np.zeros((50, 50, 3), np.uint8))
    else:
        target.unlink()
    after = _open(root, cache_dir)
    assert after.cache_status() == (before.cache_status()[0], False)
    expected_n = len(before) + {"touch": 0, "rewrite": 0, "add": 1, "remove": -1}[change]
    assert len(after) == expected_n
    if change == "rewrite":
        i = after.paths.tolist().index(str(target))
        assert (after.images[i] == 0).all()
    assert _open(root, cache_dir).cache_status()[1] is True


def test_cache_files_hold_no_pickle(hostile, cache_dir):
    ds = _open(hostile["root"], cache_dir)
    entry = ds.cache_status()[0]
    assert sorted(p.name for p in entry.iterdir()) == ["images.npy", "index.npz", "meta.json"]
    meta = json.loads((entry / "meta.json").read_text())
    assert meta["n_patches"] == len(ds) and len(meta["fingerprint"]) == 32
    with np.load(entry / "index.npz", allow_pickle=False) as index:
        assert index["labels"].tolist() == ds.labels.tolist()
    images = np.load(entry / "images.npy", mmap_mode="r", allow_pickle=False)
    assert images.shape == (len(ds), 50, 50, 3)


def test_default_location_follows_the_environment(hostile, tmp_path, monkeypatch):
    monkeypatch.delenv("IDCKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    entry = IDCPatchDataset.from_directory(hostile["root"], progress=False).cache_status()[0]
    assert entry.parent == tmp_path / "xdg" / "idckit"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    entry = IDCPatchDataset.from_directory(hostile["root"], progress=False).cache_status()[0]
    assert entry.parent == tmp_path / "home" / ".cache" / "idckit"


def test_settings_get_their_own_entries(hostile, cache_dir):
    a = _open(hostile["root"], cache_dir).cache_status()[0]
    b = _open(hostile["root"], cache_dir, pad_mode="resize").cache_status()[0]
    assert a != b and a.parent == b.parent == cache_dir


def test_a_numpy_integer_patch_size_is_the_same_setting(hostile, cache_dir, monkeypatch):
    first = _open(hostile["root"], cache_dir, patch_size=64)
    _forbid_decoding(monkeypatch)
    again = _open(hostile["root"], cache_dir, patch_size=np.int64(64))
    assert again.cache_status()[0] == first.cache_status()[0]
    assert again.images.shape[1:] == (64, 64, 3) and len(again) == len(first) > 0


@pytest.mark.parametrize("reopen", [False, True])
def test_a_tree_whose_patches_are_all_skipped_is_a_clear_error(hostile, cache_dir, reopen):
    if reopen:  # the cache entry remembers the skips: the reopen says the same
        with pytest.raises(ValueError):
            _open(hostile["root"], cache_dir, patch_size=20)
    with pytest.raises(
        ValueError, match=r"Every patch was skipped \(.*\d+ oversize.*pad_mode='resize'"
    ):
        _open(hostile["root"], cache_dir, patch_size=20)


def test_an_incomplete_entry_is_rebuilt(hostile, cache_dir):
    entry = _open(hostile["root"], cache_dir).cache_status()[0]
    (entry / "meta.json").unlink()
    assert _open(hostile["root"], cache_dir).cache_status()[1] is False
    (entry / "index.npz").write_bytes(b"garbage")
    with pytest.warns(CacheWarning, match="index.npz"):  # damaged, not just unfinished
        assert _open(hostile["root"], cache_dir).cache_status()[1] is False


def test_pixels_deleted_after_opening_are_decoded_again_on_use(hostile, cache_dir):
    ds = _open(hostile["root"], cache_dir)
    expected = np.array(ds.images)
    ds = _open(hostile["root"], cache_dir)
    (ds.cache_status()[0] / "images.npy").unlink()
    np.testing.assert_array_equal(ds.images, expected)
    assert ds.build_cache(force=True) == ds.cache_status()[0]
    np.testing.assert_array_equal(ds.images, expected)


def test_parallel_build_equals_the_serial_one(hostile, tmp_path, monkeypatch):
    serial = _open(hostile["root"], tmp_path / "serial", n_jobs=1)
    monkeypatch.setattr(decode_module, "PARALLEL_MIN", 0)
    parallel = _open(hostile["root"], tmp_path / "parallel", n_jobs=2)
    np.testing.assert_array_equal(parallel.images, serial.images)
    assert parallel.report == serial.report


def test_raise_on_reopen_of_a_cache_with_skipped_files(hostile, cache_dir):
    _open(hostile["root"], cache_dir)
    with pytest.raises(PatchError, match="thumbnail"):
        _open(hostile["root"], cache_dir, on_error="raise")


def test_subsets_share_the_cache_and_pickle_without_pixels(hostile, cache_dir):
    ds = _open(hostile["root"], cache_dir)
    sub = ds.subset(["10003"])
    rows = np.flatnonzero(ds.patients == "10003")
    np.testing.assert_array_equal(sub.images, ds.images[rows])
    np.testing.assert_array_equal(sub.load_images([1, 0]), ds.images[rows[[1, 0]]])
    assert len(pickle.dumps(sub)) < ds.images[rows].nbytes
    clone = pickle.loads(pickle.dumps(sub))
    np.testing.assert_array_equal(clone.images, sub.images)


def test_files_left_by_a_killed_build_are_removed(hostile, cache_dir):
    entry = _open(hostile["root"], cache_dir).cache_status()[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = entry / f"{dead}-abc.tmp.npy"
    stale.write_bytes(b"half a cache")
    live = entry / f"{os.getpid()}-abc.tmp.npy"
    live.write_bytes(b"another build of this process")
    (entry / "meta.json").unlink()
    _open(hostile["root"], cache_dir)
    assert not stale.exists() and live.exists()


# --- patch_size and n_jobs are checked before the tree is read ---------------------------------

_SIZE_RULE, _JOBS_RULE = "an integer >= 1", "None, -1 or an integer >= 1"
BAD_SETTINGS = [
    ("patch_size", 0, _SIZE_RULE),
    ("patch_size", -50, _SIZE_RULE),
    ("patch_size", True, _SIZE_RULE),
    ("patch_size", 50.0, _SIZE_RULE),
    ("patch_size", "50", _SIZE_RULE),
    ("n_jobs", 0, _JOBS_RULE),
    ("n_jobs", -2, _JOBS_RULE),
    ("n_jobs", True, _JOBS_RULE),
    ("n_jobs", -1.0, _JOBS_RULE),
    ("n_jobs", "4", _JOBS_RULE),
]
ENTRY_POINTS = {
    "one root": ("IDCPatchDataset.from_directory", lambda root, cache_dir, **kw: _open(
        root, cache_dir, **kw)),
    "several roots": ("IDCPatchDataset.from_directory", lambda root, cache_dir, **kw: _open(
        [root], cache_dir, **kw)),
    "scan": ("ScanReport.from_directory", lambda root, cache_dir, **kw: (
        ScanReport.from_directory(root, **kw))),
}  # fmt: skip


def _forbid_walking(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("the settings should have been refused before the walk")

    monkeypatch.setattr(cache_module, "walk_tree", fail)
    monkeypatch.setattr(scan_module, "walk_tree", fail)


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
@pytest.mark.parametrize(("name", "value", "rule"), BAD_SETTINGS, ids=repr)
def test_a_bad_patch_size_or_n_jobs_is_the_standard_error(
    hostile, cache_dir, monkeypatch, entry_point, name, value, rule
):
    owner, call = ENTRY_POINTS[entry_point]
    _forbid_walking(monkeypatch)
    expected = f"Invalid `{name}` for {owner}: expected {rule}. Received: {name}={value!r}."
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        call(hostile["root"], cache_dir, **{name: value})
    assert not cache_dir.exists()


@pytest.mark.parametrize("n_jobs", [None, -1, 1, 3, np.int64(2)], ids=repr)
def test_n_jobs_none_minus_one_or_a_positive_integer_is_accepted(hostile, cache_dir, n_jobs):
    expected = ScanReport.from_directory(hostile["root"], verify=True, n_jobs=1)
    assert ScanReport.from_directory(hostile["root"], verify=True, n_jobs=n_jobs) == expected
    ds = _open(hostile["root"], cache_dir / repr(n_jobs), n_jobs=n_jobs)
    assert ds.report == expected and len(ds) == expected.n_patches


def test_a_bad_on_error_is_refused_by_the_scan_too(hostile, monkeypatch):
    _forbid_walking(monkeypatch)
    with pytest.raises(
        ValueError,
        match=r"^Invalid `on_error` for ScanReport\.from_directory: "
        r"expected one of 'skip', 'raise'\. Received: on_error='ignore'\.$",
    ):
        ScanReport.from_directory(hostile["root"], on_error="ignore")
