#!/usr/bin/env python3
"""Pool several runs of ``bench_recipe_nested.py``: does averaging whole recipes help?

Each run's ``nested_predictions.csv`` holds one P(IDC+) per development patch from a recipe
that never saw the patch's patient. This script checks that the files list the same patches,
scores each run alone and the mean of their probabilities (an ensemble of whole recipes,
e.g. from different ``--seed`` values), all at ``--threshold``, and prints one JSON object.
Beside the pooled scores it gives the median ROC-AUC within a patient, over the patients with
patches of both classes: how well the predictions rank one patient's patches.

    python benchmarks/combine_nested.py runs/nested-s0 runs/nested-s1 runs/nested-s2

Takes seconds.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from bench_recipe_nested import summary


def read_predictions(run: Path, column: str) -> tuple[list[tuple[str, str, str]], Any, Any]:
    """The patches (patient, x, y), labels and ``column`` of a run's predictions, sorted."""
    path = run / "nested_predictions.csv" if run.is_dir() else run
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as err:
        raise SystemExit(f"cannot read {path} as nested_predictions.csv: {err}") from None
    missing = {"patient", "x", "y", "label", column} - set(rows[0] if rows else ())
    if missing:
        raise SystemExit(f"{path} has no rows or lacks the columns {sorted(missing)}")
    rows.sort(key=lambda r: (r["patient"], r["x"], r["y"]))
    keys = [(r["patient"], r["x"], r["y"]) for r in rows]
    labels = np.array([int(r["label"]) for r in rows])
    return keys, labels, np.array([float(r[column]) for r in rows])


def within_patient_auc(patients: Any, labels: Any, prob: Any) -> dict[str, Any]:
    """Median per-patient ROC-AUC over the patients with patches of both classes."""
    from sklearn.metrics import roc_auc_score

    aucs = [
        roc_auc_score(labels[mine], prob[mine])
        for mine in (patients == p for p in np.unique(patients))
        if 0 < labels[mine].sum() < mine.sum()
    ]
    return {"patients": len(aucs), "median_roc_auc": round(float(np.median(aucs)), 4)}


def scores(patients: Any, labels: Any, prob: Any, threshold: float) -> dict[str, Any]:
    """Pooled scores at ``threshold``, and the ranking within patients."""
    return {
        **summary(labels, prob, threshold),
        "within_patient": within_patient_auc(patients, labels, prob),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="--out folders (or their CSV files)")
    parser.add_argument("--column", default="prob_recipe", help="(default: prob_recipe)")
    parser.add_argument("--threshold", type=float, default=0.5, help="(default: 0.5)")
    args = parser.parse_args()

    runs = [read_predictions(run, args.column) for run in args.runs]
    keys, labels, _ = runs[0]
    for run, (run_keys, run_labels, _) in zip(args.runs, runs, strict=True):
        if run_keys != keys or not np.array_equal(run_labels, labels):
            raise SystemExit(f"{run} does not list the same patches as {args.runs[0]}")
    probs = [prob for _, _, prob in runs]
    patients = np.array([patient for patient, _, _ in keys])
    print(json.dumps({
        "patches": len(keys), "threshold": args.threshold,
        "runs": {str(run): scores(patients, labels, prob, args.threshold)
                 for run, prob in zip(args.runs, probs, strict=True)},
        "mean_of_runs": scores(patients, labels, np.mean(probs, axis=0), args.threshold),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
