"""Safe extraction of a zip or tar archive: member checks, size caps, atomic placement.

Every member is checked before anything is written: absolute paths and ``..``, every link,
devices and FIFOs, names the file system cannot hold, and the declared sizes against the
decompression-bomb limits; the bytes actually written are counted against them again. Where the
standard library has ``tarfile.data_filter``, tar members must pass it too. What is refused
raises :class:`UnsafeArchiveError`; what cannot be read raises ``_DamagedArchiveError``.

Examples
--------
>>> import pathlib, tempfile, zipfile
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(tmp / "idc.zip", "w") as archive:
...     archive.writestr("../evil.png", b"")
>>> try:
...     _extract_atomically(tmp / "idc.zip", tmp / "idc")
... except UnsafeArchiveError as error:
...     print(error)
Refusing to extract 'idc.zip': member '../evil.png' contains '..'.
>>> sorted(p.name for p in tmp.iterdir())  # a refused extraction leaves nothing behind
['idc.zip']
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import re
import shutil
import stat
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

try:  # optional in minimal Python builds (tarfile then cannot read .tar.xz either)
    from lzma import LZMAError as _LZMAError
except ImportError:  # pragma: no cover - CPython ships lzma
    _LZMAError = zlib.error  # type: ignore[assignment,misc]

_CHUNK = 1 << 20  # bytes copied at a time
#: Written into a finished extraction; its absence means the extraction is to be (re)done.
_DONE_MARKER = ".idckit-extracted"

# Extraction limits. The real archive is ~1.6 GB of zip holding ~3.1 GB of 50x50 PNGs of a few
# kB each (Kaggle's copy holds every patient twice); the limits leave it ample room and stop
# decompression bombs before they fill the disk (an audit's 306 KB zip expanded to 315 MB).
_MAX_TOTAL_BYTES = 16 * 1024**3  # everything the archive declares, and writes, together
_MAX_MEMBER_BYTES = 64 * 1024**2  # any one member
_MAX_RATIO = 20  # total bytes / archive bytes, enforced above _RATIO_FLOOR
_RATIO_FLOOR = 64 * 1024**2
_MAX_MEMBERS = 2_000_000  # the real archive has 277,524 patches (555,048 in Kaggle's copy)
_MAX_NAME_BYTES = 255  # per path component: the limit of ext4, NTFS, APFS and most others
# Errors of creating a member that say its name does not fit this file system or this tree.
_NAME_ERRNOS = {
    errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ, errno.ENOTDIR, errno.EISDIR,
    errno.EEXIST, errno.ELOOP, errno.ENOENT,
}  # fmt: skip
# What reading a damaged archive raises from zipfile, tarfile and the decompressors.
_READ_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError, zlib.error,
    _LZMAError, struct.error, OSError, ValueError, RuntimeError, OverflowError, IndexError,
    KeyError,
)  # fmt: skip


def _extract_atomically(archive: Path, target: Path) -> None:
    """Extract into a temporary sibling, mark it complete, then move it into place."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        _extract_archive(archive, staging)
        (staging / _DONE_MARKER).write_text(archive.name + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class UnsafeArchiveError(ValueError):
    """An archive idckit refuses to extract; the message names the member.

    A member would be written outside the extraction folder, is a link, device or FIFO, has
    a name the file system cannot hold, or breaks the size limits of a decompression bomb.

    Examples
    --------
    >>> issubclass(UnsafeArchiveError, ValueError)
    True
    """


class _DamagedArchiveError(ValueError):
    """The archive cannot be read: cut short, corrupt, or not an archive at all."""


@dataclass(frozen=True)
class _Member:
    """One member to extract: its name as stored, its path parts, kind and declared size."""

    name: str
    parts: tuple[str, ...]
    is_dir: bool
    size: int
    info: Any  # the ZipInfo or TarInfo


@contextlib.contextmanager
def _reading(archive: Path) -> Iterator[None]:
    """Turn whatever reading a damaged archive raises into one clear error."""
    try:
        yield
    except (UnsafeArchiveError, _DamagedArchiveError):
        raise
    except _READ_ERRORS as error:
        raise _DamagedArchiveError(
            f"Cannot extract '{archive.name}': the archive is damaged "
            f"({type(error).__name__}: {error})."
        ) from error


def _extract_archive(archive: Path, dest: Path) -> None:
    """Extract a zip or tar archive after checking every member."""
    with _reading(archive):
        is_zip = zipfile.is_zipfile(archive)
        is_tar = not is_zip and tarfile.is_tarfile(archive)
    if is_zip:
        _extract_zip(archive, dest)
    elif is_tar:
        _extract_tar(archive, dest)
    else:
        raise _DamagedArchiveError(
            f"Cannot extract '{archive}': it is neither a zip nor a tar archive. "
            "Check the URL (an HTML error page is a common culprit)."
        )


def _is_archive(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)
    except _READ_ERRORS:
        return False


def _unsafe(archive: Path, member: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"Refusing to extract '{archive.name}': member {member!r} {why}.")


def _check_name(archive: Path, name: str) -> tuple[str, ...]:
    """Reject absolute names (POSIX or Windows), ``..`` and over-long components.

    Returns the name's path components, without empty and ``.`` ones.
    """
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix):
        raise _unsafe(archive, name, "has an absolute path")
    parts = tuple(part for part in posix.split("/") if part not in ("", "."))
    if ".." in parts:
        raise _unsafe(archive, name, "contains '..'")
    for part in parts:
        if len(part.encode("utf-8", "surrogateescape")) > _MAX_NAME_BYTES:
            raise _unsafe(
                archive,
                name,
                f"has a path component of {len(part)} characters, longer than the "
                f"{_MAX_NAME_BYTES} bytes file systems hold",
            )
    return parts


def _check_link(archive: Path, name: str, target: str, relative_to_member: bool) -> None:
    """Reject every link, naming those whose target leaves the extraction folder."""
    target = target.replace("\\", "/")
    base = posixpath.dirname(name.replace("\\", "/")) if relative_to_member else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise _unsafe(archive, name, f"links outside the extraction folder (to {target!r})")
    raise _unsafe(
        archive,
        name,
        f"is a link (to {target!r}); idckit extracts no links (the IDC archive has none)",
    )


def _member(archive: Path, name: str, is_dir: bool, size: int, info: Any) -> _Member | None:
    parts = _check_name(archive, name)
    if not parts and not is_dir:
        raise _unsafe(archive, name, "has no file name")
    return _Member(name, parts, is_dir, size, info) if parts else None


def _planned(archive: Path, members: Iterable[_Member | None]) -> list[_Member]:
    """Check the declared sizes against the limits, before anything is written."""
    limit = _total_limit(archive)
    planned: list[_Member] = []
    total = 0
    for member in members:
        if member is None:
            continue
        if len(planned) >= _MAX_MEMBERS:
            raise _unsafe(archive, member.name, f"is past the limit of {_MAX_MEMBERS:,} members")
        if member.size > _MAX_MEMBER_BYTES:
            raise _unsafe(
                archive,
                member.name,
                f"declares {member.size:,} bytes, more than the limit of {_MAX_MEMBER_BYTES:,} "
                "bytes per member (a decompression bomb?)",
            )
        total += member.size
        if total > limit:
            raise _unsafe(archive, member.name, f"takes the archive past {_limit_rule(limit)}")
        planned.append(member)
    return planned


def _total_limit(archive: Path) -> int:
    return min(_MAX_TOTAL_BYTES, max(_RATIO_FLOOR, _MAX_RATIO * archive.stat().st_size))


def _limit_rule(limit: int) -> str:
    return (
        f"the limit of {limit:,} bytes extracted in all ({_MAX_RATIO} times the archive's "
        f"size, at least {_RATIO_FLOOR:,} and at most {_MAX_TOTAL_BYTES:,}; a decompression bomb?)"
    )


def _write(archive: Path, dest: Path, members: list[_Member], source: Any) -> None:
    """Write ``members`` under ``dest``, counting the bytes each one really expands to.

    ``source(member)`` opens a member's data. Every path is resolved on disk before it is
    written, so that no link (none is extracted, but ``dest`` may hold some) leads outside.
    """
    root = dest.resolve()
    budget = _total_limit(archive)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    for member in members:
        with _creating(archive, member):
            path = _inside(archive, root, member)
            if member.is_dir:
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(handle, "wb") as out:
            with _reading(archive):
                data = source(member)
            with data:
                budget -= _copy(archive, member, data, out, budget)


def _inside(archive: Path, root: Path, member: _Member) -> Path:
    path = root.joinpath(*member.parts)
    real = path.resolve()
    if real != root and root not in real.parents:
        raise _unsafe(archive, member.name, f"resolves to '{real}', outside the extraction folder")
    return path


@contextlib.contextmanager
def _creating(archive: Path, member: _Member) -> Iterator[None]:
    """Turn a file-system error about the member's name into idckit's error."""
    try:
        yield
    except RuntimeError as error:  # Path.resolve on a link loop (Python < 3.13)
        raise _unsafe(archive, member.name, f"cannot be resolved ({error})") from error
    except OSError as error:
        if error.errno not in _NAME_ERRNOS:
            raise
        raise _unsafe(
            archive,
            member.name,
            f"cannot be created on this file system ({error.strerror or error})",
        ) from error


def _copy(archive: Path, member: _Member, data: IO[bytes], out: IO[bytes], budget: int) -> int:
    written = 0
    while True:
        with _reading(archive):
            chunk = data.read(_CHUNK)
        if not chunk:
            return written
        written += len(chunk)
        if written > member.size or written > budget:
            raise _unsafe(
                archive,
                member.name,
                f"expands past the {member.size:,} bytes it declares (a decompression bomb?)"
                if written > member.size
                else f"takes the archive past {_limit_rule(_total_limit(archive))}",
            )
        out.write(chunk)


def _extract_zip(archive: Path, dest: Path) -> None:
    with _reading(archive):  # only reading is guarded: a full disk is no damaged archive
        zipped = zipfile.ZipFile(archive)
    with zipped:
        with _reading(archive):
            members = _planned(
                archive, (_zip_member(archive, zipped, i) for i in zipped.infolist())
            )
        _write(archive, dest, members, lambda member: zipped.open(member.info))


def _zip_member(archive: Path, zipped: zipfile.ZipFile, info: zipfile.ZipInfo) -> _Member | None:
    _check_name(archive, info.filename)
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        target = zipped.read(info)[:4096] if info.file_size <= 4096 else b"?"
        _check_link(archive, info.filename, target.decode("utf-8", "replace"), True)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _unsafe(archive, info.filename, "is a device or FIFO")
    is_dir = info.is_dir() or kind == stat.S_IFDIR
    return _member(archive, info.filename, is_dir, 0 if is_dir else info.file_size, info)


def _extract_tar(archive: Path, dest: Path) -> None:
    with _reading(archive):
        tarred = tarfile.open(archive)  # noqa: SIM115 - closed by `with tarred` below
    with tarred:
        with _reading(archive):
            members = _planned(archive, (_tar_member(archive, m, dest) for m in tarred))
        _write(archive, dest, members, lambda member: tarred.extractfile(member.info))


def _tar_member(archive: Path, member: tarfile.TarInfo, dest: Path) -> _Member | None:
    _check_name(archive, member.name)
    _check_tar_type(archive, member)
    _stdlib_filter(archive, member, dest)
    return _member(archive, member.name, member.isdir(), member.size, member)


def _check_tar_type(archive: Path, member: tarfile.TarInfo) -> None:
    """Refuse links (naming those that leave the folder), devices and FIFOs."""
    if member.issym():
        _check_link(archive, member.name, member.linkname, relative_to_member=True)
    elif member.islnk():
        _check_link(archive, member.name, member.linkname, relative_to_member=False)
    elif not (member.isfile() or member.isdir()):
        raise _unsafe(archive, member.name, "is a device or FIFO")


def _stdlib_filter(archive: Path, member: tarfile.TarInfo, dest: Path) -> None:
    """Also apply ``tarfile.data_filter`` where it exists (3.12+, 3.10.12+, 3.11.4+)."""
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:
        return
    try:
        data_filter(member, os.fspath(dest))
    except (tarfile.TarError, OSError, ValueError) as error:
        raise _unsafe(
            archive,
            member.name,
            f"is refused by the standard library's data filter ({type(error).__name__}: {error})",
        ) from error
