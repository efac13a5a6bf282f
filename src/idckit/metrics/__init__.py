"""Metrics: confusion/F1 arithmetic in NumPy, and :class:`StreamingF1` for Keras.

The NumPy functions import no deep-learning framework. Names are imported lazily (PEP 562):
``import idckit.metrics`` stays free of Keras until :class:`StreamingF1` is first used, so
:mod:`idckit.reporting` can share the arithmetic without paying for TensorFlow.

Examples
--------
>>> from idckit.metrics import confusion_counts, f1_from_confusion
>>> cm = confusion_counts([0, 1, 1, 0], [0, 1, 0, 0], num_classes=2)
>>> round(f1_from_confusion(cm), 4)
0.6667
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.metrics._confusion import confusion_counts as confusion_counts
    from idckit.metrics._confusion import counts_from_confusion as counts_from_confusion
    from idckit.metrics._confusion import f1_from_confusion as f1_from_confusion
    from idckit.metrics._confusion import precision_from_confusion as precision_from_confusion
    from idckit.metrics._confusion import recall_from_confusion as recall_from_confusion
    from idckit.metrics._streaming_f1 import StreamingF1 as StreamingF1

_EXPORTS = {
    "StreamingF1": "idckit.metrics._streaming_f1",
    "confusion_counts": "idckit.metrics._confusion",
    "counts_from_confusion": "idckit.metrics._confusion",
    "f1_from_confusion": "idckit.metrics._confusion",
    "precision_from_confusion": "idckit.metrics._confusion",
    "recall_from_confusion": "idckit.metrics._confusion",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
