"""Metrics: confusion/F1 arithmetic in NumPy, and :class:`StreamingF1` for Keras.

The NumPy functions import no deep-learning framework. :class:`StreamingF1` is imported lazily
(PEP 562): ``import idckit.metrics`` stays free of Keras until ``StreamingF1`` is first used, so
:mod:`idckit.reporting` can share the arithmetic without paying for TensorFlow.

Examples
--------
>>> from idckit.metrics import confusion_counts, f1_from_confusion
>>> cm = confusion_counts([0, 1, 1, 0], [0, 1, 0, 0], num_classes=2)
>>> round(f1_from_confusion(cm), 4)
0.6667
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from idckit.metrics._confusion import (
    confusion_counts,
    counts_from_confusion,
    f1_from_confusion,
    precision_from_confusion,
    recall_from_confusion,
)

if TYPE_CHECKING:  # pragma: no cover - static import for type checkers and IDEs
    from idckit.metrics._streaming_f1 import StreamingF1

__all__ = [
    "StreamingF1",
    "confusion_counts",
    "counts_from_confusion",
    "f1_from_confusion",
    "precision_from_confusion",
    "recall_from_confusion",
]

_LAZY = {"StreamingF1": "idckit.metrics._streaming_f1"}


def __getattr__(name: str) -> Any:
    """Import :class:`StreamingF1` (and with it Keras) on first use (PEP 562)."""
    try:
        module_name = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'idckit.metrics' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
