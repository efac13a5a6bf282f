"""Per-fold callbacks: best-by-validation-F1 tracking with epoch checkpoints, and progress lines.

:class:`FoldCheckpoint` makes a fold resumable. After every epoch it writes, each atomically and
in this order: the full model (weights and optimizer state) as ``checkpoint-e<N>.keras``, the
best weights so far as ``best-e<B>.weights.h5`` when they improved, then ``state.json`` naming
both files. ``state.json`` is the commit: a kill before it leaves the previous state, whose
files are still there, so a resume never trusts a half-finished epoch.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import keras
import numpy as np

from idckit.training._atomic import atomic_save, atomic_write_csv, atomic_write_json
from idckit.training._run_files import REMEDY, Fields, confined

MONITOR = "val_f1"
_SHOWN = ("loss", "f1", "precision", "recall", "accuracy")  # the order of columns and lines


@dataclass
class FoldState:
    """What ``fold_<k>/state.json`` records after each finished epoch."""

    epoch: int = 0
    checkpoint: str | None = None
    best_epoch: int = 0
    best_value: float = -math.inf
    best_weights: str | None = None
    seconds: float = 0.0
    stopped: bool = False
    history: dict[str, list[float]] = field(default_factory=dict)
    #: The model's random-generator states (dropout, random layers) after the epoch; states
    #: written before idckit stored them are absent (empty): such a fold resumes with fresh ones.
    seed_states: list[list[int]] = field(default_factory=list)

    @classmethod
    def load(cls, fold_dir: Path) -> FoldState:
        """Read the committed state of a fold (a fresh state when there is none).

        Every value is checked, and the files it names must be this fold's own checkpoint
        files (plain names in ``fold_dir``, never a path out of it) and exist.
        """
        path = fold_dir / "state.json"
        if not path.is_file():
            return cls()
        fields = Fields.of_file(path)
        epoch = fields.integer("epoch")
        best = fields.get("best_value")
        state = cls(
            epoch=epoch,
            checkpoint=_named_file(fields, "checkpoint", CHECKPOINT_NAME, fold_dir),
            best_epoch=fields.integer("best_epoch"),
            best_value=-math.inf if best is None else fields.number("best_value"),
            best_weights=_named_file(fields, "best_weights", BEST_WEIGHTS_NAME, fold_dir),
            seconds=fields.number("seconds", 0.0),
            stopped=fields.boolean("stopped"),
            history=_history(fields),
            seed_states=_seed_states(fields) if "seed_states" in fields.data else [],
        )
        if state.checkpoint not in (None, f"checkpoint-e{epoch}.keras"):
            raise fields.error("checkpoint", f"'checkpoint-e{epoch}.keras' (the epoch's)",
                               state.checkpoint)  # fmt: skip
        if state.best_epoch > epoch:
            raise fields.error("best_epoch", f"at most epoch ({epoch})", state.best_epoch)
        return state

    def save(self, fold_dir: Path) -> None:
        """Commit the state (atomically)."""
        data = asdict(self)
        data["best_value"] = None if math.isinf(self.best_value) else self.best_value
        atomic_write_json(fold_dir / "state.json", data)


CHECKPOINT_NAME = r"checkpoint-e[0-9]{1,9}\.keras"
BEST_WEIGHTS_NAME = r"best-e[0-9]{1,9}\.weights\.h5"


def _named_file(fields: Fields, key: str, pattern: str, fold_dir: Path) -> str | None:
    """Return the checkpoint file that ``state.json`` names: None, or a plain name that exists."""
    if fields.get(key) is None:
        return None
    name = fields.file_name(key, pattern)
    if not confined(fold_dir, name, fields.where).is_file():
        raise fields.error(key, f"a file in {str(fold_dir)!r}; it is missing", name)
    return name


def _history(fields: Fields) -> dict[str, list[float]]:
    history = fields.nested("history")
    return {str(key): _numbers(history, key) for key in history.data}


def _numbers(fields: Fields, key: str) -> list[float]:
    values = fields.get(key)
    if not isinstance(values, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        raise fields.error(key, "a list of numbers (one per epoch)", values)
    return [float(v) for v in values]


def _seed_states(fields: Fields) -> list[list[int]]:
    states = fields.get("seed_states")
    valid = isinstance(states, list) and all(
        isinstance(s, list) and len(s) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64 for v in s)
        for s in states
    )  # fmt: skip
    if not valid:
        raise fields.error("seed_states", "a list of [seed, counter] pairs of integers", states)
    return [list(s) for s in states]


def seed_variables(model: Any) -> list[Any]:
    """Return the state variables of the model's random generators (dropout, random layers).

    Keras keeps them out of ``model.weights``, so checkpoints do not store them: a fold's
    ``state.json`` does (:attr:`FoldState.seed_states`).
    """
    weights = {id(w) for w in model.weights}
    return [v for v in model.variables if id(v) not in weights]


def restore_seed_states(model: Any, states: list[list[int]]) -> None:
    """Put the random-generator states of ``state.json`` back into a resumed model."""
    variables = seed_variables(model)
    if not states:
        return  # a state.json from before idckit stored them
    if len(states) != len(variables):
        raise ValueError(
            f"The checkpoint's model has {len(variables)} random generators, its state.json "
            f"{len(states)}: the fold's files do not belong together. {REMEDY}"
        )
    for variable, state in zip(variables, states, strict=True):
        variable.assign(np.asarray(state, dtype=variable.dtype))


def write_history_csv(path: Path, history: dict[str, list[float]]) -> None:
    """Write ``history`` as CSV: an ``epoch`` column (from 1), then one column per key."""

    def order(key: str) -> tuple[bool, int, str]:
        base = key.removeprefix("val_")
        rank = _SHOWN.index(base) if base in _SHOWN else len(_SHOWN)
        return key.startswith("val_"), rank, base

    keys = sorted(history, key=order)
    n = max((len(v) for v in history.values()), default=0)
    rows = ([i + 1, *(history[k][i] for k in keys)] for i in range(n))
    atomic_write_csv(path, ["epoch", *keys], rows)


def _as_float(value: Any) -> float:
    number = float(value)
    return number if math.isfinite(number) else -math.inf


class FoldCheckpoint(keras.callbacks.Callback):  # type: ignore[misc]  # keras is untyped
    """Checkpoint every epoch, track the best validation F1(+), stop after ``patience``.

    Parameters
    ----------
    fold_dir
        The fold's folder.
    state
        The committed state to continue from (a fresh :class:`FoldState` for a new fold).
    patience
        Stop when the validation F1(+) has not improved for this many epochs (None: never).
    """

    def __init__(self, fold_dir: Path, state: FoldState, patience: int | None = None) -> None:
        super().__init__()
        self.fold_dir = fold_dir
        self.state = state
        self.patience = patience
        self._epoch_start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Start the epoch's clock."""
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Record the epoch, save the checkpoint and commit ``state.json``."""
        logs = dict(logs or {})
        if MONITOR not in logs:
            raise KeyError(
                f"KFoldTrainer tracks the best epoch by {MONITOR!r}, absent from the logs "
                f"({sorted(logs)}): compile with StreamingF1(name='f1') or leave the model "
                "uncompiled so that KFoldTrainer compiles it."
            )
        state, done = self.state, epoch + 1
        for key, value in logs.items():
            state.history.setdefault(key, []).append(float(value))
        value = _as_float(logs[MONITOR])
        if state.best_weights is None or value > state.best_value:
            state.best_epoch, state.best_value = done, value
            state.best_weights = f"best-e{done}.weights.h5"
            atomic_save(self.fold_dir / state.best_weights, self.model.save_weights)
        state.checkpoint = f"checkpoint-e{done}.keras"
        atomic_save(self.fold_dir / state.checkpoint, self.model.save)
        state.epoch = done
        state.seed_states = [
            [int(v) for v in np.asarray(keras.ops.convert_to_numpy(variable)).ravel()]
            for variable in seed_variables(self.model)
        ]
        state.seconds += time.perf_counter() - self._epoch_start
        if self.patience is not None and done - state.best_epoch >= self.patience:
            state.stopped = True
            self.model.stop_training = True
        state.save(self.fold_dir)
        write_history_csv(self.fold_dir / "history.csv", state.history)
        remove_stale_files(self.fold_dir, keep={state.checkpoint, state.best_weights})


def remove_stale_files(fold_dir: Path, keep: set[str | None]) -> None:
    """Delete checkpoint and best-weights files that ``state.json`` no longer names."""
    for pattern in ("checkpoint-e*.keras", "best-e*.weights.h5", ".tmp-*"):
        for path in fold_dir.glob(pattern):
            if path.name not in keep:
                path.unlink(missing_ok=True)


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass
class RunClock:
    """Epoch timings across a run, for the ETA of the remaining epochs."""

    n_folds: int
    epochs: int
    seconds: list[float] = field(default_factory=list)

    def eta(self, fold: int, epochs_done: int) -> tuple[float, float]:
        """Seconds left in fold ``fold`` and in the run, at the mean epoch time so far."""
        mean = sum(self.seconds) / len(self.seconds) if self.seconds else 0.0
        fold_left = (self.epochs - epochs_done) * mean
        return fold_left, fold_left + (self.n_folds - fold) * self.epochs * mean


class ProgressLogger(keras.callbacks.Callback):  # type: ignore[misc]  # keras is untyped
    """One line per epoch: fold, epoch, time, train and validation metrics, ETA.

    Example line::

        fold 2/5 epoch 3/10 4.1s loss 0.4213 f1 0.7012 ... val_f1 0.6877 | ETA fold 0:00:29,
        run 0:02:32
    """

    def __init__(self, fold: int, clock: RunClock, stream: TextIO | None = None) -> None:
        super().__init__()
        self.fold, self.clock = fold, clock
        self.stream = stream if stream is not None else sys.stdout
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Start the epoch's clock."""
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Print the epoch's line."""
        seconds = time.perf_counter() - self._start
        self.clock.seconds.append(seconds)
        logs = logs or {}
        shown = [k for k in _SHOWN if k in logs] + [f"val_{k}" for k in _SHOWN]
        metrics = " ".join(f"{k} {float(logs[k]):.4f}" for k in shown if k in logs)
        fold_left, run_left = self.clock.eta(self.fold, epoch + 1)
        print(
            f"fold {self.fold}/{self.clock.n_folds} epoch {epoch + 1}/{self.clock.epochs} "
            f"{seconds:.1f}s {metrics} | ETA fold {_clock(fold_left)}, run {_clock(run_left)}",
            file=self.stream,
            flush=True,
        )
