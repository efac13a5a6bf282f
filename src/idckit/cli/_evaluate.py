"""``idckit evaluate RUN_DIR DATA_DIR``: the fold ensemble of a run on (held-out) patches."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from idckit.cli._runs import (
    add_run_arguments,
    json_line,
    load_run,
    one_line_errors,
    postprocessing_line,
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``evaluate`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "evaluate",
        help="evaluate a finished run's fold ensemble on a data set",
        description="Evaluate the fold models of a finished run as an ensemble (mean "
        "probability) at the run's threshold (chosen on its out-of-fold predictions, or fixed by "
        "its settings), with "
        "the run's test-time augmentation and spatial smoothing settings.",
    )
    add_run_arguments(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: f1_pos, f1_macro, f1_weighted, precision_pos, recall_pos, "
        "accuracy, balanced_accuracy, roc_auc, confusion_matrix [[tn, fp], [fn, tp]], "
        "threshold, n_patches, n_patients, operating_points (recall(+) and specificity at the "
        "run's threshold and at the threshold that reached 90%% recall out of fold); with "
        "--per-patient, also per_patient (Dice and IoU median, quartiles, mean, n_undefined)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="also write the report, predictions and plots here, with slide maps of the 4 "
        "patients with the most misclassified patches in DIR/patient_maps",
    )
    parser.add_argument(
        "--per-patient",
        metavar="CSV",
        help="also write each patient's region agreement at the run's threshold to CSV "
        "(patient, n_patches, n_idc, annotated_fraction, predicted_fraction, dice, iou, "
        "f1_pos) and print the Dice distribution",
    )
    return parser


def operating_points_line(run: Any, report: Any) -> str:
    """Recall(+) and specificity of ``report`` at the run's threshold and its recall target."""
    from idckit.training._results import describe_operating_points

    return describe_operating_points(run.operating_points(report), run.config.min_recall)


def per_patient(path: str | None, dataset: Any, report: Any, threshold: float) -> Any:
    """Write the region agreement of ``report``'s predictions to ``path`` (None: nothing)."""
    if path is None:
        return None
    from idckit.reporting import region_agreement

    agreement = region_agreement(
        dataset.patients, dataset.x, dataset.y, report.y_true, report.y_score,
        threshold=threshold,
    )  # fmt: skip
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    agreement.to_csv(path)
    return agreement


def run(args: argparse.Namespace) -> int:
    """Print the classification report (or its JSON summary)."""
    with one_line_errors():
        run, dataset = load_run(args)
        report = run.evaluate(dataset, out_dir=args.out)
        agreement = per_patient(args.per_patient, dataset, report, run.threshold)
    summary = {
        **report.summary(),
        "n_patches": len(dataset),
        "n_patients": len(dataset.patient_ids),
        "operating_points": run.operating_points(report),
    }
    if agreement is not None:
        summary["per_patient"] = agreement.summary()
    if args.json:
        print(json_line(summary))
        return 0
    print(report)
    how = (
        "chosen on the run's out-of-fold predictions"
        if isinstance(run.config.threshold_objective, str)
        else "fixed by the run's settings"
    )
    print(
        f"threshold {summary['threshold']:.4f} ({how}); "
        f"{summary['n_patches']} patches from {summary['n_patients']} patients"
    )
    print(f"operating points: {operating_points_line(run, report)}")
    print(f"post-processing (as the run was trained): {postprocessing_line(run.config)}")
    if args.out:
        print(f"report, predictions and plots written to {args.out}")
    if agreement is not None:
        print(agreement.summary_line())
        print(f"per-patient region agreement written to {args.per_patient}")
    return 0
