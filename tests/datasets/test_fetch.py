"""fetch_idc, entirely offline: archives built in tmp_path and served from file:// URLs."""

import hashlib
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idckit.datasets import DEFAULT_URL, UnsafeArchiveError, fetch_idc
from idckit.datasets._extract import _check_name

PATCHES = {
    "8863/0/8863_idx5_x1_y1_class0.png": b"png-a",
    "8863/1/8863_idx5_x51_y1_class1.png": b"png-b",
    "10253/0/10253_idx5_x1_y51_class0.png": b"png-c",
}


def make_zip(path, members, symlinks=()):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for name, target in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return path


def make_tar(path, members, extra=()):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra:
            archive.addfile(info)
    return path


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_tree(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_fetches_and_extracts_a_zip(tmp_path):
    archive = make_zip(tmp_path / "IDC_regular_ps50_idx5.zip", PATCHES)
    root = fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False)
    assert root == tmp_path / "data" / "IDC_regular_ps50_idx5"
    assert read_tree(root) == PATCHES
    assert (tmp_path / "data" / "IDC_regular_ps50_idx5.zip").read_bytes() == archive.read_bytes()


def test_fetches_and_extracts_a_tar_gz(tmp_path):
    archive = make_tar(tmp_path / "idc.tar.gz", PATCHES)
    root = fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False)
    assert root == tmp_path / "data" / "idc"
    assert read_tree(root) == PATCHES


def test_kaggle_layout_returns_the_top_folder_not_the_nested_copy(tmp_path):
    nested = {f"IDC_regular_ps50_idx5/{name}": data for name, data in PATCHES.items()}
    archive = make_zip(tmp_path / "archive.zip", {**PATCHES, **nested})
    root = fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False)
    assert root == tmp_path / "data" / "archive"
    assert (root / "IDC_regular_ps50_idx5" / "8863" / "0").is_dir()


def test_a_wrapper_folder_is_descended_into(tmp_path):
    wrapped = {f"IDC_regular_ps50_idx5/{name}": data for name, data in PATCHES.items()}
    wrapped["__MACOSX/._junk"] = b""
    archive = make_zip(tmp_path / "wrapped.zip", wrapped)
    root = fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False)
    assert root == tmp_path / "data" / "wrapped" / "IDC_regular_ps50_idx5"


def test_archive_without_patient_folders_is_a_clear_error(tmp_path):
    archive = make_zip(tmp_path / "other.zip", {"a/b.txt": b"x", "c/d.txt": b"y"})
    with pytest.raises(ValueError, match="No patient folders found"):
        fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False)


def test_checksum_success(tmp_path):
    archive = make_zip(tmp_path / "idc.zip", PATCHES)
    root = fetch_idc(
        tmp_path / "data", url=archive.as_uri(), sha256=sha256(archive).upper(), progress=False
    )
    assert read_tree(root) == PATCHES


def test_checksum_mismatch_removes_the_download(tmp_path):
    archive = make_zip(tmp_path / "idc.zip", PATCHES)
    wrong = "0" * 64
    with pytest.raises(ValueError, match=f"Invalid `sha256`.*hashes to '{sha256(archive)}'"):
        fetch_idc(tmp_path / "data", url=archive.as_uri(), sha256=wrong, progress=False)
    assert list((tmp_path / "data").iterdir()) == []  # no archive, no partial file


def test_second_call_reuses_the_archive_and_extraction(tmp_path):
    archive = make_zip(tmp_path / "idc.zip", PATCHES)
    digest = sha256(archive)
    first = fetch_idc(tmp_path / "data", url=archive.as_uri(), sha256=digest, progress=False)
    archive.unlink()  # the source is gone: only a cached result can satisfy the next calls
    assert fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False) == first
    assert fetch_idc(tmp_path / "data", url=archive.as_uri(), sha256=digest, progress=False)
    with pytest.raises(OSError, match="Could not download"):
        fetch_idc(tmp_path / "data", url=archive.as_uri(), overwrite=True, progress=False)


def test_a_corrupt_cached_archive_is_downloaded_again(tmp_path):
    archive = make_zip(tmp_path / "idc.zip", PATCHES)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "idc.zip").write_bytes(b"truncated")
    root = fetch_idc(
        tmp_path / "data", url=archive.as_uri(), sha256=sha256(archive), progress=False
    )
    assert read_tree(root) == PATCHES


def test_overwrite_extracts_again(tmp_path):
    archive = make_zip(tmp_path / "idc.zip", PATCHES)
    root = fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False)
    (root / "8863" / "0" / "stray.png").write_bytes(b"old")
    fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False, overwrite=True)
    assert read_tree(root) == PATCHES


def test_progress_bar_is_shown(tmp_path, capsys):
    archive = make_zip(tmp_path / "idc.zip", PATCHES)
    fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=True)
    assert "idc.zip" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("members", "symlinks", "match"),
    [
        ({"../evil.png": b"x"}, (), "contains '..'"),
        ({"8863/0/../../../evil.png": b"x"}, (), "contains '..'"),
        ({"/tmp/evil.png": b"x"}, (), "absolute path"),
        ({"C:/evil.png": b"x"}, (), "absolute path"),
        ({"8863\\..\\..\\evil.png": b"x"}, (), "contains '..'"),
        (PATCHES, [("8863/up", "../../..")], "links outside"),
        (PATCHES, [("8863/etc", "/etc")], "links outside"),
    ],
)
def test_malicious_zips_are_rejected(tmp_path, members, symlinks, match):
    archive = make_zip(tmp_path / "evil.zip", members, symlinks)
    with pytest.raises(UnsafeArchiveError, match=match):
        fetch_idc(tmp_path / "a" / "b" / "data", url=archive.as_uri(), progress=False)
    assert not list(tmp_path.rglob("evil.png"))
    assert [p.name for p in (tmp_path / "a" / "b" / "data").iterdir()] == ["evil.zip"]


@pytest.mark.parametrize(
    ("members", "extra", "match"),
    [
        ({"../evil.png": b"x"}, (), "contains '..'"),
        ({"/tmp/evil.png": b"x"}, (), "absolute path"),
        (PATCHES, [link("8863/up", "../../../..")], "links outside"),
        (PATCHES, [link("8863/etc", "/etc/passwd")], "links outside"),
        (PATCHES, [link("8863/hard", "../outside", tarfile.LNKTYPE)], "links outside"),
        (PATCHES, [link("8863/fifo", "", tarfile.FIFOTYPE)], "device or FIFO"),
    ],
)
def test_malicious_tars_are_rejected(tmp_path, members, extra, match):
    archive = make_tar(tmp_path / "evil.tar.gz", members, extra)
    with pytest.raises(UnsafeArchiveError, match=match):
        fetch_idc(tmp_path / "a" / "b" / "data", url=archive.as_uri(), progress=False)
    assert not list(tmp_path.rglob("evil.png"))


def test_links_inside_the_archive_are_refused_too(tmp_path):
    # Policy since issue 21: no link is extracted (the IDC archive has none), so that no chain
    # of links can lead a later member out of the folder (tests/datasets/test_fetch_hostile.py).
    archive = make_tar(tmp_path / "idc.tar.gz", PATCHES, [link("8863/alias", "0")])
    with pytest.raises(UnsafeArchiveError, match="'8863/alias' is a link"):
        fetch_idc(tmp_path / "data", url=archive.as_uri(), progress=False)
    assert not list((tmp_path / "data").glob("idc*/8863"))


def test_a_file_that_is_not_an_archive_is_a_clear_error(tmp_path):
    page = tmp_path / "idc.zip"
    page.write_text("<html>Sign in to continue</html>")
    with pytest.raises(ValueError, match="neither a zip nor a tar archive"):
        fetch_idc(tmp_path / "data", url=page.as_uri(), progress=False)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"url": "ftp://example.org/idc.zip"}, r"Invalid `url`.*http://, https:// or file://"),
        ({"url": "idc.zip"}, r"Invalid `url`"),
        ({"url": "file:///"}, r"Invalid `url`.*ends with the archive's file name"),
        ({"sha256": "abc"}, r"Invalid `sha256`.*64 hexadecimal digits"),
    ],
)
def test_invalid_arguments_are_clear_errors(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fetch_idc(tmp_path / "data", progress=False, **kwargs)
    assert not (tmp_path / "data").exists()


def test_default_url_is_the_authors_https_archive():
    assert DEFAULT_URL.startswith("https://") and DEFAULT_URL.endswith(".zip")


@given(st.lists(st.sampled_from(["8863", "0", "a.png", "..", ".", "x"]), min_size=1, max_size=6))
def test_any_name_with_a_dotdot_component_is_rejected(parts):
    name = "/".join(parts)
    if ".." in parts:
        with pytest.raises(UnsafeArchiveError):
            _check_name(Path("x.zip"), name)
    else:
        _check_name(Path("x.zip"), name)
