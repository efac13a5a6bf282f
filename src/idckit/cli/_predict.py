"""``idckit predict RUN_DIR DATA_DIR --out preds.csv``: per-patch P(IDC+) from a run."""

from __future__ import annotations

import argparse
from typing import Any

from idckit.cli._runs import load_dataset, one_line_errors


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``predict`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "predict",
        help="write per-patch P(IDC+) of a finished run's fold ensemble",
        description="Predict P(IDC+) for every patch with the fold models of a finished run "
        "(mean probability), with the run's test-time augmentation and spatial smoothing "
        "settings. Columns: path, patient, x, y, label (when known), prob_idc.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a finished `idckit train` run")
    parser.add_argument("data_dir", metavar="DATA_DIR", help="tree of patch PNGs")
    parser.add_argument("--out", required=True, metavar="CSV", help="predictions file")
    parser.add_argument("--batch-size", type=int, metavar="B", help="inference batch size")
    parser.add_argument("--cache-dir", metavar="DIR", help="decode cache location")
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the predictions CSV and say where it is."""
    with one_line_errors():
        from idckit.training import KFoldTrainer

        trainer = KFoldTrainer.from_run_dir(args.run_dir, batch_size=args.batch_size)
        dataset = load_dataset(args.data_dir, args.cache_dir)
        predictions = trainer.predict(dataset)
        path = predictions.to_csv(args.out)
    n_positive = int(predictions.predicted_labels(trainer.threshold).sum())
    print(
        f"wrote {len(predictions)} predictions ({len(set(predictions.patients))} patients) to "
        f"{path}; {n_positive} at or above the run's threshold {trainer.threshold:.4f}"
    )
    return 0
