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

from typing import TYPE_CHECKING, Any

from idckit._lazy import load_export, public_dir
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
    """Import a public name on first use (PEP 562)."""
    return load_export(__name__, _LAZY, name)


def __dir__() -> list[str]:
    return public_dir(globals(), __all__)
