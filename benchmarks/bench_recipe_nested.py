#!/usr/bin/env python3
"""The ``cpu`` recipe as deployed, scored on every patient by a run that never saw them.

Nested patient-level cross-validation: the patients are split into ``--outer`` stratified
groups; for each, the recipe is trained on the others (``KFoldTrainer.from_recipe("cpu")``,
its own inner folds) and its fold-model ensemble, with the recipe's smoothing and threshold,
predicts the group's patches, the way ``idckit evaluate`` would. Beside it, on the same
groups, the calibration CNN that issue 4 quotes (``bench_recipe_holdout.py --baseline``) is
trained and scored at threshold 0.5. The pooled out-of-group predictions give one F1(+),
balanced accuracy and ROC-AUC per model over all patients, printed as one JSON object with
the per-group scores and, per model, the patients with the most false positives and the pooled
scores without them; the predictions are written to ``OUT/nested_predictions.csv``.

    python benchmarks/bench_recipe_nested.py                  # 3 groups, recipe + baseline
    python benchmarks/bench_recipe_nested.py --no-baseline    # the recipe only

Started again with the same ``--out``, it resumes the recipe's runs (finished ones are read).

Takes about 40 minutes on ../shared/data/idc-train on a quiet 2-core machine (3 groups).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _recipe_variant import add_recipe_arguments, variant_changes
from bench_recipe_holdout import (
    DATA_SET_PREVALENCE,
    f1_at_prevalence,
    held_out_scores,
    rounded,
    train_baseline,
)


def recipe_probabilities(train: Any, test: Any, args: argparse.Namespace, out: Path) -> Any:
    """Train the (variant of the) recipe on ``train``; its P(IDC+) for ``test`` and threshold."""
    from idckit.training import KFoldTrainer, get_recipe

    recipe = get_recipe("cpu").replace(**variant_changes(args))
    # resume=True: a killed benchmark run, started again with the same --out, keeps its folds
    trainer = KFoldTrainer.from_recipe(recipe, seed=args.seed, out_dir=out, resume=True)
    result = trainer.fit(train)
    return trainer.predict(test).prob_idc, result.threshold


def baseline_probabilities(train: Any, test: Any, args: argparse.Namespace) -> Any:
    """Train the calibration CNN on ``train``; its P(IDC+) for ``test``."""
    from idckit.inference import predict_proba

    model = train_baseline(train, 10, args.seed)
    return predict_proba(model, test.images)


def summary(labels: Any, prob: Any, threshold: float) -> dict[str, Any]:
    """Scores of pooled predictions, with F1(+) at the whole data set's prevalence."""
    scores = held_out_scores(labels, prob, threshold)
    scores["f1_pos_at_28pct"] = f1_at_prevalence(scores["confusion_matrix"], DATA_SET_PREVALENCE)
    return rounded(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_arguments(parser)
    parser.add_argument("--outer", type=int, default=3, help="groups of patients (default 3)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the calibration CNN")
    args = parser.parse_args()

    from idckit.data import IDCPatchDataset
    from idckit.training._splits import make_splits

    dataset = IDCPatchDataset.from_directory(args.data)
    out = args.out or Path(tempfile.mkdtemp(prefix="idckit-recipe-nested-"))
    models = ["recipe"] if args.no_baseline else ["recipe", "baseline"]
    prob = {name: np.full(len(dataset), np.nan) for name in models}
    group = np.zeros(len(dataset), dtype=int)
    thresholds: dict[str, list[float]] = {"recipe": [], "baseline": []}
    per_group: list[dict[str, Any]] = []
    start = time.perf_counter()
    splits = make_splits(dataset.patients, dataset.labels, args.outer, seed=args.seed)
    for k, (train_patients, test_patients) in enumerate(splits, start=1):
        train, test = dataset.subset(train_patients), dataset.subset(test_patients)
        rows = np.flatnonzero(np.isin(dataset.patients, test_patients))
        group[rows] = k
        prob["recipe"][rows], threshold = recipe_probabilities(
            train, test, args, out / f"outer_{k}"
        )
        thresholds["recipe"].append(float(threshold))
        if "baseline" in prob:
            prob["baseline"][rows] = baseline_probabilities(train, test, args)
            thresholds["baseline"].append(0.5)
        per_group.append({
            "group": k, "patients": len(test_patients), "patches": len(rows),
            "prevalence": round(float(test.labels.mean()), 4),
            **{name: summary(test.labels, prob[name][rows], thresholds[name][-1])
               for name in models},
        })  # fmt: skip
        print(json.dumps(per_group[-1]), flush=True)
    minutes = (time.perf_counter() - start) / 60
    write_predictions(out / "nested_predictions.csv", dataset, group, prob)
    pooled, worst = {}, {}
    for name in models:  # each patch decided at the threshold of the run that scored it
        cut = np.asarray(thresholds[name])[group - 1]
        pooled[name] = summary(dataset.labels, prob[name], cut)
        worst[name] = most_false_positives(dataset.patients, dataset.labels, prob[name] >= cut)
    print(json.dumps({
        "outer": args.outer, "patients": len(dataset.patient_ids), "patches": len(dataset),
        "prevalence": round(float(dataset.labels.mean()), 4), "minutes": round(minutes, 1),
        "recipe_changes": variant_changes(args), "pooled": pooled,
        "most_false_positives": worst, "out": str(out),
    }))  # fmt: skip


def most_false_positives(patients: Any, labels: Any, decided: Any, k: int = 4) -> dict[str, Any]:
    """The ``k`` patients with the most false positives, and the pooled scores without them."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    false_pos = (decided == 1) & (labels == 0)
    ids, counts = np.unique(patients[false_pos], return_counts=True)
    top = ids[np.argsort(-counts, kind="stable")][:k]
    rows = []
    for p in top:
        mine = patients == p
        rows.append({
            "patient": str(p), "patches": int(mine.sum()), "idc_pos": int(labels[mine].sum()),
            "false_pos": int(false_pos[mine].sum()),
        })  # fmt: skip
    without = {}
    for n in (1, k):
        keep = ~np.isin(patients, top[:n])
        truth, guess = labels[keep], decided[keep]
        without[f"without_top_{n}"] = {
            "f1_pos": round(float(f1_score(truth, guess)), 4),
            "balanced_accuracy": round(float(balanced_accuracy_score(truth, guess)), 4),
        }
    return {"false_pos": int(false_pos.sum()), "patients": rows, **without}


def write_predictions(path: Path, dataset: Any, group: Any, prob: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient", "x", "y", "label", "group", *[f"prob_{n}" for n in prob]])
        for i in range(len(dataset)):
            writer.writerow([
                dataset.patients[i], dataset.x[i], dataset.y[i], dataset.labels[i], group[i],
                *[f"{prob[n][i]:.6f}" for n in prob],
            ])  # fmt: skip


if __name__ == "__main__":
    main()
