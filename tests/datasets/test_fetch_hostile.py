"""Hostile archives and broken downloads for fetch_idc (issue 21, classes 1 and 2).

Entirely offline: archives are built in temporary folders and served from ``file://`` URLs or
by a monkeypatched ``urlopen``; nothing touches the network.
"""

import email.message
import http.client
import io
import os
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.datasets import UnsafeArchiveError, _download, _extract, _fetch, fetch_idc

PATCHES = {
    "8863/0/8863_idx5_x1_y1_class0.png": b"png-a",
    "8863/1/8863_idx5_x51_y1_class1.png": b"png-b",
}
URL = "https://example.invalid/idc.zip"  # served by FakeResponse only


def zip_bytes(members, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                archive.writestr(data, b"")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(entries, mode="w:gz"):
    """``entries``: (name, bytes) for files, or ready TarInfo objects (links, devices)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                archive.addfile(entry)
            else:
                info = tarfile.TarInfo(entry[0])
                info.size = len(entry[1])
                archive.addfile(info, io.BytesIO(entry[1]))
    return buffer.getvalue()


def tar_entry(name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def serve(tmp_path, name, data):
    path = tmp_path / "src" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path.as_uri()


def leftovers(folder):
    """Everything in ``folder`` but the archive: staging folders, .part files, extractions."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("idc."))


# The chain of the audit: each link alone stays inside, together they lead two levels up.
CHAIN = [
    tar_entry("y", tarfile.SYMTYPE, "."),
    tar_entry("x", tarfile.SYMTYPE, "y/.."),
    tar_entry("x/y2", tarfile.SYMTYPE, "."),
    tar_entry("x/x2", tarfile.SYMTYPE, "y2/.."),
    ("x/x2/FILE", b"escaped"),
]


@pytest.fixture(params=["with data_filter", "without data_filter"])
def stdlib_filter(request, monkeypatch):
    """Run a test with the interpreter's ``tarfile.data_filter`` and as if it had none."""
    if request.param == "without data_filter":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this interpreter has no tarfile.data_filter")
    return request.param


# --- class 1: archive extraction -------------------------------------------------------------


def test_a_chain_of_links_is_refused_with_and_without_the_stdlib_filter(tmp_path, stdlib_filter):
    url = serve(tmp_path, "idc.tar", tar_bytes(CHAIN, "w"))
    dest = tmp_path / "a" / "b" / "data"
    with pytest.raises(UnsafeArchiveError, match="member 'y' is a link"):
        fetch_idc(dest, url=url, progress=False)
    assert not [p for p in tmp_path.rglob("FILE")]
    assert leftovers(dest) == []


@pytest.mark.parametrize(
    ("entries", "member"),
    [
        ([tar_entry("8863/etc", tarfile.SYMTYPE, "/etc/passwd")], "'8863/etc'"),
        ([tar_entry("8863/up", tarfile.SYMTYPE, "../../..")], "'8863/up'"),
        ([tar_entry("8863/hard", tarfile.LNKTYPE, "../outside")], "'8863/hard'"),
        ([tar_entry("8863/fifo", tarfile.FIFOTYPE)], "'8863/fifo'"),
        ([("../evil.png", b"x")], "'../evil.png'"),
    ],
)
def test_the_stdlib_filter_errors_never_leak(tmp_path, monkeypatch, entries, member):
    # Switch idckit's own link and name checks off: the stdlib filter alone must catch these,
    # and its FilterError must come out as UnsafeArchiveError naming the member.
    if not hasattr(tarfile, "data_filter"):
        pytest.skip("this interpreter has no tarfile.data_filter")
    monkeypatch.setattr(_extract, "_check_tar_type", lambda archive, m: None)
    monkeypatch.setattr(_extract, "_check_name", lambda archive, name: tuple(name.split("/")))
    url = serve(tmp_path, "idc.tar", tar_bytes(entries, "w"))
    with pytest.raises(UnsafeArchiveError, match=f"member {member} is refused by the standard"):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert not [p for p in tmp_path.rglob("FILE")]


def test_any_error_of_a_data_filter_becomes_unsafe_archive_error(tmp_path, monkeypatch):
    def data_filter(member, dest):
        raise tarfile.TarError(f"no {member.name}")

    monkeypatch.setattr(tarfile, "data_filter", data_filter, raising=False)
    url = serve(tmp_path, "idc.tar.gz", tar_bytes(PATCHES.items()))
    with pytest.raises(UnsafeArchiveError, match=r"'8863/0/.*data filter \(TarError: no 8863"):
        fetch_idc(tmp_path / "data", url=url, progress=False)


@pytest.mark.parametrize(
    "entry",
    [
        tar_entry("8863/alias", tarfile.SYMTYPE, "0"),
        tar_entry("8863/hard", tarfile.LNKTYPE, "8863/0/8863_idx5_x1_y1_class0.png"),
        tar_entry("8863/up", tarfile.LNKTYPE, "../../outside"),
        tar_entry("8863/chr", tarfile.CHRTYPE),
        tar_entry("8863/blk", tarfile.BLKTYPE),
        tar_entry("8863/fifo", tarfile.FIFOTYPE),
    ],
    ids=["symlink-inside", "hardlink-inside", "hardlink-outside", "chr", "blk", "fifo"],
)
def test_links_and_special_tar_members_are_refused(tmp_path, stdlib_filter, entry):
    url = serve(tmp_path, "idc.tar.gz", tar_bytes([*PATCHES.items(), entry]))
    with pytest.raises(UnsafeArchiveError, match=f"member '{entry.name}' (is a|links outside)"):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert leftovers(tmp_path / "data") == []


@pytest.mark.parametrize(
    ("mode", "match"),
    [(stat.S_IFLNK | 0o777, "is a link"), (stat.S_IFIFO | 0o644, "is a device or FIFO"),
     (stat.S_IFCHR | 0o644, "is a device or FIFO")],
)  # fmt: skip
def test_links_and_special_zip_members_are_refused(tmp_path, mode, match):
    info = zipfile.ZipInfo("8863/special")
    info.external_attr = mode << 16
    url = serve(tmp_path, "idc.zip", zip_bytes({**PATCHES, info.filename: info}))
    with pytest.raises(UnsafeArchiveError, match=f"'8863/special' {match}"):
        fetch_idc(tmp_path / "data", url=url, progress=False)


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_a_link_already_in_the_destination_is_not_followed_out(tmp_path, stdlib_filter, kind):
    archive = tmp_path / f"idc.{kind}"
    data = zip_bytes(PATCHES) if kind == "zip" else tar_bytes(PATCHES.items(), "w")
    archive.write_bytes(data)
    dest, outside = tmp_path / "dest", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "8863").symlink_to(outside)
    match = "'8863/0/.*(resolves to|refused by the standard library's data filter).*outside"
    with pytest.raises(UnsafeArchiveError, match=match):
        _extract._extract_archive(archive, dest)
    assert list(outside.iterdir()) == []


def test_the_audit_zip_bomb_is_refused_by_the_default_limits(tmp_path):
    # ~100 KB of zip that declares 10 x 10 MiB of zeros: past 20 x its size and the 64 MiB floor.
    bomb = zip_bytes({f"8863/0/{i}.png": bytes(10 << 20) for i in range(10)})
    assert len(bomb) < 200_000
    url = serve(tmp_path, "idc.zip", bomb)
    with pytest.raises(UnsafeArchiveError, match=r"'8863/0/\d.png' takes the archive past the"):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert leftovers(tmp_path / "data") == []


@pytest.mark.parametrize("kind", ["zip", "tar"])
@pytest.mark.parametrize(
    ("limit", "value", "match"),
    [
        ("_MAX_MEMBER_BYTES", 4, "declares 5 bytes, more than the limit of 4 bytes per member"),
        ("_MAX_TOTAL_BYTES", 8, "takes the archive past the limit of 8 bytes"),
        ("_MAX_MEMBERS", 1, "is past the limit of 1 members"),
    ],
)
def test_declared_sizes_and_counts_are_capped(tmp_path, monkeypatch, kind, limit, value, match):
    monkeypatch.setattr(_extract, limit, value)
    data = zip_bytes(PATCHES) if kind == "zip" else tar_bytes(PATCHES.items())
    url = serve(tmp_path, f"idc.{kind}", data)
    with pytest.raises(UnsafeArchiveError, match=match):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert leftovers(tmp_path / "data") == []


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_a_member_that_expands_past_its_header_is_stopped_and_cleaned_up(
    tmp_path, monkeypatch, kind
):
    # zipfile and tarfile stop at the declared size themselves; idckit counts the bytes it
    # writes anyway, in case a decoder does not. A lying decoder stands in for that case.
    def lying_open(self, *args, **kwargs):
        return io.BytesIO(b"z" * 4096)

    data = zip_bytes(PATCHES) if kind == "zip" else tar_bytes(PATCHES.items())
    url = serve(tmp_path, f"idc.{kind}", data)
    target = (zipfile.ZipFile, "open") if kind == "zip" else (tarfile.TarFile, "extractfile")
    monkeypatch.setattr(*target, lying_open)
    with pytest.raises(UnsafeArchiveError, match="expands past the 5 bytes it declares"):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert leftovers(tmp_path / "data") == []  # the half-written staging folder is gone


@pytest.mark.parametrize("kind", ["zip", "tar"])
@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("8863/0/" + "a" * 300 + ".png", "path component of 304 characters, longer than the 255"),
        ("/".join(["d" * 250] * 20) + "/x.png", "cannot be created on this file system"),
    ],
    ids=["300-char-component", "5000-char-path"],
)
def test_names_the_file_system_cannot_hold_are_clear_errors(tmp_path, kind, name, match):
    members = {**PATCHES, name: b"x"}
    data = zip_bytes(members) if kind == "zip" else tar_bytes(members.items())
    url = serve(tmp_path, f"idc.{kind}", data)
    with pytest.raises(UnsafeArchiveError, match=f"member '{name[:20]}.*{match}"):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert leftovers(tmp_path / "data") == []


def test_a_file_where_a_folder_must_go_is_a_clear_error(tmp_path):
    url = serve(tmp_path, "idc.zip", zip_bytes({"8863": b"file", **PATCHES}))
    with pytest.raises(UnsafeArchiveError, match=r"'8863/0/.*cannot be created on this file sys"):
        fetch_idc(tmp_path / "data", url=url, progress=False)


def test_a_member_without_a_file_name_is_refused(tmp_path):
    url = serve(tmp_path, "idc.tar", tar_bytes([*PATCHES.items(), (".", b"x")], "w"))
    with pytest.raises(UnsafeArchiveError, match=r"member '.' has no file name"):
        fetch_idc(tmp_path / "data", url=url, progress=False)


# Fuzz: whatever the bytes, fetch_idc ends with idckit's ValueError family, never another
# exception or a hang. Each example gets its own folder (tmp_path is shared across examples).
VALID = {
    "zip": zip_bytes(PATCHES),
    "tar.gz": tar_bytes(PATCHES.items()),
    "tar": tar_bytes([*PATCHES.items(), tar_entry("8863/d", tarfile.DIRTYPE)], "w"),
}


def fetch_bytes(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / f"idc.{suffix}"
        source.write_bytes(data)
        try:
            root = fetch_idc(Path(tmp) / "data", url=source.as_uri(), progress=False)
        except ValueError:  # UnsafeArchiveError, damaged or not an archive, no patient folders
            return
        assert root.is_dir()


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=600), suffix=st.sampled_from(["zip", "tar.gz", "tar"]))
def test_fuzz_random_bytes_end_in_a_value_error(data, suffix):
    fetch_bytes(data, suffix)


@settings(max_examples=120, deadline=None)
@given(
    kind=st.sampled_from(sorted(VALID)),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_fuzz_mutated_archives_end_in_a_value_error(kind, edits, cut):
    data = bytearray(VALID[kind])
    for position, value in edits:
        data[position % len(data)] = value
    fetch_bytes(bytes(data[:cut]), kind)


# --- class 2: downloads ------------------------------------------------------------------------


class FakeResponse:
    """What ``urlopen`` returns, with chosen headers and body; ``fail_at`` raises mid-body."""

    def __init__(self, body, fail_at=None, **headers):
        self.headers = email.message.Message()
        for key, value in headers.items():
            self.headers[key.replace("_", "-")] = value
        self.body = io.BytesIO(body)
        self.fail_at = fail_at

    def read(self, size=-1):
        if self.fail_at is not None and self.body.tell() >= self.fail_at:
            raise http.client.IncompleteRead(b"", 1)
        if self.fail_at is not None:
            size = self.fail_at - self.body.tell()
        return self.body.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def serve_fake(monkeypatch, *responses):
    queue = list(responses)
    monkeypatch.setattr(_download.urllib.request, "urlopen", lambda url, timeout: queue.pop(0))


ARCHIVE = zip_bytes(PATCHES)


@pytest.mark.parametrize(
    ("response", "error", "match"),
    [
        (FakeResponse(ARCHIVE[:-30], Content_Length=str(len(ARCHIVE))), OSError,
         rf"was cut short: received {len(ARCHIVE) - 30:,} of {len(ARCHIVE):,} bytes"),
        (FakeResponse(ARCHIVE, fail_at=100, Content_Length=str(len(ARCHIVE))), OSError,
         "was interrupted after 100 bytes .IncompleteRead"),
        (FakeResponse(b"<html>Sign in</html>", Content_Type="text/html; charset=utf-8"),
         ValueError, r"neither a zip nor a tar archive: the server sent a web page \(text/html"),
        (FakeResponse(b"\n <!DOCTYPE html><p>Quota exceeded", Content_Type="application/zip"),
         ValueError, "neither a zip nor a tar archive: it starts b'\\\\n <!DOCTYPE"),
        (FakeResponse(b"\x00\x01 not an archive" * 10), ValueError,
         "neither a zip nor a tar archive: it starts b'\\\\x00"),
    ],
    ids=["cut-short", "connection-dropped", "html-content-type", "html-body", "junk"],
)  # fmt: skip
def test_a_bad_download_is_refused_and_never_kept(tmp_path, monkeypatch, response, error, match):
    serve_fake(monkeypatch, response, FakeResponse(ARCHIVE, Content_Length=str(len(ARCHIVE))))
    with pytest.raises(error, match=match):
        fetch_idc(tmp_path / "data", url=URL, progress=False)
    assert list((tmp_path / "data").iterdir()) == []  # no archive, no .part
    root = fetch_idc(tmp_path / "data", url=URL, progress=False)  # the next call starts afresh
    assert (root / "8863" / "0" / "8863_idx5_x1_y1_class0.png").read_bytes() == b"png-a"


def test_the_archive_appears_only_after_verification(tmp_path, monkeypatch):
    seen = []

    class Watching(FakeResponse):
        def read(self, size=-1):
            seen.append(sorted(p.name for p in (tmp_path / "data").iterdir()))
            return super().read(size)

    serve_fake(monkeypatch, Watching(ARCHIVE, Content_Length=str(len(ARCHIVE))))
    fetch_idc(tmp_path / "data", url=URL, progress=False)
    host = socket.gethostname()
    assert all(len(names) == 1 for names in seen)
    assert seen[0][0].startswith(f".idc.zip.{host}-{os.getpid()}-")
    assert seen[0][0].endswith(".part")


def dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


@pytest.mark.parametrize(
    ("name", "age", "removed"),
    [
        (lambda: f".idc.zip.{socket.gethostname()}-{dead_pid()}-abc123.part", 0, True),
        (lambda: f".idc.zip.{socket.gethostname()}-{os.getppid()}-abc123.part", 0, False),
        (lambda: ".idc.zip.k2j4h5gq.part", 0, True),  # an older idckit's name
        (lambda: ".idc.zip.other-host.lan-42-abc123.part", 2 * 3600, True),
        (lambda: ".idc.zip.other-host.lan-42-abc123.part", 60, False),
        (lambda: ".other.zip.k2j4h5gq.part", 0, False),  # another archive's download
    ],
    ids=["killed-here", "live-here", "legacy", "other-host-stale", "other-host-live", "other"],
)
def test_a_part_file_of_a_killed_download_is_removed(tmp_path, name, age, removed):
    source = tmp_path / "idc.zip"
    source.write_bytes(ARCHIVE)
    dest = tmp_path / "data"
    dest.mkdir()
    part = dest / name()
    part.write_bytes(ARCHIVE[:100])
    os.utime(part, (time.time() - age, time.time() - age))
    fetch_idc(dest, url=source.as_uri(), progress=False)
    assert part.exists() is not removed


@pytest.mark.parametrize(
    ("cached", "why"),
    [
        (ARCHIVE[: len(ARCHIVE) // 2], "neither a zip nor a tar"),  # a zip cut short
        (b"<html>Sign in</html>", "neither a zip nor a tar"),  # an HTML page kept as the zip
    ],
)
def test_a_damaged_cached_archive_is_downloaded_again(tmp_path, cached, why):
    source = tmp_path / "idc.zip"
    source.write_bytes(ARCHIVE)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "idc.zip").write_bytes(cached)
    with pytest.warns(
        UserWarning, match=rf"idc.zip' from an earlier download is damaged \(it is {why}"
    ):
        root = fetch_idc(tmp_path / "data", url=source.as_uri(), progress=False)
    assert (root / "8863" / "1" / "8863_idx5_x51_y1_class1.png").read_bytes() == b"png-b"


def test_a_cached_tar_damaged_past_its_first_member_is_downloaded_again(tmp_path):
    whole = tar_bytes([*PATCHES.items(), ("8863/0/big.png", os.urandom(50_000))])
    source = tmp_path / "idc.tar.gz"
    source.write_bytes(whole)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "idc.tar.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.warns(UserWarning, match="idc.tar.gz' from an earlier download is damaged"):
        root = fetch_idc(tmp_path / "data", url=source.as_uri(), progress=False)
    assert (root / "8863" / "0" / "big.png").stat().st_size == 50_000


def test_a_damaged_fresh_download_is_deleted_with_a_clear_error(tmp_path):
    whole = tar_bytes([*PATCHES.items(), ("8863/0/big.png", os.urandom(50_000))])
    url = serve(tmp_path, "idc.tar.gz", whole[: len(whole) // 2])  # the source itself is cut
    with pytest.raises(ValueError, match=r"'idc.tar.gz': the archive is damaged .*It was deleted"):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_the_default_url_is_checked_against_its_pinned_digest(tmp_path, monkeypatch):
    url = serve(tmp_path, "idc.zip", ARCHIVE)
    monkeypatch.setattr(_fetch, "DEFAULT_URL", url)
    monkeypatch.setattr(_fetch, "DEFAULT_SHA256", "0" * 64)
    with pytest.raises(ValueError, match=r"Invalid `sha256`.*was deleted"):
        fetch_idc(tmp_path / "data", url=url, progress=False)
    assert list((tmp_path / "data").iterdir()) == []


def test_the_pinned_digest_is_unset_or_a_sha256():
    digest = _fetch.DEFAULT_SHA256
    assert digest is None or (len(digest) == 64 and set(digest) <= set("0123456789abcdef"))
