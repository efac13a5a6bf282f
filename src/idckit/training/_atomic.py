"""Atomic file writes: a temporary file in the same folder, flushed, then ``os.replace``.

A process killed at any moment leaves either the old file or the new one, never half of one,
so a resumed run can trust every file it finds. A write that fails removes its temporary file;
one that a killed process left behind (``.tmp-<pid>-<token>-<name>``) is removed by
:func:`remove_stale_temporaries` once its process is gone.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

TEMP_PREFIX = ".tmp-"
_TEMP_NAME = re.compile(r"\.tmp-(\d+)-")


def _temp_path(path: Path) -> Path:
    # Same folder (os.replace is atomic only within one file system) and same suffix (Keras
    # insists on ``.keras`` / ``.weights.h5``); the dot prefix keeps it out of listings. The
    # random token keeps two writers apart even when they share a pid (two containers on one
    # volume, two threads of one process).
    return path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}")


def _remove(path: Path) -> None:
    """Remove a file or a folder (a writer may have made either), whatever is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a process we may not signal counts).

    Examples
    --------
    >>> pid_alive(os.getpid())
    True
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists (another user's), or we cannot tell: keep its files
    return True


def remove_stale_temporaries(folder: os.PathLike[str] | str) -> list[Path]:
    """Remove the temporary files in ``folder`` whose writing process is gone; return them.

    Temporaries of live processes (other than this one) are kept: they may be mid-write.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / ".tmp-999999999-ab12-summary.json").write_text("{")
    >>> [p.name for p in remove_stale_temporaries(folder)]
    ['.tmp-999999999-ab12-summary.json']
    """
    removed = []
    for path in sorted(Path(folder).glob(f"{TEMP_PREFIX}*")):
        match = _TEMP_NAME.match(path.name)
        pid = int(match.group(1)) if match else -1
        if pid == os.getpid() or not pid_alive(pid):
            _remove(path)
            removed.append(path)
    return removed


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def atomic_save(path: os.PathLike[str] | str, write: Callable[[Path], object]) -> Path:
    """Write a file through ``write(temp_path)`` and move it into place atomically.

    Parameters
    ----------
    path
        The final file name.
    write
        Called with a temporary path in the same folder and with the same suffix, e.g.
        ``model.save`` or ``figure.savefig``.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_save(folder / "a.txt", lambda p: p.write_text("hi")).read_text()
    'hi'
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(final)
    try:
        write(temp)
        _fsync(temp)
        os.replace(temp, final)
    finally:  # on every path out, a failure or an interrupt included
        if temp.exists() or temp.is_symlink():
            _remove(temp)
    return final


def atomic_write_text(path: os.PathLike[str] | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write_text(folder / "b.txt", "ok").read_text()
    'ok'
    """
    return atomic_save(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: os.PathLike[str] | str, obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> print(atomic_write_json(folder / "c.json", {"a": 1}).read_text())
    {
      "a": 1
    }
    <BLANKLINE>
    """
    return atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=True) + "\n")


def atomic_write_csv(
    path: os.PathLike[str] | str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Path:
    """Write a CSV file (a header line, then ``rows``) to ``path`` atomically.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> atomic_write_csv(folder / "d.csv", ["a", "b"], [[1, 2]]).read_text().splitlines()
    ['a,b', '1,2']
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return atomic_write_text(path, buffer.getvalue())


def read_json(path: os.PathLike[str] | str) -> Any:
    """Read a JSON file; content that is not JSON is a ``ValueError`` naming the file.

    A missing file raises ``FileNotFoundError`` as ``open`` does.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> read_json(atomic_write_json(folder / "e.json", [1, 2]))
    [1, 2]
    """
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except (ValueError, RecursionError) as error:  # bad JSON or UTF-8, deep nesting
            reason = str(error) if isinstance(error, ValueError) else "nested too deeply"
            raise ValueError(f"Invalid JSON file {os.fspath(path)!r}: {reason}.") from None
