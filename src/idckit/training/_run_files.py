"""Schema checks of what a run directory's files hold: every value read is checked first.

A run directory outlives the process that wrote it: it is copied, edited by hand, truncated by
a full disk or planted by someone else. Its readers therefore trust no value: each file must
parse, each key must be present with the right type and range, and every file name read from
a file must be a plain name of the expected form inside the run directory (never an absolute
path or ``..``). A value that fails gives one ``ValueError`` that names the file and the key::

    Invalid run file 'run/config.json': `tta` must be True or False, got 'no'. The file is
    damaged or was edited: restore it, or train into a new directory.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REMEDY = "The file is damaged or was edited: restore it, or train into a new directory."
_SHOWN = 80  # characters of a received value echoed in a message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def run_file_error(path: os.PathLike[str] | str, problem: str) -> ValueError:
    """Build the ``ValueError`` for a damaged run file: the file, the problem, the remedy.

    Examples
    --------
    >>> str(run_file_error("run/splits.json", "`folds` must be a list, got 3"))
    "Invalid run file 'run/splits.json': `folds` must be a list, got 3. The file is damaged ..."
    """
    return ValueError(f"Invalid run file {os.fspath(path)!r}: {problem}. {REMEDY}")


def read_run_json(path: os.PathLike[str] | str) -> Any:
    """Read a run's JSON file; a missing, unreadable or malformed one is a ``ValueError``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.json").write_text('{"a": [1, 2]}')
    >>> read_run_json(folder / "a.json")
    {'a': [1, 2]}
    >>> _ = (folder / "b.json").write_text('{"a": ')
    >>> read_run_json(folder / "b.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid run file '...b.json': not valid JSON (Expecting value: line 1 ...
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise run_file_error(path, "the file is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise run_file_error(path, f"cannot be read as UTF-8 text ({error})") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, huge ints, deep nesting
        reason = str(error) if isinstance(error, ValueError) else "nested too deeply"
        raise run_file_error(path, f"not valid JSON ({reason})") from None


class Fields:
    """Typed, checked access to the keys of a mapping read from a run file.

    Parameters
    ----------
    data
        What the file holds; anything but a mapping is refused at once.
    where
        How a message names the source: ``"run file 'run/state.json'"`` or ``"data for
        FoldResult.from_dict"``.
    prefix
        Prepended to key names in messages (``"folds[2]."``).

    Examples
    --------
    >>> fields = Fields({"epoch": 3, "name": "x"}, "data for the example")
    >>> fields.integer("epoch", minimum=1)
    3
    >>> fields.integer("name")
    Traceback (most recent call last):
    ...
    ValueError: Invalid data for the example: `name` must be an integer >= 0, got 'x'.
    """

    def __init__(self, data: Any, where: str, prefix: str = "") -> None:
        self.where, self.prefix = where, prefix
        if not isinstance(data, Mapping):
            what = f"`{prefix.rstrip('.')}`" if prefix else "the content"
            raise self._error(f"{what} must be a JSON object", data)
        self.data: Mapping[str, Any] = data

    @classmethod
    def of_file(cls, path: os.PathLike[str] | str) -> Fields:
        """Read the JSON file at ``path`` and check that it holds an object."""
        return cls(read_run_json(path), f"run file {os.fspath(path)!r}")

    def _error(self, rule: str, value: Any) -> ValueError:
        suffix = f" {REMEDY}" if self.where.startswith("run file") else ""
        return ValueError(f"Invalid {self.where}: {rule}, got {_shown(value)}.{suffix}")

    def error(self, key: str, rule: str, value: Any) -> ValueError:
        """Build the error for key ``key``: it must be ``rule``; echo ``value``."""
        return self._error(f"`{self.prefix}{key}` must be {rule}", value)

    def get(self, key: str) -> Any:
        """Return the value of a required key."""
        if key not in self.data:
            raise self._error(f"`{self.prefix}{key}` is missing (keys: {sorted(self.data)})", None)
        return self.data[key]

    def nested(self, key: str) -> Fields:
        """Return the checked fields of a nested object."""
        return Fields(self.get(key), self.where, f"{self.prefix}{key}.")

    def integer(self, key: str, minimum: int = 0) -> int:
        """Return an integer (not a boolean) >= ``minimum``."""
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, f"an integer >= {minimum}", value)
        return value

    def number(
        self, key: str, low: float = -math.inf, high: float = math.inf, *, nan: bool = False
    ) -> float:
        """Return a number (not a boolean) in ``[low, high]``; NaN only when ``nan``."""
        value = self.get(key)
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            number = float(value)
            if (nan and math.isnan(number)) or low <= number <= high:
                return number
        rule = f"a number in [{low}, {high}]" + (" or NaN" if nan else "")
        raise self.error(key, rule, value)

    def boolean(self, key: str) -> bool:
        """Return ``true`` or ``false`` (never a string such as ``"no"``, never 0 or 1)."""
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.error(key, "True or False", value)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        """Return a list of strings as a tuple."""
        value = self.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "a list of strings", value)
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, Any]:
        """Return a JSON object."""
        value = self.get(key)
        if not isinstance(value, Mapping):
            raise self.error(key, "a JSON object", value)
        return value

    def file_name(self, key: str, pattern: str) -> str:
        """Return a plain file name matching ``pattern`` (never a path out of the folder)."""
        value = self.get(key)
        if not isinstance(value, str) or not re.fullmatch(pattern, value):
            raise self.error(
                key, f"a file name of the form {pattern!r} inside the run directory", value
            )
        return value


def confined(root: os.PathLike[str] | str, name: str, where: os.PathLike[str] | str) -> Path:
    """Return ``root / name``, refusing a name that leaves ``root`` (absolute, ``..``, links).

    Examples
    --------
    >>> confined("run", "fold_1/model.keras", "run/x.json").as_posix()
    'run/fold_1/model.keras'
    >>> confined("run", "../elsewhere", "run/x.json")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid run file 'run/x.json': the path '../elsewhere' leaves the run ...
    """
    base = Path(root)
    path = base / name
    inside = not Path(name).is_absolute() and ".." not in Path(name).parts
    if inside:
        try:
            path.resolve().relative_to(base.resolve())
        except (ValueError, OSError, RuntimeError):
            inside = False
    if not inside:
        raise run_file_error(where, f"the path {name!r} leaves the run directory {str(base)!r}")
    return path


def check_keras_file(path: os.PathLike[str] | str) -> Path:
    r"""Refuse a missing or corrupt ``.keras`` file (a zip whose every member's CRC must match).

    Examples
    --------
    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "model.keras"
    >>> _ = bad.write_bytes(b"PK\x03\x04 truncated")
    >>> check_keras_file(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Corrupt model file '...model.keras': not a whole .keras archive ...
    """
    file = Path(path)
    if not file.is_file():
        raise ValueError(
            f"Missing model file {str(file)!r}: the run directory is incomplete. Restore the "
            "file, or train the run again."
        )
    try:
        with zipfile.ZipFile(file) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
        reason = f"not a whole .keras archive ({type(error).__name__}: {error})"
        raise _corrupt(file, reason) from None
    if damaged is not None:
        raise _corrupt(file, f"its member {damaged!r} fails its checksum")
    return file


def _corrupt(path: Path, reason: str) -> ValueError:
    return ValueError(
        f"Corrupt model file {str(path)!r}: {reason}. It was truncated or damaged: restore it, "
        "or train the run again."
    )


def load_keras_file(path: os.PathLike[str] | str, **kwargs: Any) -> Any:
    """``keras.saving.load_model(path, **kwargs)`` after :func:`check_keras_file`.

    A missing or corrupt file gives one clear ``ValueError`` ("Corrupt model file <path>")
    instead of Keras's "File not found"; the safe-mode refusals of Keras stay as they are.
    """
    import keras

    return keras.saving.load_model(check_keras_file(path), **kwargs)


def load_weights_file(model: Any, path: os.PathLike[str] | str) -> None:
    """``model.load_weights(path)``, with a missing or corrupt file named as such."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"Missing weights file {str(file)!r}: restore it, or train again.")
    try:
        model.load_weights(file)
    except (OSError, KeyError, EOFError) as error:  # h5py's errors for damaged files
        reason = f"the weights cannot be read ({type(error).__name__}: {error})"
        raise _corrupt(file, reason) from None
