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

    def fold_models(self) -> list[Any]:
        """Return the fold models (best weights), loaded from the run directory once."""
        if self._models is None:
            import keras

            import idckit.models  # registers idckit's layers for deserialisation
            import idckit.training._metrics  # noqa: F401 - registers the fold metrics

            run = RunDir(self.path)
            self._models = [
                keras.saving.load_model(run.model_path(f.fold), compile=False)
                for f in self.result.folds
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
            prob = predict_probability(
                self.fold_models(), data, config.batch_size, tta=config.tta, context=config.context
            )
            return postprocess(prob, data, config.smoothing)
        images = self._check_images(data)
        if config.smoothing is not None:
            warnings.warn(
                "This run smooths P(IDC+) over each patient's neighbouring patches, which needs "
                "their positions: images get the unsmoothed ensemble. Pass an IDCPatchDataset "
                "for the run's own predictions.",
                UserWarning,
                stacklevel=2,
            )
        from idckit.inference import predict_proba

        total = np.zeros(len(images), dtype=np.float64)
        for model in self.fold_models():
            total += predict_proba(model, images, tta=config.tta, batch_size=config.batch_size)
        return total / len(self.fold_models())

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

        With ``out_dir``, also writes ``evaluation.json``, ``report.txt``,
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
            write_evaluation(Path(out_dir), report, predictions, dataset, self.threshold)
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
