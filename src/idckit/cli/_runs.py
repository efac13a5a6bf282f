"""Helpers shared by ``idckit train``/``evaluate``/``predict``/``demo`` (no Keras import)."""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from typing import Any

from idckit.cli._main import CLIError


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the library's argument and file errors into :class:`CLIError` (one line, exit 2)."""
    try:
        yield
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:
        raise CLIError(str(err).splitlines()[0] if str(err) else repr(err)) from err


def load_dataset(path: str | os.PathLike[str], cache_dir: str | None = None) -> Any:
    """Index the patches under ``path`` (decoding into the cache on first use)."""
    from idckit.data import IDCPatchDataset

    if not os.path.isdir(path):
        raise CLIError(f"no such data directory: {os.fspath(path)!r}")
    return IDCPatchDataset.from_directory(path, cache_dir=cache_dir)


def postprocessing_line(trainer: Any) -> str:
    """Describe a trainer's test-time augmentation and spatial smoothing in a few words.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> postprocessing_line(SimpleNamespace(tta=True, smoothing=None))
    'TTA (8 dihedral transforms), no spatial smoothing'
    """
    tta = "TTA (8 dihedral transforms)" if trainer.tta else "no TTA"
    smoothing = trainer.smoothing
    if smoothing is None:
        return f"{tta}, no spatial smoothing"
    return f"{tta}, spatial smoothing alpha {smoothing.alpha:g} radius {smoothing.radius}"


def json_line(payload: dict[str, Any]) -> str:
    """Serialise ``payload`` as one strict JSON object (NaN becomes null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(payload), allow_nan=False)
