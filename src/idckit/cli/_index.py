"""``idckit index DATA_DIR``: what a tree of patches holds, and what is wrong with it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from idckit.cli._main import CLIError

_DESCRIPTION = """\
Summarise a tree of patches: patches, patients, class counts, edge patches smaller than the
patch size (from PNG headers, or decoded with --verify), duplicates and skipped files.
Without --strict, bad files are reported and never change the exit status.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``index`` sub-command to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "index", help="summarise a tree of patches", description=_DESCRIPTION
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the folder of patches")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--verify", action="store_true", help="decode every patch (finds corrupt files)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 at the first bad file, naming it",
    )
    parser.add_argument(
        "--pattern", default=None, help="file-name regex with groups patient, x, y[, label]"
    )
    parser.add_argument("--patch-size", type=int, default=50, help="patch side (default 50)")
    parser.add_argument(
        "--jobs", type=int, default=None, help="decoding threads (--verify; default: all cores)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Index ``args.data_dir`` and print the report; 1 on a problem under ``--strict``."""
    from idckit.data import PatchError, ScanReport

    try:
        report = ScanReport.from_directory(
            args.data_dir,
            pattern=args.pattern,
            patch_size=args.patch_size,
            verify=args.verify,
            on_error="raise" if args.strict else "skip",
            n_jobs=args.jobs,
            progress=sys.stderr.isatty(),
        )
    except PatchError as err:
        detail = f" ({err.detail})" if err.detail else ""
        print(f"idckit index: {err.path}: {err.reason}{detail}", file=sys.stderr)
        return 1
    except ValueError as err:
        raise CLIError(str(err)) from None
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.summary())
    return 0
