"""``idckit predict RUN_DIR DATA_DIR --out preds.csv``: per-patch P(IDC+) from a run."""

from __future__ import annotations

import argparse
from typing import Any

from idckit.cli._runs import add_run_arguments, load_run, one_line_errors


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``predict`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "predict",
        help="write per-patch P(IDC+) of a finished run's fold ensemble",
        description="Predict P(IDC+) for every patch with the fold models of a finished run "
        "(mean probability), with the run's test-time augmentation and spatial smoothing "
        "settings. Columns: path, patient, x, y, label (when known), prob_idc.",
    )
    add_run_arguments(parser)
    parser.add_argument("--out", required=True, metavar="CSV", help="predictions file")
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the predictions CSV and say where it is."""
    with one_line_errors():
        run, dataset = load_run(args)
        predictions = run.predictions(dataset)
        path = predictions.to_csv(args.out)
    n_positive = int(predictions.predicted_labels(run.threshold).sum())
    print(
        f"wrote {len(predictions)} predictions ({len(set(predictions.patients))} patients) to "
        f"{path}; {n_positive} at or above the run's threshold {run.threshold:.4f}"
    )
    return 0
