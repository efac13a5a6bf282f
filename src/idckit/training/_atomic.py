"""Atomic file writes: a temporary file in the same folder, flushed, then ``os.replace``.

A process killed at any moment leaves either the old file or the new one, never half of one,
so a resumed run can trust every file it finds.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any


def _temp_path(path: Path) -> Path:
    # Same folder (os.replace is atomic only within one file system) and same suffix (Keras
    # insists on ``.keras`` / ``.weights.h5``); the dot prefix keeps it out of listings.
    return path.with_name(f".tmp-{os.getpid()}-{path.name}")


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
    finally:
        if temp.exists():
            temp.unlink()
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
    """Read a JSON file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> read_json(atomic_write_json(folder / "e.json", [1, 2]))
    [1, 2]
    """
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
