import io
import math
import re

import numpy as np
import pytest

from idckit.training._callbacks import (
    FoldCheckpoint,
    FoldState,
    ProgressLogger,
    RunClock,
    write_history_csv,
)


def _model():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def _drive(callback, model, values):
    callback.set_model(model)
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "val_f1": value})


def test_checkpoint_commits_state_and_keeps_only_the_named_files(tmp_path):
    model = _model()
    _drive(FoldCheckpoint(tmp_path, FoldState()), model, [0.5, 0.7, 0.6])
    state = FoldState.load(tmp_path)
    assert (state.epoch, state.best_epoch, state.best_value) == (3, 2, 0.7)
    assert state.checkpoint == "checkpoint-e3.keras" and state.best_weights == "best-e2.weights.h5"
    assert state.history["val_f1"] == [0.5, 0.7, 0.6]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best-e2.weights.h5", "checkpoint-e3.keras", "history.csv", "state.json"]


def test_history_csv_has_an_epoch_column_and_train_before_validation(tmp_path):
    write_history_csv(tmp_path / "h.csv", {"val_f1": [0.1, 0.2], "loss": [3.0, 2.0]})
    assert (tmp_path / "h.csv").read_text().splitlines() == [
        "epoch,loss,val_f1",
        "1,3.0,0.1",
        "2,2.0,0.2",
    ]


def test_patience_stops_after_epochs_without_improvement(tmp_path):
    model = _model()
    model.stop_training = False
    callback = FoldCheckpoint(tmp_path, FoldState(), patience=2)
    _drive(callback, model, [0.5, 0.4, 0.45])
    assert model.stop_training and FoldState.load(tmp_path).stopped


def test_nan_f1_never_counts_as_best(tmp_path):
    _drive(FoldCheckpoint(tmp_path, FoldState()), _model(), [math.nan, 0.2, math.nan])
    state = FoldState.load(tmp_path)
    assert state.best_epoch == 2


def test_a_model_without_f1_is_a_clear_error(tmp_path):
    callback = FoldCheckpoint(tmp_path, FoldState())
    callback.set_model(_model())
    with pytest.raises(KeyError, match="StreamingF1"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_state_load_of_a_fresh_fold_and_round_trip(tmp_path):
    assert FoldState.load(tmp_path) == FoldState()
    state = FoldState(epoch=2, best_epoch=1, best_value=0.5, history={"loss": [1.0, 0.5]})
    state.save(tmp_path)
    assert FoldState.load(tmp_path) == state


def test_eta_uses_the_mean_epoch_time_over_the_remaining_epochs():
    clock = RunClock(n_folds=3, epochs=4, seconds=[10.0, 20.0])
    fold_left, run_left = clock.eta(fold=2, epochs_done=2)
    assert fold_left == pytest.approx(2 * 15.0)
    assert run_left == pytest.approx(2 * 15.0 + 1 * 4 * 15.0)


def test_progress_prints_one_line_per_epoch_with_eta():
    stream = io.StringIO()
    logger = ProgressLogger(1, RunClock(2, 3), stream)
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        logger.on_epoch_end(epoch, {"loss": 0.5, "f1": 0.25, "val_loss": 0.75, "val_f1": 0.125})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        r"fold 1/2 epoch 2/3 \d+\.\ds loss 0\.5000 f1 0\.2500 val_loss 0\.7500 val_f1 0\.1250 "
        r"\| ETA fold \d+:\d\d:\d\d, run \d+:\d\d:\d\d",
        lines[1],
    )


def test_checkpoint_holds_the_optimizer_state(tmp_path):
    import keras

    model = _model()
    x, y = np.random.default_rng(0).random((8, 3)), np.array([0, 1] * 4)
    model.fit(x, y, epochs=1, verbose=0)
    _drive(FoldCheckpoint(tmp_path, FoldState()), model, [0.5])
    loaded = keras.saving.load_model(tmp_path / "checkpoint-e1.keras")
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
