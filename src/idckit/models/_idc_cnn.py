"""idckit's CPU-sized CNN for 50x50 IDC patches: the model of the ``cpu`` recipe."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from idckit._errors import check_context, check_fraction, check_positive_int, invalid_argument
from idckit.models._head import OutputActivation, check_output, output_layer
from idckit.models._inputs import check_input_shape, image_input
from idckit.models._preprocessing import ImagePreprocessing

_OWNER = "build_idc_cnn"
_CONTEXT_WIDTH = 8  # filters of the context stream's first block; 16 scored lower held out


def _conv_bn_relu(x: Any, filters: int, name: str) -> Any:
    """3x3 convolution (no bias), batch normalisation, ReLU."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def build_idc_cnn(
    input_shape: Sequence[int] = (50, 50, 3),
    num_classes: int = 2,
    *,
    width: int = 16,
    depth: int = 4,
    dropout: float = 0.3,
    output: OutputActivation = "softmax",
    context: int = 0,
    name: str = "idc_cnn",
) -> keras.Model:
    """Build idckit's CPU-sized CNN: VGG-style blocks, global average pooling, one output.

    Block ``i`` (from 0) is one 3x3 convolution with ``width * 2**i`` filters, batch
    normalisation (Keras's default momentum, 0.99) and ReLU, then 2x2 max pooling (50 -> 25 ->
    12 -> 6 -> 3 at the default depth). Global average pooling, dropout and the output layer
    follow. The model takes ``uint8`` or float 0-255 RGB images and rescales them itself (an
    :class:`ImagePreprocessing` layer in mode ``"unit"``); it is returned uncompiled (compile
    it with :func:`loss_for_model`). Only Keras layers are used, so it runs on the TensorFlow,
    JAX and PyTorch backends. To build it under mixed precision, call it inside
    :func:`precision_policy`.

    With ``context=r`` the model takes the mosaic of each patch's ``(2r+1) x (2r+1)``
    neighbourhood on the slide (:meth:`IDCPatchDataset.load_images` with ``context=r``) and
    has two streams: the blocks above on the central patch (cropped from the mosaic) and the
    same blocks with 8 filters in the first (8-16-32-64 at the default depth) on the whole
    mosaic average-pooled ``2r+1``-fold to the patch's size (a lower-magnification view of
    the surrounding tissue); their pooled features are concatenated before the output. Train
    it with ``KFoldTrainer(context=r)``. With the ``cpu`` recipe's settings (``context=1``)
    the model has 123,434 parameters.

    The fixed choices were measured on held-out patients (:ref:`bench-model`, three seeds):
    a context stream as wide as the patch stream (16-32-64-128) scored 0.802 F1(+) / 0.918
    balanced accuracy and batch-norm momentum 0.9 scored 0.806 / 0.919, against the recipe's
    0.812 / 0.924; two convolutions in the last two blocks (355k parameters) scored 0.815 /
    0.913 against 0.818 / 0.927 with one seed.

    Parameters
    ----------
    input_shape
        ``(height, width, 3)``; each side at least ``2**depth``. Every idckit builder takes
        it, so that one trainer can build any of them for its data.
    num_classes
        Number of classes (2: IDC(-), IDC(+)). Every idckit builder takes it; it sets the
        units of a softmax output.
    width
        Filters of the first block; each later block doubles them.
    depth
        Number of convolution blocks.
    dropout
        Dropout rate in [0, 1) before the output layer (0 disables it).
    output
        ``"softmax"`` (``num_classes`` units) or ``"sigmoid"`` (one unit, ``num_classes=2``).
        Every idckit builder takes it, so that :func:`loss_for_model` can derive the loss
        from the one place the activation is declared.
    context
        Neighbourhood radius in patches (0: the patch alone). The model's input is then
        ``((2 * context + 1) * height, (2 * context + 1) * width, 3)``.
    name
        The model's name (Keras's own argument, as in ``keras.applications``).

    Returns
    -------
    keras.Model
        Uncompiled; ``(N, *input_shape)`` in (the mosaic's shape with ``context``),
        ``(N, num_classes)`` or ``(N, 1)`` out.

    Examples
    --------
    >>> import numpy as np
    >>> model = build_idc_cnn(width=8)
    >>> tuple(model(np.zeros((4, 50, 50, 3), dtype="uint8")).shape)
    (4, 2)
    >>> build_idc_cnn(width=8, output="sigmoid").output_shape
    (None, 1)
    >>> build_idc_cnn(width=8, context=1).input_shape
    (None, 150, 150, 3)
    """
    shape = check_input_shape(input_shape, _OWNER)
    check_output(num_classes, output, _OWNER)
    width = check_positive_int("width", _OWNER, width, "a positive int")
    depth = check_positive_int("depth", _OWNER, depth, "a positive int")
    if min(shape[:2]) < 2**depth:
        raise invalid_argument(
            "input_shape", _OWNER, f"sides of at least {2**depth} for depth={depth}",
            input_shape, "Use a smaller `depth`.",
        )  # fmt: skip
    check_fraction("dropout", _OWNER, dropout)
    context = check_context(context, _OWNER)
    side = 2 * context + 1
    inputs = image_input((shape[0] * side, shape[1] * side, shape[2]))
    x = ImagePreprocessing("unit", name="preprocessing")(inputs)
    if context:
        margin = (shape[0] * context, shape[1] * context)
        centre = keras.layers.Cropping2D(margin, name="centre_crop")(x)
        features = _stream(centre, width, depth, "")
        surround = keras.layers.AveragePooling2D(side, name="context_pool")(x)
        x = keras.layers.Concatenate(name="features")(
            [features, _stream(surround, _CONTEXT_WIDTH, depth, "context_")]
        )
    else:
        x = _stream(x, width, depth, "")
    if dropout > 0:
        x = keras.layers.Dropout(float(dropout), name="dropout")(x)
    outputs = output_layer(num_classes, output)(x)
    return keras.Model(inputs, outputs, name=name)


def _stream(x: Any, width: int, depth: int, prefix: str) -> Any:
    """VGG-style blocks (``width * 2**i`` filters), then global average pooling."""
    for block in range(1, depth + 1):
        x = _conv_bn_relu(x, width * 2 ** (block - 1), f"{prefix}block{block}_1")
        x = keras.layers.MaxPooling2D(2, name=f"{prefix}block{block}_pool")(x)
    return keras.layers.GlobalAveragePooling2D(name=f"{prefix}avg_pool")(x)
