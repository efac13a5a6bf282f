"""The sections of a RunReport's page: config, folds with learning curves, evaluations."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from idckit.reporting import _html as h

if TYPE_CHECKING:
    from idckit.reporting._run_report import ReportEvaluation, RunReport

_FOLD_COLUMNS = ("best_epoch", "epochs_run", "n_train", "n_val", "seconds")


def config_section(config: Mapping[str, Any]) -> str:
    """Return the run's settings as a table of dotted keys (every key and value escaped)."""
    pairs = h.flatten(config)
    if not pairs:
        return h.paragraph("No config recorded.", note=True)
    return h.table(("setting", "value"), pairs, text_columns=2, css_class="config")


def _metric_names(folds: Sequence[Mapping[str, Any]]) -> list[str]:
    names: list[str] = []
    for fold in folds:
        names += [str(n) for n in fold.get("metrics", {}) if str(n) not in names]
    return names


def folds_section(report: RunReport) -> str:
    """Per-fold metrics (with mean and std rows) and each fold's learning curves."""
    from idckit.reporting._curves import plot_learning_curves

    folds = report.folds
    names = _metric_names(folds)
    rows = [
        [f.get("fold"), *(f.get(c) for c in _FOLD_COLUMNS), *(f["metrics"].get(n) for n in names)]
        for f in folds
    ]
    values = np.array(
        [[_float(f["metrics"].get(n)) for n in names] for f in folds], dtype=np.float64
    ).reshape(len(folds), len(names))
    blanks = [""] * len(_FOLD_COLUMNS)
    summary = [
        ["mean", *blanks, *_nan_stat(np.nanmean, values)],
        ["std", *blanks, *_nan_stat(np.nanstd, values)],
    ]
    body = h.table(("fold", *_FOLD_COLUMNS, *names), rows, summary_rows=summary, css_class="folds")
    body += h.paragraph(
        "Validation metrics at each fold's best epoch (threshold 0.5, the fold's own "
        "validation patients); seconds is the fold's training time.",
        note=True,
    )
    body += "<h3>Learning curves</h3>"
    for fold in folds:
        number = fold.get("fold")
        history = report.histories.get(int(number)) if isinstance(number, int) else None
        if history is None:
            body += h.paragraph(f"Fold {number}: no training history recorded.", note=True)
            continue
        try:
            figure = plot_learning_curves(
                history, title=f"Fold {number}", best_epoch=fold.get("best_epoch")
            )
        except ValueError as error:  # a damaged history.csv: say so, draw the rest
            body += h.paragraph(f"Fold {number}: learning curves not drawn ({error})", note=True)
            continue
        alt = f"learning curves of fold {number}, best epoch {fold.get('best_epoch')} marked"
        body += h.image(h.png_bytes(figure), alt)
    return body


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _nan_stat(stat: Any, values: np.ndarray) -> list[float]:
    out = []
    for column in values.T:
        finite = column[np.isfinite(column)]
        out.append(float(stat(finite)) if finite.size else math.nan)
    return out


def _operating_points(evaluation: ReportEvaluation) -> str:
    points = evaluation.operating_points
    if not points:
        return ""
    labels = {
        "run": "the run's threshold",
        "recall_target": f"{evaluation.min_recall:.0%} recall(+) out of fold",
    }
    rows = [
        [labels.get(str(name), str(name)), p.get("threshold"), p.get("recall"),
         p.get("specificity")]
        for name, p in points.items()
    ]  # fmt: skip
    body = "<h3>Operating points</h3>"
    body += h.table(
        ("operating point", "threshold", "recall(+)", "specificity"), rows,
        css_class="operating-points",
    )  # fmt: skip
    return body


def _curve_markers(evaluation: ReportEvaluation) -> dict[str, float]:
    target = evaluation.operating_points.get("recall_target")
    if not target or "threshold" not in target:
        return {}
    return {f"{evaluation.min_recall:.0%} recall target": float(target["threshold"])}


def _plots(evaluation: ReportEvaluation) -> str:
    from idckit.reporting._plots import plot_confusion_matrix, plot_precision_recall, plot_roc

    report = evaluation.report
    body = "<h3>Confusion matrix, ROC and precision-recall curves</h3>"
    body += h.image(h.png_bytes(plot_confusion_matrix(report)), "confusion matrix")
    markers = _curve_markers(evaluation)
    for plot, alt in ((plot_roc, "ROC curve"), (plot_precision_recall, "precision-recall curve")):
        try:
            figure = plot(report, operating_points=markers)
        except ValueError as error:  # one class only: no curve to draw
            body += h.paragraph(f"No {alt}: {error}", note=True)
            continue
        body += h.image(h.png_bytes(figure), f"{alt} with the operating points marked")
    return body


def _dice_summary(rows: Sequence[Mapping[str, Any]]) -> str:
    dice = np.array([_float(r.get("dice")) for r in rows], dtype=np.float64)
    finite = dice[np.isfinite(dice)]
    if not finite.size:
        return h.paragraph("Dice is undefined for every patient (no IDC annotated or predicted).")
    q1, median, q3 = np.quantile(finite, [0.25, 0.5, 0.75])
    worst = ", ".join(str(r.get("patient")) for r in rows[:3])
    text = (
        f"Dice over {finite.size} patients: median {median:.3f}, quartiles {q1:.3f} and "
        f"{q3:.3f}; worst: {worst}."
    )
    if finite.size < dice.size:
        text += f" {dice.size - finite.size} patients without annotated or predicted IDC have "
        text += "no Dice (listed last)."
    figure = Figure(figsize=(5.0, 3.0), layout="constrained")
    ax = figure.add_subplot()
    ax.hist(finite, bins=[k / 20 for k in range(21)], color="steelblue", edgecolor="white")
    ax.set(xlabel="Dice of the predicted vs annotated IDC region", ylabel="patients",
           title="Dice per patient")  # fmt: skip
    return h.paragraph(text) + h.image(h.png_bytes(figure), "histogram of Dice per patient")


def _patients(evaluation: ReportEvaluation) -> str:
    rows = evaluation.patients
    if not rows:
        return ""
    from idckit.reporting._run_report import PATIENT_COLUMNS

    body = "<h3>Per patient, worst Dice first</h3>" + _dice_summary(rows)
    cells = [[row.get(c) for c in PATIENT_COLUMNS] for row in rows]
    body += h.table(PATIENT_COLUMNS, cells, digits=3, css_class="patients")
    return body


def _heatmaps(evaluation: ReportEvaluation) -> str:
    maps = evaluation.heatmaps
    if not maps and not evaluation.heatmaps_omitted:
        return ""
    body = "<h3>Slide heat maps, worst Dice first</h3>"
    total = len(maps) + evaluation.heatmaps_omitted
    if evaluation.heatmaps_omitted:
        body += h.paragraph(
            f"Heat maps of the {len(maps)} patients with the lowest Dice, of {total}; the "
            f"other {evaluation.heatmaps_omitted} are left out (max_heatmaps={len(maps)}).",
            note=True,
        )
    for patient, png in maps:
        body += h.image(png, f"heat map of patient {patient}", f"Patient {patient}")
    return body


def evaluation_section(evaluation: ReportEvaluation) -> str:
    """Classification report, operating points, plots, per-patient table and heat maps."""
    report = evaluation.report
    n = int(np.asarray(report.confusion_matrix).sum())
    body = h.paragraph(f"{n} patches, at the run's threshold {report.threshold:.4f}.")
    body += "<h3>Classification report</h3>" + h.preformatted(report.to_text())
    body += _operating_points(evaluation)
    body += _plots(evaluation)
    body += _patients(evaluation)
    body += _heatmaps(evaluation)
    return body
