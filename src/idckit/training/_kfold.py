"""KFoldTrainer: patient-grouped K-fold training that resumes after a crash."""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np

from idckit._data_parallel import check_batch_size
from idckit._errors import check_choice, invalid_argument
from idckit.training._callbacks import RunClock
from idckit.training._config import TrainingConfig, dataset_fingerprint, describe_callable
from idckit.training._distribute import check_strategy
from idckit.training._fold import CallbackSpec, FoldSetup, forget_checkpoints, train_fold
from idckit.training._lock import RunLock
from idckit.training._outputs import finish_run, load_result, warn_if_fold_learned_nothing
from idckit.training._recipes import Recipe, get_recipe
from idckit.training._results import CrossValidationResult, FoldResult
from idckit.training._run import Run
from idckit.training._run_dir import FoldSplit, RunDir
from idckit.training._splits import Splitter, check_splits, make_splits
from idckit.training._stain import normalize_for_training

if TYPE_CHECKING:  # pragma: no cover
    from idckit.data import IDCPatchDataset

_OWNER = "KFoldTrainer"


def _check_builder(build_model: Any) -> None:
    """Refuse what is not a model builder, naming a built model for what it is."""
    if hasattr(build_model, "layers") and hasattr(build_model, "fit"):
        raise invalid_argument(
            "build_model", _OWNER, "a no-argument callable that returns a new model",
            f"<built {type(build_model).__name__} {getattr(build_model, 'name', '')!r}>",
            "Pass the builder itself (e.g. build_benchmark_cnn, not build_benchmark_cnn()): "
            "every fold trains a fresh model.",
        )  # fmt: skip
    if not callable(build_model):
        raise invalid_argument(
            "build_model", _OWNER, "a no-argument callable that returns a new model", build_model
        )


class KFoldTrainer:
    """Patient-grouped, stratified K-fold training of a Keras model, resumable after a crash.

    Every fold trains a fresh model (and a fresh optimizer) on the training patients, keeps the
    weights of the epoch with the best validation F1(+) and writes its files into
    ``<run directory>/fold_<k>/``. The decision threshold is chosen on the out-of-fold
    predictions. The trainer follows scikit-learn's contract: the constructor only stores its
    arguments, :meth:`fit` sets ``result_``, ``run_dir_`` and ``run_`` (a :class:`Run`, the
    finished run that predicts and evaluates) and leaves the arguments as they were.

    Parameters
    ----------
    build_model
        A no-argument callable returning a new Keras model (the builder, not a built model).
        Uncompiled models are compiled with the config's optimizer, the loss from
        :func:`idckit.models.loss_for_model` and the metrics ``f1`` (StreamingF1 of IDC(+)),
        ``precision``, ``recall`` and ``accuracy``; compiled ones are used as they are (they
        must report ``f1``).
    config
        The training settings (a :class:`TrainingConfig`; None: its defaults).
    splitter
        A scikit-learn splitter (``split(X, y, groups)``); default ``StratifiedGroupKFold``
        over seed-shuffled patients. Patient-disjointness is asserted whatever the splitter.
    callbacks
        Extra Keras callbacks, or a callable ``fold -> callbacks`` for fresh ones per fold.
    strategy
        A ``tf.distribute`` strategy (TensorFlow backend); see :mod:`idckit.training`.
    out_dir
        The run directory (a new temporary one when None).
    resume
        Continue the run in ``out_dir``: finished folds are loaded, an unfinished fold goes on
        from its last epoch checkpoint; a differing configuration is refused.
    verbose
        0 silent, 1 one line per fold and epoch with ETA, 2 also Keras's per-epoch lines.
    stream
        Where progress goes (default ``sys.stdout``).
    model_config
        How ``config.json`` describes the model (default: derived from ``build_model``).

    Attributes
    ----------
    result_ : CrossValidationResult
        Per-fold metrics, the threshold and the out-of-fold predictions (set by :meth:`fit`).
    run_dir_ : pathlib.Path
        Where :meth:`fit` trained (``out_dir``, or the temporary directory it made).
    run_ : Run
        The finished run: ``run_.predict_proba(...)``, ``run_.evaluate(...)``.

    Examples
    --------
    >>> from idckit.models import build_benchmark_cnn
    >>> trainer = KFoldTrainer(build_benchmark_cnn, TrainingConfig(n_splits=3, epochs=2))
    >>> trainer.config.n_splits
    3
    >>> KFoldTrainer(build_benchmark_cnn())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Invalid `build_model` for KFoldTrainer: ... Pass the builder itself ...
    """

    def __init__(
        self,
        build_model: Callable[[], Any],
        config: TrainingConfig | None = None,
        *,
        splitter: Splitter | None = None,
        callbacks: CallbackSpec = None,
        strategy: Any = None,
        out_dir: os.PathLike[str] | str | None = None,
        resume: bool = False,
        verbose: int = 1,
        stream: TextIO | None = None,
        model_config: Any = None,
    ) -> None:
        _check_builder(build_model)
        if config is not None and not isinstance(config, TrainingConfig):
            raise invalid_argument(
                "config", _OWNER, "a TrainingConfig or None", config,
                "Put the settings in a TrainingConfig: KFoldTrainer(build, "
                "TrainingConfig(epochs=...)).",
            )  # fmt: skip
        check_strategy(strategy)
        check_choice("verbose", _OWNER, verbose, (0, 1, 2))
        self.build_model = build_model
        self.config = config
        self.splitter = splitter
        self.callbacks = callbacks
        self.strategy = strategy
        self.out_dir = out_dir
        self.resume = resume
        self.verbose = verbose
        self.stream = stream
        self.model_config = model_config

    def __getattr__(self, name: str) -> Any:
        """Say that ``result_``, ``run_dir_`` and ``run_`` come from :meth:`fit`."""
        if name in ("result_", "run_dir_", "run_"):
            raise AttributeError(
                f"{type(self).__name__}.{name} is set by fit: this trainer is not fitted yet. "
                "Call fit(dataset) first, or load a finished run with idckit.Run.load(path)."
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def from_recipe(cls, recipe: str | Recipe, **kwargs: Any) -> KFoldTrainer:
        """Set up a trainer by a recipe (see :data:`idckit.training.RECIPES`).

        Parameters
        ----------
        recipe
            A :class:`Recipe` or the name of one; change its settings with
            :meth:`Recipe.replace` first.
        **kwargs
            The trainer's other arguments (``out_dir``, ``resume``, ``verbose``, ...).

        Examples
        --------
        >>> KFoldTrainer.from_recipe(get_recipe("seed").replace(epochs=1)).config.epochs
        1
        """
        recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        if not isinstance(recipe, Recipe):
            raise invalid_argument("recipe", _OWNER, "a Recipe or a recipe's name", recipe)
        kwargs.setdefault("model_config", recipe.model_config())
        return cls(recipe.build_model, recipe.config, **kwargs)

    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments (as scikit-learn estimators expose them)."""
        names = list(inspect.signature(type(self)).parameters)
        return {name: getattr(self, name) for name in names}

    def clone(self, **changes: Any) -> KFoldTrainer:
        """Return a new, unfitted trainer with the same arguments except ``changes``.

        Examples
        --------
        >>> from idckit.models import build_benchmark_cnn
        >>> KFoldTrainer(build_benchmark_cnn).clone(out_dir="run_b").out_dir
        'run_b'
        """
        return type(self)(**{**self.get_params(), **changes})

    @property
    def training_config(self) -> TrainingConfig:
        """The settings that :meth:`fit` uses: ``config``, or the defaults when it is None."""
        return self.config if self.config is not None else TrainingConfig()

    def run_config(self, dataset: IDCPatchDataset) -> dict[str, Any]:
        """Return what ``config.json`` records: the model, every setting, splitter, data set."""
        model = self.model_config if self.model_config is not None else self.build_model
        return {
            "model": describe_callable(model),
            **self.training_config.to_dict(),
            "splitter": "default" if self.splitter is None else repr(self.splitter),
            "dataset": dataset_fingerprint(dataset),
        }

    # -- training ---------------------------------------------------------------------------
    def fit(self, dataset: IDCPatchDataset) -> CrossValidationResult:
        """Train every fold on ``dataset`` and choose the threshold; returns the result.

        Parameters
        ----------
        dataset
            An :class:`~idckit.data.IDCPatchDataset` (its patients are split into folds).

        Returns
        -------
        CrossValidationResult
            Also stored as ``result_``; the finished run is ``run_``.
        """
        config = self.training_config
        check_batch_size(config.batch_size, _OWNER)  # under a keras.distribution layout
        run = RunDir(self.out_dir or tempfile.mkdtemp(prefix="idckit-run-"))
        with RunLock(run.path, _OWNER):  # one writer per run directory, released on any exit
            folds = self._prepare(run, dataset)
            if run.complete:
                result = load_result(run)
            else:
                if config.stain_normalization is not None:
                    setting = config.stain_normalization
                    self._say(f"normalising stains ({setting.method}, per {setting.per})")
                dataset = normalize_for_training(run, dataset, config)
                clock, results = RunClock(len(folds), config.epochs), []
                for k, (train_patients, val_patients) in enumerate(folds, start=1):
                    fold = self._fold(run, dataset, k, train_patients, val_patients, clock)
                    results.append(fold)
                result = finish_run(
                    run, tuple(results), config.threshold_objective, config.min_recall, self._say
                )
        self.result_, self.run_dir_ = result, run.path
        self.run_ = Run(run.path, config, result)
        return result

    def _prepare(self, run: RunDir, dataset: IDCPatchDataset) -> list[FoldSplit]:
        config = self.run_config(dataset)
        if run.has_run() and not run.has_progress():
            self._say(f"starting again in {run.path}: the run there never finished an epoch")
            run.clear()
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
                dataset.patients, dataset.labels, self.training_config.n_splits,
                splitter=self.splitter, seed=self.training_config.seed,
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
            return run.read_fold_result(k)
        train, val = dataset.subset(list(train_patients)), dataset.subset(list(val_patients))
        self._say(
            f"fold {k}/{clock.n_folds}: {len(train_patients)} training patients "
            f"({len(train)} patches), {len(val_patients)} validation patients ({len(val)} patches)"
        )
        setup = FoldSetup(
            self.build_model, self.training_config, self.callbacks, self.strategy,
            self.verbose, self.stream,
        )  # fmt: skip
        result = train_fold(setup, k, train, val, run.fold_dir(k), clock)
        warn_if_fold_learned_nothing(result)
        self._say(
            f"fold {k}/{clock.n_folds}: done, val F1(+) {result.metrics['f1_pos']:.4f} "
            f"(best epoch {result.best_epoch}/{result.epochs_run}, {result.seconds:.0f}s)"
        )
        return result

    def _say(self, line: str) -> None:
        if self.verbose:
            print(line, file=self.stream or sys.stdout, flush=True)
