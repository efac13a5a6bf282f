"""``idckit explain RUN_DIR DATA_DIR --out DIR``: maps of what drives a run's surest calls.

``--method occlusion`` (the default: it needs only predictions, so it explains any run on any
backend, in P(IDC+) or log-odds lost) or ``--method gradcam`` (one backward pass per batch;
TensorFlow, JAX and PyTorch backends).
"""

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
        help="draw occlusion or Grad-CAM maps of a run's surest false positives, false "
        "negatives and hits",
        description="Predict the patches with a finished run (as `idckit predict` does), pick "
        "the false positives with the highest P(IDC+), the false negatives with the lowest and "
        "the true positives with the highest (or, without labels, the patches with the highest "
        "P(IDC+)), and draw each one's map under the run's fold ensemble: with --method "
        "occlusion (default) how much P(IDC+) drops when each region of the patch, or of its "
        "context mosaic, is hidden; with --method gradcam where the evidence for IDC(+) lies "
        "in the last convolutional layer (Grad-CAM). One PNG per group in DIR.",
    )
    add_run_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write the PNGs")
    parser.add_argument("--patient", metavar="ID", help="only this patient's patches")
    parser.add_argument(
        "--per-group", type=int, default=6, metavar="N", help="patches per figure (default 6)"
    )
    parser.add_argument(
        "--method",
        choices=["occlusion", "gradcam"],
        default="occlusion",
        help="occlusion (default): P(IDC+) lost when each region is hidden, any model and "
        "backend; gradcam: Grad-CAM of the log-odds of IDC(+), one backward pass",
    )
    parser.add_argument(
        "--window", type=int, metavar="PX", help="occlusion: side of the hidden square "
        "(default: a fifth)",
    )  # fmt: skip
    parser.add_argument(
        "--stride", type=int, metavar="PX", help="occlusion: step between squares (default: "
        "half the window)",
    )  # fmt: skip
    parser.add_argument(
        "--scale",
        choices=["logit", "probability"],
        help="occlusion: drops in log-odds (default: they still show what matters in a call "
        "the model is sure of) or in P(IDC+)",
    )
    parser.add_argument(
        "--target-layer", metavar="NAME", help="gradcam: the layer to explain (default: the "
        "last convolutional feature map; for a model with context, the patch stream's)",
    )  # fmt: skip
    return parser


def _check_method_flags(args: argparse.Namespace) -> None:
    """Refuse flags of the other method (before any work)."""
    own = {"occlusion": ("window", "stride", "scale"), "gradcam": ("target_layer",)}
    for method, names in own.items():
        for name in names:
            if args.method != method and getattr(args, name) is not None:
                flag = "--" + name.replace("_", "-")
                raise CLIError(f"{flag} applies to --method {method}, not {args.method}")


def _maps(args: argparse.Namespace, models: list[Any], images: Any, batch_size: int) -> Any:
    """Return the maps of ``images`` under the fold ``models`` by ``args.method``."""
    from idckit.explain import grad_cam, occlusion_map

    if args.method == "gradcam":
        try:
            return grad_cam(models, images, target_layer=args.target_layer, batch_size=batch_size)
        except RuntimeError as err:  # a backend without gradients
            raise CLIError(str(err)) from err
    return occlusion_map(
        models, images, window=args.window, stride=args.stride,
        scale=args.scale or "logit", batch_size=batch_size,
    )  # fmt: skip


def _figure(args: argparse.Namespace, images: Any, maps: Any, titles: Any, context: int) -> Any:
    from idckit.explain import plot_grad_cam, plot_occlusion

    if args.method == "gradcam":
        return plot_grad_cam(images, maps, titles=titles, context=context)
    return plot_occlusion(
        images, maps, titles=titles, context=context, scale=args.scale or "logit"
    )


def _summary(args: argparse.Namespace, models: list[Any]) -> str:
    """Return the closing line: what the titles and the maps show."""
    from idckit.explain import find_target_layer

    if args.method == "gradcam":
        layer = args.target_layer or find_target_layer(models[0])
        maps = (
            f"Grad-CAM maps of the fold models' log-odds of IDC(+) at layer {layer!r} (mean of "
            "their maps; 1 = a patch's strongest evidence)"
        )
    else:
        unit = "log-odds" if (args.scale or "logit") == "logit" else "probability"
        maps = f"maps of the fold models' mean P(IDC+) without them, in {unit}"
    return f"P(IDC+) in the titles as the run predicts it (with its TTA and smoothing), {maps}"


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
    _check_method_flags(args)
    with one_line_errors():
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
            maps = _maps(args, run.fold_models(), images, run.config.batch_size)
            titles = [
                f"{dataset.patients[i]} x{dataset.x[i]} y{dataset.y[i]}\n"
                f"P(IDC+) {predictions.prob_idc[i]:.2f}"
                for i in rows
            ]
            figure = _figure(args, images, maps, titles, run.config.context)
            path = out / f"{args.method}_{name}.png"
            figure.savefig(path, dpi=100, bbox_inches="tight")
            what = name.replace("_", " ")
            print(f"wrote {path}: {len(rows)} of {len(found)} {what}, surest first")
    if not groups:
        print("no patches to explain")
    print(f"threshold {run.threshold:.4f}; {_summary(args, run.fold_models())}")
    return 0
