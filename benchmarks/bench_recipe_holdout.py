#!/usr/bin/env python3
"""The ``cpu`` recipe as deployed, scored on held-out patients: train on some, evaluate on others.

Trains ``KFoldTrainer.from_recipe("cpu")`` on the patients of the Cruz-Roa et al. (2014) train
list found in the tree, then evaluates the trained run the way ``idckit evaluate`` does (the
fold models as an ensemble, the recipe's smoothing and threshold) on the patients of the
Cruz-Roa validation list, which no fold model saw. Prints the held-out scores and the
cross-validated ones of the training run beside them, as one JSON object.

    python benchmarks/bench_recipe_holdout.py                     # the cpu recipe as it is
    python benchmarks/bench_recipe_holdout.py --folds 4           # a variant
    python benchmarks/bench_recipe_holdout.py --baseline          # the issue's plain CNN
    python benchmarks/bench_recipe_holdout.py --train-share 0.5   # half the training patients
    python benchmarks/bench_recipe_holdout.py --refit --out RUN   # + one model on all patients

``--baseline`` trains, instead, the calibration model that issue 4 quotes (one plain 4-block
CNN, 16-32-64-128 filters with batch norm, flips/rotations, AdamW with cosine decay, balanced
class weights, 10 epochs on all training patients, threshold 0.5): its scores on the same
held-out patients tell how hard they are compared with the issue's outside patients.

F1(+) depends on how common IDC(+) is among the scored patches, and the held-out patients
have 15% IDC(+) patches against 28% in the whole data set. ``f1_pos_at_28pct`` is the F1(+)
that the held-out recall and false-positive rate give at the whole data set's prevalence
(78,786 of 277,524 patches): the held-out patches reweighted by class, not a measurement on
other patients. Balanced accuracy does not depend on prevalence.

``--train-share S`` trains on a random share S of the train-list patients (drawn with
``--seed``) and scores the same held-out patients: a learning curve in patients, to tell how
much a recipe trained on more patients (all of ``../shared``, as deployed) should gain.

``--refit`` also trains one model of the recipe on all the training patients (as
scikit-learn's ``refit``: the same epochs and settings, no validation patients, so the last
epoch's weights) and scores it alone, and with the fold models (the mean of all four, and the
mean of the fold ensemble and the refit model). With ``--out`` naming a finished run of the
same settings, the fold models are reused and only the refit model is trained.

``--epoch-rules`` also keeps every epoch's weights of every fold (beside the run directory, in
``RUN-epochs/``) and scores the fold ensemble on the held-out patients under other rules for
choosing each fold's weights: the recipe's (the epoch of best validation F1(+)), the epoch of
least validation loss, the last epoch, and the mean of the last three epochs' predictions.

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

#: IDC(+) share of the whole data set's patches (78,786 of 277,524).
DATA_SET_PREVALENCE = 78_786 / 277_524


def listed(dataset: Any, patients: tuple[str, ...]) -> Any:
    """The part of ``dataset`` that belongs to ``patients``."""
    present = set(dataset.patients)
    return dataset.subset([p for p in patients if p in present])


def sampled(dataset: Any, share: float, seed: int) -> Any:
    """A random ``share`` of ``dataset``'s patients (at least two), drawn with ``seed``."""
    import numpy as np

    patients = np.unique(dataset.patients)
    count = max(2, round(share * len(patients)))
    chosen = np.random.default_rng(seed).choice(patients, size=count, replace=False)
    part = dataset.subset(sorted(chosen))
    if len(set(part.labels.tolist())) < 2:
        raise SystemExit(f"the {count} patients drawn have one class only: try another --seed")
    return part


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


def held_out_scores(y: Any, prob: Any, threshold: Any) -> dict[str, Any]:
    """F1(+), balanced accuracy, ROC-AUC and confusion matrix of P(IDC+) at ``threshold``
    (one for all patches, or one per patch)."""
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, roc_auc_score

    pred = (prob >= threshold).astype(int)
    return {
        "f1_pos": f1_score(y, pred),
        "balanced_accuracy": balanced_accuracy_score(y, pred),
        "roc_auc": roc_auc_score(y, prob),
        "confusion_matrix": confusion_matrix(y, pred, labels=[0, 1]).tolist(),
    }


def train_baseline(train: Any, epochs: int, seed: int) -> Any:
    """The issue's calibration CNN, trained on all of ``train`` (one model, no folds)."""
    import keras

    from idckit.models import build_idc_cnn

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
    return model


def rounded(scores: dict[str, Any]) -> dict[str, Any]:
    """``scores`` with its floats rounded to 4 decimals."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}


def run_baseline(train: Any, held_out: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Train the calibration CNN and score it on ``held_out`` at threshold 0.5."""
    from idckit.inference import predict_proba

    epochs = args.epochs or 10
    start = time.perf_counter()
    model = train_baseline(train, epochs, args.seed)
    minutes = (time.perf_counter() - start) / 60
    prob = predict_proba(model, held_out.images)
    return {
        "model": "baseline", "epochs": epochs, "minutes": round(minutes, 1),
        "held_out": held_out_scores(held_out.labels, prob, 0.5),
    }  # fmt: skip


def run_recipe(train: Any, held_out: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Train the (variant of the) ``cpu`` recipe and evaluate its run on ``held_out``."""
    from idckit.training import KFoldTrainer, get_recipe

    recipe = get_recipe("cpu").replace(**variant_changes(args))
    out = args.out or Path(tempfile.mkdtemp(prefix="idckit-recipe-holdout-")) / "run"
    epochs_dir = out.parent / f"{out.name}-epochs"
    extra = {"callbacks": epoch_savers(epochs_dir)} if args.epoch_rules else {}
    trainer = KFoldTrainer.from_recipe(recipe, seed=args.seed, out_dir=out, resume=True, **extra)
    start = time.perf_counter()
    result = trainer.fit(train)
    minutes = (time.perf_counter() - start) / 60
    report = trainer.evaluate(held_out).to_dict()
    cv = result.summary()
    refit = refit_scores(trainer, train, held_out, args.seed) if args.refit else None
    rules = epoch_rule_scores(trainer, held_out, epochs_dir) if args.epoch_rules else None
    return {
        "model": "recipe", "context": recipe.context, "epochs": recipe.epochs,
        "folds": recipe.n_splits, "minutes": round(minutes, 1),
        "held_out": {
            "f1_pos": report["IDC(+)"]["f1-score"],
            "balanced_accuracy": report["balanced_accuracy"],
            "roc_auc": report["roc_auc"],
            "confusion_matrix": report["confusion_matrix"],
        },
        "cv_on_train": {
            key: [round(cv[key][stat], 4) for stat in ("mean", "std")]
            for key in ("f1_pos", "balanced_accuracy", "roc_auc")
        },
        "run_dir": str(result.run_dir),
        **({"refit": refit} if refit else {}),
        **({"epoch_rules": rules} if rules else {}),
    }  # fmt: skip


def train_refit_model(trainer: Any, train: Any, seed: int) -> Any:
    """One model of ``trainer``'s settings trained on all of ``train`` (last epoch's weights)."""
    import keras

    from idckit.training._fold import _class_weight, _new_model

    settings = trainer._settings()
    keras.utils.set_random_seed(seed + 99)
    feed = train.to_keras(
        settings.batch_size, shuffle=True, augment=settings.augment, seed=seed * 1000 + 999,
        context=settings.context,
    )  # fmt: skip
    model = _new_model(settings, len(feed))
    model.fit(feed, epochs=settings.epochs, class_weight=_class_weight(settings, train), verbose=2)
    return model


def refit_scores(trainer: Any, train: Any, held_out: Any, seed: int) -> dict[str, Any]:
    """Held-out scores of a refit model alone and combined with the fold models, at the run's
    threshold and after its smoothing (as ``trainer.evaluate`` scores the fold models)."""
    from idckit.training._inference import predict_probability

    start = time.perf_counter()
    model = train_refit_model(trainer, train, seed)
    minutes = (time.perf_counter() - start) / 60

    def probability(models: list[Any]) -> Any:  # as trainer.predict, before smoothing
        return predict_probability(
            models, held_out, trainer.batch_size, tta=trainer.tta, context=trainer.context
        )

    n_folds = len(trainer.fold_models())
    folds, alone = probability(trainer.fold_models()), probability([model])
    combined = {
        "refit": alone,
        "folds_and_refit": (n_folds * folds + alone) / (n_folds + 1),
        "half_folds_half_refit": (folds + alone) / 2,
    }
    scores: dict[str, Any] = {"minutes": round(minutes, 1)}
    for name, prob in combined.items():
        scores[name] = run_scores(trainer, held_out, prob)
    return scores


def run_scores(trainer: Any, held_out: Any, prob: Any) -> dict[str, Any]:
    """Held-out scores of P(IDC+) before smoothing, as ``trainer.evaluate`` scores a run: after
    its smoothing and at its threshold; with F1(+) at the data set's prevalence, rounded."""
    from idckit.training._inference import postprocess

    smoothed = postprocess(prob, held_out, trainer.smoothing)
    found = held_out_scores(held_out.labels, smoothed, trainer.threshold)
    found["f1_pos_at_28pct"] = f1_at_prevalence(found["confusion_matrix"], DATA_SET_PREVALENCE)
    return rounded(found)


def epoch_savers(epochs_dir: Path) -> Any:
    """Trainer callbacks that keep each epoch's weights as ``fold_<k>/e<epoch>.weights.h5``."""
    import keras

    def callbacks(fold: int) -> list[Any]:
        folder = epochs_dir / f"fold_{fold}"
        folder.mkdir(parents=True, exist_ok=True)
        path = str(folder / "e{epoch}.weights.h5")
        return [keras.callbacks.ModelCheckpoint(path, save_weights_only=True)]

    return callbacks


def chosen_epochs(history: dict[str, Any], rule: str) -> list[int]:
    """The epochs (from 1) whose predictions a fold contributes under ``rule``."""
    import numpy as np

    last = len(history["val_f1"])
    if rule == "best_val_f1":  # the recipe's rule (the first of equal epochs)
        return [int(np.argmax(history["val_f1"])) + 1]
    if rule == "least_val_loss":
        return [int(np.argmin(history["val_loss"])) + 1]
    if rule == "last":
        return [last]
    return list(range(max(1, last - 2), last + 1))  # "mean_of_last_3"


def epoch_rule_scores(trainer: Any, held_out: Any, epochs_dir: Path) -> dict[str, Any]:
    """Held-out scores of the fold ensemble when each fold's weights are chosen by each rule
    (predictions before smoothing averaged over folds, then smoothed and thresholded)."""
    import keras
    import numpy as np

    import idckit.models  # noqa: F401 - registers idckit's layers for deserialisation
    from idckit.reporting._curves import load_history
    from idckit.training._inference import predict_probability
    from idckit.training._run_dir import RunDir

    run = RunDir(trainer.out_dir)
    rules = ("best_val_f1", "least_val_loss", "last", "mean_of_last_3")
    per_rule: dict[str, list[Any]] = {rule: [] for rule in rules}
    for fold in range(1, trainer.n_splits + 1):
        model = keras.saving.load_model(run.model_path(fold), compile=False)
        history = load_history(run.fold_dir(fold) / "history.csv")
        cache: dict[int, Any] = {}
        for rule in rules:
            epochs = chosen_epochs(history, rule)
            for epoch in set(epochs) - cache.keys():
                weights = epochs_dir / f"fold_{fold}" / f"e{epoch}.weights.h5"
                if not weights.is_file():
                    raise SystemExit(
                        f"--epoch-rules: no weights for epoch {epoch} of fold {fold} "
                        f"({weights}); the run must have been trained with --epoch-rules "
                        "from its first epoch"
                    )
                model.load_weights(weights)
                cache[epoch] = predict_probability(
                    [model], held_out, trainer.batch_size, tta=trainer.tta,
                    context=trainer.context,
                )  # fmt: skip
            per_rule[rule].append((epochs, np.mean([cache[e] for e in epochs], axis=0)))
    scores: dict[str, Any] = {}
    for rule, folds in per_rule.items():
        prob = np.mean([p for _, p in folds], axis=0)
        scores[rule] = {"epochs": [e for e, _ in folds], **run_scores(trainer, held_out, prob)}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_recipe_arguments(parser)
    parser.add_argument(
        "--baseline", action="store_true", help="train the issue's plain calibration CNN instead"
    )
    parser.add_argument(
        "--refit", action="store_true",
        help="also train one model on all training patients and score it with the fold models",
    )  # fmt: skip
    parser.add_argument(
        "--epoch-rules", action="store_true",
        help="keep every epoch's weights and score other rules for choosing each fold's epoch",
    )  # fmt: skip
    parser.add_argument(
        "--train-share", type=float, default=1.0,
        help="train on this random share of the train-list patients (default: all)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.baseline and (
        args.refit or args.epoch_rules or variant_changes(args).keys() - {"epochs"}
    ):
        parser.error(
            "--baseline trains one plain CNN: it takes --epochs, --seed and --train-share only"
        )
    if not 0 < args.train_share <= 1:
        parser.error(f"--train-share must be in (0, 1], got {args.train_share}")

    from idckit.data import CRUZ_ROA_2014, IDCPatchDataset

    dataset = IDCPatchDataset.from_directory(args.data)
    train = listed(dataset, CRUZ_ROA_2014["train"])
    if args.train_share < 1:
        train = sampled(train, args.train_share, args.seed)
    held_out = listed(dataset, CRUZ_ROA_2014["validation"])
    if not set(train.patients).isdisjoint(held_out.patients):
        raise SystemExit("the train and validation lists share a patient")
    result = (run_baseline if args.baseline else run_recipe)(train, held_out, args)
    scores = result["held_out"]
    scores["f1_pos_at_28pct"] = f1_at_prevalence(scores["confusion_matrix"], DATA_SET_PREVALENCE)
    result["held_out"] = {
        "patients": len(set(held_out.patients)), "patches": len(held_out),
        "prevalence": round(float(held_out.labels.mean()), 4),
        **rounded(scores),
    }  # fmt: skip
    result["train"] = {"patients": len(set(train.patients)), "patches": len(train)}
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
