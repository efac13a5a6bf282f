"""Issue 21, class 5: hostile names and contents end as counted skips (or PatchError), never
as other exceptions, and ``index``, ``index --verify`` and ``cache`` agree on each of them.

The cases live in the hostile corpus (``hostile["hostile_names"]``: relpath -> reason).
"""

from __future__ import annotations

import os
import re
import shutil

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import idckit.data._decode as decode_module
from idckit.cli import main
from idckit.data import DEFAULT_PATTERN, IDCPatchDataset, PatchError, PatchRecord, ScanReport
from idckit.data._decode import OK, OVERSIZE, PADDED, UNDECODABLE, decode_bytes, header_status
from idckit.data._records import MAX_COORDINATE, ParsedName, parse_name, parse_or_reason
from idckit.data._report import SKIP_REASONS
from idckit.data._scan import scan_tree

_VERIFY = {"index": False, "index --verify": True}


def _listed(report, root):
    return {os.path.relpath(p, root): r for p, r in report.skipped_files}


@pytest.mark.parametrize("how", ["index", "index --verify", "cache"])
def test_every_hostile_name_is_a_counted_skip_with_its_reason(hostile, cache_dir, how):
    if how == "cache":
        report = IDCPatchDataset.from_directory(
            hostile["root"], cache_dir=cache_dir, progress=False
        ).report
    else:
        report = scan_tree(hostile["root"], pattern=DEFAULT_PATTERN, verify=_VERIFY[how])
    listed = _listed(report, hostile["root"])
    for rel, reason in hostile["hostile_names"].items():
        assert listed.get(rel) == reason, rel
    assert report.n_files == report.n_patches + report.duplicates + report.n_skipped
    assert set(report.skipped) <= set(SKIP_REASONS)


def _single(hostile, tmp_path, rel):
    """A tree holding only the hostile file ``rel`` (a link stays a link)."""
    root = tmp_path / "single"
    src = os.path.join(hostile["root"], rel)
    dst = os.path.join(root, rel)
    os.makedirs(os.path.dirname(dst))
    shutil.copy(src, dst, follow_symlinks=False)
    return root


@pytest.mark.parametrize("how", ["index", "index --verify", "cache"])
def test_strict_mode_fails_on_each_hostile_name(hostile, tmp_path, how):
    for i, (rel, reason) in enumerate(sorted(hostile["hostile_names"].items())):
        root = _single(hostile, tmp_path / str(i), rel)
        with pytest.raises(PatchError) as info:
            if how == "cache":
                IDCPatchDataset.from_directory(
                    root, cache_dir=tmp_path / "c", on_error="raise", progress=False
                )
            else:
                ScanReport.from_directory(root, verify=_VERIFY[how], on_error="raise")
        assert info.value.reason == reason, rel


@pytest.mark.parametrize("verify", [[], ["--verify"]])
def test_idckit_index_strict_fails_on_a_dangling_link(hostile, tmp_path, capsys, verify):
    rel = next(r for r, why in hostile["hostile_names"].items() if why == "broken_link")
    root = _single(hostile, tmp_path, rel)
    assert main(["index", str(root), "--strict", *verify]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken_link" in err and "Traceback" not in err


def _deny_reading(monkeypatch, target):
    """Make ``target`` unreadable: by its mode, or (root reads whatever the mode) by refusing
    the decoder's two ways of opening it with the error the mode would give."""
    if os.geteuid() != 0:
        target.chmod(0)
        return
    denied = PermissionError(13, "Permission denied", str(target))
    real_open, real_read = open, decode_module.read_file

    def guarded_open(path, *args, **kwargs):
        if os.fspath(path) == str(target):
            raise denied
        return real_open(path, *args, **kwargs)

    def guarded_read(path):
        if os.fspath(path) == str(target):
            raise denied
        return real_read(path)

    monkeypatch.setattr(decode_module, "open", guarded_open, raising=False)
    monkeypatch.setattr(decode_module, "read_file", guarded_read)


def test_an_unreadable_file_is_a_counted_skip(hostile, tmp_path, cache_dir, monkeypatch):
    rel = next(iter(hostile["pixels"]))
    root = tmp_path / "locked"
    target = root / rel
    target.parent.mkdir(parents=True)
    shutil.copy(hostile["root"] / rel, target)
    shutil.copy(hostile["root"] / rel, target.with_name(rel.rsplit("/")[-1].replace("_x", "_x9")))
    _deny_reading(monkeypatch, target)
    try:
        for verify in (False, True):
            report = scan_tree(root, pattern=DEFAULT_PATTERN, verify=verify)
            assert report.skipped == {"unreadable": 1} and report.n_patches == 1
        ds = IDCPatchDataset.from_directory(root, cache_dir=cache_dir, progress=False)
        assert ds.report.skipped == {"unreadable": 1}
    finally:
        target.chmod(0o644)


def test_a_png_bomb_is_refused_from_its_header_without_decoding(hostile, monkeypatch):
    rel = next(r for r, why in hostile["hostile_names"].items() if why == "oversize")
    data = (hostile["root"] / rel).read_bytes()
    assert len(data) < 1 << 20  # small on disk, 8000 x 8000 pixels

    def fail(*args, **kwargs):
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(decode_module.cv2, "imdecode", fail)
    for png in (False, True):
        assert decode_bytes(data, 50, "resize", png=png) == (
            None, OVERSIZE, "8000x8000 pixels, patch size 50",
        )  # fmt: skip
    assert header_status(str(hostile["root"] / rel), 50)[0] == OVERSIZE


def test_a_chunk_claiming_gigabytes_is_refused_before_decoding(monkeypatch):
    """Found by the fuzz test below: OpenCV reserved the 2.8 GB this 7 KB file declares."""
    data = bytearray(_valid_png(0, 50, 50))
    assert data[37:41] == b"IDAT"
    data[33] = 0xAA  # the IDAT length: 0xAA00xxxx bytes

    def fail(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(decode_module.cv2, "imdecode", fail)
    assert decode_bytes(bytes(data), 50, "constant") == (
        None, UNDECODABLE, "chunk b'IDAT' runs past the end of the file",
    )  # fmt: skip


def test_a_jpeg_behind_png_is_refused_by_every_path(hostile, tmp_path):
    rel = next(r for r, why in hostile["hostile_names"].items() if r.endswith("x50_y0_class0.png"))
    path = str(hostile["root"] / rel)
    data = (hostile["root"] / rel).read_bytes()
    assert data[:3] == b"\xff\xd8\xff"
    assert header_status(path, 50) == (UNDECODABLE, "no PNG header")
    assert decode_bytes(data, 50, "constant", png=True)[1:] == (UNDECODABLE, "no PNG header")
    jpg = tmp_path / "7_idx5_x0_y0_class0.jpg"  # the same bytes named .jpg are a JPEG patch
    jpg.write_bytes(data)
    assert header_status(str(jpg), 50) == (OK, "")


@pytest.mark.parametrize(
    "name",
    [
        "10005_idx5_x\u0661\u0660\u0660\u0661_y0_class0.png",  # Arabic-Indic digits
        "\u0661\u0660_idx5_x0_y0_class0.png",
        "10005_idx5_x\uff11_y0_class0.png",  # a fullwidth digit
        "10005_idx5_x1_y0_class\u0661.png",
    ],
)
def test_digits_are_ascii_only(name):
    assert parse_name(name) is None
    assert parse_or_reason(name) == "bad_name"
    custom = r"(?P<patient>\d+)_idx5_x(?P<x>\d+)_y(?P<y>\d+)_class(?P<label>\d)\.png"
    if not name.startswith("\u0661"):  # a custom pattern's patient group takes what it says
        assert parse_or_reason(name, re.compile(custom)) == "bad_name"


def test_unicode_x1001_is_not_a_duplicate_of_x1001(tmp_path, cache_dir, hostile):
    src = hostile["root"] / next(iter(hostile["pixels"]))
    folder = tmp_path / "t" / "7" / "0"
    folder.mkdir(parents=True)
    shutil.copy(src, folder / "7_idx5_x1001_y0_class0.png")
    shutil.copy(src, folder / "7_idx5_x\u0661\u0660\u0660\u0661_y0_class0.png")
    ds = IDCPatchDataset.from_directory(tmp_path / "t", cache_dir=cache_dir, progress=False)
    assert ds.report.duplicates == 0 and ds.report.skipped == {"bad_name": 1}


@pytest.mark.parametrize("digits", [19, 20, 40])
def test_a_huge_coordinate_is_a_counted_reason_not_an_overflow(digits):
    big = "9" * digits
    name = f"7_idx5_x{big}_y0_class0.png"
    assert parse_or_reason(name) == "bad_coordinate"
    assert parse_or_reason(f"7_idx5_x{MAX_COORDINATE}_y0_class0.png").x == MAX_COORDINATE
    with pytest.raises(ValueError, match="Invalid `path`"):
        PatchRecord.from_path(f"7/0/{name}")


def test_the_patient_folder_must_agree_with_the_name():
    with pytest.raises(ValueError, match="patient folder"):
        PatchRecord.from_path("data/10001/0/10002_idx5_x0_y0_class0.png")
    assert PatchRecord.from_path("train/0/10002_idx5_x0_y0_class0.png").patient == "10002"


def test_a_patient_folder_that_is_a_file_is_ignored(hostile):
    assert (hostile["root"] / "10004").is_file()
    report = scan_tree(hostile["root"], pattern=DEFAULT_PATTERN)
    assert report.ignored == hostile["ignored"]


# ------------------------------------------------------------------ fuzzing
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.sampled_from(["", "data/7/0/", "x/"]))
def test_fuzz_names_give_a_record_or_a_value_error(text, folder):
    parsed = parse_or_reason(text)
    assert isinstance(parsed, ParsedName) or parsed in SKIP_REASONS
    try:
        record = PatchRecord.from_path(folder + text)
    except ValueError:
        return
    assert isinstance(record, PatchRecord) and 0 <= record.x <= MAX_COORDINATE


@settings(max_examples=100, deadline=None)
@given(
    st.integers(0, 10**30), st.integers(0, 10**30), st.from_regex(r"[0-9]{1,6}", fullmatch=True)
)
def test_fuzz_coordinates_parse_or_are_bad_coordinates(x, y, patient):
    parsed = parse_or_reason(f"{patient}_idx5_x{x}_y{y}_class1.png")
    if max(x, y) > MAX_COORDINATE:
        assert parsed == "bad_coordinate"
    else:
        assert parsed == (patient, x, y, 1)


def _valid_png(seed: int, h: int, w: int) -> bytes:
    rng = np.random.default_rng(seed)
    return cv2.imencode(".png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))[1].tobytes()


_PNG = _valid_png(0, 50, 50)
_STATUSES = {OK, PADDED, OVERSIZE, UNDECODABLE}


def _check_decoded(data, png):
    image, status, detail = decode_bytes(data, 50, "constant", png=png)
    assert status in _STATUSES and isinstance(detail, str)
    if status in (OK, PADDED):
        assert image.shape == (50, 50, 3) and image.dtype == np.uint8
    else:
        assert image is None and detail


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_random_bytes_decode_or_are_refused(data, png):
    _check_decoded(data, png)
    _check_decoded(_PNG[:8] + data, png)
    _check_decoded(_PNG[:33] + data, png)  # a valid IHDR, then anything


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, len(_PNG) - 1), st.integers(0, 255)), max_size=6),
    st.integers(0, len(_PNG)),
    st.booleans(),
)
def test_fuzz_mutated_pngs_decode_or_are_refused(flips, cut, png):
    data = bytearray(_PNG)
    for at, value in flips:
        data[at] = value
    _check_decoded(bytes(data[:cut]), png)
    _check_decoded(bytes(data), png)
