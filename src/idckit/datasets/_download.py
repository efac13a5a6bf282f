"""Download an archive to a ``.part`` file, verify it, and only then move it into place.

A download is streamed with a progress bar, refused when it is an HTML page, cut short or of
the wrong SHA-256, and renamed to the archive's name only once it is whole. ``.part`` files of
killed downloads are cleaned up; a cached archive is checked before it is reused.
Whether a file is an archive at all is asked of ``_extract``, which knows how one is read.

Examples
--------
>>> import pathlib, tempfile, zipfile
>>> tmp = pathlib.Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(tmp / "idc.zip", "w") as archive:
...     archive.writestr("8863/0/8863_idx5_x1_y1_class0.png", b"")
>>> _download((tmp / "idc.zip").as_uri(), tmp / "copy.zip", None, progress=False)
>>> _is_valid(tmp / "copy.zip", None), _is_valid(tmp / "missing.zip", None)
(True, False)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any

from idckit._errors import invalid_argument
from idckit.datasets._extract import _is_archive

_OWNER = "fetch_idc"  # the public function whose arguments the errors name
_CHUNK = 1 << 20  # bytes read (and hashed) at a time
# A ``.part`` of another host is left alone for this long (it may belong to a live download).
_STALE_PART_SECONDS = 3600


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


def _warn_damaged(archive: Path, why: str) -> None:
    warnings.warn(
        f"The archive '{archive}' from an earlier download is damaged ({why}); "
        "downloading it again.",
        UserWarning,
        stacklevel=3,
    )


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
