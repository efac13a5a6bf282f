#!/usr/bin/env python3
"""The ``cpu`` recipe as deployed, scored on held-out patients: train on some, evaluate on others.

Trains ``KFoldTrainer.from_recipe("cpu")`` on the patients of the Cruz-Roa et al. (2014) train
list found in the tree, then evaluates the trained run the way ``idckit evaluate`` does (the
fold models as an ensemble, the recipe's smoothing and threshold) on the patients of the
Cruz-Roa validation list, which no fold model saw. Prints the held-out scores and the
cross-validated ones of the training run beside them, as one JSON object.

    python benchmarks/bench_recipe_holdout.py                     # the cpu recipe as it is
    python benchmarks/bench_recipe_holdout.py --folds 4           # a variant

The default data is ``../shared/data/idc-train`` (82 train-list and 29 validation-list patients).
Goal (issue 4): F1(+) >= 0.83 and balanced accuracy >= 0.90 on unseen patients.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _recipe_variant import add_recipe_arguments, variant_changes


def listed(dataset: Any, patients: tuple[str, ...]) -> Any:
    """The part of ``dataset`` that belongs to ``patients``."""
    present = set(dataset.patients)
    return dataset.subset([p for p in patients if p in present])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_arguments(parser)
    args = parser.parse_args()

    from idckit.data import CRUZ_ROA_2014, IDCPatchDataset
    from idckit.training import KFoldTrainer, get_recipe

    recipe = get_recipe("cpu").replace(**variant_changes(args))
    dataset = IDCPatchDataset.from_directory(args.data)
    train = listed(dataset, CRUZ_ROA_2014["train"])
    held_out = listed(dataset, CRUZ_ROA_2014["validation"])
    if not set(train.patients).isdisjoint(held_out.patients):
        raise SystemExit("the train and validation lists share a patient")
    out = args.out or Path(tempfile.mkdtemp(prefix="idckit-recipe-holdout-")) / "run"
    trainer = KFoldTrainer.from_recipe(recipe, seed=args.seed, out_dir=out)
    start = time.perf_counter()
    result = trainer.fit(train)
    minutes = (time.perf_counter() - start) / 60
    report = trainer.evaluate(held_out).to_dict()
    cv = result.summary()
    print(json.dumps({
        "context": recipe.context,
        "epochs": recipe.epochs,
        "folds": recipe.n_splits,
        "train": {"patients": len(set(train.patients)), "patches": len(train),
                  "minutes": round(minutes, 1)},
        "held_out": {
            "patients": len(set(held_out.patients)), "patches": len(held_out),
            "f1_pos": round(report["IDC(+)"]["f1-score"], 4),
            "balanced_accuracy": round(report["balanced_accuracy"], 4),
            "roc_auc": round(report["roc_auc"], 4),
            "confusion_matrix": report["confusion_matrix"],
        },
        "cv_on_train": {
            key: [round(cv[key][stat], 4) for stat in ("mean", "std")]
            for key in ("f1_pos", "balanced_accuracy", "roc_auc")
        },
        "run_dir": str(result.run_dir),
    }, default=str))  # fmt: skip


if __name__ == "__main__":
    main()
