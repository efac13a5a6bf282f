"""Models: the capstone's benchmark CNN, idckit's CPU-sized CNN and transfer-learning networks.

Every model takes the same input, RGB ``uint8`` or float 0-255 images ``(N, 50, 50, 3)``, and
normalises it inside itself (:class:`ImagePreprocessing`), so a saved ``.keras`` file needs no
external preprocessing and reloads with ``keras.saving.load_model(path, safe_mode=True)``
once ``idckit.models`` is imported. Models are returned uncompiled; the output activation is
declared once and :func:`loss_for_model` derives the loss from it.

Importing this package imports Keras (and its backend).

Examples
--------
>>> import keras
>>> from idckit.models import build_benchmark_cnn, loss_for_model
>>> model = build_benchmark_cnn()
>>> model.compile(optimizer="adam", loss=loss_for_model(model))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

# Importing idckit.models registers idckit's Keras objects (the layers and the loss) for
# deserialisation, as promised above: training and saved-model loading rely on it.
from idckit.models import _dihedral, _losses, _preprocessing  # noqa: F401 - registration

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.models._benchmark import build_benchmark_cnn as build_benchmark_cnn
    from idckit.models._dihedral import RandomDihedral as RandomDihedral
    from idckit.models._finetune import unfreeze_backbone as unfreeze_backbone
    from idckit.models._head import HeadConfig as HeadConfig
    from idckit.models._idc_cnn import build_idc_cnn as build_idc_cnn
    from idckit.models._losses import (
        SparseCrossentropyWithLabelSmoothing as SparseCrossentropyWithLabelSmoothing,
    )
    from idckit.models._losses import loss_for_model as loss_for_model
    from idckit.models._precision import precision_policy as precision_policy
    from idckit.models._preprocessing import ImagePreprocessing as ImagePreprocessing
    from idckit.models._registry import BACKBONES as BACKBONES
    from idckit.models._registry import BackboneSpec as BackboneSpec
    from idckit.models._transfer import build_transfer_model as build_transfer_model

_EXPORTS = {
    "BACKBONES": "idckit.models._registry",
    "BackboneSpec": "idckit.models._registry",
    "HeadConfig": "idckit.models._head",
    "ImagePreprocessing": "idckit.models._preprocessing",
    "RandomDihedral": "idckit.models._dihedral",
    "SparseCrossentropyWithLabelSmoothing": "idckit.models._losses",
    "build_benchmark_cnn": "idckit.models._benchmark",
    "build_idc_cnn": "idckit.models._idc_cnn",
    "build_transfer_model": "idckit.models._transfer",
    "loss_for_model": "idckit.models._losses",
    "precision_policy": "idckit.models._precision",
    "unfreeze_backbone": "idckit.models._finetune",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
