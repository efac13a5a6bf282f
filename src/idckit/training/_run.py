"""Run: a finished K-fold run that predicts and evaluates (its fold models as an ensemble)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from idckit._errors import check_positive_int, invalid_argument
from idckit.training._config import TrainingConfig
from idckit.training._outputs import load_result, write_evaluation
from idckit.training._predictions import Predictions
from idckit.training._results import CrossValidationResult
from idckit.training._run_dir import RunDir

if TYPE_CHECKING:  # pragma: no cover
    from idckit.data import IDCPatchDataset
    from idckit.reporting import ClassificationReport

_OWNER = "Run"


def _is_dataset(data: Any) -> bool:
    return callable(getattr(data, "load_images", None)) and hasattr(data, "patients")


class Run:
    """A finished K-fold run: its fold models predict as an ensemble at the run's threshold.

    P(IDC+) is the mean over the fold models, each with the run's test-time augmentation, and
    then spatially smoothed over each patient's neighbouring patches when the run smooths; the
    decision threshold is the one chosen on the run's out-of-fold predictions (or fixed by its
    config). Load one with :meth:`load`, or take ``KFoldTrainer.run_`` after ``fit``.

    Parameters
    ----------
    path
        The run directory.
    config
        The settings the run was trained with.
    result
        Its cross-validation result.

    Examples
    --------
    >>> Run.load("no/such/run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid `run_dir` for Run: expected a finished run directory...
    """

    def __init__(self, path: Path, config: TrainingConfig, result: CrossValidationResult) -> None:
        self.path = Path(path)
        self.config = config
        self.result = result
        self._models: list[Any] | None = None
        self._normalizer: Any = None

    @classmethod
    def load(cls, run_dir: os.PathLike[str] | str, *, batch_size: int | None = None) -> Run:
        """Load a finished run (one with ``report.json``) from its directory.

        Parameters
        ----------
        run_dir
            The run directory that ``KFoldTrainer.fit`` or ``idckit train`` wrote.
        batch_size
            Inference batch size (default: the run's training batch size).
        """
        run = RunDir(run_dir)
        result = load_result(run, owner=_OWNER)
        config = TrainingConfig.from_dict(run.read_config())
        if batch_size is not None:
            config = config.replace(
                batch_size=check_positive_int("batch_size", _OWNER, batch_size)
            )
        return cls(run.path, config, result)

    def __repr__(self) -> str:
        folds = len(self.result.folds)
        return f"Run({str(self.path)!r}, folds={folds}, threshold={self.threshold:.4f})"

    @property
    def threshold(self) -> float:
        """Decision threshold: chosen on the out-of-fold predictions, or fixed by the config."""
        return self.result.threshold

    @property
    def recall_threshold(self) -> float:
        """The threshold that reaches the config's ``min_recall`` (90%) out of fold."""
        return self.result.recall_threshold

    def operating_points(
        self, report: ClassificationReport | None = None
    ) -> dict[str, dict[str, float]]:
        """Recall of IDC(+) and specificity at the run's threshold and at the recall target.

        Parameters
        ----------
        report
            A report of this run's predictions (:meth:`evaluate`'s, built from scores); None:
            the run's own out-of-fold predictions.

        Returns
        -------
        dict
            ``{"run": {...}, "recall_target": {...}}``, each with ``threshold``, ``recall``
            and ``specificity``: at :attr:`threshold` and at :attr:`recall_threshold`.
        """
        from idckit.training._results import operating_points

        if report is None:
            return self.result.operating_points()
        thresholds = {"run": self.threshold, "recall_target": self.recall_threshold}
        return operating_points(report, thresholds)

    @property
    def normalizer(self) -> Any:
        """The run's fitted stain normaliser (None when it does not normalise stains)."""
        if self._normalizer is None and self.config.stain_normalization is not None:
            from idckit.training._stain import load_normalizer

            self._normalizer = load_normalizer(RunDir(self.path))
            if self._normalizer is None:
                raise invalid_argument(
                    "run_dir", _OWNER, "a run directory with its normalizer.json",
                    str(self.path), "The run normalises stains, but its fitted normaliser is "
                    "missing: it cannot transform new patches as it did in training.",
                )  # fmt: skip
        return self._normalizer

    def fold_models(self) -> list[Any]:
        """Return the fold models (best weights), loaded from the run directory once."""
        if self._models is None:
            import idckit.models  # registers idckit's layers for deserialisation
            import idckit.training._metrics  # noqa: F401 - registers the fold metrics
            from idckit.training._run_files import load_keras_file

            run = RunDir(self.path)
            self._models = [
                load_keras_file(run.model_path(f.fold), compile=False) for f in self.result.folds
            ]
        return self._models

    def predict_proba(self, data: IDCPatchDataset | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """P(IDC+) per patch: the fold models' mean, post-processed as the run was trained.

        Parameters
        ----------
        data
            An :class:`~idckit.data.IDCPatchDataset`, or RGB images ``(N, H, W, 3)`` (``uint8``
            or 0-255 floats) of the run's input size: 50x50 patches, or with ``context`` the
            mosaics :meth:`IDCPatchDataset.load_images` makes. Spatial smoothing needs the
            patches' patients and grid positions, so images get the unsmoothed ensemble (with a
            warning when the run smooths).

        Returns
        -------
        numpy.ndarray
            ``(N,)`` probabilities of IDC(+), in the order of ``data``.
        """
        from idckit.training._inference import postprocess, predict_probability

        config = self.config
        if _is_dataset(data):
            dataset: Any = data
            stain = config.stain_normalization
            if stain is not None:
                dataset = dataset.normalized(self.normalizer, per=stain.per)
            prob = predict_probability(
                self.fold_models(), dataset, config.batch_size, tta=config.tta,
                context=config.context,
            )  # fmt: skip
            return postprocess(prob, dataset, config.smoothing)
        images = self._check_images(data)
        if config.smoothing is not None:
            warnings.warn(
                "This run smooths P(IDC+) over each patient's neighbouring patches, which needs "
                "their positions: images get the unsmoothed ensemble. Pass an IDCPatchDataset "
                "for the run's own predictions.",
                UserWarning,
                stacklevel=2,
            )
        images = self._normalized_images(images)
        from idckit.inference import predict_proba

        total = np.zeros(len(images), dtype=np.float64)
        for model in self.fold_models():
            total += predict_proba(model, images, tta=config.tta, batch_size=config.batch_size)
        return total / len(self.fold_models())

    def _normalized_images(self, images: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Images stain-normalised as the run's training patches, each on its own."""
        stain = self.config.stain_normalization
        if stain is None:
            return images
        normalizer = self.normalizer
        if stain.per == "patient":
            warnings.warn(
                "This run estimates each patient's staining from all of its patches; images "
                "without their patients are normalised each on its own. Pass an "
                "IDCPatchDataset for the run's own predictions.",
                UserWarning,
                stacklevel=3,
            )
        normalized: npt.NDArray[Any] = normalizer.transform(images)
        return normalized

    def predict(self, data: IDCPatchDataset | npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Class per patch (1 = IDC(+)): :meth:`predict_proba` at the run's threshold.

        Parameters
        ----------
        data
            As :meth:`predict_proba`.
        """
        return (self.predict_proba(data) >= self.threshold).astype(np.int64)

    def predictions(self, dataset: IDCPatchDataset) -> Predictions:
        """Return :meth:`predict_proba` as a table: path, patient, x, y, label, P(IDC+)."""
        from idckit.training._inference import dataset_predictions

        self._check_dataset(dataset, "predictions")
        return dataset_predictions(dataset, self.predict_proba(dataset))

    def evaluate(
        self, dataset: IDCPatchDataset, *, out_dir: os.PathLike[str] | str | None = None
    ) -> ClassificationReport:
        """Evaluate the ensemble on labelled patches; return the ``ClassificationReport``.

        The report is at the run's threshold; :meth:`operating_points` of it also gives
        recall and specificity at the threshold that reached 90% recall out of fold. With
        ``out_dir``, also writes ``evaluation.json`` (with both operating points), ``report.txt``,
        ``predictions.csv``, the confusion-matrix, ROC and precision-recall plots and, in
        ``patient_maps/``, the slide maps (:func:`~idckit.reporting.plot_patient_map`) of the
        4 patients with the most misclassified patches there.
        """
        from idckit.training._inference import report_for

        self._check_dataset(dataset, "evaluate")
        predictions = self.predictions(dataset)
        if predictions.labels is None:
            raise invalid_argument(
                "dataset", f"{_OWNER}.evaluate", "patches with known labels", dataset
            )
        report = report_for(predictions, self.threshold)
        if out_dir is not None:
            points = self.operating_points(report)
            write_evaluation(
                Path(out_dir), report, predictions, dataset, self.threshold, points,
                self.config.min_recall,
            )  # fmt: skip
        return report

    def _check_dataset(self, dataset: Any, method: str) -> None:
        if not _is_dataset(dataset):
            raise invalid_argument(
                "dataset", f"{_OWNER}.{method}", "an IDCPatchDataset",
                f"<{type(dataset).__name__}>",
                "For arrays of images use predict_proba(images) or predict(images).",
            )  # fmt: skip

    def _check_images(self, data: Any) -> npt.NDArray[Any]:
        images = np.asarray(data)
        side = (2 * self.config.context + 1) * 50
        if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
            raise invalid_argument(
                "data", f"{_OWNER}.predict_proba",
                "an IDCPatchDataset or a non-empty array of RGB images (N, H, W, 3)",
                f"<array of shape {images.shape}>",
            )  # fmt: skip
        if self.config.context and images.shape[1:3] != (side, side):
            raise invalid_argument(
                "data", f"{_OWNER}.predict_proba",
                f"{side}x{side} mosaics (the run feeds each patch with its neighbourhood, "
                f"context={self.config.context})",
                f"<array of shape {images.shape}>",
                "Pass an IDCPatchDataset, or mosaics from dataset.load_images(rows, "
                f"context={self.config.context}).",
            )  # fmt: skip
        return images
