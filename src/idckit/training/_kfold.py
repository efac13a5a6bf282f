"""KFoldTrainer: patient-grouped K-fold training that resumes after a crash."""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO, cast

import numpy as np

from idckit._data_parallel import check_batch_size
from idckit._errors import check_choice, check_fraction, invalid_argument
from idckit.data._augment import Augmentation
from idckit.data._context import check_context
from idckit.inference._spatial import SpatialSmoothing
from idckit.training._atomic import read_json
from idckit.training._callbacks import RunClock
from idckit.training._config import dataset_fingerprint, describe_callable, json_safe
from idckit.training._distribute import check_strategy
from idckit.training._fold import CallbackSpec, FitSettings, forget_checkpoints, train_fold
from idckit.training._metrics import OptimizerSpec
from idckit.training._outputs import finish_run, load_result, write_evaluation
from idckit.training._predictions import Predictions
from idckit.training._recipes import (
    ClassWeight,
    LRSchedule,
    Recipe,
    ThresholdObjective,
    check_lr_schedule,
    check_threshold_objective,
    get_recipe,
)
from idckit.training._results import CrossValidationResult, FoldResult
from idckit.training._run_dir import FoldSplit, RunDir
from idckit.training._splits import Splitter, check_splits, make_splits

_OWNER = "KFoldTrainer"


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise invalid_argument(name, _OWNER, f"an integer >= {minimum}", value)
    return int(value)


def _check_class_weight(value: Any) -> None:
    if value is None or value == "balanced":
        return
    if not isinstance(value, Mapping) or set(value) != {0, 1}:
        raise invalid_argument(
            "class_weight", _OWNER, "'balanced', None, or a dict {0: w0, 1: w1}", value
        )


class KFoldTrainer:
    """Patient-grouped, stratified K-fold training of a Keras model, resumable after a crash.

    Every fold trains a fresh model (and a fresh optimizer) on the training patients, keeps the
    weights of the epoch with the best validation F1(+) and writes its files into
    ``out_dir/fold_<k>/``. The decision threshold is chosen on the out-of-fold predictions;
    :meth:`evaluate` and :meth:`predict` use the fold models as an ensemble (mean probability).

    Parameters
    ----------
    build_model
        A no-argument callable returning a new Keras model. Uncompiled models are compiled with
        ``optimizer``, the loss from :func:`idckit.models.loss_for_model` and the metrics
        ``f1`` (StreamingF1 of IDC(+)), ``precision``, ``recall`` and ``accuracy``; compiled
        ones are used as they are (they must report ``f1``).
    n_splits, epochs, batch_size
        Folds, epochs per fold, global batch size.
    optimizer
        A name (``"adam"``), a Keras optimizer config dict, or a factory; rebuilt per fold.
    lr_schedule
        ``"constant"``, ``"cosine"`` (cosine decay of the optimizer's rate to 0 over the fold)
        or ``"warmup_cosine"`` (linear warm-up from a tenth of the rate to the rate over the
        first 5% of the fold's steps, then cosine decay to 0).
    class_weight
        ``"balanced"`` (computed from each training fold only), a dict or None.
    label_smoothing
        Label smoothing of the loss of models idckit compiles, a float in [0, 1) (see
        :func:`idckit.models.loss_for_model`): with ``e``, the targets are ``1 - e / 2`` and
        ``e / 2`` instead of 1 and 0. It softens the pull of wrongly labelled patches (coarse
        region annotations). 0: plain cross-entropy.
    augment
        Passed to :meth:`IDCPatchDataset.to_keras` for training batches: ``True`` (flips,
        rotations), an :class:`~idckit.data.Augmentation` (colour/stain jitter too), or a dict
        of its fields; recorded in ``config.json`` by :meth:`Augmentation.describe`.
    callbacks
        Extra Keras callbacks, or a callable ``fold -> callbacks`` for fresh ones per fold.
    patience
        Early stopping: stop a fold after this many epochs without a better validation F1(+).
    seed
        Seeds the patient shuffle, weight initialisation and batch order (per fold).
    out_dir
        The run directory (a new temporary one when None).
    resume
        Continue the run in ``out_dir``: finished folds are loaded, an unfinished fold goes on
        from its last epoch checkpoint; a differing configuration is refused.
    splitter
        A scikit-learn splitter (``split(X, y, groups)``); default ``StratifiedGroupKFold``
        over seed-shuffled patients. Patient-disjointness is asserted whatever the splitter.
    threshold_objective, min_recall
        How :func:`idckit.reporting.choose_threshold` picks the threshold on OOF predictions
        (``"f1"``, ``"youden"`` or ``"min_recall"``), or a fixed threshold, a float in (0, 1)
        such as ``0.5``, stored with the run as it is (``min_recall`` is then unused).
    tta
        Test-time augmentation: P(IDC+) is the mean over the 8 dihedral transforms of each
        patch (:func:`idckit.inference.predict_proba`), for the out-of-fold predictions,
        :meth:`evaluate` and :meth:`predict`.
    smoothing
        Spatial smoothing of P(IDC+) over each patient's neighbouring patches
        (:class:`~idckit.inference.SpatialSmoothing`, or a dict of its fields), applied to
        every fold's validation predictions before the threshold is chosen and to the
        ensemble's predictions in :meth:`evaluate` and :meth:`predict`; None: off.
    context
        Neighbourhood context: feed every patch as the mosaic of its ``(2r+1) x (2r+1)``
        neighbourhood on its patient's slide (:meth:`IDCPatchDataset.load_images`), for
        training, validation, :meth:`evaluate` and :meth:`predict`; the model must take such
        mosaics (``build_idc_cnn(context=r)``). 0: the patch alone.
    strategy
        A ``tf.distribute`` strategy (TensorFlow backend); see :mod:`idckit.training`.
    verbose
        0 silent, 1 one line per fold and epoch with ETA, 2 also Keras's per-epoch lines.
    stream
        Where progress goes (default ``sys.stdout``).
    model_config
        How ``config.json`` describes the model (default: derived from ``build_model``).

    Examples
    --------
    >>> from idckit.models import build_benchmark_cnn
    >>> trainer = KFoldTrainer(build_benchmark_cnn, n_splits=3, epochs=2, batch_size=32)
    >>> trainer.n_splits
    3
    """

    def __init__(
        self,
        build_model: Callable[[], Any] | None = None,
        *,
        n_splits: int = 5,
        epochs: int = 10,
        batch_size: int = 64,
        optimizer: OptimizerSpec = "adam",
        lr_schedule: LRSchedule = "constant",
        class_weight: ClassWeight = "balanced",
        label_smoothing: float = 0.0,
        augment: bool | Augmentation | Mapping[str, Any] = False,
        callbacks: CallbackSpec = None,
        patience: int | None = None,
        seed: int = 0,
        out_dir: os.PathLike[str] | str | None = None,
        resume: bool = False,
        splitter: Splitter | None = None,
        threshold_objective: ThresholdObjective = "f1",
        min_recall: float = 0.9,
        tta: bool = False,
        smoothing: SpatialSmoothing | Mapping[str, Any] | None = None,
        context: int = 0,
        strategy: Any = None,
        verbose: int = 1,
        stream: TextIO | None = None,
        model_config: Any = None,
    ) -> None:
        if build_model is not None and not callable(build_model):
            raise invalid_argument(
                "build_model", _OWNER, "a callable returning a model", build_model
            )
        self.build_model = build_model
        self.n_splits = _positive_int("n_splits", n_splits, 2)
        self.epochs = _positive_int("epochs", epochs)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.optimizer = optimizer
        self.lr_schedule = check_lr_schedule(lr_schedule, _OWNER)
        _check_class_weight(class_weight)
        self.class_weight = class_weight
        self.label_smoothing = check_fraction("label_smoothing", _OWNER, label_smoothing)
        self.augment: bool | Augmentation = (
            bool(augment)  # booleans stay booleans (get_params, grid search)
            if isinstance(augment, bool | np.bool_)
            else Augmentation.coerce(augment, _OWNER) or False
        )
        self.callbacks = callbacks
        self.patience = None if patience is None else _positive_int("patience", patience)
        self.seed = _positive_int("seed", seed, 0)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.resume = bool(resume)
        self.splitter = splitter
        self.threshold_objective = check_threshold_objective(threshold_objective, _OWNER)
        self.min_recall = float(min_recall)
        if not isinstance(tta, bool | np.bool_):
            raise invalid_argument("tta", _OWNER, "True or False", tta)
        self.tta = bool(tta)
        self.smoothing = SpatialSmoothing.coerce(smoothing, _OWNER)
        self.context = check_context(context, _OWNER)
        check_strategy(strategy)
        self.strategy = strategy
        check_choice("verbose", _OWNER, verbose, (0, 1, 2))
        self.verbose = verbose
        self.stream = stream
        self.model_config = model_config
        self.result_: CrossValidationResult | None = None
        self._models: list[Any] | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_recipe(cls, recipe: str | Recipe, **overrides: Any) -> KFoldTrainer:
        """Set up a trainer by a named recipe (see :data:`idckit.training.RECIPES`).

        Examples
        --------
        >>> KFoldTrainer.from_recipe("seed", epochs=1).epochs
        1
        """
        recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        kwargs = recipe.trainer_kwargs()
        kwargs["model_config"] = {"name": recipe.model, "kwargs": recipe.builder_kwargs()}
        kwargs.update(overrides)
        return cls(**kwargs)

    @classmethod
    def from_run_dir(
        cls, run_dir: os.PathLike[str] | str, *, batch_size: int | None = None
    ) -> KFoldTrainer:
        """Reload a finished run for :meth:`evaluate` and :meth:`predict`.

        Examples
        --------
        >>> KFoldTrainer.from_run_dir("no/such/run")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Invalid `run_dir` for KFoldTrainer: expected a finished run directory...
        """
        run = RunDir(run_dir)
        result = load_result(run)
        config = run.read_config()
        smoothing = config["smoothing"]
        trainer = cls(
            None,
            n_splits=len(result.folds),
            epochs=int(config["epochs"]),
            batch_size=batch_size or int(config["batch_size"]),
            seed=int(config["seed"]),
            out_dir=run.path,
            threshold_objective=cast(ThresholdObjective, result.threshold_objective),
            augment=Augmentation.coerce(config.get("augment", False)) or False,
            tta=bool(config["tta"]),
            smoothing=None if smoothing is None else SpatialSmoothing(**smoothing),
            context=int(config["context"]),
            label_smoothing=float(config["label_smoothing"]),
            verbose=0,
        )
        trainer.result_ = result
        return trainer

    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments (as scikit-learn estimators expose them)."""
        names = list(inspect.signature(type(self)).parameters)
        return {name: getattr(self, name) for name in names}

    def clone(self, **changes: Any) -> KFoldTrainer:
        """Return a new, unfitted trainer with the same arguments except ``changes``."""
        return type(self)(**{**self.get_params(), **changes})

    # -- training ---------------------------------------------------------------------------
    def config(self, dataset: Any) -> dict[str, Any]:
        """Return what ``config.json`` records: every setting that shapes the results."""
        model = self.model_config if self.model_config is not None else self.build_model
        weights = self.class_weight
        config: dict[str, Any] = json_safe(
            {
                "model": describe_callable(model),
                "n_splits": self.n_splits,
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "optimizer": describe_callable(self.optimizer),
                "lr_schedule": self.lr_schedule,
                "class_weight": dict(weights) if isinstance(weights, Mapping) else weights,
                "label_smoothing": self.label_smoothing,
                "augment": Augmentation.describe(self.augment),
                "patience": self.patience,
                "seed": self.seed,
                "splitter": "default" if self.splitter is None else repr(self.splitter),
                "threshold_objective": self.threshold_objective,
                "min_recall": self.min_recall,
                "tta": self.tta,
                "smoothing": None if self.smoothing is None else self.smoothing.to_dict(),
                "context": self.context,
                "dataset": dataset_fingerprint(dataset),
            }
        )
        return config

    def fit(self, dataset: Any) -> CrossValidationResult:
        """Train every fold on ``dataset`` and choose the threshold; returns the result.

        Parameters
        ----------
        dataset
            An :class:`~idckit.data.IDCPatchDataset` (its patients are split into folds).
        """
        if self.build_model is None:
            raise invalid_argument("build_model", _OWNER, "a model builder to fit", None)
        check_batch_size(self.batch_size, _OWNER)  # under a keras.distribution layout
        run = RunDir(self.out_dir or tempfile.mkdtemp(prefix="idckit-run-"))
        self.out_dir, self._models = run.path, None
        folds = self._prepare(run, dataset)
        if run.complete:
            self.result_ = load_result(run)
            return self.result_
        clock, results = RunClock(len(folds), self.epochs), []
        for k, (train_patients, val_patients) in enumerate(folds, start=1):
            results.append(self._fold(run, dataset, k, train_patients, val_patients, clock))
        self.result_ = finish_run(
            run, tuple(results), self.threshold_objective, self.min_recall, self._say
        )
        return self.result_

    def _prepare(self, run: RunDir, dataset: Any) -> list[FoldSplit]:
        config = self.config(dataset)
        if run.has_run():
            if not self.resume:
                raise invalid_argument(
                    "out_dir", _OWNER, "a new or empty run directory", str(run.path),
                    "It holds a run: pass resume=True (idckit train --resume) to continue it, "
                    "or choose another directory.",
                )  # fmt: skip
            run.check_config(config)
            folds = run.read_splits()
            self._say(f"resuming the run in {run.path}")
        else:
            folds = make_splits(
                dataset.patients, dataset.labels, self.n_splits,
                splitter=self.splitter, seed=self.seed,
            )  # fmt: skip
            run.write_splits(folds)
            run.write_config(config)
        check_splits(folds, np.asarray(dataset.patients).astype(str), np.asarray(dataset.labels))
        return folds

    def _fold(
        self, run: RunDir, dataset: Any, k: int, train_patients: Any, val_patients: Any,
        clock: RunClock,
    ) -> FoldResult:  # fmt: skip
        if run.fold_done(k):
            self._say(f"fold {k}/{clock.n_folds}: finished earlier, not retrained")
            forget_checkpoints(run.fold_dir(k))  # left over if killed just after metrics.json
            return FoldResult.from_dict(read_json(run.metrics_path(k)))
        train, val = dataset.subset(list(train_patients)), dataset.subset(list(val_patients))
        self._say(
            f"fold {k}/{clock.n_folds}: {len(train_patients)} training patients "
            f"({len(train)} patches), {len(val_patients)} validation patients ({len(val)} patches)"
        )
        result = train_fold(self._settings(), k, train, val, run.fold_dir(k), clock)
        self._say(
            f"fold {k}/{clock.n_folds}: done, val F1(+) {result.metrics['f1_pos']:.4f} "
            f"(best epoch {result.best_epoch}/{result.epochs_run}, {result.seconds:.0f}s)"
        )
        return result

    def _settings(self) -> FitSettings:
        assert self.build_model is not None  # checked by fit
        return FitSettings(
            build_model=self.build_model, epochs=self.epochs, batch_size=self.batch_size,
            optimizer=self.optimizer, lr_schedule=self.lr_schedule,
            class_weight=self.class_weight, augment=self.augment, callbacks=self.callbacks,
            patience=self.patience, seed=self.seed, strategy=self.strategy,
            verbose=self.verbose, stream=self.stream, tta=self.tta, smoothing=self.smoothing,
            context=self.context, label_smoothing=self.label_smoothing,
        )  # fmt: skip

    def _say(self, line: str) -> None:
        if self.verbose:
            print(line, file=self.stream or sys.stdout, flush=True)

    # -- using a finished run ---------------------------------------------------------------
    @property
    def threshold(self) -> float:
        """Decision threshold chosen on the out-of-fold predictions."""
        return self._result().threshold

    def _result(self) -> CrossValidationResult:
        if self.result_ is None:
            raise invalid_argument(
                "run", _OWNER, "a fitted trainer", None,
                "Call fit(dataset) first, or load a run with KFoldTrainer.from_run_dir(path).",
            )  # fmt: skip
        return self.result_

    def fold_models(self) -> list[Any]:
        """Return the fold models (best weights), loaded from the run directory once."""
        if self._models is None:
            import keras

            import idckit.models  # registers idckit's layers for deserialisation
            import idckit.training._metrics  # noqa: F401 - registers the fold metrics

            run = RunDir(self._result().run_dir)
            self._models = [
                keras.saving.load_model(run.model_path(f.fold), compile=False)
                for f in self._result().folds
            ]
        return self._models

    def predict(self, dataset: Any) -> Predictions:
        """P(IDC+) for every patch of ``dataset``: the mean over the fold models.

        With ``tta``, each model's probability is the mean over the 8 dihedral transforms of
        each patch; with ``smoothing``, the ensemble mean is smoothed over the neighbouring
        patches of each patient of ``dataset``.
        """
        from idckit.training._inference import (
            dataset_predictions,
            postprocess,
            predict_probability,
        )

        prob = predict_probability(
            self.fold_models(), dataset, self.batch_size, tta=self.tta, context=self.context
        )
        return dataset_predictions(dataset, postprocess(prob, dataset, self.smoothing))

    def evaluate(self, dataset: Any, *, out_dir: os.PathLike[str] | str | None = None) -> Any:
        """Evaluate the fold models as an ensemble; return the ``ClassificationReport``.

        With ``out_dir``, also writes ``evaluation.json``, ``report.txt``,
        ``predictions.csv``, the confusion-matrix, ROC and precision-recall plots and, in
        ``patient_maps/``, the slide maps (:func:`~idckit.reporting.plot_patient_map`) of the
        4 patients with the most misclassified patches there.
        """
        from idckit.training._inference import report_for

        predictions = self.predict(dataset)
        if predictions.labels is None:
            raise invalid_argument(
                "dataset", "KFoldTrainer.evaluate", "patches with known labels", dataset
            )
        report = report_for(predictions, self.threshold)
        if out_dir is not None:
            write_evaluation(Path(out_dir), report, predictions, dataset, self.threshold)
        return report

    def grid_search(self, dataset: Any, param_grid: Any) -> Any:
        """Cross-validate every combination of ``param_grid``; see :func:`grid_search`."""
        from idckit.training._grid import grid_search

        return grid_search(self, dataset, param_grid)
