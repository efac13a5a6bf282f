"""Argument parsing and dispatch for the ``idckit`` command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from idckit import __version__

# Subcommand name -> module with ``add_parser(subparsers)`` and ``run(args) -> int``.
# Modules are imported lazily: ``idckit index`` must not pay for importing TensorFlow.
SUBCOMMANDS: dict[str, str] = {
    "index": "idckit.cli._index",
    "cache": "idckit.cli._cache",
    "train": "idckit.cli._train",
    "evaluate": "idckit.cli._evaluate",
    "predict": "idckit.cli._predict",
    "explain": "idckit.cli._explain",
    "demo": "idckit.cli._demo",
}
#: Commands that train or run a model, and so load Keras and its backend.
USES_BACKEND = ("train", "evaluate", "predict", "explain", "demo")


class CLIError(Exception):
    """A problem to report as one line on stderr, exit status 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="idckit",
        description="IDC detection in breast histopathology patches, evaluated by patient.",
    )
    parser.add_argument("--version", action="version", version=f"idckit {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show the full traceback instead of one line (or set IDCKIT_DEBUG=1)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        sub = module.add_parser(subparsers)
        sub.set_defaults(_module=module_name, command=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 1 when a command found problems (``--strict``), 2 on usage errors.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or _debug_from_environment()
    if args.command in USES_BACKEND and not debug:
        load_backend_quietly()
    module = importlib.import_module(args._module)
    try:
        return int(module.run(args))
    except CLIError as err:
        if debug:  # the library's own error, traceback and all
            raise (err.__cause__ or err.__context__ or err) from None
        print(f"idckit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"idckit {args.command}: interrupted", file=sys.stderr)
        return 130


def _debug_from_environment() -> bool:
    """Whether ``IDCKIT_DEBUG`` asks for tracebacks (set, and not ``0``/``false``/``no``)."""
    return os.environ.get("IDCKIT_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def load_backend_quietly() -> None:
    """Import Keras (and its backend) without TensorFlow's C++ start-up lines on stderr.

    TensorFlow logs at start-up (oneDNN, CUDA drivers, and on a machine without a GPU
    ``failed call to cuInit``, which reads as a failure). Unless the user set
    ``TF_CPP_MIN_LOG_LEVEL`` (or asked for ``--debug``), its level becomes 3 (errors of the
    C++ runtime that matter still surface as Python exceptions) and the lines TensorFlow prints
    before that setting is read are dropped by muting file descriptor 2 while Keras loads.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "keras" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    try:
        stderr_fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a replaced sys.stderr (tests, notebooks)
        return
    sys.stderr.flush()
    saved, devnull = os.dup(stderr_fd), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stderr_fd)
        with contextlib.suppress(ImportError):  # the command's own import raises it, visibly
            importlib.import_module("keras")
    finally:
        os.dup2(saved, stderr_fd)
        os.close(saved)
        os.close(devnull)
