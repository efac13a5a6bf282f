"""Command-line options shared by the recipe benchmarks: which data, and a variant of ``cpu``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "idc-train"

#: Option name -> Recipe field it replaces.
_VARIANT_FIELDS = {
    "context": "context", "epochs": "epochs", "folds": "n_splits",
    "label_smoothing": "label_smoothing",
}  # fmt: skip


def _convs_per_block(text: str) -> int | list[int]:
    """``"2"`` -> 2 (every block), ``"1,1,2,2"`` -> [1, 1, 2, 2] (one per block)."""
    counts = [int(n) for n in text.split(",")]
    return counts[0] if len(counts) == 1 else counts


def _colour_jitter(text: str) -> dict[str, float]:
    """``"hed=0.05,brightness=10"`` -> ``{"hed": 0.05, "brightness": 10.0}``."""
    import dataclasses

    from idckit.data import Augmentation  # NumPy only: --help stays free of TensorFlow

    allowed = [f.name for f in dataclasses.fields(Augmentation) if f.name != "dihedral"]
    strengths = {}
    for item in text.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in allowed or not value:
            raise argparse.ArgumentTypeError(
                f"expected NAME=STRENGTH pairs with NAME in {', '.join(allowed)}, got {item!r}"
            )
        strengths[name] = float(value)
    return strengths


def add_recipe_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--data``, ``--out``, ``--context``, ``--context-width``, ``--convs-per-block``,
    ``--bn-momentum``, ``--epochs``, ``--folds``, ``--class-weight``, ``--label-smoothing``,
    ``--learning-rate``, ``--colour-jitter`` and ``--seed``."""
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="tree of patches")
    parser.add_argument("--out", type=Path, help="run directory (default: a temporary one)")
    parser.add_argument("--context", type=int, help="context radius (default: the recipe's)")
    parser.add_argument(
        "--context-width", type=int, help="filters of the context stream's first block"
    )
    parser.add_argument(
        "--convs-per-block",
        type=_convs_per_block,
        help="convolutions per block, one for all or one per block: 1,1,2,2 (default: 1)",
    )
    parser.add_argument(
        "--bn-momentum", type=float, help="momentum of the batch-norm statistics (default: 0.99)"
    )
    parser.add_argument("--epochs", type=int, help="epochs per fold (default: the recipe's)")
    parser.add_argument("--folds", type=int, help="folds (default: the recipe's)")
    parser.add_argument(
        "--class-weight", choices=["balanced", "none"], help="(default: the recipe's)"
    )
    parser.add_argument(
        "--label-smoothing", type=float, help="label smoothing of the loss (default: the recipe's)"
    )
    parser.add_argument(
        "--learning-rate", type=float,
        help="the optimizer's peak learning rate (default: the recipe's, 2e-3)",
    )  # fmt: skip
    parser.add_argument(
        "--colour-jitter", type=_colour_jitter, metavar="NAME=STRENGTH,...",
        help="colour jitter on top of the recipe's flips/rotations (idckit.data.Augmentation "
        "fields hed, brightness, contrast, saturation), e.g. hed=0.05,brightness=10",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)


def variant_changes(args: argparse.Namespace) -> dict[str, Any]:
    """The Recipe fields that the given options replace (``Recipe.replace(**changes)``)."""
    changes = {
        field: getattr(args, name)
        for name, field in _VARIANT_FIELDS.items()
        if getattr(args, name) is not None
    }
    if getattr(args, "class_weight", None) is not None:
        changes["class_weight"] = None if args.class_weight == "none" else args.class_weight
    model_changes = {
        name: getattr(args, name)
        for name in ("context_width", "convs_per_block", "bn_momentum")
        if getattr(args, name, None) is not None
    }
    if model_changes:
        from idckit.training import get_recipe

        changes["model_kwargs"] = {**get_recipe("cpu").model_kwargs, **model_changes}
    if getattr(args, "learning_rate", None) is not None:
        from idckit.training import get_recipe

        optimizer = get_recipe("cpu").optimizer
        changes["optimizer"] = {
            **optimizer, "config": {**optimizer["config"], "learning_rate": args.learning_rate}
        }  # fmt: skip
    if getattr(args, "colour_jitter", None) is not None:
        changes["augment"] = {"dihedral": True, **args.colour_jitter}  # JSON-ready
    return changes
