"""``idckit heatmap RUN_DIR DATA_DIR --out FILE.png``: one patient's slide heat map."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from idckit.cli._main import CLIError
from idckit.cli._runs import add_run_arguments, load_run, one_line_errors


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``heatmap`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "heatmap",
        help="draw one patient's P(IDC+) over its tissue, the annotated region outlined",
        description="Predict one patient's patches with a finished run (its fold ensemble, "
        "stain normalisation, context, test-time augmentation and smoothing, as `idckit "
        "predict` does) and draw P(IDC+) over the patient's tissue mosaic with the annotated "
        "IDC(+) region outlined, and the region called IDC(+) at the threshold outlined dashed, "
        "titled with the Dice of the two. DATA_DIR is one patient's folder (<root>/<patient>, "
        "holding 0/ and 1/) or a tree of patients, one of them named by --patient.",
    )
    add_run_arguments(parser)
    parser.add_argument("--out", required=True, metavar="FILE", help="the image to write (.png)")
    parser.add_argument(
        "--patient", metavar="ID", help="the patient to draw (needed when DATA_DIR holds several)"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="outline the patches with P(IDC+) >= T (default: the run's threshold)",
    )
    parser.add_argument(
        "--alpha",
        type=float,
        default=0.5,
        metavar="A",
        help="opacity of P(IDC+) over the tissue, 0 to 1 (default 0.5)",
    )
    return parser


def choose_patient(patient_ids: tuple[str, ...], patient: str | None) -> str:
    """Return the patient to draw: ``patient`` if the data hold it, else their only one.

    Examples
    --------
    >>> choose_patient(("8863",), None)
    '8863'
    >>> choose_patient(("8863", "8864"), None)
    Traceback (most recent call last):
    ...
    idckit.cli._main.CLIError: DATA_DIR holds 2 patients: name one with --patient ID (e.g. 8863)
    """
    if patient is None:
        if len(patient_ids) == 1:
            return patient_ids[0]
        example = f" (e.g. {patient_ids[0]})" if patient_ids else ""
        raise CLIError(
            f"DATA_DIR holds {len(patient_ids)} patients: name one with --patient ID{example}"
        )
    if patient not in patient_ids:
        shown = ", ".join(patient_ids[:5]) + (", ..." if len(patient_ids) > 5 else "")
        raise CLIError(
            f"unknown patient {patient!r}: DATA_DIR holds {len(patient_ids)} patients ({shown})"
        )
    return patient


def run(args: argparse.Namespace) -> int:
    """Write the heat map and print the patient's region agreement."""
    if args.threshold is not None and not 0 < args.threshold <= 1:
        raise CLIError(f"--threshold must lie in (0, 1], got {args.threshold}")
    if not 0 <= args.alpha <= 1:
        raise CLIError(f"--alpha must lie in [0, 1], got {args.alpha}")
    with one_line_errors():
        from idckit.reporting import plot_slide_heatmap, region_agreement

        run, dataset = load_run(args)
        patient = choose_patient(tuple(dataset.patient_ids), args.patient)
        dataset = dataset.subset([patient])
        prob = run.predict_proba(dataset)
        threshold = run.threshold if args.threshold is None else args.threshold
        figure = plot_slide_heatmap(dataset, patient, prob, threshold=threshold, alpha=args.alpha)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, dpi=100, bbox_inches="tight")
        agreement = region_agreement(
            dataset.patients, dataset.x, dataset.y, dataset.labels, prob, threshold=threshold
        )
    row = agreement.to_rows()[0]
    whose = "the run's" if args.threshold is None else "given"
    print(
        f"wrote {out}: patient {patient}, {row['n_patches']} patches, "
        f"{row['n_idc']} annotated IDC(+), {round(row['predicted_fraction'] * row['n_patches'])} "
        f"called IDC(+) at threshold {threshold:.4f} ({whose})"
    )
    regions = (
        "Dice and IoU undefined (no IDC(+) annotated or predicted)"
        if math.isnan(row["dice"])
        else f"Dice {row['dice']:.3f}, IoU {row['iou']:.3f}"
    )
    print(f"{regions}, patch F1(+) {row['f1_pos']:.3f}")
    return 0
