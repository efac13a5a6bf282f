#!/usr/bin/env python3
"""Training and inference speed of a recipe through the public API, as one JSON result.

On a tree of patches (``--max-patients`` of its patients, drawn with a fixed seed, to keep it
small), trains the recipe with ``KFoldTrainer.from_recipe`` for ``--folds`` folds of
``--epochs`` epochs and times every epoch (training plus the fold's validation pass, from a
Keras callback). Then times ``Run.predict_proba`` on the same patches: the fold models as an
ensemble, with the recipe's test-time augmentation, context and smoothing, after one untimed
warm-up call. Reports seconds per epoch (median over all epochs after each fold's first, which
also builds and compiles; the first epochs separately), training patches per second, the
whole fit's seconds and inference patches per second, with the machine's CPU count and the
Keras backend.

``--set NAME=VALUE`` (repeatable) changes the recipe through ``Recipe.replace``, as in
``bench_recipe.py``: a TrainingConfig setting, a recipe field (``--set model=benchmark``), a
model-builder argument (``--set model__dropout=0.2``) or ``learning_rate``; VALUE is read as
JSON, else as a string. ``--folds`` and ``--epochs`` are applied first.

    python benchmarks/bench_speed.py ../shared/data/idc-train --out speed.json
    python benchmarks/bench_speed.py DATA --max-patients 40 --epochs 3 --out speed.json
    KERAS_BACKEND=jax python benchmarks/bench_speed.py DATA --recipe seed --out gpu.json

Takes about 2-4 minutes with the defaults (the cpu recipe, 20 patients, 2 folds of 2 epochs)
on a 2-core CPU; more patients and epochs scale it about linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def parse_set(items: list[str]) -> dict[str, Any]:
    """``["epochs=2", "model=benchmark"]`` -> ``{"epochs": 2, "model": "benchmark"}``.

    Each VALUE is read as JSON, else kept as a string; a later NAME replaces an earlier one.
    """
    changes: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            changes[name] = json.loads(text)
        except json.JSONDecodeError:
            changes[name] = text
    return changes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, help="tree of patches")
    parser.add_argument("--out", type=Path, required=True, help="write the JSON result here")
    parser.add_argument("--recipe", default="cpu", help="recipe name (default: cpu)")
    parser.add_argument("--folds", type=int, default=2, help="folds (default 2)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per fold (default 2)")
    parser.add_argument(
        "--max-patients", type=int, default=20,
        help="use this many of the tree's patients, drawn with seed 0 (default 20; 0: all)",
    )  # fmt: skip
    parser.add_argument(
        "--set", dest="changes", action="append", default=[], metavar="NAME=VALUE",
        help="change the recipe (repeatable), e.g. --set batch_size=64",
    )  # fmt: skip
    parser.add_argument("--run-dir", type=Path, help="run folder (default: a temporary one)")
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Any]:
    """The options and the (changed) recipe; usage errors exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from idckit.training import get_recipe

    if args.max_patients < 0:
        parser.error(f"--max-patients must be >= 0, got {args.max_patients}")
    try:
        recipe = get_recipe(args.recipe).replace(n_splits=args.folds, epochs=args.epochs)
        recipe = recipe.replace(**parse_set(args.changes))
    except ValueError as err:
        parser.error(str(err))
    return args, recipe


def some_patients(dataset: Any, count: int) -> Any:
    """``count`` of ``dataset``'s patients drawn with seed 0 (all of them for 0 or more)."""
    patients = np.asarray(dataset.patient_ids)
    if count == 0 or count >= len(patients):
        return dataset
    chosen = np.random.default_rng(0).choice(patients, size=count, replace=False)
    return dataset.subset(sorted(chosen.tolist()))


def epoch_timer(seconds: list[list[float]]) -> Any:
    """Trainer callbacks (fresh per fold) that append each fold's epoch durations to
    ``seconds``."""
    import keras

    class EpochTimer(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_begin(self, logs: Any = None) -> None:
            seconds.append([])

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            seconds[-1].append(time.perf_counter() - self.start)

    return lambda fold: [EpochTimer()]


def measure(recipe: Any, dataset: Any, run_dir: Path) -> dict[str, Any]:
    import keras

    from idckit.training import KFoldTrainer

    seconds: list[list[float]] = []
    trainer = KFoldTrainer.from_recipe(
        recipe, out_dir=run_dir, callbacks=epoch_timer(seconds), verbose=0
    )
    start = time.perf_counter()
    result = trainer.fit(dataset)
    fit_seconds = time.perf_counter() - start
    later = [s for fold in seconds for s in fold[1:]]
    per_epoch = statistics.median(later) if later else statistics.median(f[0] for f in seconds)
    train_patches = np.mean([len(dataset) - n_val for n_val in validation_sizes(result, dataset)])
    run = trainer.run_
    run.predict_proba(dataset.take(np.arange(min(64, len(dataset)))))  # warm-up, untimed
    start = time.perf_counter()
    prob = run.predict_proba(dataset)
    predict_seconds = time.perf_counter() - start
    return {
        "backend": keras.backend.backend(),
        "epoch_seconds": [[round(s, 3) for s in fold] for fold in seconds],
        "seconds_per_epoch": round(per_epoch, 3),
        "first_epoch_seconds": [round(fold[0], 3) for fold in seconds],
        "train_patches_per_fold": round(float(train_patches), 1),
        "train_patches_per_s": round(float(train_patches) / per_epoch, 1),
        "fit_seconds": round(fit_seconds, 2),
        "predict_patches": len(prob),
        "predict_models": len(result.folds),
        "predict_seconds": round(predict_seconds, 3),
        "predict_patches_per_s": round(len(prob) / predict_seconds, 1),
    }


def validation_sizes(result: Any, dataset: Any) -> list[int]:
    """Patches in each fold's validation patients."""
    return [int(np.isin(dataset.patients, list(f.val_patients)).sum()) for f in result.folds]


def write_result(result: dict[str, Any], out: Path) -> None:
    """Print ``result`` as JSON and write it to ``out``."""
    text = json.dumps(result, indent=2, default=str)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    args, recipe = parse_args(argv)
    from idckit.data import IDCPatchDataset

    dataset = some_patients(IDCPatchDataset.from_directory(args.data), args.max_patients)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="idckit-bench-speed-")) / "run"
    result = {
        "benchmark": "bench_speed", "command": ["bench_speed.py", *(argv or sys.argv[1:])],
        "recipe": recipe.to_dict(), "data": str(args.data),
        "patients": len(dataset.patient_ids), "patches": len(dataset),
        "cpus": os.cpu_count() or 1, "machine": platform.machine(),
        **measure(recipe, dataset, run_dir), "run_dir": str(run_dir),
    }  # fmt: skip
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
