"""``idckit cache DATA_DIR``: decode a tree into the on-disk cache (or reuse it) and time it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from idckit.cli._runs import one_line_errors

_DESCRIPTION = """\
Build the decode cache of a tree of patches (every patch decoded once, in parallel, into a
memory-mapped uint8 array), or reuse it when the tree has not changed, and report patches,
seconds and images per second.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``cache`` sub-command to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cache", help="build or reuse the decode cache of a tree", description=_DESCRIPTION
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="the folder of patches")
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="cache folder (default: $IDCKIT_CACHE_DIR, else $XDG_CACHE_HOME/idckit or "
        "~/.cache/idckit)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--pad-mode",
        choices=("constant", "reflect", "resize"),
        default="constant",
        help="how edge patches smaller than 50x50 are brought to size (default: constant)",
    )
    parser.add_argument(
        "--jobs", type=int, default=None, help="decoding threads (default: all cores)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Build or reuse the cache of ``args.data_dir`` and print what it took."""
    from idckit.data import IDCPatchDataset

    start = time.perf_counter()
    with one_line_errors():
        ds = IDCPatchDataset.from_directory(
            args.data_dir,
            pad_mode=args.pad_mode,
            cache_dir=args.cache_dir,
            n_jobs=args.jobs,
            progress=sys.stderr.isatty(),
        )
    seconds = time.perf_counter() - start
    path, reused = ds.cache_status()
    summary = {
        "patches": len(ds),
        "seconds": round(seconds, 3),
        "images_per_s": round(len(ds) / seconds, 1) if seconds > 0 else None,
        "reused": reused,
        "cache": str(path),
        "padded": ds.report.padded,
        "skipped": dict(ds.report.skipped),
        "duplicates": ds.report.duplicates,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        how = "reused" if reused else "built"
        print(
            f"{how} cache of {len(ds)} patches in {seconds:.2f} s "
            f"({summary['images_per_s']} images/s): {path}"
        )
    return 0
