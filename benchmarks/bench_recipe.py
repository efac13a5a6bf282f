#!/usr/bin/env python3
"""Recipe quality on patients the scoring models never saw, as one JSON result.

Protocols (``--protocol``):

holdout (default)
    Trains the recipe (``KFoldTrainer.from_recipe``: its folds, its fold-model ensemble) on the
    patients of the Cruz-Roa et al. (2014) train list found in DATA and evaluates the trained
    run (``Run.evaluate``: the ensemble, the recipe's smoothing and threshold) on the patients
    of their validation list, which no fold model saw. With ``--test-data DIR`` it trains on
    all of DATA instead and evaluates on the tree DIR (which must hold other patients).
    Reports F1(+), balanced accuracy, ROC-AUC, the confusion matrix, F1(+) converted to the
    whole data set's 28% IDC(+) prevalence, and the cross-validated scores of the training run.
nested
    Nested patient-level cross-validation: the patients of DATA are split into ``--outer``
    stratified groups (seeded by the recipe's ``seed``); for each group the recipe is trained
    on the others and its run predicts the group. Reports the pooled scores over all patients,
    each group's, and the patients with the most false positives; writes every patch's
    P(IDC+) to RUN_DIR/nested_predictions.csv.
outside
    As nested, but the groups are drawn from the patients of ``--test-data DIR`` (patients
    unlike DATA's) and every group's recipe trains on all of DATA plus the other groups: the
    situation of a recipe trained on both trees and used on new, unlike patients.

``--set NAME=VALUE`` (repeatable) changes the recipe through ``Recipe.replace``: a
TrainingConfig setting (``--set epochs=8 --set seed=1``), a recipe field (``--set
model=benchmark``), a model-builder argument (``--set model__dropout=0.2``) or the optimizer's
learning rate (``--set learning_rate=1e-3``). VALUE is read as JSON (``null``, ``true``,
``0.1``, ``{"hed": 0.05}``), else as a string. ``--baseline`` trains, instead of the recipe,
the calibration CNN that issue 4 quotes (one plain 4-block CNN, 16-32-64-128 filters, AdamW
with cosine decay, flips/rotations, balanced class weights, 10 epochs on all training
patients, threshold 0.5; only ``--set seed=S`` applies to it).

    python benchmarks/bench_recipe.py ../shared/data/idc-train --out holdout.json
    python benchmarks/bench_recipe.py ../shared/data/idc-train --set seed=1 --out s1.json
    python benchmarks/bench_recipe.py ../shared/data/idc-train --protocol nested --out n.json
    python benchmarks/bench_recipe.py ../shared/data/idc-train \\
        --test-data ../shared/data/idc-extra --out extra.json
    python benchmarks/bench_recipe.py ../shared/data/idc-train --protocol outside \\
        --test-data ../shared/data/idc-extra --out outside.json

Takes, for the cpu recipe on ../shared/data/idc-train on a quiet 2-core CPU: holdout about
10 minutes, nested about 31 minutes (3 groups), --baseline about 3 minutes (holdout).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

#: IDC(+) share of the whole data set's patches (78,786 of 277,524).
DATA_SET_PREVALENCE = 78_786 / 277_524


# --- options -----------------------------------------------------------------------------


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
    parser.add_argument("data", type=Path, help="tree of patches (the training patients)")
    parser.add_argument("--out", type=Path, required=True, help="write the JSON result here")
    parser.add_argument("--protocol", choices=["holdout", "nested", "outside"], default="holdout")
    parser.add_argument(
        "--test-data", type=Path,
        help="holdout: train on all of DATA, score on this tree; outside: the tree whose "
        "patients are split into the scored groups",
    )  # fmt: skip
    parser.add_argument("--recipe", default="cpu", help="recipe name (default: cpu)")
    parser.add_argument(
        "--set", dest="changes", action="append", default=[], metavar="NAME=VALUE",
        help="change the recipe (repeatable), e.g. --set epochs=8 --set model__dropout=0.2",
    )  # fmt: skip
    parser.add_argument("--outer", type=int, default=3, help="nested: groups (default 3)")
    parser.add_argument(
        "--baseline", action="store_true", help="train the issue's calibration CNN instead"
    )
    parser.add_argument(
        "--run-dir", type=Path,
        help="where the runs go (default: a temporary folder); an unfinished run resumes",
    )  # fmt: skip
    return parser


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, Any]:
    """The options and the (changed) recipe; usage errors exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from idckit.training import get_recipe

    try:
        changes = parse_set(args.changes)
        if args.baseline and set(changes) - {"seed"}:
            raise ValueError("--baseline trains the calibration CNN: only --set seed=S applies")
        recipe = get_recipe(args.recipe).replace(**changes)
    except ValueError as err:
        parser.error(str(err))
    if args.test_data is not None and args.protocol == "nested":
        parser.error("--test-data goes with --protocol holdout or outside")
    if args.test_data is None and args.protocol == "outside":
        parser.error("--protocol outside needs --test-data DIR (the patients to score)")
    if args.outer < 2:
        parser.error(f"--outer must be at least 2, got {args.outer}")
    return args, recipe


# --- scores ------------------------------------------------------------------------------


def f1_at_prevalence(confusion_matrix: list[list[int]], prevalence: float) -> float:
    """F1(+) of a classifier with this confusion matrix's recall and false-positive rate, on
    patches of which ``prevalence`` are IDC(+)."""
    (tn, fp), (fn, tp) = confusion_matrix
    recall, false_positive_rate = tp / (tp + fn), fp / (fp + tn)
    if recall == 0:
        return 0.0
    true_pos, false_pos = recall * prevalence, false_positive_rate * (1 - prevalence)
    precision = true_pos / (true_pos + false_pos)
    return 2 * precision * recall / (precision + recall)


def scores(labels: Any, prob: Any, threshold: Any) -> dict[str, Any]:
    """F1(+), balanced accuracy, ROC-AUC, confusion matrix and F1(+) at 28% of P(IDC+) at
    ``threshold`` (one for all patches, or one per patch), rounded to 4 decimals."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, roc_auc_score

    pred = (prob >= threshold).astype(int)
    matrix = confusion_matrix(labels, pred, labels=[0, 1]).tolist()
    found = {
        "f1_pos": f1_score(labels, pred),
        "balanced_accuracy": balanced_accuracy_score(labels, pred),
        "roc_auc": roc_auc_score(labels, prob),
        "confusion_matrix": matrix,
        "f1_pos_at_28pct": f1_at_prevalence(matrix, DATA_SET_PREVALENCE),
    }
    return {k: round(float(v), 4) if k != "confusion_matrix" else v for k, v in found.items()}


def report_scores(report: dict[str, Any]) -> dict[str, Any]:
    """The headline scores of a ``ClassificationReport.to_dict()``, rounded."""
    found = {
        "f1_pos": report["IDC(+)"]["f1-score"],
        "balanced_accuracy": report["balanced_accuracy"],
        "recall_pos": report["sensitivity"],
        "specificity": report["specificity"],
        "roc_auc": report["roc_auc"],
        "confusion_matrix": report["confusion_matrix"],
    }
    found["f1_pos_at_28pct"] = f1_at_prevalence(found["confusion_matrix"], DATA_SET_PREVALENCE)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in found.items()}


#: Threshold rules compared on one trained run: a fixed threshold, or an objective that
#: chooses it on the run's out-of-fold predictions (``TrainingConfig.threshold_objective``).
THRESHOLD_RULES = (0.5, "f1", "youden", "min_recall")


def threshold_rules(result: Any, report: Any) -> dict[str, Any]:
    """Held-out scores at the threshold each rule of THRESHOLD_RULES chooses out of fold."""
    from idckit.reporting import choose_threshold

    oof = result.oof
    rules = {}
    for rule in THRESHOLD_RULES:
        if isinstance(rule, float):
            threshold = rule
        else:
            threshold = choose_threshold(
                oof.labels, oof.prob_idc, rule, min_recall=result.min_recall
            )
        rules[str(rule)] = {
            "threshold": round(threshold, 4),
            **report_scores(report.at_threshold(threshold).to_dict()),
        }
    return rules


def describe(dataset: Any) -> dict[str, Any]:
    return {
        "patients": len(dataset.patient_ids), "patches": len(dataset),
        "prevalence": round(float(dataset.labels.mean()), 4),
    }  # fmt: skip


# --- models ------------------------------------------------------------------------------


def baseline_probabilities(train: Any, test: Any, seed: int) -> Any:
    """Train the issue's calibration CNN on all of ``train``; its P(IDC+) for ``test``."""
    import keras

    from idckit.inference import predict_proba
    from idckit.models import build_idc_cnn

    epochs = 10
    keras.utils.set_random_seed(seed)
    feed = train.to_keras(batch_size=128, augment=True, seed=seed)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=epochs * len(feed))
    model = build_idc_cnn(width=16, depth=4)
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=1e-4),
        loss="sparse_categorical_crossentropy",
    )
    weights = {int(k): float(v) for k, v in train.class_weights("balanced").items()}
    model.fit(feed, epochs=epochs, class_weight=weights, verbose=2)
    return predict_proba(model, test.images)


def train_recipe(recipe: Any, train: Any, run_dir: Path) -> Any:
    """Train ``recipe`` on ``train`` into ``run_dir`` (resumed if unfinished); the fit trainer."""
    from idckit.training import KFoldTrainer

    trainer = KFoldTrainer.from_recipe(recipe, out_dir=run_dir, resume=True)
    trainer.fit(train)
    return trainer


# --- protocols ---------------------------------------------------------------------------


def listed(dataset: Any, patients: tuple[str, ...], what: str) -> Any:
    """The part of ``dataset`` that belongs to ``patients``."""
    present = set(dataset.patient_ids)
    mine = [p for p in patients if p in present]
    if not mine:
        raise SystemExit(f"DATA holds no patient of the Cruz-Roa (2014) {what} list: "
                         "pass --test-data DIR to score on another tree")  # fmt: skip
    return dataset.subset(mine)


def holdout(args: argparse.Namespace, recipe: Any, run_dir: Path) -> dict[str, Any]:
    from idckit.data import CRUZ_ROA_2014, IDCPatchDataset

    dataset = IDCPatchDataset.from_directory(args.data)
    if args.test_data is None:
        train = listed(dataset, CRUZ_ROA_2014["train"], "train")
        held_out = listed(dataset, CRUZ_ROA_2014["validation"], "validation")
    else:
        train, held_out = dataset, IDCPatchDataset.from_directory(args.test_data)
    shared = sorted(set(train.patient_ids) & set(held_out.patient_ids))
    if shared:
        raise SystemExit(f"the training and held-out patients overlap: {shared[:5]}")
    start = time.perf_counter()
    if args.baseline:
        prob = baseline_probabilities(train, held_out, recipe.config.seed)
        found, extra = scores(held_out.labels, prob, 0.5), {}
    else:
        trainer = train_recipe(recipe, train, run_dir)
        report = trainer.run_.evaluate(held_out)
        found = report_scores(report.to_dict())
        cv = trainer.result_.summary()
        extra = {
            "threshold": trainer.run_.threshold,
            "train_minutes": round(sum(f.seconds for f in trainer.result_.folds) / 60, 1),
            "operating_points": trainer.run_.operating_points(report),
            "threshold_rules": threshold_rules(trainer.result_, report),
            "cv_on_train": {
                key: [round(cv[key][stat], 4) for stat in ("mean", "std")]
                for key in ("f1_pos", "balanced_accuracy", "roc_auc")
            },
        }
        write_predictions(
            run_dir / "held_out_predictions.csv", held_out, np.zeros(len(held_out), int),
            np.asarray(report.y_score),
        )  # fmt: skip
    return {
        "minutes": round((time.perf_counter() - start) / 60, 1),
        "train": describe(train),
        "held_out": {**describe(held_out), **found},
        **extra,
    }


def outer_groups(patients: Any, labels: Any, n_groups: int, seed: int) -> list[tuple[Any, Any]]:
    """Patient-grouped, stratified groups: ``StratifiedGroupKFold`` over the patients shuffled
    with ``seed`` (the trainer's own way of drawing folds); ``(train, test)`` patient tuples."""
    from sklearn.model_selection import StratifiedGroupKFold

    patients, labels = np.asarray(patients).astype(str), np.asarray(labels).astype(np.int64)
    unique = np.unique(patients)
    order = np.random.default_rng(seed).permutation(len(unique))
    codes = order[np.searchsorted(unique, patients)]
    splitter = StratifiedGroupKFold(n_splits=n_groups, shuffle=False)
    return [
        (tuple(sorted(set(patients[train].tolist()))), tuple(sorted(set(patients[test].tolist()))))
        for train, test in splitter.split(np.zeros((len(labels), 1)), labels, codes)
    ]


def nested(args: argparse.Namespace, recipe: Any, run_dir: Path) -> dict[str, Any]:
    """Score every patient of DATA (nested) or of --test-data (outside) out of group."""
    from idckit.data import IDCPatchDataset

    if args.protocol == "outside":
        always = IDCPatchDataset.from_directory(args.data)
        dataset = IDCPatchDataset.from_directory(args.test_data)
    else:
        always, dataset = None, IDCPatchDataset.from_directory(args.data)
    prob = np.full(len(dataset), np.nan)
    group = np.zeros(len(dataset), dtype=int)
    thresholds: list[float] = []
    per_group: list[dict[str, Any]] = []
    seed = recipe.config.seed
    start = time.perf_counter()
    splits = outer_groups(dataset.patients, dataset.labels, args.outer, seed)
    for k, (train_patients, test_patients) in enumerate(splits, start=1):
        train, test = dataset.subset(train_patients), dataset.subset(test_patients)
        if always is not None:  # outside: DATA trains every group's recipe too
            train = IDCPatchDataset.concat([always, train])
        rows = np.flatnonzero(np.isin(dataset.patients, test_patients))
        group[rows] = k
        if args.baseline:
            prob[rows], threshold = baseline_probabilities(train, test, seed), 0.5
        else:
            run = train_recipe(recipe, train, run_dir / f"outer_{k}").run_
            prob[rows], threshold = run.predict_proba(test), run.threshold
        thresholds.append(float(threshold))
        per_group.append({
            "group": k, **describe(test), "threshold": float(threshold),
            **scores(test.labels, prob[rows], threshold),
        })  # fmt: skip
        print(json.dumps(per_group[-1]), flush=True)
    write_predictions(run_dir / "nested_predictions.csv", dataset, group, prob)
    cut = np.asarray(thresholds)[group - 1]  # each patch at the threshold of its group's run
    return {
        "minutes": round((time.perf_counter() - start) / 60, 1),
        "always_trained": None if always is None else describe(always),
        "outer": args.outer, "scored": describe(dataset),
        "pooled": scores(dataset.labels, prob, cut), "groups": per_group,
        "most_false_positives": most_false_positives(
            dataset.patients, dataset.labels, prob >= cut
        ),
        "predictions": str(run_dir / "nested_predictions.csv"),
    }  # fmt: skip


def most_false_positives(patients: Any, labels: Any, decided: Any, k: int = 4) -> dict[str, Any]:
    """The ``k`` patients with the most false positives, and the pooled scores without them."""
    from sklearn.metrics import balanced_accuracy_score, f1_score

    false_pos = (decided == 1) & (labels == 0)
    ids, counts = np.unique(patients[false_pos], return_counts=True)
    top = ids[np.argsort(-counts, kind="stable")][:k]
    rows = [
        {"patient": str(p), "patches": int(mine.sum()), "idc_pos": int(labels[mine].sum()),
         "false_pos": int(false_pos[mine].sum())}
        for p, mine in ((p, patients == p) for p in top)
    ]  # fmt: skip
    without = {}
    for n in (1, k):
        keep = ~np.isin(patients, top[:n])
        truth, guess = labels[keep], decided[keep]
        without[f"without_top_{n}"] = {
            "f1_pos": round(float(f1_score(truth, guess)), 4),
            "balanced_accuracy": round(float(balanced_accuracy_score(truth, guess)), 4),
        }
    return {"false_pos": int(false_pos.sum()), "patients": rows, **without}


def write_predictions(path: Path, dataset: Any, group: Any, prob: Any) -> None:
    """One row per patch (the data set's order): patient, x, y, label, group, P(IDC+)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient", "x", "y", "label", "group", "prob_idc"])
        for i in range(len(dataset)):
            writer.writerow([
                dataset.patients[i], dataset.x[i], dataset.y[i], dataset.labels[i], group[i],
                f"{prob[i]:.6f}",
            ])  # fmt: skip


def write_result(result: dict[str, Any], out: Path) -> None:
    """Print ``result`` as JSON and write it to ``out``."""
    text = json.dumps(result, indent=2, default=str)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    args, recipe = parse_args(argv)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="idckit-bench-recipe-"))
    found = (holdout if args.protocol == "holdout" else nested)(args, recipe, run_dir)
    result = {
        "benchmark": "bench_recipe", "command": ["bench_recipe.py", *(argv or sys.argv[1:])],
        "protocol": args.protocol, "model": "baseline" if args.baseline else "recipe",
        "recipe": None if args.baseline else recipe.to_dict(), "seed": recipe.config.seed,
        "data": str(args.data),
        "test_data": None if args.test_data is None else str(args.test_data),
        "run_dir": str(run_dir), **found,
    }  # fmt: skip
    write_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
