"""Argument parsing and dispatch for the ``idckit`` command line."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

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
    "heatmap": "idckit.cli._heatmap",
    "report": "idckit.cli._report",
}
#: Commands that train or run a model, and so load Keras and its backend.
USES_BACKEND = ("train", "evaluate", "predict", "explain", "demo", "report", "heatmap")


class CLIError(Exception):
    """A problem to report as one line on stderr, exit status 2, no traceback."""


#: Exit status of a usage error (:class:`CLIError`, and argparse's own), of any other error,
#: and of Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130


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


def _note_line(command: str) -> Any:
    """Return a ``warnings.showwarning`` that prints ``idckit <command>: note: <message>``."""

    def show(message: Any, category: Any, *_: Any, **__: Any) -> None:
        first = str(message).splitlines()[0] if str(message) else category.__name__
        print(f"idckit {command}: note: {first}", file=sys.stderr)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit status.

    Parameters
    ----------
    argv
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        0 on success, 1 when a command found problems (``--strict``) or failed, 2 on usage
        errors, 130 when interrupted (Ctrl-C).

    Notes
    -----
    Every error ends as one line on stderr, ``idckit <command>: error: <message>``, and no
    traceback: a usage error (exit 2) says what to change; any other exception (exit 1) is
    named by its type, with a pointer to ``--debug``. Only ``--debug`` (or ``IDCKIT_DEBUG=1``)
    shows the traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or _debug_from_environment()
    try:
        with warnings.catch_warnings():
            if not debug:  # a warning is one line too: no source line, no file name
                warnings.showwarning = _note_line(args.command)
            if args.command in USES_BACKEND and not debug:
                load_backend_quietly()
            status = int(importlib.import_module(args._module).run(args))
        sys.stdout.flush()  # a closed pipe (``| head``) fails here, not at exit
        return status
    except CLIError as err:
        if debug:  # the library's own error, traceback and all
            raise (err.__cause__ or err.__context__ or err) from None
        _error_line(args.command, str(err))
        return EXIT_USAGE
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"idckit {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (``| head``): nothing left to tell it
        _silence_stdout()
        return EXIT_FAILURE
    except Exception as err:  # the one place where any other failure becomes one line
        if debug:
            raise
        hint = "run with --debug for the traceback"
        _error_line(args.command, f"{unexpected_message(err)} ({hint})")
        return EXIT_FAILURE


def unexpected_message(err: BaseException) -> str:
    r"""Describe an exception in one line: its type, then the first line of its message.

    Examples
    --------
    >>> unexpected_message(KeyError("fold_0"))
    "KeyError: 'fold_0'"
    >>> unexpected_message(RuntimeError("first\nsecond"))
    'RuntimeError: first'
    """
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _error_line(command: str, message: str) -> None:
    """Print ``idckit <command>: error: <message>`` on stderr, on one line."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    print(f"idckit {command}: error: {first}", file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's flush at exit does not fail again."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


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
