"""Train one fold: build or resume the model, fit, keep the best epoch, write the fold's files."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from idckit._errors import invalid_argument
from idckit.training._atomic import atomic_save, atomic_write_json
from idckit.training._callbacks import (
    FoldCheckpoint,
    FoldState,
    ProgressLogger,
    RunClock,
    remove_stale_files,
    restore_seed_states,
    write_history_csv,
)
from idckit.training._config import TrainingConfig
from idckit.training._distribute import strategy_scope
from idckit.training._inference import (
    dataset_predictions,
    postprocess,
    predict_probability,
    report_for,
)
from idckit.training._metrics import (
    WARMUP_FRACTION,
    compile_model,
    make_optimizer,
    with_cosine_decay,
)
from idckit.training._results import FOLD_METRICS, FoldResult
from idckit.training._run_files import load_keras_file, load_weights_file

CallbackSpec = Sequence[Any] | Callable[[int], Sequence[Any]] | None


@dataclass(frozen=True)
class FoldSetup:
    """What every fold trains with: the builder, the config (whole) and how to run and report."""

    build_model: Callable[[], Any]
    config: TrainingConfig
    callbacks: CallbackSpec = None
    strategy: Any = None
    verbose: int = 0
    stream: TextIO | None = None


def _class_weight(config: TrainingConfig, train: Any) -> dict[int, float] | None:
    if config.class_weight is None:
        return None
    if config.class_weight == "balanced":
        return {int(k): float(v) for k, v in train.class_weights("balanced").items()}
    return dict(config.class_weight)


def _new_model(setup: FoldSetup, steps_per_epoch: int) -> Any:
    config = setup.config
    model = setup.build_model()
    if getattr(model, "compiled", False):
        if config.label_smoothing:
            raise invalid_argument(
                "label_smoothing", "KFoldTrainer", "0 when build_model returns a compiled model",
                config.label_smoothing,
                "idckit only sets the loss of models it compiles: return the model uncompiled, "
                "or compile it with loss_for_model(model, label_smoothing=...) yourself.",
            )  # fmt: skip
        return model
    optimizer = make_optimizer(config.optimizer)
    if config.lr_schedule == "warmup_cosine":
        total_steps = config.epochs * steps_per_epoch
        optimizer = with_cosine_decay(optimizer, total_steps, warmup=WARMUP_FRACTION)
    compile_model(model, optimizer, config.label_smoothing)
    return model


def check_input_matches(model: Any, image_shape: tuple[int, ...], context: int) -> None:
    """Refuse a model whose input shape differs from the images the feed makes.

    Models of several inputs, or without a known input shape, are not checked.
    """
    shape = getattr(model, "input_shape", None)
    if not isinstance(shape, tuple) or not all(d is None or isinstance(d, int) for d in shape):
        return
    expected = shape[1:]
    if any(
        e is not None and int(e) != int(s) for e, s in zip(expected, image_shape, strict=False)
    ):
        hint = (
            f"With context={context} every patch is fed as a {image_shape[0]}x{image_shape[1]} "
            f"mosaic of its neighbourhood: build the model for it, e.g. "
            f"build_idc_cnn(context={context})."
            if context
            else "Build the model for the patches' shape, or set `context` to feed mosaics."
        )
        raise invalid_argument(
            "build_model", "KFoldTrainer", f"a model taking {tuple(image_shape)} images",
            expected, hint,
        )  # fmt: skip


def _load_checkpoint(path: Path) -> Any:
    import idckit.models  # noqa: F401 - registers idckit's layers for deserialisation
    from idckit.metrics import StreamingF1

    # The checkpoint's compile config names StreamingF1 and the fold metrics (_metrics).
    return load_keras_file(path, custom_objects={"StreamingF1": StreamingF1})


def _user_callbacks(setup: FoldSetup, fold: int) -> list[Any]:
    if setup.callbacks is None:
        return []
    if callable(setup.callbacks):
        return list(setup.callbacks(fold))
    return list(setup.callbacks)


def _fit(setup: FoldSetup, model: Any, state: FoldState, fold_dir: Path, **feeds: Any) -> None:
    fold, clock, class_weight = feeds.pop("fold"), feeds.pop("clock"), feeds.pop("class_weight")
    callbacks = [FoldCheckpoint(fold_dir, state, setup.config.patience)]
    if setup.verbose:
        callbacks.append(ProgressLogger(fold, clock, setup.stream))
    model.fit(
        feeds["train"],
        validation_data=feeds["val"],
        epochs=setup.config.epochs,
        initial_epoch=state.epoch,
        # The feed shuffles (from seed, fold and epoch); Keras's own shuffle of the batches
        # would draw from Python's global generator, which a resumed process does not share.
        shuffle=False,
        class_weight=class_weight,
        callbacks=[*callbacks, *_user_callbacks(setup, fold)],
        verbose=2 if setup.verbose >= 2 else 0,
    )


def train_fold(
    setup: FoldSetup,
    fold: int,
    train: Any,
    val: Any,
    fold_dir: Path,
    clock: RunClock,
) -> FoldResult:
    """Train fold ``fold`` (continuing from its last checkpoint) and write its files."""
    import keras

    config = setup.config
    fold_dir.mkdir(parents=True, exist_ok=True)
    state = FoldState.load(fold_dir)
    keras.utils.set_random_seed(config.seed + fold)
    # Resume equals uninterrupted: the feed draws epoch e's order and augmentation from
    # (seed, fold, e) whether or not the process restarted, and the model's random generators
    # (dropout, random layers) continue from the states the last epoch left in state.json.
    train_feed = train.to_keras(
        config.batch_size, shuffle=True, augment=config.augment,
        seed=config.seed * 1000 + fold * 100, context=config.context,
    )  # fmt: skip
    for _ in range(state.epoch):
        train_feed.on_epoch_end()  # to the epoch the fold resumes at
    val_feed = val.to_keras(
        config.batch_size, shuffle=False, augment=False, context=config.context
    )
    with strategy_scope(setup.strategy):
        if state.checkpoint is not None:
            model = _load_checkpoint(fold_dir / state.checkpoint)
            restore_seed_states(model, state.seed_states)
        else:
            model = _new_model(setup, len(train_feed))
    image_shape = val.load_images([0], context=config.context).shape[1:]  # one patch's
    check_input_matches(model, image_shape, config.context)
    if state.epoch < config.epochs and not state.stopped:
        if setup.verbose and state.epoch:
            print(f"fold {fold}: resuming after epoch {state.epoch}", file=setup.stream)
        _fit(
            setup, model, state, fold_dir, train=train_feed, val=val_feed, fold=fold,
            clock=clock, class_weight=_class_weight(config, train),
        )  # fmt: skip
    return finish_fold(config, model, fold, train, val, fold_dir, FoldState.load(fold_dir))


def finish_fold(
    config: TrainingConfig, model: Any, fold: int, train: Any, val: Any, fold_dir: Path,
    state: FoldState,
) -> FoldResult:  # fmt: skip
    """Restore the best weights, save model, predictions, curves; ``metrics.json`` last.

    The validation predictions (and so the out-of-fold predictions and the fold metrics) are
    post-processed as at test time: test-time augmentation and spatial smoothing when set.
    """
    load_weights_file(model, fold_dir / str(state.best_weights))
    atomic_save(fold_dir / "model.keras", model.save)
    prob = predict_probability(
        [model], val, config.batch_size, tta=config.tta, context=config.context
    )
    prob = postprocess(prob, val, config.smoothing)
    predictions = dataset_predictions(val, prob)
    predictions.to_csv(fold_dir / "val_predictions.csv")
    write_history_csv(fold_dir / "history.csv", state.history)
    _plot_curves(fold_dir, state.best_epoch)
    metrics = report_for(predictions, 0.5).summary()
    losses = state.history.get("val_loss", [])
    metrics["loss"] = losses[state.best_epoch - 1] if losses else math.nan
    result = FoldResult(
        fold=fold,
        metrics={k: float(metrics[k]) for k in FOLD_METRICS},
        best_epoch=state.best_epoch,
        epochs_run=state.epoch,
        train_patients=tuple(str(p) for p in train.patient_ids),
        val_patients=tuple(str(p) for p in val.patient_ids),
        n_train=len(train),
        n_val=len(val),
        seconds=state.seconds,
    )
    atomic_write_json(fold_dir / "metrics.json", result.to_dict())
    forget_checkpoints(fold_dir)
    return result


def forget_checkpoints(fold_dir: Path) -> None:
    """Remove the epoch checkpoints and ``state.json`` of a finished fold."""
    (fold_dir / "state.json").unlink(missing_ok=True)
    remove_stale_files(fold_dir, keep=set())


def _plot_curves(fold_dir: Path, best_epoch: int) -> None:
    from idckit.reporting import plot_learning_curves

    title = f"Fold {fold_dir.name[5:]}"
    figure = plot_learning_curves(fold_dir / "history.csv", title=title, best_epoch=best_epoch)
    atomic_save(fold_dir / "learning_curves.png", lambda p: figure.savefig(p, dpi=100))
