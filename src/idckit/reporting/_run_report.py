"""RunReport: one self-contained HTML page that shows a run (no framework, no network).

A :class:`RunReport` holds what a run produced, as plain records: its config, its folds, their
learning curves and one :class:`ReportEvaluation` per set of predictions (out of fold, held
out). ``idckit.training.write_run_report`` builds one from a finished run; this module only
renders, so that ``idckit.reporting`` keeps importing no deep-learning framework and nothing
from ``idckit.training``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument
from idckit.reporting import _html as h

if TYPE_CHECKING:
    from idckit.reporting._report import ClassificationReport

#: Heat maps a report draws per data set unless told otherwise (the worst patients first).
MAX_HEATMAPS = 12
#: Columns of the per-patient table, in order (the keys of ``RegionAgreement.to_rows()``).
PATIENT_COLUMNS = (
    "patient", "n_patches", "n_idc", "annotated_fraction", "predicted_fraction", "dice", "iou",
    "f1_pos",
)  # fmt: skip


def _check_count(name: str, owner: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise invalid_argument(name, owner, "an integer >= 0", value)
    return int(value)


@dataclass(frozen=True, eq=False)
class ReportEvaluation:
    """One set of predictions shown in a :class:`RunReport`: out of fold, or held out.

    Parameters
    ----------
    name
        The section's title, e.g. ``"Out-of-fold predictions"``.
    report
        Its :class:`~idckit.reporting.ClassificationReport` (built from scores, at the run's
        threshold: the ROC and PR curves need them).
    operating_points
        ``{"run": {...}, "recall_target": {...}}`` with ``threshold``, ``recall`` and
        ``specificity`` each (``Run.operating_points(report)``); empty: none shown.
    min_recall
        The recall target of the second operating point (0.9: 90%).
    patients
        Per-patient region agreement rows (``RegionAgreement.to_rows()``), worst Dice first.
    heatmaps
        ``(patient, PNG bytes)`` slide heat maps, worst Dice first.
    heatmaps_omitted
        How many patients' heat maps were left out by the cap.

    Examples
    --------
    >>> from idckit.reporting import ClassificationReport
    >>> report = ClassificationReport.from_predictions([0, 1, 1], [0.2, 0.9, 0.4])
    >>> ReportEvaluation("Held out", report).name
    'Held out'
    """

    name: str
    report: ClassificationReport
    operating_points: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    min_recall: float = 0.9
    patients: tuple[Mapping[str, Any], ...] = ()
    heatmaps: tuple[tuple[str, bytes], ...] = ()
    heatmaps_omitted: int = 0

    @classmethod
    def from_predictions(
        cls,
        name: str,
        labels: npt.ArrayLike,
        prob_idc: npt.ArrayLike,
        *,
        threshold: float,
        operating_points: Mapping[str, Mapping[str, float]] | None = None,
        min_recall: float = 0.9,
        patients: Sequence[str] | None = None,
        x: npt.ArrayLike | None = None,
        y: npt.ArrayLike | None = None,
        dataset: Any = None,
        max_heatmaps: int = MAX_HEATMAPS,
    ) -> ReportEvaluation:
        """Evaluate labelled P(IDC+) at ``threshold``, per patient where positions are known.

        Parameters
        ----------
        name
            The section's title.
        labels, prob_idc
            True labels (0/1) and P(IDC+) per patch.
        threshold
            The run's decision threshold.
        operating_points
            As the field (e.g. ``run.operating_points(report)``).
        min_recall
            The recall target of the second operating point.
        patients, x, y
            Each patch's patient and slide position: with them, the per-patient region
            agreement (:func:`~idckit.reporting.region_agreement`). Taken from ``dataset``
            when it is given.
        dataset
            The :class:`~idckit.data.IDCPatchDataset` the predictions are of (in its order):
            with it, each patient's slide heat map too.
        max_heatmaps
            At most this many heat maps, the patients with the lowest Dice first.

        Examples
        --------
        >>> e = ReportEvaluation.from_predictions("OOF", [0, 1, 1], [0.2, 0.9, 0.4],
        ...                                       threshold=0.5)
        >>> e.report.sensitivity
        0.5
        """
        from idckit.reporting._report import ClassificationReport

        owner = "ReportEvaluation.from_predictions"
        cap = _check_count("max_heatmaps", owner, max_heatmaps)
        report = ClassificationReport.from_predictions(labels, prob_idc, threshold=threshold)
        if dataset is not None and patients is None:
            patients, x, y = dataset.patients, dataset.x, dataset.y
        rows: tuple[dict[str, Any], ...] = ()
        if patients is not None and x is not None and y is not None:
            import idckit.reporting as reporting

            agreement = reporting.region_agreement(
                patients, x, y, labels, prob_idc, threshold=threshold
            )
            rows = tuple(agreement.worst(None).to_rows())  # worst Dice first
        heatmaps = []
        if dataset is not None:
            import idckit.reporting as reporting

            for row in rows[:cap]:
                figure = reporting.plot_slide_heatmap(
                    dataset, str(row["patient"]), np.asarray(prob_idc), threshold=threshold
                )
                heatmaps.append((str(row["patient"]), h.png_bytes(figure)))
        return cls(
            name, report, dict(operating_points or {}), min_recall, rows, tuple(heatmaps),
            len(rows) - len(heatmaps) if dataset is not None else 0,
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class RunReport:
    """A run as one self-contained HTML file: config, folds, curves, evaluations, heat maps.

    Images are embedded as base64 PNG data URIs and the style sheet is inline: the file opens
    offline in any browser, needs no JavaScript and can be mailed as it is. Every text taken
    from the run (config values, names) is HTML-escaped.

    Parameters
    ----------
    title
        The page's title.
    config
        The run's settings (its ``config.json``), shown as a table of dotted keys.
    folds
        One mapping per fold, as ``FoldResult.to_dict()`` writes it (``fold``, ``best_epoch``,
        ``epochs_run``, ``n_train``, ``n_val``, ``seconds``, ``metrics``).
    histories
        Fold number -> its training history (a mapping of lists or a ``history.csv`` path),
        drawn by :func:`~idckit.reporting.plot_learning_curves` with the fold's best epoch.
    evaluations
        The sets of predictions shown, each a :class:`ReportEvaluation`.
    notes
        Lines shown under the title (the threshold and where the run is, say).

    Examples
    --------
    >>> from idckit.reporting import ClassificationReport
    >>> oof = ReportEvaluation.from_predictions("Out of fold", [0, 1, 1, 0], [0.1, 0.8, 0.6, 0.7],
    ...                                         threshold=0.5)
    >>> page = RunReport("A run", {"epochs": 2}, evaluations=(oof,)).to_html()
    >>> page.startswith("<!DOCTYPE html>"), "Out of fold" in page
    (True, True)
    """

    title: str
    config: Mapping[str, Any] = field(default_factory=dict)
    folds: tuple[Mapping[str, Any], ...] = ()
    histories: Mapping[int, Any] = field(default_factory=dict)
    evaluations: tuple[ReportEvaluation, ...] = ()
    notes: tuple[str, ...] = ()

    def to_html(self) -> str:
        """Return the whole HTML document as text."""
        from idckit.reporting._report_sections import (
            config_section,
            evaluation_section,
            folds_section,
        )

        parts = [("config", "Configuration", config_section(self.config))]
        if self.folds:
            parts.append(("folds", "Cross-validation folds", folds_section(self)))
        for k, evaluation in enumerate(self.evaluations, start=1):
            anchor = f"evaluation-{k}"
            parts.append((anchor, evaluation.name, evaluation_section(evaluation)))
        links = "".join(f'<li><a href="#{a}">{h.escape(t)}</a></li>' for a, t, _ in parts)
        header = f"<header><h1>{h.escape(self.title)}</h1>"
        header += "".join(h.paragraph(note) for note in self.notes)
        header += f"<nav><ul>{links}</ul></nav></header>"
        body = header + "".join(h.section(a, t, b) for a, t, b in parts)
        from idckit import __version__

        body += f"<footer>{h.paragraph(f'Written by idckit {__version__}.', note=True)}</footer>"
        return h.page(self.title, body)

    def save(self, path: os.PathLike[str] | str) -> Path:
        """Write :meth:`to_html` to ``path`` (atomically, UTF-8) and return the path."""
        return h.write_text_atomically(Path(path), self.to_html())
