"""plot_learning_curves: train vs validation curves of a Keras history, one panel per metric."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from idckit._errors import invalid_argument

DEFAULT_METRICS = ("loss", "f1", "precision", "recall", "accuracy")
_OWNER = "plot_learning_curves"
_MAX_COLUMNS = 3


def _number(value: Any) -> float:
    """Return a float, or NaN for what is not one (CSVLogger writes ``NA`` and vectors as text)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _read_csv(path: Path) -> dict[str, list[Any]]:
    if not path.is_file():
        rule = "a keras History, a dict of lists or the path of a history CSV file"
        raise invalid_argument("history", _OWNER, rule, str(path), "No such file.")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key, value in row.items():
            columns.setdefault(str(key), []).append(value)
    return columns


def load_history(history: Any) -> dict[str, npt.NDArray[np.float64]]:
    """Return the numeric series of a History, a mapping of lists or a history CSV file.

    Series that hold no number at all (e.g. ``val_loss`` written as ``NA`` by ``CSVLogger``
    without validation data) are left out, and so is the CSV's ``epoch`` column.

    Examples
    --------
    >>> sorted(load_history({"loss": [0.9, 0.5], "val_loss": ["NA", "NA"]}))
    ['loss']
    """
    if isinstance(getattr(history, "history", None), Mapping):  # keras.callbacks.History
        raw: Mapping[str, Any] = history.history
    elif isinstance(history, Mapping):
        raw = history
    elif isinstance(history, str | os.PathLike):
        raw = {k: v for k, v in _read_csv(Path(history)).items() if k != "epoch"}
    else:
        rule = "a keras History, a dict of lists or the path of a history CSV file"
        raise invalid_argument("history", _OWNER, rule, type(history).__name__)
    series = {
        str(key): np.array([_number(v) for v in np.ravel(np.asarray(values, dtype=object))])
        for key, values in raw.items()
    }
    return {key: values for key, values in series.items() if np.isfinite(values).any()}


def _metric_names(metrics: Sequence[str] | str) -> tuple[str, ...]:
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    if not names or not all(isinstance(name, str) for name in names):
        raise invalid_argument("metrics", _OWNER, "a non-empty sequence of names", metrics)
    return names


def plot_learning_curves(
    history: Any,
    metrics: Sequence[str] | str = DEFAULT_METRICS,
    *,
    title: str | None = None,
) -> Figure:
    """Plot training and validation curves, one panel per metric found in ``history``.

    Parameters
    ----------
    history
        A ``keras.callbacks.History`` (what ``model.fit`` returns), a mapping of metric
        name to per-epoch values (``History.history``), or the path of a history CSV file as
        ``keras.callbacks.CSVLogger`` writes it (``epoch,loss,val_loss,...``; ``NA`` cells
        are gaps).
    metrics
        Names to plot, in order; ``name`` is the training curve and ``val_name`` the
        validation curve. Names absent from ``history`` are skipped.
    title
        Optional title over all panels (e.g. ``"Fold 1"``).

    Returns
    -------
    matplotlib.figure.Figure
        One axes per metric present (up to three per row), epochs numbered from 1.

    Examples
    --------
    >>> history = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.72, 0.6, 0.58],
    ...            "f1": [0.4, 0.6, 0.7], "val_f1": [0.38, 0.55, 0.61]}
    >>> fig = plot_learning_curves(history)
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'f1']
    """
    names = _metric_names(metrics)
    series = load_history(history)
    present = [n for n in names if n in series or f"val_{n}" in series]
    if not present:
        rule = "names found in history"
        remedy = f"Available: {sorted(series)}."
        raise invalid_argument("metrics", _OWNER, rule, list(names), remedy)
    columns = min(len(present), _MAX_COLUMNS)
    rows = math.ceil(len(present) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.3 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, present, strict=False):
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            if key in series:
                epochs = np.arange(1, series[key].size + 1)
                ax.plot(epochs, series[key], marker="o", markersize=3, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(present) :]:
        ax.remove()
    if title:
        figure.suptitle(title)
    return figure
