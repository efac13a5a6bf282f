"""The run-level files: OOF predictions, threshold, summary and ``report.json``; evaluations."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idckit._errors import invalid_argument
from idckit.training._atomic import (
    atomic_save,
    atomic_write_json,
    atomic_write_text,
)
from idckit.training._config import ThresholdObjective, check_threshold_objective
from idckit.training._inference import report_for
from idckit.training._predictions import Predictions
from idckit.training._results import (
    CrossValidationResult,
    FoldResult,
    describe_operating_points,
)
from idckit.training._run_dir import RunDir
from idckit.training._run_files import Fields, run_file_error


def _choose_threshold(oof: Predictions, objective: ThresholdObjective, min_recall: float) -> float:
    from idckit.reporting import choose_threshold

    if not isinstance(objective, str):  # a fixed threshold
        return float(objective)
    if oof.labels is None:  # pragma: no cover - fold predictions always carry labels
        raise invalid_argument("dataset", "KFoldTrainer", "patches with known labels", None)
    return choose_threshold(oof.labels, oof.prob_idc, objective, min_recall=min_recall)


#: A threshold chosen out of fold outside this range calls nearly every patch one class.
SANE_THRESHOLDS = (0.05, 0.95)


def warn_if_fold_learned_nothing(result: FoldResult) -> None:
    """Warn when a fold's validation predictions separate nothing (one class, or F1(+) 0)."""
    f1, balanced = result.metrics["f1_pos"], result.metrics["balanced_accuracy"]
    if f1 == 0 or balanced <= 0.5:
        warnings.warn(
            f"Run quality: fold {result.fold} learned nothing that separates the classes: "
            f"validation F1(+) {f1:.3f}, balanced accuracy {balanced:.3f} at threshold 0.5 "
            f"(best epoch {result.best_epoch} of {result.epochs_run}). Train longer (epochs), "
            "check the learning rate, and check that both classes are labelled.",
            UserWarning,
            stacklevel=4,
        )


def _warn_if_extreme(threshold: float, objective: ThresholdObjective) -> None:
    low, high = SANE_THRESHOLDS
    if isinstance(objective, str) and not low <= threshold <= high:
        side = "IDC(+)" if threshold < low else "IDC(-)"
        warnings.warn(
            f"Run quality: the threshold chosen on the out-of-fold predictions ({objective!r}) "
            f"is {threshold:.3f}, so the run calls almost every patch {side}: the models "
            "barely rank the patches. Look at the folds' learning curves before using it.",
            UserWarning,
            stacklevel=4,
        )


def finish_run(
    run: RunDir,
    folds: tuple[FoldResult, ...],
    objective: ThresholdObjective,
    min_recall: float,
    say: Callable[[str], None],
) -> CrossValidationResult:
    """Join the folds' predictions, choose the threshold and write the run's files.

    ``report.json`` is written last: its presence means the whole run is done.
    """
    parts = [Predictions.from_csv(run.fold_dir(f.fold) / "val_predictions.csv") for f in folds]
    oof = Predictions.concatenate(parts)
    oof.to_csv(run.oof_path)
    threshold = _choose_threshold(oof, objective, min_recall)
    _warn_if_extreme(threshold, objective)
    oof_metrics = report_for(oof, threshold).summary()
    result = CrossValidationResult(
        folds, threshold, objective, oof, oof_metrics, run.path, min_recall
    )
    atomic_write_text(run.summary_text_path, str(result) + "\n")
    atomic_write_json(run.summary_json_path, result.summary())
    atomic_write_json(run.report_path, result.to_dict())
    f1 = result.summary()["f1_pos"]
    say(
        f"run done: validation F1(+) {f1['mean']:.4f} +- {f1['std']:.4f} over {len(folds)} "
        f"folds (print the result for the table); {result.threshold_line()}"
    )
    say(result.operating_points_line())
    return result


def stored_objective(value: Any) -> ThresholdObjective:
    """Return the threshold objective that ``report.json`` stores (a name or a fixed float).

    Examples
    --------
    >>> stored_objective("f1"), stored_objective(0.5)
    ('f1', 0.5)
    """
    return check_threshold_objective(value, "report.json")


def load_result(run: RunDir, owner: str = "KFoldTrainer") -> CrossValidationResult:
    """Read the result of a finished run back from its files."""
    if not run.complete:
        raise invalid_argument(
            "run_dir", owner, "a finished run directory (one with report.json)",
            str(run.path),
            "Train into it first, or finish a killed run with resume=True (--resume).",
        )  # fmt: skip
    path = run.report_path
    report = Fields.of_file(path)
    folds = report.get("folds")
    if not isinstance(folds, list) or not folds:
        raise report.error("folds", "a non-empty list of fold results", folds)
    try:
        results = tuple(FoldResult.from_dict(f) for f in folds)
        objective = stored_objective(report.get("threshold_objective"))
    except ValueError as error:
        raise run_file_error(path, str(error).removeprefix("Invalid ").rstrip(".")) from None
    if [f.fold for f in results] != list(range(1, len(results) + 1)):
        raise report.error("folds", "folds numbered 1, 2, ... in order", [f.fold for f in results])
    oof = Predictions.from_csv(run.oof_path)
    n_patches = report.data.get("n_patches", len(oof))  # checked against oof.csv when present
    if n_patches != len(oof):
        raise run_file_error(
            run.oof_path, f"it holds {len(oof)} predictions, report.json says {n_patches!r}"
        )
    return CrossValidationResult(
        folds=results,
        threshold=report.number("threshold", 0.0, 1.0),
        threshold_objective=objective,
        oof=oof,
        oof_metrics=report.mapping("oof_metrics"),
        run_dir=run.path,
        # runs written before min_recall was stored: 0.9
        min_recall=report.number("min_recall", 0.0, 1.0) if "min_recall" in report.data else 0.9,
    )


def evaluation_summary(report: Any, predictions: Predictions) -> dict[str, Any]:
    """Return the flat metrics of ``report`` plus ``n_patches`` and ``n_patients``."""
    return {
        **report.summary(),
        "n_patches": len(predictions),
        "n_patients": len(set(predictions.patients)),
    }


def _save_figure(path: Path, figure: Any) -> None:
    # idckit's plots are plain ``Figure`` objects (no pyplot state to close).
    atomic_save(path, lambda p: figure.savefig(p, dpi=100))


#: How many patients ``write_evaluation`` draws maps of (those with the most wrong patches).
MAPPED_PATIENTS = 4


def patients_with_most_errors(
    predictions: Predictions, threshold: float, k: int = MAPPED_PATIENTS
) -> list[str]:
    """Return the (at most ``k``) patients with the most misclassified patches, most first."""
    import numpy as np

    if predictions.labels is None:  # pragma: no cover - evaluate requires labels
        return []
    wrong = (predictions.prob_idc >= threshold) != predictions.labels.astype(bool)
    patients, counts = np.unique(np.asarray(predictions.patients)[wrong], return_counts=True)
    order = np.argsort(-counts, kind="stable")[:k]
    return [str(p) for p in patients[order]]


def _write_patient_maps(
    out_dir: Path, dataset: Any, predictions: Predictions, threshold: float
) -> None:
    from idckit.reporting import plot_patient_map

    (out_dir / "patient_maps").mkdir(exist_ok=True)
    for patient in patients_with_most_errors(predictions, threshold):
        figure = plot_patient_map(dataset, patient, predictions.prob_idc, threshold=threshold)
        _save_figure(out_dir / "patient_maps" / f"{patient}.png", figure)


def write_evaluation(
    out_dir: Path,
    report: Any,
    predictions: Predictions,
    dataset: Any,
    threshold: float,
    operating_points: dict[str, dict[str, float]],
    min_recall: float,
) -> None:
    """Write ``evaluation.json``, ``report.txt``, ``predictions.csv`` and plots to ``out_dir``.

    ``report.txt`` ends with recall(+) and specificity at the run's threshold and at the
    threshold that reached ``min_recall`` out of fold. The plots are the confusion matrix,
    the ROC and precision-recall curves and, in ``patient_maps/``, the slide maps of the
    patients with the most misclassified patches.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        **evaluation_summary(report, predictions),
        "operating_points": operating_points,
        "report": report.to_dict(),
    }
    atomic_write_json(out_dir / "evaluation.json", payload)
    line = describe_operating_points(operating_points, min_recall)
    atomic_write_text(out_dir / "report.txt", f"{report}\n{line}\n")
    predictions.to_csv(out_dir / "predictions.csv")
    _save_figure(out_dir / "confusion_matrix.png", report.plot_confusion_matrix())
    for name, method in (("roc_curve.png", "plot_roc"), ("pr_curve.png", "plot_precision_recall")):
        if callable(getattr(report, method, None)):
            _save_figure(out_dir / name, getattr(report, method)())
    _write_patient_maps(out_dir, dataset, predictions, threshold)
