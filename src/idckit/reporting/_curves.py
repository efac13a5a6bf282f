"""plot_learning_curves: train vs validation curves of a Keras history, one panel per metric."""

from __future__ import annotations

import csv
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from idckit._errors import invalid_argument

if TYPE_CHECKING:
    from matplotlib.axes import Axes

DEFAULT_METRICS = ("loss", "f1", "precision", "recall", "accuracy")
_OWNER = "plot_learning_curves"
_MAX_COLUMNS = 3
_BEST_LABEL = "best epoch (restored)"


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


def _check_best_epoch(best_epoch: Any, n_epochs: int) -> int | None:
    if best_epoch is None:
        return None
    whole = isinstance(best_epoch, numbers.Integral) and not isinstance(best_epoch, bool)
    if not whole or not 1 <= best_epoch <= n_epochs:
        rule = f"None or an epoch number from 1 to {n_epochs} (the epochs in history)"
        remedy = "Epochs are numbered from 1, as in FoldResult.best_epoch."
        raise invalid_argument("best_epoch", _OWNER, rule, best_epoch, remedy)
    return int(best_epoch)


def _draw_panel(
    ax: Axes, name: str, series: Mapping[str, npt.NDArray[np.float64]], best_epoch: int | None
) -> None:
    for key, label in ((name, "train"), (f"val_{name}", "validation")):
        if key in series:
            epochs = np.arange(1, series[key].size + 1)
            ax.plot(epochs, series[key], marker="o", markersize=3, label=label)
    if best_epoch is not None:
        ax.axvline(best_epoch, color="0.35", linestyle="--", linewidth=1, label=_BEST_LABEL)
    n_epochs = max(values.size for values in series.values())
    ax.set_xlim(0.5, n_epochs + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.set_title(name)
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def plot_learning_curves(
    history: Any,
    metrics: Sequence[str] | str = DEFAULT_METRICS,
    *,
    title: str | None = None,
    best_epoch: int | None = None,
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
    best_epoch
        The epoch whose weights were kept (numbered from 1, e.g. ``FoldResult.best_epoch``),
        marked on every panel by a dashed vertical line labelled "best epoch (restored)";
        None (the default) marks none.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per metric present (up to three per row), epochs numbered from 1 and ticked
        at whole numbers only.

    Examples
    --------
    >>> history = {"loss": [0.7, 0.5, 0.4], "val_loss": [0.72, 0.6, 0.58],
    ...            "f1": [0.4, 0.6, 0.7], "val_f1": [0.38, 0.55, 0.61]}
    >>> fig = plot_learning_curves(history)
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'f1']
    >>> fig = plot_learning_curves(history, best_epoch=2)
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['train', 'validation', 'best epoch (restored)']
    """
    names = _metric_names(metrics)
    series = load_history(history)
    present = [n for n in names if n in series or f"val_{n}" in series]
    if not present:
        rule = "names found in history"
        remedy = f"Available: {sorted(series)}."
        raise invalid_argument("metrics", _OWNER, rule, list(names), remedy)
    best = _check_best_epoch(best_epoch, max(values.size for values in series.values()))
    columns = min(len(present), _MAX_COLUMNS)
    rows = math.ceil(len(present) / columns)
    figure = Figure(figsize=(4.2 * columns, 3.3 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, name in zip(axes, present, strict=False):
        _draw_panel(ax, name, series, best)
    for ax in axes[len(present) :]:
        ax.remove()
    if title:
        figure.suptitle(title)
    return figure
