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

from idckit.models._benchmark import build_benchmark_cnn
from idckit.models._dihedral import RandomDihedral
from idckit.models._finetune import unfreeze_backbone
from idckit.models._head import HeadConfig
from idckit.models._idc_cnn import build_idc_cnn
from idckit.models._losses import SparseCrossentropyWithLabelSmoothing, loss_for_model
from idckit.models._precision import precision_policy
from idckit.models._preprocessing import ImagePreprocessing
from idckit.models._registry import BACKBONES, BackboneSpec
from idckit.models._transfer import build_transfer_model

__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "HeadConfig",
    "ImagePreprocessing",
    "RandomDihedral",
    "SparseCrossentropyWithLabelSmoothing",
    "build_benchmark_cnn",
    "build_idc_cnn",
    "build_transfer_model",
    "loss_for_model",
    "precision_policy",
    "unfreeze_backbone",
]
