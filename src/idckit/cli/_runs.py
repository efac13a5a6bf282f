"""Helpers shared by ``idckit train``/``evaluate``/``predict``/``demo`` (no Keras import)."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from idckit.cli._main import CLIError


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn the library's argument and file errors into :class:`CLIError` (one line, exit 2)."""
    try:
        yield
    except (
        ValueError, FileNotFoundError, NotADirectoryError, FileExistsError, IsADirectoryError
    ) as err:  # fmt: skip
        raise CLIError(str(err).splitlines()[0] if str(err) else repr(err)) from err


#: The help of a ``DATA_DIR`` argument that takes one or more trees.
DATA_DIRS_HELP = "tree(s) of patch PNGs; several trees (of distinct patients) are used as one"


def load_dataset(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], cache_dir: str | None = None
) -> Any:
    """Index the patches under ``paths``, one tree or several as one (decoding on first use)."""
    from idckit.data import IDCPatchDataset

    roots = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    for path in roots:
        if not os.path.isdir(path):
            raise CLIError(f"no such data directory: {os.fspath(path)!r}")
    return IDCPatchDataset.from_directory(
        roots[0] if len(roots) == 1 else roots, cache_dir=cache_dir, progress=sys.stderr.isatty()
    )


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add what every command that applies a finished run takes.

    ``RUN_DIR``, ``DATA_DIR`` (one or more), ``--batch-size`` and ``--cache-dir``;
    :func:`load_run` reads them.
    """
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a finished `idckit train` run")
    parser.add_argument("data_dir", metavar="DATA_DIR", nargs="+", help=DATA_DIRS_HELP)
    parser.add_argument("--batch-size", type=int, metavar="B", help="inference batch size")
    parser.add_argument("--cache-dir", metavar="DIR", help="decode cache location")


def load_run(args: argparse.Namespace) -> tuple[Any, Any]:
    """Load the finished run (an ``idckit.Run``) and index the patches that ``args`` name."""
    from idckit.training import Run

    run = Run.load(args.run_dir, batch_size=args.batch_size)
    return run, load_dataset(args.data_dir, args.cache_dir)


def postprocessing_line(config: Any) -> str:
    """Describe a config's test-time augmentation and spatial smoothing in a few words.

    Examples
    --------
    >>> from idckit.training import TrainingConfig
    >>> postprocessing_line(TrainingConfig(tta=True))
    'TTA (8 dihedral transforms), no spatial smoothing'
    """
    tta = "TTA (8 dihedral transforms)" if config.tta else "no TTA"
    smoothing = config.smoothing
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
