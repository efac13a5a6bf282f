"""``idckit train DATA_DIR --out RUN_DIR``: patient-grouped K-fold training by recipe."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import Any

from idckit.cli._main import CLIError
from idckit.cli._runs import load_dataset, one_line_errors
from idckit.data._context import MAX_CONTEXT
from idckit.inference._spatial import SpatialSmoothing
from idckit.training._recipes import LR_SCHEDULES, MODEL_NAMES, RECIPES, Recipe, get_recipe

_NOT_TRANSFER = ("benchmark", "idc_cnn")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` sub-parser."""
    recipes = "; ".join(f"{r.name}: {r.description}" for r in RECIPES.values())
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="cross-validate a model by patient (resumable) and choose its threshold",
        description="Train a model with patient-grouped, stratified K-fold cross-validation. "
        "The run directory holds config.json, splits.json, fold_<k>/ (model.keras, "
        "history.csv, learning_curves.png, metrics.json) and report.json when done. "
        f"Explicit flags override the recipe. Recipes: {recipes}",
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="tree of patch PNGs")
    parser.add_argument("--out", required=True, metavar="RUN_DIR", help="run directory")
    parser.add_argument("--model", choices=MODEL_NAMES, help="model (default: the recipe's)")
    parser.add_argument("--recipe", default="cpu", choices=sorted(RECIPES), help="default: cpu")
    parser.add_argument("--folds", type=int, metavar="K", help="number of folds")
    parser.add_argument("--epochs", type=int, metavar="N", help="epochs per fold")
    parser.add_argument("--batch-size", type=int, metavar="B", help="batch size")
    parser.add_argument(
        "--learning-rate",
        type=float,
        metavar="LR",
        help="the optimizer's learning rate (default: the recipe's)",
    )
    parser.add_argument(
        "--lr-schedule",
        choices=LR_SCHEDULES,
        help="constant rate, cosine decay to 0 over each fold, or cosine decay after a short "
        "linear warm-up (default: the recipe's)",
    )
    parser.add_argument(
        "--class-weight",
        choices=("balanced", "none"),
        help="weigh each class by its inverse frequency in the training fold, or not "
        "(default: the recipe's)",
    )
    parser.add_argument(
        "--weights", metavar="imagenet|none|PATH", help="backbone weights (transfer models)"
    )
    parser.add_argument(
        "--tta",
        action="store_const",
        const=True,
        help="test-time augmentation: average P(IDC+) over the 8 flips/rotations of each patch "
        "(default: the recipe's)",
    )
    parser.add_argument(
        "--no-tta", dest="tta", action="store_const", const=False, help="turn --tta off"
    )
    parser.add_argument(
        "--smooth",
        type=float,
        metavar="ALPHA",
        help="spatial smoothing: blend each P(IDC+) with the mean of the patient's neighbouring "
        "patches with weight ALPHA in [0, 1]; 0 turns it off (default: the recipe's)",
    )
    parser.add_argument(
        "--smooth-radius",
        type=int,
        metavar="R",
        help="neighbourhood of --smooth in grid cells (default: the recipe's, else 1)",
    )
    parser.add_argument(
        "--context",
        type=int,
        metavar="R",
        help="feed each patch with its neighbours: a (2R+1)x(2R+1) mosaic of the patient's "
        "slide, for --model idc_cnn; 0 turns it off (default: the recipe's)",
    )
    parser.add_argument(
        "--label-smoothing",
        type=float,
        metavar="E",
        help="train towards 1 - E/2 and E/2 instead of 1 and 0, E in [0, 1); 0 turns it off "
        "(default: the recipe's)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="default: 0")
    parser.add_argument("--resume", action="store_true", help="continue a killed run")
    parser.add_argument("--test-data", metavar="DIR", help="held-out patients to evaluate on")
    parser.add_argument("--cache-dir", metavar="DIR", help="decode cache location")
    return parser


def _weights(value: str) -> str | None:
    if value.lower() == "none":
        return None
    if value.lower() == "imagenet":
        return "imagenet"
    if not os.path.isfile(value):
        raise CLIError(f"--weights: expected 'imagenet', 'none' or a weights file; {value!r}")
    return value


def _smoothing(args: argparse.Namespace, recipe: Recipe) -> SpatialSmoothing | None:
    """Return the recipe's smoothing with ``--smooth``/``--smooth-radius`` applied."""
    current, alpha, radius = recipe.smoothing, args.smooth, args.smooth_radius
    if alpha is not None and not 0 <= alpha <= 1:
        raise CLIError(f"--smooth must be in [0, 1] (0: off); got {alpha}")
    if radius is not None and radius < 1:
        raise CLIError(f"--smooth-radius must be >= 1; got {radius}")
    if alpha == 0:
        return None
    if alpha is None and radius is None:
        return current
    if alpha is None and current is None:
        raise CLIError("--smooth-radius needs --smooth ALPHA (the recipe does not smooth)")
    base = current or SpatialSmoothing()
    return dataclasses.replace(
        base,
        alpha=base.alpha if alpha is None else alpha,
        radius=base.radius if radius is None else radius,
    )


def _optimisation(args: argparse.Namespace, recipe: Recipe) -> dict[str, Any]:
    """Return the recipe fields that the optimisation flags (``--learning-rate`` ...) set."""
    changes: dict[str, Any] = {}
    if args.learning_rate is not None:
        if not args.learning_rate > 0:
            raise CLIError(f"--learning-rate must be > 0; got {args.learning_rate}")
        config = {**recipe.optimizer.get("config", {}), "learning_rate": args.learning_rate}
        changes["optimizer"] = {**recipe.optimizer, "config": config}
    if args.lr_schedule is not None:
        changes["lr_schedule"] = args.lr_schedule
    if args.class_weight is not None:
        changes["class_weight"] = None if args.class_weight == "none" else args.class_weight
    return changes


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """Return the recipe named by ``--recipe`` with the explicit flags applied over it.

    A ``--model`` other than the recipe's drops the recipe's model arguments.
    """
    recipe = get_recipe(args.recipe)
    changes: dict[str, Any] = {}
    model, kwargs, context = recipe.model, dict(recipe.model_kwargs), recipe.context
    if args.model is not None and args.model != recipe.model:
        model, kwargs, context = args.model, {}, 0
    if args.context is not None:
        if not 0 <= args.context <= MAX_CONTEXT or (args.context and model != "idc_cnn"):
            raise CLIError(
                f"--context must be 0 to {MAX_CONTEXT}, and 0 unless --model idc_cnn; "
                f"got {args.context}"
            )
        context = args.context
    if args.weights is not None:
        if model in _NOT_TRANSFER:
            raise CLIError(f"--weights applies to transfer backbones, not to --model {model}")
        kwargs["weights"] = _weights(args.weights)
    changes.update(
        model=model, model_kwargs=kwargs, context=context, smoothing=_smoothing(args, recipe)
    )
    if args.tta is not None:
        changes["tta"] = args.tta
    changes.update(_optimisation(args, recipe))
    if args.label_smoothing is not None:
        if not 0 <= args.label_smoothing < 1:
            raise CLIError(
                f"--label-smoothing must be in [0, 1) (0: off); got {args.label_smoothing}"
            )
        changes["label_smoothing"] = args.label_smoothing
    for flag, field in (("folds", "n_splits"), ("epochs", "epochs"), ("batch_size", "batch_size")):
        value = getattr(args, flag)
        if value is not None:
            if value < (2 if flag == "folds" else 1):
                minimum = 2 if flag == "folds" else 1
                raise CLIError(f"--{flag.replace('_', '-')} must be >= {minimum}; got {value}")
            changes[field] = value
    return recipe.replace(**changes)


def run(args: argparse.Namespace) -> int:
    """Train, print the fold table and threshold, evaluate ``--test-data`` if given."""
    recipe = recipe_from_args(args)
    with one_line_errors():
        from idckit.training import KFoldTrainer

        dataset = load_dataset(args.data_dir, args.cache_dir)
        trainer = KFoldTrainer.from_recipe(
            recipe, seed=args.seed, out_dir=args.out, resume=args.resume
        )
        trainer.fit(dataset)
        if args.test_data:
            test = load_dataset(args.test_data, args.cache_dir)
            out = Path(args.out) / "test"
            report = trainer.evaluate(test, out_dir=out)
            print(f"\nheld-out patients ({len(test.patient_ids)}, {len(test)} patches):")
            print(report)
            print(f"test report and plots: {out}")
    print(f"run directory: {args.out} (report.json, summary.txt, oof.csv, fold_<k>/)")
    return 0
