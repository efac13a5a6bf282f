"""Transfer-learning models: any registered ``keras.applications`` backbone plus a head."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import keras

from idckit._errors import invalid_argument
from idckit.models._head import HeadConfig, OutputActivation, apply_head, check_output
from idckit.models._head import output_layer as _output_layer
from idckit.models._inputs import check_input_shape, image_input, is_int
from idckit.models._preprocessing import ImagePreprocessing
from idckit.models._registry import BackboneSpec, resolve_backbone

_OWNER = "build_transfer_model"

Weights = Literal["imagenet"] | str | os.PathLike[str] | None
Freeze = int | Literal["all"] | None


def build_transfer_model(
    backbone: str,
    *,
    weights: Weights = "imagenet",
    input_shape: Sequence[int] = (50, 50, 3),
    num_classes: int = 2,
    output: OutputActivation = "softmax",
    freeze: Freeze = 6,
    head: HeadConfig | None = None,
    name: str | None = None,
) -> keras.Model:
    """Build a transfer-learning classifier on a ``keras.applications`` backbone.

    The model is ``input -> [Resizing] -> ImagePreprocessing -> backbone -> head -> output``:
    it takes ``uint8`` or float 0-255 RGB images, upsamples them inside the model when the
    backbone needs a larger input, and applies the backbone's own normalisation as a layer.
    It is returned uncompiled; compile it with :func:`loss_for_model`. To build it under mixed
    precision, call it inside :func:`precision_policy`.

    The images are resized only when they must be: with ``weights="imagenet"`` to the smallest
    size the ImageNet weights require that is at least the input (MobileNet 128, MobileNetV2
    96, NASNetMobile 224, NASNetLarge 331; none for VGG, ResNet, DenseNet, EfficientNet...),
    otherwise up to the backbone's minimum side when the input is smaller (Xception 71,
    Inception 75, most others 32). See :data:`BACKBONES`.

    Parameters
    ----------
    backbone
        ``"vgg16"``, ``"vgg19"``, ``"mobilenet"``, ``"nasnet"`` (NASNetMobile),
        ``"nasnetlarge"``, or any ``keras.applications`` model by name (``"ResNet50"``,
        ``"efficientnetb0"``); see :data:`BACKBONES`.
    weights
        ``"imagenet"`` (downloaded by Keras on first use), ``None`` (random initialisation), or
        the path of a weights file of the same backbone built with ``include_top=False`` at
        the same backbone input size (e.g. written by ``backbone.save_weights(...)``).
    input_shape
        ``(height, width, 3)`` of the images the model takes. Every idckit builder takes it,
        so that one trainer can build any of them for its data.
    num_classes
        Number of classes (2: IDC(-), IDC(+)). Every idckit builder takes it; it sets the
        units of a softmax output.
    output
        ``"softmax"`` (``num_classes`` units) or ``"sigmoid"`` (one unit, ``num_classes=2``).
        Every idckit builder takes it, so that :func:`loss_for_model` can derive the loss
        from the one place the activation is declared.
    freeze
        An int ``N`` freezes ``backbone.layers[:N]`` (its InputLayer counts, as in the
        capstone's ``for layer in base.layers[:6]``); ``"all"`` freezes the whole backbone;
        ``None`` or 0 freezes nothing. The head is always trainable.
    head
        The layers between backbone and output; default :class:`HeadConfig` ``()`` (the
        capstone's two Dense(64) blocks with BatchNormalization, L2 0.01 and Dropout 0.5).
    name
        The model's name (Keras's own argument); default ``"idc_<backbone>"``.

    Returns
    -------
    keras.Model
        Uncompiled; ``(N, *input_shape)`` in, ``(N, num_classes)`` or ``(N, 1)`` out. The
        backbone is the one nested ``keras.Model`` layer (see :func:`unfreeze_backbone`).

    Examples
    --------
    >>> import numpy as np
    >>> model = build_transfer_model("vgg16", weights=None, input_shape=(32, 32, 3))
    >>> model.predict(np.zeros((2, 32, 32, 3), dtype="uint8"), verbose=0).shape
    (2, 2)
    """
    key, spec = resolve_backbone(backbone, _OWNER)
    if keras.backend.backend() in spec.unsupported_backends:
        raise invalid_argument(
            "backbone",
            _OWNER,
            f"a backbone that runs on the {keras.backend.backend()!r} "
            "backend (keras.applications does not support this one there)",
            backbone,
        )
    shape = check_input_shape(input_shape, _OWNER)
    check_output(num_classes, output, _OWNER)
    weights = _check_weights(weights)
    target = _backbone_size(shape[:2], spec, weights)
    _check_freeze_type(freeze)
    head = HeadConfig() if head is None else head
    if not isinstance(head, HeadConfig):
        raise invalid_argument("head", _OWNER, "a HeadConfig or None", head)
    inputs = image_input(shape)
    x = inputs
    if target != shape[:2]:
        x = keras.layers.Resizing(*target, interpolation="bilinear", name="resize")(x)
    x = ImagePreprocessing(spec.preprocessing, name="preprocessing")(x)
    constructor = getattr(keras.applications, spec.constructor)
    base = constructor(include_top=False, weights=weights, input_shape=(*target, 3))
    _freeze(base, freeze)
    x = apply_head(base(x), head)
    outputs = _output_layer(num_classes, output)(x)
    return keras.Model(inputs, outputs, name=name or f"idc_{key}")


def _check_weights(weights: Weights) -> str | None:
    if weights is None or weights == "imagenet":
        return weights
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return os.fspath(weights)
    raise invalid_argument(
        "weights",
        _OWNER,
        "'imagenet', None or the path of an existing weights file",
        weights,
        "Save one with `backbone.save_weights('backbone.weights.h5')`.",
    )


def _backbone_size(
    size: tuple[int, int], spec: BackboneSpec, weights: str | None
) -> tuple[int, int]:
    """Return the (height, width) the backbone sees: what its weights need, else ``size``."""
    if weights == "imagenet" and spec.imagenet_sizes:
        side = min((s for s in spec.imagenet_sizes if s >= max(size)), default=None)
        side = max(spec.imagenet_sizes) if side is None else side
        return side, side
    return max(size[0], spec.min_size), max(size[1], spec.min_size)


def _check_freeze_type(freeze: Freeze) -> None:
    if not (freeze is None or freeze == "all" or (is_int(freeze) and freeze >= 0)):
        raise invalid_argument("freeze", _OWNER, "an int >= 0, 'all' or None", freeze)


def _freeze(base: keras.Model, freeze: Freeze) -> None:
    if freeze == "all":
        base.trainable = False
        return
    n_layers = 0 if freeze is None else int(freeze)
    if n_layers > len(base.layers):
        raise invalid_argument(
            "freeze",
            _OWNER,
            f"at most the backbone's {len(base.layers)} layers",
            freeze,
            "Use freeze='all' to freeze the whole backbone.",
        )
    for layer in base.layers[:n_layers]:
        layer.trainable = False
