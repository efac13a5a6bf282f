"""Issue 21, class 3: a decode cache that cannot be proven whole and current is never trusted.

Every kind of damage below makes the next open rebuild the entry with one ``CacheWarning``
line (no traceback) and give the pixels and labels of a fresh build; a kill between the
build's file moves leaves no entry to trust; a source PNG rewritten with its size and mtime
restored changes the tree's fingerprint.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import shutil
import warnings

import cv2
import numpy as np
import pytest

import idckit.data._cache as cache_module
import idckit.data._integrity as integrity_module
from idckit.data import IDCPatchDataset
from idckit.data._cache import CacheWarning
from idckit.datasets import make_synthetic


def _open(root, cache_dir, **kwargs):
    return IDCPatchDataset.from_directory(root, cache_dir=cache_dir, progress=False, **kwargs)


def _keep_stats(path, write):
    """Apply ``write`` to ``path`` and set its mtime back (its ctime still moves)."""
    st = path.stat()
    write(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _edit_meta(entry, edit):
    meta = json.loads((entry / "meta.json").read_text())
    edit(meta)
    (entry / "meta.json").write_text(json.dumps(meta))


def _zero_patch(path):
    images = np.load(path, mmap_mode="r+")
    images[1] = 0
    images.flush()
    del images


def _rewrite_index(path, change):
    with np.load(path) as index:
        arrays = {k: index[k] for k in index.files}
    change(arrays)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _flip_labels(arrays):
    arrays["labels"] = 1 - arrays["labels"]


def _half_images(path):
    images = np.load(path)
    np.save(path, images[: len(images) // 2])


def _wrong_shape(path):
    images = np.load(path)
    np.save(path, images.reshape(-1, *images.shape[2:]))


def _wrong_dtype(path):
    images = np.load(path)
    np.save(path, images.view(np.int8))


def _same_stats_zeroed(entry):
    """Zero a patch, then make the record's stats agree: only the block digests can tell."""
    _zero_patch(entry / "images.npy")
    st = os.stat(entry / "images.npy")

    def edit(meta):
        record = meta["files"]["images.npy"]
        record.update(ino=st.st_ino, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns)

    _edit_meta(entry, edit)


def _truncate(path, keep=0.5):
    os.truncate(path, int(path.stat().st_size * keep))


DAMAGE = {
    "index truncated": lambda e: _truncate(e / "index.npz"),
    "index garbage": lambda e: (e / "index.npz").write_bytes(b"garbage"),
    "labels flipped": lambda e: _keep_stats(
        e / "index.npz", lambda p: _rewrite_index(p, _flip_labels)
    ),
    "index key missing": lambda e: _rewrite_index(e / "index.npz", lambda a: a.pop("padded")),
    "meta not json": lambda e: (e / "meta.json").write_text("{not json"),
    "meta not an object": lambda e: (e / "meta.json").write_text("[1, 2]"),
    "meta n_patches a string": lambda e: _edit_meta(e, lambda m: m.update(n_patches="12")),
    "meta n_patches a bool": lambda e: _edit_meta(e, lambda m: m.update(n_patches=True)),
    "meta n_patches wrong": lambda e: _edit_meta(e, lambda m: m.update(n_patches=1)),
    "meta report missing": lambda e: _edit_meta(e, lambda m: m.pop("report")),
    "meta report mangled": lambda e: _edit_meta(e, lambda m: m["report"].update(class_counts=5)),
    "meta files missing": lambda e: _edit_meta(e, lambda m: m.pop("files")),
    "meta report count text": lambda e: _edit_meta(e, lambda m: m["report"].update(n_files="9")),
    "meta root elsewhere": lambda e: _edit_meta(e, lambda m: m.update(root="/etc")),
    "meta format a list": lambda e: _edit_meta(e, lambda m: m.update(format=[2])),
    "meta build id other": lambda e: _edit_meta(e, lambda m: m.update(build_id="0" * 32)),
    "images half, header kept": lambda e: _truncate(e / "images.npy"),
    "images half, header rewritten": lambda e: _half_images(e / "images.npy"),
    "images wrong shape": lambda e: _wrong_shape(e / "images.npy"),
    "images wrong dtype": lambda e: _wrong_dtype(e / "images.npy"),
    "images missing": lambda e: (e / "images.npy").unlink(),
    "images zeroed, mtime restored": lambda e: _keep_stats(e / "images.npy", _zero_patch),
    "images zeroed, record's stats forged": _same_stats_zeroed,
}  # fmt: skip


@pytest.fixture
def built(hostile, cache_dir):
    ds = _open(hostile["root"], cache_dir)
    return ds.cache_status()[0], np.array(ds.images), ds.labels.copy(), ds.report


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_entry_is_rebuilt_with_one_warning(hostile, cache_dir, built, damage):
    entry, images, labels, report = built
    DAMAGE[damage](entry)
    with pytest.warns(CacheWarning) as caught:
        ds = _open(hostile["root"], cache_dir)
    assert len(caught) == 1 and str(caught[0].message).count("\n") == 0
    assert str(caught[0].message).startswith(f"Rebuilding the decode cache {entry}: ")
    assert ds.cache_status() == (entry, False)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.report == report
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _open(hostile["root"], cache_dir).cache_status() == (entry, True)


def test_an_entry_of_another_format_is_rebuilt_silently(hostile, cache_dir, built):
    entry = built[0]
    _edit_meta(entry, lambda m: m.update(format=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _open(hostile["root"], cache_dir).cache_status() == (entry, False)


@pytest.mark.parametrize("killed_at", [1, 2, 3])
def test_a_kill_between_the_file_moves_leaves_nothing_to_trust(
    hostile, cache_dir, built, monkeypatch, killed_at
):
    entry, images, labels, _ = built
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == killed_at:
            raise OSError("killed")
        real(src, dst)

    ds = _open(hostile["root"], cache_dir)
    with monkeypatch.context() as patch:
        patch.setattr(cache_module.os, "replace", replace)
        with pytest.raises(OSError, match="killed"):
            ds.build_cache(force=True)
    assert [os.path.basename(p) for p in calls][-1] == ["images.npy", "index.npz", "meta.json"][
        killed_at - 1
    ]
    assert not (entry / "meta.json").exists()
    again = _open(hostile["root"], cache_dir)
    assert again.cache_status() == (entry, False)
    np.testing.assert_array_equal(again.images, images)
    np.testing.assert_array_equal(again.labels, labels)


def test_pixels_of_another_build_under_an_old_meta_are_not_trusted(hostile, cache_dir, built):
    """What a kill after the first move left before: another build's pixels, same shape."""
    entry, images, _, _ = built
    other = _open(hostile["root"], cache_dir, pad_mode="resize").cache_status()[0]
    assert not np.array_equal(np.load(other / "images.npy"), images)
    shutil.copy(other / "images.npy", entry / "images.npy.new")
    os.replace(entry / "images.npy.new", entry / "images.npy")
    with pytest.warns(CacheWarning, match="images.npy differs from its build"):
        ds = _open(hostile["root"], cache_dir)
    np.testing.assert_array_equal(ds.images, images)


def test_a_png_rewritten_with_the_same_size_and_mtime_is_noticed(tmp_path, cache_dir):
    root = tmp_path / "tree"
    target = root / "7" / "0" / "7_idx5_x0_y0_class0.png"
    target.parent.mkdir(parents=True)
    dark, light = (cv2.imencode(".png", np.full((50, 50, 3), v, np.uint8))[1] for v in (7, 200))
    assert len(dark) == len(light)
    target.write_bytes(dark.tobytes())
    assert (_open(root, cache_dir).images == 7).all()
    _keep_stats(target, lambda p: p.write_bytes(light.tobytes()))
    ds = _open(root, cache_dir)
    assert ds.cache_status()[1] is False and (ds.images == 200).all()


def test_a_reopen_reads_a_sample_of_blocks_unless_a_file_changed(hostile, cache_dir, monkeypatch):
    monkeypatch.setattr(integrity_module, "_BLOCK_BYTES", 256)  # many blocks in a small entry
    entry = _open(hostile["root"], cache_dir).cache_status()[0]
    read = []
    real = integrity_module._digests
    monkeypatch.setattr(
        integrity_module,
        "_digests",
        lambda path, blocks: read.append(len(blocks)) or real(path, blocks),
    )
    assert _open(hostile["root"], cache_dir).cache_status()[1] is True
    assert read == [integrity_module._SAMPLED_BLOCKS] * 2  # index.npz, images.npy
    n_blocks = -(-(entry / "images.npy").stat().st_size // 256)
    assert n_blocks > 4 * integrity_module._SAMPLED_BLOCKS
    _keep_stats(entry / "images.npy", lambda p: p.write_bytes(p.read_bytes()))  # same bytes
    read.clear()
    assert _open(hostile["root"], cache_dir).cache_status()[1] is True  # checked whole: kept
    assert read == [integrity_module._SAMPLED_BLOCKS, n_blocks]
    read.clear()
    assert _open(hostile["root"], cache_dir).cache_status()[1] is True
    assert read == [integrity_module._SAMPLED_BLOCKS] * 2  # the new stats were recorded


def test_a_damaged_combined_entry_is_copied_again(tmp_path, cache_dir):
    a = make_synthetic(
        tmp_path / "a", n_patients=2, patches_per_patient=10, edge_patches=2, seed=0
    )
    b = make_synthetic(
        tmp_path / "b", n_patients=2, patches_per_patient=10, edge_patches=2, seed=1
    )
    both = _open([a, b], cache_dir)
    entry, expected = both.cache_status()[0], np.array(both.images)
    _keep_stats(entry / "images.npy", _zero_patch)
    with pytest.warns(CacheWarning, match="Copying the combined cache .* differs from its build"):
        again = _open([a, b], cache_dir)
    np.testing.assert_array_equal(again.images, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _open([a, b], cache_dir).cache_status()[1] is True


def test_a_rebuild_removes_what_was_derived_from_the_old_pixels(hostile_copy, cache_dir):
    root = hostile_copy["root"]
    entry = _open(root, cache_dir).cache_status()[0]
    derived = entry / "normalized-0123456789abcdef0123.npy"  # a stain-normalised copy
    np.save(derived, np.zeros((1, 50, 50, 3), np.uint8))
    assert _open(root, cache_dir).cache_status()[1] is True and derived.exists()
    target = root / next(iter(hostile_copy["pixels"]))
    cv2.imwrite(str(target), np.zeros((50, 50, 3), np.uint8))
    assert _open(root, cache_dir).cache_status()[1] is False
    assert not derived.exists()


def test_the_integrity_checks_import_neither_the_cache_nor_the_combined_cache():
    """Imports go one way: ``_cache`` and ``_combine`` use ``_integrity``, never the reverse."""
    tree = ast.parse(inspect.getsource(integrity_module))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert "idckit.data._report" in imported  # the walk sees the module's own imports
    assert not imported & {"idckit.data._cache", "idckit.data._combine", "idckit.data"}
