"""write_run_report: a finished run (and held-out data sets) as one self-contained HTML file.

The page itself is :class:`idckit.reporting.RunReport`; this module only gathers what it shows
from a :class:`~idckit.training.Run` and its directory. It lives in ``training`` because
``reporting`` imports nothing from ``training`` (CONTRIBUTING's one-way imports).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from idckit._errors import invalid_argument
from idckit.training._run_dir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    from idckit.data import IDCPatchDataset
    from idckit.reporting import ReportEvaluation, RunReport
    from idckit.training._run import Run

_OWNER = "write_run_report"


def _oof_section(run: Run, max_heatmaps: int) -> ReportEvaluation:
    from idckit.reporting import ReportEvaluation

    oof = run.result.oof
    if oof.labels is None:  # pragma: no cover - fold predictions always carry labels
        raise invalid_argument("run", _OWNER, "a run whose oof.csv holds labels", str(run.path))
    return ReportEvaluation.from_predictions(
        f"Out-of-fold predictions ({len(oof)} patches, {len(set(oof.patients))} patients)",
        oof.labels, oof.prob_idc, threshold=run.threshold,
        operating_points=run.result.operating_points(), min_recall=run.result.min_recall,
        patients=oof.patients, x=oof.x, y=oof.y, max_heatmaps=max_heatmaps,
    )  # fmt: skip


def _held_out_section(
    run: Run, name: str, dataset: IDCPatchDataset, max_heatmaps: int
) -> ReportEvaluation:
    from idckit.reporting import ReportEvaluation
    from idckit.training._inference import report_for

    predictions = run.predictions(dataset)
    report = report_for(predictions, run.threshold)  # refuses unlabelled patches
    return ReportEvaluation.from_predictions(
        f"{name} ({len(dataset)} patches, {len(dataset.patient_ids)} patients)",
        predictions.labels if predictions.labels is not None else [], predictions.prob_idc,
        threshold=run.threshold, operating_points=run.operating_points(report),
        min_recall=run.result.min_recall, dataset=dataset, max_heatmaps=max_heatmaps,
    )  # fmt: skip


def _datasets(datasets: Any) -> dict[str, Any]:
    if datasets is None:
        return {}
    if callable(getattr(datasets, "load_images", None)):
        return {"Held-out data": datasets}
    if isinstance(datasets, Mapping) and all(isinstance(k, str) for k in datasets):
        return dict(datasets)
    rule = "None, an IDCPatchDataset or a mapping of section names to IDCPatchDatasets"
    raise invalid_argument("datasets", _OWNER, rule, f"<{type(datasets).__name__}>")


def build_run_report(
    run: Run,
    *,
    datasets: IDCPatchDataset | Mapping[str, IDCPatchDataset] | None = None,
    max_heatmaps: int = 12,
) -> RunReport:
    """Gather a run's :class:`~idckit.reporting.RunReport` (see :func:`write_run_report`)."""
    from idckit.reporting import RunReport

    whole = isinstance(max_heatmaps, int) and not isinstance(max_heatmaps, bool)
    if not whole or max_heatmaps < 0:
        raise invalid_argument("max_heatmaps", _OWNER, "an integer >= 0", max_heatmaps)
    held_out = _datasets(datasets)
    run_dir = RunDir(run.path)
    histories = {}
    for fold in run.result.folds:
        path = run_dir.fold_dir(fold.fold) / "history.csv"
        if path.is_file():
            histories[fold.fold] = path
    sections = [_oof_section(run, max_heatmaps)]
    sections += [_held_out_section(run, n, d, max_heatmaps) for n, d in held_out.items()]
    return RunReport(
        title=f"idckit run report: {run.path.name}",
        config=run_dir.read_config(),
        folds=tuple(f.to_dict() for f in run.result.folds),
        histories=histories,
        evaluations=tuple(sections),
        notes=(run.result.threshold_line(), run.result.operating_points_line()),
    )


def write_run_report(
    run: Run,
    path: os.PathLike[str] | str,
    *,
    datasets: IDCPatchDataset | Mapping[str, IDCPatchDataset] | None = None,
    max_heatmaps: int = 12,
) -> Path:
    """Write a finished run as one self-contained HTML file a colleague can open anywhere.

    The page (:class:`~idckit.reporting.RunReport`) shows the run's settings
    (``config.json``), the per-fold metrics with each fold's learning curves (best epoch
    marked), and the out-of-fold predictions at the run's threshold: the classification
    report, recall(+) and specificity at the run's threshold and at the threshold that
    reaches ``min_recall`` (90%) out of fold, the confusion matrix, the ROC and
    precision-recall curves with both operating points marked, and the per-patient region
    agreement (Dice, IoU; worst first). Each data set in ``datasets`` (labelled, patients the
    run never trained on) adds the same for the fold ensemble's predictions, plus the slide
    heat maps of its worst patients. Images are embedded (base64 PNG), the style is inline,
    nothing is fetched from the network and no JavaScript is needed.

    Parameters
    ----------
    run
        A finished :class:`~idckit.training.Run` (``Run.load(run_dir)`` or
        ``trainer.run_``).
    path
        The HTML file to write (its folder is created; written atomically).
    datasets
        A labelled :class:`~idckit.data.IDCPatchDataset` of held-out patients, or a mapping
        of section titles to such data sets; None: the out-of-fold predictions only.
    max_heatmaps
        At most this many slide heat maps per data set (the patients with the lowest Dice
        first); the report says how many were left out.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> write_run_report(None, "report.html")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid `run` for write_run_report: expected a finished idckit.training.Run...
    """
    if not hasattr(run, "result") or not hasattr(run, "path"):
        rule = "a finished idckit.training.Run (Run.load(run_dir) or trainer.run_)"
        raise invalid_argument("run", _OWNER, rule, f"<{type(run).__name__}>")
    report = build_run_report(run, datasets=datasets, max_heatmaps=max_heatmaps)
    return report.save(path)
