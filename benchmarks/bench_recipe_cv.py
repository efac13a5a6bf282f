#!/usr/bin/env python3
"""Cross-validated quality of the ``cpu`` recipe (and variants of it) on unseen patients.

Runs ``KFoldTrainer.from_recipe("cpu", ...)`` on a tree of real patches (patient-grouped,
stratified folds; every score is on patients the scoring model never saw) with smoothing
switched off in the trainer, then scores each fold's out-of-fold predictions at the recipe's
threshold twice: as the model gave them, and after the recipe's spatial smoothing (which is
what the recipe itself reports). Prints one line per fold and the mean and standard deviation
over folds, with the wall time of the training.

    python benchmarks/bench_recipe_cv.py                          # the cpu recipe as it is
    python benchmarks/bench_recipe_cv.py --context 0              # the recipe without context
    python benchmarks/bench_recipe_cv.py --epochs 8 --out runs/x  # a shorter variant
    python benchmarks/bench_recipe_cv.py --ema 0.99               # weight averaging (TF backend)

The default data is ``../shared/data/idc-train`` (27,865 patches of 111 patients). Goal
(issue 4): F1(+) >= 0.83 and balanced accuracy >= 0.90 on unseen patients, training in at
most 30 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _recipe_variant import add_recipe_arguments, variant_changes


def fold_scores(labels: Any, prob: Any, threshold: float) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

    predicted = prob >= threshold
    return {
        "f1_pos": float(f1_score(labels, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
        "roc_auc": float(roc_auc_score(labels, prob)),
    }


def summarise(rows: list[dict[str, float]]) -> dict[str, list[float]]:
    return {
        key: [round(float(np.mean([r[key] for r in rows])), 4),
              round(float(np.std([r[key] for r in rows])), 4)]
        for key in rows[0]
    }  # fmt: skip


def ema_at_epoch_end(fold: int) -> list[Any]:
    """A callback that overwrites the weights with their moving average at each epoch's end."""
    import keras

    class EMAAtEpochEnd(keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            if batch == self.params["steps"] - 1:  # before validation, which sees the average
                self.model.optimizer.finalize_variable_values(self.model.trainable_variables)

    return [EMAAtEpochEnd()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_arguments(parser)
    parser.add_argument(
        "--ema", type=float,
        help="train with an exponential moving average of the weights of this momentum, "
        "swapped in at the end of every epoch (so validated, kept and trained on further)",
    )  # fmt: skip
    args = parser.parse_args()

    from idckit.data import IDCPatchDataset
    from idckit.training import KFoldTrainer, get_recipe

    recipe = get_recipe("cpu")
    changes: dict[str, Any] = {"smoothing": None, **variant_changes(args)}
    callbacks = None
    if args.ema is not None:
        optimizer = dict(recipe.to_dict()["optimizer"])
        optimizer["config"] = {**optimizer["config"], "use_ema": True, "ema_momentum": args.ema}
        changes["optimizer"] = optimizer
        callbacks = ema_at_epoch_end
    variant = recipe.replace(**changes)
    dataset = IDCPatchDataset.from_directory(args.data)
    out = args.out or Path(tempfile.mkdtemp(prefix="idckit-recipe-cv-")) / "run"
    trainer = KFoldTrainer.from_recipe(variant, seed=args.seed, out_dir=out, callbacks=callbacks)
    start = time.perf_counter()
    result = trainer.fit(dataset)
    minutes = (time.perf_counter() - start) / 60
    threshold = float(recipe.threshold_objective)  # the cpu recipe's fixed threshold
    assert recipe.smoothing is not None
    oof = result.oof
    smoothed = recipe.smoothing.apply(oof.prob_idc, oof.patients, oof.x, oof.y)
    raw_rows, smooth_rows = [], []
    for fold in result.folds:
        rows = np.isin(oof.patients, list(fold.val_patients))
        raw_rows.append(fold_scores(oof.labels[rows], oof.prob_idc[rows], threshold))
        smooth_rows.append(fold_scores(oof.labels[rows], smoothed[rows], threshold))
        print(
            f"fold {fold.fold}: {len(fold.val_patients)} patients, {int(rows.sum())} patches, "
            f"best epoch {fold.best_epoch}/{fold.epochs_run}; F1(+)/BA/AUC "
            f"raw {raw_rows[-1]['f1_pos']:.3f}/{raw_rows[-1]['balanced_accuracy']:.3f}/"
            f"{raw_rows[-1]['roc_auc']:.3f}, smoothed {smooth_rows[-1]['f1_pos']:.3f}/"
            f"{smooth_rows[-1]['balanced_accuracy']:.3f}/{smooth_rows[-1]['roc_auc']:.3f}"
        )
    summary = {
        "variant": {k: v for k, v in variant.to_dict().items() if k != "description"},
        "threshold": threshold,
        "train_minutes": round(minutes, 1),
        "raw": summarise(raw_rows),
        "smoothed": summarise(smooth_rows),
        "run_dir": str(result.run_dir),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
