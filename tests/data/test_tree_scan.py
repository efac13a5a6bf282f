"""Indexing the hostile mini tree: every hostile case found, counted and reported."""

from __future__ import annotations

import os

import numpy as np
import pytest

from idckit.data import IDCPatchDataset, PatchError, ScanReport
from idckit.data._records import DEFAULT_PATTERN
from idckit.data._scan import scan_tree, walk_tree


def _open(hostile, cache_dir, **kwargs):
    return IDCPatchDataset.from_directory(
        hostile["root"], cache_dir=cache_dir, progress=False, **kwargs
    )


def test_counts_patients_and_classes(hostile, cache_dir):
    ds = _open(hostile, cache_dir)
    assert len(ds) == hostile["n_patches"]
    assert ds.patient_ids == hostile["patients"]
    assert ds.class_counts() == hostile["class_counts"]
    expected = {os.path.join(hostile["root"], p): lab for p, lab in hostile["labels"].items()}
    assert dict(zip(ds.paths.tolist(), ds.labels.tolist(), strict=True)) == expected


def test_report_lists_every_hostile_case(hostile, cache_dir):
    report = _open(hostile, cache_dir).report
    assert isinstance(report, ScanReport)
    assert report.n_patches == hostile["n_patches"]
    assert report.n_patients == hostile["n_patients"]
    assert report.duplicates == hostile["duplicates"]
    assert report.skipped == hostile["skipped_decoded"]
    assert report.padded == len(hostile["padded"])
    assert report.ignored == hostile["ignored"]
    assert report.symlink_loops == hostile["symlink_loops"]
    assert report.verified
    listed = {(os.path.relpath(p, hostile["root"]), r) for p, r in report.skipped_files}
    for key, reason in [
        ("corrupt", "undecodable"),
        ("oversize", "oversize"),
        ("mismatch", "label_mismatch"),
        ("bad_name", "bad_name"),
    ]:
        assert (hostile[key], reason) in listed
    assert all("IDC_regular_ps50_idx5" in p for p in report.duplicate_files)
    assert report.n_files == report.n_patches + report.duplicates + report.n_skipped


def test_the_nested_copy_is_dropped_and_the_top_level_copy_kept(hostile, cache_dir):
    ds = _open(hostile, cache_dir)
    assert not any("IDC_regular_ps50_idx5" in p for p in ds.paths)
    keys = set(zip(ds.patients, ds.x, ds.y, ds.labels, strict=True))
    assert len(keys) == len(ds)


def test_hidden_macosx_and_non_image_files_never_reach_the_index(hostile):
    listing = walk_tree(str(hostile["root"]))
    names = [os.path.basename(p) for p in listing.relpaths]
    assert not any(n.startswith(".") for n in names)
    assert not any(p.startswith("__MACOSX") for p in listing.relpaths)
    assert all(n.endswith(".png") for n in names)
    assert listing.sizes.shape == listing.mtimes.shape == (len(listing.relpaths),)


def test_symlink_loops_end(tmp_path):
    root = tmp_path / "loops"
    (root / "7" / "0").mkdir(parents=True)
    (root / "7" / "0" / "7_idx5_x0_y0_class0.png").write_bytes(b"x")
    os.symlink(root, root / "7" / "0" / "up")
    os.symlink("../..", root / "7" / "0" / "upup")
    os.symlink(root / "7", root / "alias")  # a second name for a visited folder
    listing = walk_tree(str(root))
    assert listing.relpaths == [os.path.join("7", "0", "7_idx5_x0_y0_class0.png")]
    assert listing.symlink_loops == 3


@pytest.mark.parametrize("verify", [False, True])
def test_scan_tree_reads_sizes_from_headers_or_pixels(hostile, verify):
    report = scan_tree(hostile["root"], pattern=DEFAULT_PATTERN, verify=verify)
    assert report.padded == len(hostile["padded"])
    assert report.verified is verify
    expected = hostile["skipped_decoded" if verify else "skipped_headers"]
    assert report.skipped == expected
    assert report.n_patches == hostile["n_patches"] + (0 if verify else 1)


@pytest.mark.parametrize("verify", [False, True])
def test_scan_report_from_directory_is_the_scan_without_a_cache(hostile, tmp_path, verify):
    report = ScanReport.from_directory(hostile["root"], verify=verify, n_jobs=2)
    assert report == scan_tree(hostile["root"], pattern=DEFAULT_PATTERN, verify=verify)
    assert report.n_patches == hostile["n_patches"] + (0 if verify else 1)
    with pytest.raises(PatchError, match=r"thumbnail\.png': bad_name"):
        ScanReport.from_directory(hostile["root"], on_error="raise")


def test_on_error_raise_names_the_first_bad_file(hostile, cache_dir):
    with pytest.raises(PatchError, match=r"thumbnail\.png': bad_name") as info:
        _open(hostile, cache_dir, on_error="raise")
    assert info.value.reason == "bad_name"
    assert "on_error='skip'" in str(info.value)


def test_on_error_raise_stops_at_a_corrupt_file(tmp_path, hostile, cache_dir):
    root = tmp_path / "only-corrupt"
    (root / "10003" / "0").mkdir(parents=True)
    src = hostile["root"] / hostile["corrupt"]
    (root / hostile["corrupt"]).write_bytes(src.read_bytes())
    with pytest.raises(PatchError, match="undecodable"):
        IDCPatchDataset.from_directory(root, cache_dir=cache_dir, on_error="raise", progress=False)


def test_a_custom_pattern_indexes_another_naming(tmp_path, hostile, cache_dir):
    root = tmp_path / "custom"
    expected = {}
    for rel in list(hostile["labels"])[:6]:
        patient, label, fname = rel.split("/")
        x, y = fname.split("_x")[1].split("_class")[0].split("_y")
        target = root / f"case{patient}" / label / f"case{patient}-x{x}-y{y}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((hostile["root"] / rel).read_bytes())
        expected[str(target)] = (patient, int(x), int(y), int(label))
    pattern = r"case(?P<patient>\d+)-x(?P<x>\d+)-y(?P<y>\d+)\.png"
    ds = IDCPatchDataset.from_directory(root, pattern=pattern, cache_dir=cache_dir, progress=False)
    got = zip(ds.paths, ds.patients, ds.x, ds.y, ds.labels, strict=True)
    assert {str(p): (str(pa), int(x), int(y), int(lab)) for p, pa, x, y, lab in got} == expected


def test_no_patches_is_a_clear_error(tmp_path):
    (tmp_path / "empty" / "1" / "0").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"No patches found.*_idx5_x<X>_y<Y>_class<C>\.png"):
        IDCPatchDataset.from_directory(tmp_path / "empty", progress=False)


def test_missing_root_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match=r"Invalid `root` for IDCPatchDataset.from_directory"):
        IDCPatchDataset.from_directory(tmp_path / "nope", progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pad_mode": "edge"}, "Invalid `pad_mode`"),
        ({"on_error": "ignore"}, "Invalid `on_error`"),
        ({"patch_size": 0}, "Invalid `patch_size`"),
        ({"patch_size": 50.0}, "Invalid `patch_size`"),
        ({"n_jobs": 0}, "Invalid `n_jobs`"),
    ],
)
def test_bad_settings_are_clear_errors(hostile, kwargs, match):
    with pytest.raises(ValueError, match=match):
        IDCPatchDataset.from_directory(hostile["root"], progress=False, **kwargs)


def test_progress_bars_go_to_stderr(hostile, cache_dir, capsys):
    IDCPatchDataset.from_directory(hostile["root"], cache_dir=cache_dir, progress=True)
    assert "decoding" in capsys.readouterr().err
    IDCPatchDataset.from_directory(hostile["root"], cache_dir=cache_dir, progress=False)
    assert capsys.readouterr().err == ""


def test_labels_and_positions_are_integer_arrays(hostile, cache_dir):
    ds = _open(hostile, cache_dir)
    for arr in (ds.labels, ds.x, ds.y):
        assert arr.dtype == np.int64 and arr.shape == (len(ds),)
        assert not arr.flags.writeable


def test_without_label_group_or_class_folder_a_file_has_no_label(tmp_path, hostile, cache_dir):
    root = tmp_path / "flat"
    root.mkdir()
    rel = next(iter(hostile["pixels"]))
    (root / "case1-x0-y0.png").write_bytes((hostile["root"] / rel).read_bytes())
    (root / "c1").mkdir()
    (root / "c1" / "1").mkdir()
    (root / "c1" / "1" / "case1-x50-y0.png").write_bytes((hostile["root"] / rel).read_bytes())
    ds = IDCPatchDataset.from_directory(
        root,
        pattern=r"case(?P<patient>\d+)-x(?P<x>\d+)-y(?P<y>\d+)\.png",
        cache_dir=cache_dir,
        progress=False,
    )
    assert len(ds) == 1 and ds.labels.tolist() == [1]
    assert ds.report.skipped == {"no_label": 1}
