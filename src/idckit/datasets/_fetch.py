"""Download and safely extract the original IDC patch archive."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import posixpath
import re
import shutil
import socket
import stat
import struct
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from idckit._errors import invalid_argument

try:  # optional in minimal Python builds (tarfile then cannot read .tar.xz either)
    from lzma import LZMAError as _LZMAError
except ImportError:  # pragma: no cover - CPython ships lzma
    _LZMAError = zlib.error  # type: ignore[assignment,misc]

#: The archive as its authors publish it (Janowczyk & Madabhushi 2016, use case 6): 1.6 GB,
#: patient folders at the top level. Kaggle's copy needs an account (see :func:`fetch_idc`).
DEFAULT_URL = "https://andrewjanowczyk.com/wp-static/IDC_regular_ps50_idx5.zip"
#: The pinned SHA-256 of :data:`DEFAULT_URL`'s archive, checked when ``fetch_idc`` is called with
#: that URL and no ``sha256``. ``None`` until it is recorded: it must be filled in from a
#: verified download (``sha256sum IDC_regular_ps50_idx5.zip``); never guess it.
DEFAULT_SHA256: str | None = None

_OWNER = "fetch_idc"
_CHUNK = 1 << 20
_DONE_MARKER = ".idckit-extracted"
_SHA256 = re.compile(r"[0-9a-f]{64}")

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
# A ``.part`` of another host is left alone for this long (it may belong to a live download).
_STALE_PART_SECONDS = 3600


def fetch_idc(
    dest: os.PathLike[str] | str,
    *,
    url: str = DEFAULT_URL,
    sha256: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Download the IDC patch archive, verify it, extract it safely and return its data root.

    The archive is streamed to a ``.part`` file in ``dest`` (with a progress bar) and renamed
    into place only once it is whole: as long as the server's Content-Length says, an archive
    and not an HTML page, and of the expected ``sha256`` when one is known. An interrupted
    download never leaves a file that looks complete, and a ``.part`` left by a killed
    download is removed by the next call. A later call finds the archive (and its extraction)
    and does not download again; a cached archive that turns out damaged is downloaded again,
    with a warning.

    Extraction checks every member before writing anything and refuses, with
    :class:`UnsafeArchiveError`: absolute paths and ``..`` members, every symbolic or hard
    link (the IDC archive has none, so no link can redirect a later member), devices and
    FIFOs, names the file system cannot hold, and decompression bombs (see Notes). Where the
    standard library has ``tarfile.data_filter``, tar members must pass it too. A refused or
    failed extraction leaves nothing behind.

    The returned folder holds the patient folders (``<patient>/<0|1>/*.png``). The Kaggle
    archive also nests a second copy of every patient under ``IDC_regular_ps50_idx5/``;
    the top folder is returned and ``IDCPatchDataset`` counts the copy as duplicates.

    Parameters
    ----------
    dest
        Folder that receives the archive and its extraction (created if missing).
    url
        Where to download from: ``http(s)://`` or ``file://``. The default is the authors'
        own copy, :data:`DEFAULT_URL`. Kaggle ("Breast Histopathology Images",
        ``paultimothymooney/breast-histopathology-images``) requires signing in, so it cannot
        be fetched anonymously: download it with the Kaggle CLI (``kaggle datasets download
        -d paultimothymooney/breast-histopathology-images``) and pass the file as
        ``url=pathlib.Path("breast-histopathology-images.zip").resolve().as_uri()``.
    sha256
        Expected SHA-256 of the archive (64 hexadecimal digits); for :data:`DEFAULT_URL` it
        defaults to :data:`DEFAULT_SHA256` once that is recorded. On a mismatch the download
        is deleted and a ``ValueError`` names both digests.
    progress
        Show a progress bar (tqdm) while downloading.
    overwrite
        Download and extract again even if a previous result is present.

    Returns
    -------
    pathlib.Path
        The folder that holds the patient folders, ready for
        ``IDCPatchDataset.from_directory``.

    Raises
    ------
    UnsafeArchiveError
        A ``ValueError`` naming the member refused, when the archive is unsafe (see above).
    ValueError
        For bad arguments, a checksum mismatch, a download that is not an archive (an HTML
        page) or a damaged archive (which is deleted: call again to download it again).
    OSError
        When the download fails or is cut short (the message names the URL; nothing is kept).

    Notes
    -----
    Limits on extraction, generous for the real archive (~3.1 GB of PNGs of a few kB each):
    at most 64 MiB per member, 2,000,000 members and 16 GiB in all, and in all no more than
    20 times the archive's own size once past 64 MiB. They are checked against the sizes the
    archive declares before anything is written, and against the bytes actually written.

    Examples
    --------
    Fetch a local copy (here a tiny archive) through a ``file://`` URL:

    >>> import pathlib, tempfile, zipfile
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> with zipfile.ZipFile(tmp / "idc.zip", "w") as archive:
    ...     archive.writestr("8863/0/8863_idx5_x1_y1_class0.png", b"")
    >>> root = fetch_idc(tmp / "data", url=(tmp / "idc.zip").as_uri(), progress=False)
    >>> [p.relative_to(root).as_posix() for p in root.glob("*/*/*.png")]
    ['8863/0/8863_idx5_x1_y1_class0.png']
    """
    sha256 = _check_arguments(url, sha256)
    if sha256 is None and url == DEFAULT_URL:
        sha256 = DEFAULT_SHA256
    dest = Path(dest)
    archive = dest / _archive_name(url)
    dest.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(archive)
    fresh = overwrite or not _is_valid(archive, sha256)
    if fresh:
        _download(url, archive, sha256, progress)
    target = dest / _extraction_name(archive.name)
    if overwrite or not (target / _DONE_MARKER).is_file():
        try:
            _extract_atomically(archive, target)
        except _DamagedArchiveError as error:
            archive.unlink(missing_ok=True)
            if fresh:
                raise ValueError(
                    f"{error} It was deleted. Check the URL ({url}), then call fetch_idc again."
                ) from error
            _warn_damaged(archive, str(error))
            _download(url, archive, sha256, progress)
            _extract_or_delete(archive, target, url)
    return _find_data_root(target)


def _check_arguments(url: str, sha256: str | None) -> str | None:
    """Validate ``url`` and normalise ``sha256`` to lower case."""
    scheme = urllib.parse.urlparse(url).scheme if isinstance(url, str) else ""
    if scheme not in ("http", "https", "file"):
        raise invalid_argument("url", _OWNER, "an http://, https:// or file:// URL", url)
    if sha256 is None:
        return None
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.strip().lower()):
        raise invalid_argument("sha256", _OWNER, "64 hexadecimal digits or None", sha256)
    return sha256.strip().lower()


def _archive_name(url: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name
    if not name:
        raise invalid_argument("url", _OWNER, "a URL that ends with the archive's file name", url)
    return name


def _extraction_name(archive_name: str) -> str:
    """``IDC_regular_ps50_idx5.zip`` -> ``IDC_regular_ps50_idx5``."""
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"):
        if archive_name.lower().endswith(suffix):
            return archive_name[: -len(suffix)]
    return archive_name + ".extracted"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_valid(archive: Path, sha256: str | None) -> bool:
    """Tell whether ``archive`` exists, matches ``sha256`` and opens as a zip or tar.

    A cached file that does not open (a cut or HTML download kept by an older idckit) is
    reported, deleted and so downloaded again.
    """
    if not archive.is_file():
        return False
    if sha256 is not None:
        return _sha256_of(archive) == sha256
    if _is_archive(archive):
        return True
    _warn_damaged(archive, "it is neither a zip nor a tar archive")
    archive.unlink(missing_ok=True)
    return False


def _is_archive(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)
    except _READ_ERRORS:
        return False


def _warn_damaged(archive: Path, why: str) -> None:
    warnings.warn(
        f"The archive '{archive}' from an earlier download is damaged ({why}); "
        "downloading it again.",
        UserWarning,
        stacklevel=3,
    )


def _extract_or_delete(archive: Path, target: Path, url: str) -> None:
    try:
        _extract_atomically(archive, target)
    except _DamagedArchiveError as error:
        archive.unlink(missing_ok=True)
        raise ValueError(
            f"{error} It was deleted. Check the URL ({url}), then call fetch_idc again."
        ) from error


# --- download ---------------------------------------------------------------------------------


def _part_prefix(archive: Path) -> str:
    """``.idc.zip.<host>-<pid>-``: whose download a ``.part`` file is, for cleaning up."""
    return f".{archive.name}.{socket.gethostname()}-{os.getpid()}-"


def _remove_stale_parts(archive: Path) -> None:
    """Delete ``.part`` files of downloads that were killed (their process is gone)."""
    pattern = re.compile(rf"\.{re.escape(archive.name)}\.(?:(.+)-(\d+)-)?[^.]*\.part")
    host = socket.gethostname()
    for part in archive.parent.glob(".*.part"):
        match = pattern.fullmatch(part.name)
        if match is None:
            continue
        if match[1] == host:
            stale = not _pid_alive(int(match[2]))
        elif match[1] is None:  # an older idckit's mkstemp name: its download is over
            stale = True
        else:  # another host's, on a shared file system: only once it stopped growing
            stale = _age(part) > _STALE_PART_SECONDS
        if stale:
            part.unlink(missing_ok=True)


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # os.kill(pid, 0) would end a Windows process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, someone else's
        return True
    return True


def _download(url: str, archive: Path, sha256: str | None, progress: bool) -> None:
    """Stream ``url`` to a ``.part`` file, verify it, and rename it to ``archive``."""
    from tqdm.auto import tqdm

    handle, name = tempfile.mkstemp(
        prefix=_part_prefix(archive), suffix=".part", dir=archive.parent
    )
    partial = Path(name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out, _open(url) as response:
            _refuse_html_type(url, response)
            expected = _content_length(response)
            received = 0
            with tqdm(
                total=expected, unit="B", unit_scale=True, desc=archive.name, disable=not progress
            ) as bar:
                while chunk := _read_chunk(url, response, received):
                    if received == 0:
                        _refuse_html_start(url, chunk)
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if expected is not None and received != expected:
            raise OSError(
                f"The download of {url} was cut short: received {received:,} of {expected:,} "
                "bytes. Nothing was kept; call fetch_idc again."
            )
        _verify(url, partial, digest.hexdigest(), sha256)
        os.replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)


def _open(url: str) -> Any:  # urlopen returns a different response class per scheme
    try:
        return urllib.request.urlopen(url, timeout=60)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise OSError(
            f"Could not download {url}: {error}. Kaggle downloads need an account: fetch the "
            "archive with the Kaggle CLI and pass url=<local path>.as_uri()."
        ) from error


def _content_length(response: Any) -> int | None:
    value = str(response.headers.get("Content-Length") or "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def _read_chunk(url: str, response: Any, received: int) -> bytes:
    try:
        return bytes(response.read(_CHUNK))
    except (OSError, http.client.HTTPException) as error:
        raise OSError(
            f"The download of {url} was interrupted after {received:,} bytes "
            f"({type(error).__name__}: {error}). Nothing was kept; call fetch_idc again."
        ) from error


def _not_an_archive(url: str, why: str) -> ValueError:
    return ValueError(
        f"The download of {url} is neither a zip nor a tar archive: {why}. Nothing was kept. "
        "Check the URL (an HTML error or sign-in page is a common culprit)."
    )


def _refuse_html_type(url: str, response: Any) -> None:
    kind = str(response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        start = bytes(response.read(80))
        raise _not_an_archive(url, f"the server sent a web page ({kind}) starting {start!r}")


def _refuse_html_start(url: str, chunk: bytes) -> None:
    if chunk.lstrip()[:1] == b"<":  # <!DOCTYPE html>, <html>, <?xml ...>: no archive starts so
        raise _not_an_archive(url, f"it starts {chunk[:80]!r}")


def _verify(url: str, partial: Path, digest: str, sha256: str | None) -> None:
    """Refuse a download that is not an archive or does not match ``sha256``."""
    if sha256 is not None and digest != sha256:
        raise invalid_argument(
            "sha256",
            _OWNER,
            f"the SHA-256 of {url}",
            sha256,
            f"The download hashes to {digest!r} and was deleted. Check the URL and the checksum.",
        )
    if not _is_archive(partial):
        with partial.open("rb") as file:
            start = file.read(80)
        raise _not_an_archive(url, f"it starts {start!r}")


# --- extraction -------------------------------------------------------------------------------


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


def _find_data_root(folder: Path, max_depth: int = 4) -> Path:
    """Descend through single wrapper folders to the folder that holds patient folders.

    A patient folder has a ``0`` or ``1`` subfolder. The first level holding one wins, so the
    Kaggle archive's nested duplicate copy is never chosen over the top folder.
    """
    current = folder
    for _ in range(max_depth + 1):
        children = [c for c in current.iterdir() if c.is_dir() and not _ignored(c.name)]
        if any((c / "0").is_dir() or (c / "1").is_dir() for c in children):
            return current
        if len(children) != 1:
            break
        current = children[0]
    raise ValueError(
        f"No patient folders found in the archive extracted to '{folder}': expected files "
        "like '<patient>/<0|1>/<patient>_idx5_x<X>_y<Y>_class<C>.png'."
    )


def _ignored(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


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
