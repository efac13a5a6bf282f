"""Download and safely extract the original IDC patch archive."""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from idckit._errors import invalid_argument

#: The archive as its authors publish it (Janowczyk & Madabhushi 2016, use case 6): 1.6 GB,
#: patient folders at the top level. Kaggle's copy needs an account (see :func:`fetch_idc`).
DEFAULT_URL = "https://andrewjanowczyk.com/wp-static/IDC_regular_ps50_idx5.zip"
_OWNER = "fetch_idc"
_CHUNK = 1 << 20
_DONE_MARKER = ".idckit-extracted"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def fetch_idc(
    dest: os.PathLike[str] | str,
    *,
    url: str = DEFAULT_URL,
    sha256: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Download the IDC patch archive, verify it, extract it safely and return its data root.

    The archive is streamed to a temporary file in ``dest`` (with a progress bar), checked
    against ``sha256`` when one is given, then renamed into place, so an interrupted download
    never leaves a file that looks complete. A later call finds the archive (and its
    extraction) and does not download again. Extraction refuses absolute paths, ``..``
    members, links that leave the extraction folder and special files.

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
        Expected SHA-256 of the archive (64 hexadecimal digits). On a mismatch the
        download is deleted and a ``ValueError`` names both digests.
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
    ValueError
        For bad arguments, a checksum mismatch or an unsafe archive.
    OSError
        When the download fails (the message names the URL).

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
    dest = Path(dest)
    archive = dest / _archive_name(url)
    dest.mkdir(parents=True, exist_ok=True)
    if overwrite or not _is_valid(archive, sha256):
        _download(url, archive, sha256, progress)
    target = dest / _extraction_name(archive.name)
    if overwrite or not (target / _DONE_MARKER).is_file():
        _extract_atomically(archive, target)
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
    """Tell whether ``archive`` exists (it was renamed into place complete) and matches."""
    return archive.is_file() and (sha256 is None or _sha256_of(archive) == sha256)


def _download(url: str, archive: Path, sha256: str | None, progress: bool) -> None:
    """Stream ``url`` to a temporary file, verify it, and rename it to ``archive``."""
    from tqdm.auto import tqdm

    handle, partial = tempfile.mkstemp(
        prefix=f".{archive.name}.", suffix=".part", dir=archive.parent
    )
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out, _open(url) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=total, unit="B", unit_scale=True, desc=archive.name, disable=not progress
            ) as bar:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        if sha256 is not None and digest.hexdigest() != sha256:
            raise invalid_argument(
                "sha256",
                _OWNER,
                f"the SHA-256 of {url}",
                sha256,
                f"The download hashes to {digest.hexdigest()!r} and was deleted. "
                "Check the URL and the checksum.",
            )
        os.replace(partial, archive)
    finally:
        Path(partial).unlink(missing_ok=True)


def _open(url: str) -> Any:  # urlopen returns a different response class per scheme
    try:
        return urllib.request.urlopen(url, timeout=60)
    except (urllib.error.URLError, OSError) as error:
        raise OSError(
            f"Could not download {url}: {error}. Kaggle downloads need an account: fetch the "
            "archive with the Kaggle CLI and pass url=<local path>.as_uri()."
        ) from error


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
    """An archive member would be written outside the extraction folder, or is special."""


def _extract_archive(archive: Path, dest: Path) -> None:
    """Extract a zip or tar archive after checking every member."""
    if zipfile.is_zipfile(archive):
        _extract_zip(archive, dest)
    elif tarfile.is_tarfile(archive):
        _extract_tar(archive, dest)
    else:
        raise ValueError(
            f"Cannot extract '{archive}': it is neither a zip nor a tar archive. "
            "Check the URL (an HTML error page is a common culprit)."
        )


def _unsafe(archive: Path, member: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"Refusing to extract '{archive.name}': member {member!r} {why}.")


def _check_name(archive: Path, name: str) -> None:
    """Reject absolute names (POSIX or Windows) and any ``..`` component."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix):
        raise _unsafe(archive, name, "has an absolute path")
    if ".." in posix.split("/"):
        raise _unsafe(archive, name, "contains '..'")


def _check_link(archive: Path, name: str, target: str, relative_to_member: bool) -> None:
    """Reject a link whose target leaves the extraction folder."""
    target = target.replace("\\", "/")
    base = posixpath.dirname(name.replace("\\", "/")) if relative_to_member else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
        raise _unsafe(archive, name, f"links outside the extraction folder (to {target!r})")


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        for info in members:
            _check_name(archive, info.filename)
            if stat.S_ISLNK(info.external_attr >> 16):
                link = zipped.read(info).decode("utf-8", "replace")
                _check_link(archive, info.filename, link, relative_to_member=True)
        zipped.extractall(dest, members)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tarred:
        members = tarred.getmembers()
        for member in members:
            _check_name(archive, member.name)
            if member.issym():
                _check_link(archive, member.name, member.linkname, relative_to_member=True)
            elif member.islnk():
                _check_link(archive, member.name, member.linkname, relative_to_member=False)
            elif not (member.isfile() or member.isdir()):
                raise _unsafe(archive, member.name, "is a device or FIFO")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.12, and 3.10.12 / 3.11.4 backports
            tarred.extractall(dest, members, filter="data")
        else:  # pragma: no cover - older interpreters; members were checked above
            tarred.extractall(dest, members)
