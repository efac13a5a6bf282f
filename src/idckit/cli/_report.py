"""``idckit report RUN_DIR [--data DIR ...] --out FILE.html``: a run as one HTML file."""

from __future__ import annotations

import argparse
import os
from typing import Any

from idckit.cli._runs import DATA_DIRS_HELP, load_dataset, one_line_errors


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``report`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="write a finished run as one self-contained HTML file",
        description="Write one HTML file that shows a finished run: its settings, the "
        "per-fold metrics and learning curves, and the out-of-fold classification report, "
        "confusion matrix, ROC and precision-recall curves (with the run's threshold and the "
        "operating point of its recall target, 90%, marked) and per-patient region agreement. "
        "With --data, "
        "the same for the fold ensemble on those (held-out, labelled) patches, plus slide "
        "heat maps of the worst patients. Images are embedded: the file opens offline, "
        "without JavaScript.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a finished `idckit train` run")
    parser.add_argument("--out", required=True, metavar="FILE", help="the HTML file to write")
    parser.add_argument("--data", nargs="+", metavar="DIR", help=DATA_DIRS_HELP)
    parser.add_argument(
        "--max-heatmaps", type=int, default=12, metavar="N",
        help="slide heat maps of at most N patients, the lowest Dice first (default: 12)",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, metavar="B", help="inference batch size")
    parser.add_argument("--cache-dir", metavar="DIR", help="decode cache location")
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the report and say where it is."""
    with one_line_errors():
        from idckit.training import Run, write_run_report

        run = Run.load(args.run_dir, batch_size=args.batch_size)
        datasets = None
        if args.data:
            name = "Held-out data: " + ", ".join(
                os.path.basename(os.path.normpath(d)) for d in args.data
            )
            datasets = {name: load_dataset(args.data, args.cache_dir)}
        path = write_run_report(run, args.out, datasets=datasets, max_heatmaps=args.max_heatmaps)
    print(f"run report written to {path}")
    return 0
