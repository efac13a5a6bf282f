"""Download and safely extract the original IDC patch archive.

Downloading and verifying live in ``_download``, safe extraction in ``_extract``; this module
orchestrates them and finds the folder of patient folders in the result.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

from idckit._errors import invalid_argument
from idckit.datasets._download import (
    _OWNER,
    _download,
    _is_valid,
    _remove_stale_parts,
    _warn_damaged,
)
from idckit.datasets._extract import _DONE_MARKER, _DamagedArchiveError, _extract_atomically

#: The archive as its authors publish it (Janowczyk & Madabhushi 2016, use case 6): 1.6 GB,
#: patient folders at the top level. Kaggle's copy needs an account (see :func:`fetch_idc`).
DEFAULT_URL = "https://andrewjanowczyk.com/wp-static/IDC_regular_ps50_idx5.zip"
#: The pinned SHA-256 of :data:`DEFAULT_URL`'s archive, checked when ``fetch_idc`` is called with
#: that URL and no ``sha256``. ``None`` until it is recorded: it must be filled in from a
#: verified download (``sha256sum IDC_regular_ps50_idx5.zip``); never guess it.
DEFAULT_SHA256: str | None = None

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


def _extract_or_delete(archive: Path, target: Path, url: str) -> None:
    try:
        _extract_atomically(archive, target)
    except _DamagedArchiveError as error:
        archive.unlink(missing_ok=True)
        raise ValueError(
            f"{error} It was deleted. Check the URL ({url}), then call fetch_idc again."
        ) from error


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
