"""Results of a K-fold run: a :class:`FoldResult` per fold, a :class:`CrossValidationResult`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from idckit.training._predictions import Predictions

#: Metrics recorded per fold, in table order (F1, precision and recall of IDC(+)).
FOLD_METRICS = (
    "f1_pos",
    "precision_pos",
    "recall_pos",
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "loss",
)


@dataclass(frozen=True)
class FoldResult:
    """What one fold produced: its patients, best epoch and validation metrics.

    Parameters
    ----------
    fold
        Fold number, from 1.
    metrics
        Validation metrics at the best epoch (keys in :data:`FOLD_METRICS`), computed at
        threshold 0.5 on the fold's validation patients.
    best_epoch
        The epoch (from 1) whose weights were kept: the best validation F1(+).
    epochs_run
        Epochs trained (fewer than asked when early stopping fired).
    train_patients, val_patients
        The fold's patients.
    n_train, n_val
        Patches on each side.
    seconds
        Training time of the fold (summed over resumed pieces).

    Examples
    --------
    >>> r = FoldResult(1, {"f1_pos": 0.8}, 2, 3, ("a",), ("b",), 10, 5, 1.5)
    >>> FoldResult.from_dict(r.to_dict()) == r
    True
    """

    fold: int
    metrics: Mapping[str, float]
    best_epoch: int
    epochs_run: int
    train_patients: tuple[str, ...]
    val_patients: tuple[str, ...]
    n_train: int
    n_val: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (what ``fold_<k>/metrics.json`` holds)."""
        return {
            "fold": self.fold,
            "metrics": dict(self.metrics),
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "train_patients": list(self.train_patients),
            "val_patients": list(self.val_patients),
            "n_train": self.n_train,
            "n_val": self.n_val,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FoldResult:
        """Inverse of :meth:`to_dict`; every value is checked (a ``ValueError`` names the key).

        Metrics are numbers or NaN (``roc_auc`` of a one-class fold); counts are integers.
        """
        from idckit.training._run_files import Fields

        fields = Fields(data, "data for FoldResult.from_dict")
        metrics = fields.nested("metrics")
        values = {str(k): metrics.number(k, nan=True) for k in metrics.data}
        epochs_run = fields.integer("epochs_run", minimum=1)
        best_epoch = fields.integer("best_epoch", minimum=1)
        if best_epoch > epochs_run:
            raise fields.error("best_epoch", f"at most epochs_run ({epochs_run})", best_epoch)
        return cls(
            fold=fields.integer("fold", minimum=1),
            metrics=values,
            best_epoch=best_epoch,
            epochs_run=epochs_run,
            train_patients=fields.strings("train_patients"),
            val_patients=fields.strings("val_patients"),
            n_train=fields.integer("n_train"),
            n_val=fields.integer("n_val"),
            seconds=fields.number("seconds", 0.0),
        )


def summarise(folds: tuple[FoldResult, ...]) -> dict[str, dict[str, float]]:
    """Compute the mean and standard deviation (``ddof=0``, as scikit-learn) per metric.

    Examples
    --------
    >>> a = FoldResult(1, {"f1_pos": 0.6}, 1, 1, ("a",), ("b",), 1, 1, 0.0)
    >>> b = FoldResult(2, {"f1_pos": 0.8}, 1, 1, ("b",), ("a",), 1, 1, 0.0)
    >>> {k: round(v, 3) for k, v in summarise((a, b))["f1_pos"].items()}
    {'mean': 0.7, 'std': 0.1}
    """
    names = [m for m in FOLD_METRICS if any(m in f.metrics for f in folds)]
    names += sorted({m for f in folds for m in f.metrics} - set(names))
    summary = {}
    for name in names:
        values = np.array([f.metrics.get(name, math.nan) for f in folds], dtype=np.float64)
        summary[name] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return summary


def format_table(folds: tuple[FoldResult, ...]) -> str:
    """Format the per-fold metrics with mean and std rows as a fixed-width text table.

    Examples
    --------
    >>> a = FoldResult(1, {"f1_pos": 0.6}, 1, 1, ("a",), ("b",), 1, 1, 0.0)
    >>> print(format_table((a,)))
    fold  f1_pos
       1  0.6000
    mean  0.6000
     std  0.0000
    """
    summary = summarise(folds)
    names = list(summary)
    width = [max(len(n), 6) for n in names]

    def row(label: object, values: list[float]) -> str:
        cells = (f"{v:.4f}".rjust(w) for v, w in zip(values, width, strict=True))
        return f"{label!s:>4}  " + "  ".join(cells)

    lines = ["fold  " + "  ".join(n.rjust(w) for n, w in zip(names, width, strict=True))]
    lines += [row(f.fold, [f.metrics.get(n, math.nan) for n in names]) for f in folds]
    lines += [row(stat, [summary[n][stat] for n in names]) for stat in ("mean", "std")]
    return "\n".join(lines)


@dataclass(frozen=True)
class CrossValidationResult:
    """The outcome of :meth:`KFoldTrainer.fit`: folds, summary, threshold and OOF predictions.

    Parameters
    ----------
    folds
        One :class:`FoldResult` per fold, in order.
    threshold
        Decision threshold on P(IDC+), chosen on the out-of-fold predictions (or fixed).
    threshold_objective
        The objective that chose it (``"f1"``, ``"youden"`` or ``"min_recall"``), or the
        fixed threshold (a float) when none was chosen.
    oof
        Out-of-fold predictions: every patch, predicted by the fold that did not train on it.
    oof_metrics
        Metrics of the out-of-fold predictions at ``threshold``.
    run_dir
        The run directory holding models and files.
    min_recall
        The recall of IDC(+) that the run's second operating point reaches out of fold
        (the config's ``min_recall``; the capstone's aim of fewer than 10% missed cancers).

    Examples
    --------
    >>> import numpy as np
    >>> fold = FoldResult(1, {"f1_pos": 0.5}, 1, 1, ("a",), ("b",), 1, 1, 0.0)
    >>> oof = Predictions(["p"], ["b"], np.array([0]), np.array([0]), np.array([1]),
    ...                   np.array([0.9]))
    >>> result = CrossValidationResult((fold,), 0.5, "f1", oof, {}, Path("run"))
    >>> result.summary()["f1_pos"]["mean"]
    0.5
    >>> result.operating_points()["recall_target"]["threshold"]
    0.9
    """

    folds: tuple[FoldResult, ...]
    threshold: float
    threshold_objective: str | float
    oof: Predictions = field(repr=False)
    oof_metrics: Mapping[str, Any]
    run_dir: Path
    min_recall: float = 0.9

    @property
    def recall_threshold(self) -> float:
        """The highest threshold whose out-of-fold recall of IDC(+) reaches ``min_recall``."""
        from idckit.reporting import choose_threshold

        return choose_threshold(
            self._oof_labels(), self.oof.prob_idc, "min_recall", min_recall=self.min_recall
        )

    def _oof_labels(self) -> Any:
        if self.oof.labels is None:  # pragma: no cover - fold predictions carry labels
            raise ValueError("the out-of-fold predictions carry no labels")
        return self.oof.labels

    def operating_points(self) -> dict[str, dict[str, float]]:
        """Recall of IDC(+) and specificity out of fold at the run's two operating points.

        ``"run"``: at the run's threshold; ``"recall_target"``: at :attr:`recall_threshold`,
        the threshold that reaches ``min_recall`` (90% by default) out of fold. Each holds
        ``threshold``, ``recall`` and ``specificity``.
        """
        from idckit.reporting import ClassificationReport

        report = ClassificationReport.from_predictions(self._oof_labels(), self.oof.prob_idc)
        return operating_points(
            report, {"run": self.threshold, "recall_target": self.recall_threshold}
        )

    def summary(self) -> dict[str, dict[str, float]]:
        """Return the mean and standard deviation of each fold metric."""
        return summarise(self.folds)

    def to_table(self) -> str:
        """Return the per-fold metrics with mean and std rows, as text."""
        return format_table(self.folds)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (what ``report.json`` holds)."""
        return {
            "folds": [f.to_dict() for f in self.folds],
            "summary": self.summary(),
            "threshold": self.threshold,
            "threshold_objective": self.threshold_objective,
            "oof_metrics": dict(self.oof_metrics),
            "n_patches": len(self.oof),
            "n_patients": len(set(self.oof.patients)),
            "min_recall": self.min_recall,
            "operating_points": self.operating_points(),
        }

    def threshold_line(self) -> str:
        """Say the threshold and how it was set, and where the run is, in one line."""
        if isinstance(self.threshold_objective, str):
            how = (
                f"objective {self.threshold_objective!r}, "
                f"chosen on {len(self.oof)} out-of-fold predictions"
            )
        else:
            how = "fixed, not chosen on the out-of-fold predictions"
        return f"threshold {self.threshold:.4f} ({how}); run in {self.run_dir}"

    def operating_points_line(self) -> str:
        """Say the out-of-fold recall and specificity at the run's two operating points."""
        return "out of fold: " + describe_operating_points(
            self.operating_points(), self.min_recall
        )

    def __str__(self) -> str:
        return f"{self.to_table()}\n{self.threshold_line()}\n{self.operating_points_line()}"


def describe_operating_points(points: Mapping[str, Mapping[str, float]], min_recall: float) -> str:
    """One line: recall(+) and specificity at the run's threshold and at the recall target.

    Examples
    --------
    >>> run = {"threshold": 0.5, "recall": 0.8, "specificity": 0.95}
    >>> target = {"threshold": 0.3, "recall": 0.9, "specificity": 0.9}
    >>> describe_operating_points({"run": run, "recall_target": target}, 0.9)
    "recall(+) 0.800, specificity 0.950 at the run's threshold 0.5000; recall(+) 0.900, \
specificity 0.900 at 0.3000 (the threshold that reaches 90% recall(+) out of fold)"
    """
    run, target = points["run"], points["recall_target"]
    return (
        f"recall(+) {run['recall']:.3f}, specificity {run['specificity']:.3f} at the run's "
        f"threshold {run['threshold']:.4f}; recall(+) {target['recall']:.3f}, specificity "
        f"{target['specificity']:.3f} at {target['threshold']:.4f} (the threshold that reaches "
        f"{min_recall:.0%} recall(+) out of fold)"
    )


def operating_points(report: Any, thresholds: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """Recall of IDC(+) and specificity of a report's scores at each named threshold.

    ``report`` is a :class:`~idckit.reporting.ClassificationReport` built from scores; one of
    hard labels is refused by its :meth:`~idckit.reporting.ClassificationReport.at_threshold`.

    Examples
    --------
    >>> from idckit.reporting import ClassificationReport
    >>> report = ClassificationReport.from_predictions([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.4])
    >>> operating_points(report, {"half": 0.5})
    {'half': {'threshold': 0.5, 'recall': 0.5, 'specificity': 0.5}}
    """
    points = {}
    for name, threshold in thresholds.items():
        at = report.at_threshold(threshold)
        points[name] = {
            "threshold": float(threshold),
            "recall": float(at.sensitivity),
            "specificity": float(at.specificity),
        }
    return points
