"""``idckit train DATA_DIR [DATA_DIR ...] --out RUN_DIR``: patient-grouped K-fold training."""

from __future__ import annotations

import argparse
import os
import typing
from pathlib import Path
from typing import Any

from idckit.cli._evaluate import operating_points_line
from idckit.cli._main import CLIError
from idckit.cli._runs import DATA_DIRS_HELP, load_dataset, one_line_errors
from idckit.training import RECIPES, Recipe, TrainingConfig, get_recipe

#: Model names the command line offers (any ``keras.applications`` name also works in Python).
MODEL_NAMES = ("benchmark", "idc_cnn", "vgg16", "vgg19", "mobilenet", "nasnet")
_NOT_TRANSFER = ("benchmark", "idc_cnn")
#: Flags that set a TrainingConfig setting of the same meaning: flag dest -> setting.
_SETTING_FLAGS = {
    "folds": "n_splits",
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr_schedule": "lr_schedule",
    "tta": "tta",
    "context": "context",
    "label_smoothing": "label_smoothing",
    "seed": "seed",
    "learning_rate": "learning_rate",
}


def _choices(setting: str) -> tuple[str, ...]:
    """Return the values a ``Literal`` setting of :class:`TrainingConfig` takes (``--help``)."""
    hint = typing.get_type_hints(TrainingConfig)[setting]
    return tuple(str(v) for v in typing.get_args(hint))


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` sub-parser."""
    recipes = " ".join(f"{r.name}: {r.description}" for r in RECIPES.values())
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="cross-validate a model by patient (resumable) and choose its threshold",
        description="Train a model with patient-grouped, stratified K-fold cross-validation. "
        "The run directory holds config.json, splits.json, fold_<k>/ (model.keras, "
        "history.csv, learning_curves.png, metrics.json) and report.json when done. Several "
        "data trees (of distinct patients) are trained on as one data set. "
        f"Explicit flags override the recipe. Recipes: {recipes}",
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", nargs="+", help=DATA_DIRS_HELP)
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
        choices=_choices("lr_schedule"),
        help="a constant rate, or cosine decay to 0 over each fold after a short linear "
        "warm-up (default: the recipe's)",
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
    parser.add_argument(
        "--stain-normalization",
        choices=("macenko", "reinhard", "none"),
        help="normalise stains per patient before training and before every prediction of "
        "the run, towards the training patients' staining (default: the recipe's)",
    )
    parser.add_argument("--seed", type=int, metavar="S", help="default: the recipe's (0)")
    parser.add_argument("--resume", action="store_true", help="continue a killed run")
    parser.add_argument(
        "--test-data", metavar="DIR", nargs="+", help="tree(s) of held-out patients to evaluate on"
    )
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


def _smoothing(args: argparse.Namespace, config: TrainingConfig) -> dict[str, Any]:
    """Return the ``smoothing`` change that ``--smooth``/``--smooth-radius`` ask for, if any."""
    alpha, radius = args.smooth, args.smooth_radius
    if alpha is None and radius is None:
        return {}
    if alpha == 0:
        return {"smoothing": None}
    if alpha is None and config.smoothing is None:
        raise CLIError("--smooth-radius needs --smooth ALPHA (the recipe does not smooth)")
    current = config.smoothing.to_dict() if config.smoothing is not None else {}
    given = {"alpha": alpha, "radius": radius}
    return {"smoothing": {**current, **{k: v for k, v in given.items() if v is not None}}}


def _model_changes(args: argparse.Namespace, recipe: Recipe) -> dict[str, Any]:
    """Return the recipe changes of ``--model`` and ``--weights``.

    A ``--model`` other than the recipe's drops the recipe's model arguments and context.
    """
    changes: dict[str, Any] = {}
    model, kwargs = recipe.model, dict(recipe.model_kwargs)
    if args.model is not None and args.model != recipe.model:
        model, kwargs = args.model, {}
        changes.update(model=model, model_kwargs=kwargs, context=0)
    if args.weights is not None:
        if model in _NOT_TRANSFER:
            raise CLIError(f"--weights applies to transfer backbones, not to --model {model}")
        changes["model_kwargs"] = {**kwargs, "weights": _weights(args.weights)}
    return changes


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """Return the recipe named by ``--recipe`` with the explicit flags applied over it.

    The flags only say what changes; :class:`~idckit.training.TrainingConfig` and
    :class:`~idckit.training.Recipe` check the values (their errors become one line).
    """
    recipe = get_recipe(args.recipe)
    changes = _model_changes(args, recipe)
    for flag, setting in _SETTING_FLAGS.items():
        if getattr(args, flag) is not None:
            changes[setting] = getattr(args, flag)
    if args.stain_normalization is not None:
        stain = args.stain_normalization
        changes["stain_normalization"] = None if stain == "none" else stain
    if args.class_weight is not None:
        changes["class_weight"] = None if args.class_weight == "none" else args.class_weight
    changes.update(_smoothing(args, recipe.config))
    return recipe.replace(**changes)


def run(args: argparse.Namespace) -> int:
    """Train, print the fold table and threshold, evaluate ``--test-data`` if given."""
    with one_line_errors():
        recipe = recipe_from_args(args)
        from idckit.training import KFoldTrainer

        dataset = load_dataset(args.data_dir, args.cache_dir)
        trainer = KFoldTrainer.from_recipe(recipe, out_dir=args.out, resume=args.resume)
        print(trainer.fit(dataset))
        if args.test_data:
            test = load_dataset(args.test_data, args.cache_dir)
            out = Path(args.out) / "test"
            report = trainer.run_.evaluate(test, out_dir=out)
            print(f"\nheld-out patients ({len(test.patient_ids)}, {len(test)} patches):")
            print(report)
            print(f"operating points: {operating_points_line(trainer.run_, report)}")
            print(f"test report and plots: {out}")
    print(f"run directory: {args.out} (report.json, summary.txt, oof.csv, fold_<k>/)")
    return 0
