"""``idckit explain RUN_DIR DATA_DIR --out DIR``: occlusion maps of a run's surest calls."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from idckit.cli._main import CLIError
from idckit.cli._runs import add_run_arguments, load_run, one_line_errors

#: Figure name -> (label, called IDC(+) at the threshold, surest first = highest P(IDC+)).
GROUPS: dict[str, tuple[int | None, bool, bool]] = {
    "false_positives": (0, True, True),
    "false_negatives": (1, False, False),
    "true_positives": (1, True, True),
    "highest_prob_idc": (None, True, True),  # only when the labels are unknown
}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``explain`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "explain",
        help="draw occlusion maps of a run's surest false positives, false negatives and hits",
        description="Predict the patches with a finished run (as `idckit predict` does), pick "
        "the false positives with the highest P(IDC+), the false negatives with the lowest and "
        "the true positives with the highest (or, without labels, the patches with the highest "
        "P(IDC+)), and draw each one's occlusion map under the run's fold ensemble: how much "
        "P(IDC+) drops when each region of the patch, or of its context mosaic, is hidden. "
        "One PNG per group in DIR.",
    )
    add_run_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write the PNGs")
    parser.add_argument("--patient", metavar="ID", help="only this patient's patches")
    parser.add_argument(
        "--per-group", type=int, default=6, metavar="N", help="patches per figure (default 6)"
    )
    parser.add_argument(
        "--window", type=int, metavar="PX", help="side of the hidden square (default: a fifth)"
    )
    parser.add_argument(
        "--stride", type=int, metavar="PX", help="step between squares (default: half the window)"
    )
    parser.add_argument(
        "--scale",
        choices=["logit", "probability"],
        default="logit",
        help="drops in log-odds (default: they still show what matters in a call the model is "
        "sure of) or in P(IDC+)",
    )
    return parser


def pick(prob: Any, labels: Any, threshold: float) -> dict[str, Any]:
    """Return each group's patch indices, surest first (groups without patches left out).

    Examples
    --------
    >>> import numpy as np
    >>> groups = pick(np.array([0.9, 0.2, 0.7, 0.6]), np.array([0, 1, 1, 0]), 0.5)
    >>> {name: rows.tolist() for name, rows in groups.items()}
    {'false_positives': [0, 3], 'false_negatives': [1], 'true_positives': [2]}
    """
    import numpy as np

    known = labels is not None
    decided = prob >= threshold
    groups = {}
    for name, (label, called, highest_first) in GROUPS.items():
        if known != (label is not None):  # labelled groups need labels, the other none
            continue
        mask = decided == called
        if label is not None:
            mask &= labels == label
        rows = np.flatnonzero(mask)
        order = np.argsort(-prob[rows] if highest_first else prob[rows], kind="stable")
        if len(rows):
            groups[name] = rows[order]
    return groups


def run(args: argparse.Namespace) -> int:
    """Write one figure per group and say what each holds."""
    if args.per_group < 1:
        raise CLIError(f"--per-group must be at least 1, got {args.per_group}")
    with one_line_errors():
        from idckit.explain import occlusion_map, plot_occlusion

        run, dataset = load_run(args)
        if args.patient is not None:
            dataset = dataset.subset(args.patient)
        predictions = run.predictions(dataset)
        groups = pick(predictions.prob_idc, predictions.labels, run.threshold)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, found in groups.items():
            rows = found[: args.per_group]
            images = dataset.load_images(rows, context=run.config.context)
            maps = occlusion_map(
                run.fold_models(), images, window=args.window, stride=args.stride,
                scale=args.scale, batch_size=run.config.batch_size,
            )  # fmt: skip
            titles = [
                f"{dataset.patients[i]} x{dataset.x[i]} y{dataset.y[i]}\n"
                f"P(IDC+) {predictions.prob_idc[i]:.2f}"
                for i in rows
            ]
            figure = plot_occlusion(
                images, maps, titles=titles, context=run.config.context, scale=args.scale
            )
            path = out / f"occlusion_{name}.png"
            figure.savefig(path, dpi=100, bbox_inches="tight")
            what = name.replace("_", " ")
            print(f"wrote {path}: {len(rows)} of {len(found)} {what}, surest first")
    if not groups:
        print("no patches to explain")
    print(
        f"threshold {run.threshold:.4f}; P(IDC+) in the titles as the run predicts it "
        "(with its TTA and smoothing), maps of the fold models' mean P(IDC+) without them, "
        f"in {'log-odds' if args.scale == 'logit' else 'probability'}"
    )
    return 0
