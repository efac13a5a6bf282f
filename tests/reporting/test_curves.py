"""plot_learning_curves from a History, a dict of lists or a CSVLogger file."""

import csv
import re
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from idckit.reporting import plot_learning_curves

DEFAULT = ("loss", "f1", "precision", "recall", "accuracy")


def curves(ax):
    return {line.get_label(): (line.get_xdata(), line.get_ydata()) for line in ax.get_lines()}


@st.composite
def histories(draw):
    epochs = draw(st.integers(1, 6))
    values = st.lists(st.floats(0, 2), min_size=epochs, max_size=epochs)
    names = draw(st.lists(st.sampled_from([*DEFAULT, "auc"]), unique=True, min_size=1))
    history = {}
    for name in names:
        if draw(st.booleans()):
            history[name] = draw(values)
        if draw(st.booleans()) or name not in history:
            history[f"val_{name}"] = draw(values)
    return history


@settings(max_examples=40, deadline=None)
@given(history=histories())
def test_one_panel_per_metric_present_with_its_curves(history):
    present = [m for m in DEFAULT if m in history or f"val_{m}" in history]
    if not present:
        with pytest.raises(ValueError, match="Available"):
            plot_learning_curves(history)
        return
    fig = plot_learning_curves(history)
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == present
    for ax, name in zip(fig.axes, present, strict=True):
        drawn = curves(ax)
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            assert (label in drawn) == (key in history)
            if key in history:
                x, y = drawn[label]
                np.testing.assert_array_equal(x, np.arange(1, len(history[key]) + 1))
                np.testing.assert_allclose(y, history[key])


def test_history_object_and_metric_selection():
    history = types.SimpleNamespace(
        history={"loss": [0.9, 0.6], "val_loss": [1.0, 0.8], "auc": [0.6, 0.7]}, epoch=[0, 1]
    )
    fig = plot_learning_curves(history, metrics=("auc", "loss"), title="Fold 1")
    assert [ax.get_title() for ax in fig.axes] == ["auc", "loss"]
    assert fig.get_suptitle() == "Fold 1"
    assert plot_learning_curves(history, "auc").axes[0].get_title() == "auc"


def test_reads_the_csv_keras_csvlogger_writes(tmp_path):
    keras = pytest.importorskip("keras")
    path = tmp_path / "history.csv"
    logger = keras.callbacks.CSVLogger(str(path))
    logger.on_train_begin()
    logs = [{"loss": 0.7, "f1": 0.4}, {"loss": 0.5, "f1": 0.6}, {"loss": 0.45, "f1": 0.65}]
    for epoch, row in enumerate(logs):
        logger.on_epoch_end(epoch, row)
    logger.on_train_end()
    with path.open() as handle:
        assert next(csv.reader(handle)) == ["epoch", "f1", "loss", "val_f1", "val_loss"]
    fig = plot_learning_curves(path)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "f1"]  # val_* columns are all NA
    x, y = curves(fig.axes[0])["train"]
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_allclose(y, [0.7, 0.5, 0.45])
    assert "validation" not in curves(fig.axes[0])
    assert plot_learning_curves(str(path)).axes[1].get_title() == "f1"


def test_csv_gaps_are_nan(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n1,0.9,NA\n2,0.7,0.8\n")
    _, y = curves(plot_learning_curves(path).axes[0])["validation"]
    np.testing.assert_allclose(y, [np.nan, 0.8])


def test_six_metrics_make_two_rows():
    history = {name: [0.1, 0.2] for name in ("a", "b", "c", "d")}
    fig = plot_learning_curves(history, metrics=("a", "b", "c", "d"))
    assert len(fig.axes) == 4
    assert fig.axes[3].get_subplotspec().rowspan.start == 1


@pytest.mark.parametrize(
    ("history", "kwargs", "match"),
    [
        ({"loss": [1.0]}, {"metrics": ("auc",)}, r"`metrics` .* names found in history\. .*"
         r"Received: metrics=\['auc'\]\. Available: \['loss'\]\."),
        ({"loss": [1.0]}, {"metrics": ()}, r"`metrics` .* a non-empty sequence of names"),
        ([1.0, 0.5], {}, r"`history` for plot_learning_curves: .* Received: history='list'"),
        ("missing.csv", {}, r"Received: history='missing\.csv'\. No such file\."),
    ],
)  # fmt: skip
def test_errors(history, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_learning_curves(history, **kwargs)


def test_best_epoch_is_marked_on_every_panel():
    history = {name: [0.9, 0.7, 0.6, 0.65] for name in ("loss", "val_loss", "f1", "recall")}
    fig = plot_learning_curves(history, best_epoch=3)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        x, _ = curves(ax)["best epoch (restored)"]
        np.testing.assert_array_equal(x, [3, 3])  # a vertical line at epoch 3
        texts = [text.get_text() for text in ax.get_legend().get_texts()]
        assert "best epoch (restored)" in texts
    unmarked = plot_learning_curves(history)
    assert all("best epoch (restored)" not in curves(ax) for ax in unmarked.axes)


@pytest.mark.parametrize("n_epochs", [1, 2, 3, 12])
def test_epoch_ticks_are_whole_numbers(n_epochs):
    history = {"loss": np.linspace(1, 0.5, n_epochs), "val_loss": np.linspace(1.1, 0.6, n_epochs)}
    fig = plot_learning_curves(history)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    low, high = ax.get_xlim()
    shown = [label for label in ax.get_xticklabels() if low <= label.get_position()[0] <= high]
    labels = [label.get_text() for label in shown]
    assert labels and all(label.isdigit() for label in labels)
    assert low < 1 and high > n_epochs  # every epoch is in view
    if n_epochs == 2:
        assert labels == ["1", "2"]


@pytest.mark.parametrize("bad", [0, 4, -1, 2.0, True, "2"])
def test_best_epoch_outside_the_history_is_refused(bad):
    match = (
        r"Invalid `best_epoch` for plot_learning_curves: expected None or an epoch number from 1 "
        rf"to 3 .*\. Received: best_epoch={re.escape(repr(bad))}\."
    )
    with pytest.raises(ValueError, match=match):
        plot_learning_curves({"loss": [0.9, 0.7, 0.6]}, best_epoch=bad)
