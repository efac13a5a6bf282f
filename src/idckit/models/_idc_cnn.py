"""idckit's CPU-sized CNN for 50x50 IDC patches: the model of the ``cpu`` recipe."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import keras

from idckit._errors import check_fraction, check_positive_int, invalid_argument
from idckit.data._context import check_context
from idckit.models._head import OutputActivation, check_output, output_layer
from idckit.models._inputs import check_input_shape, image_input
from idckit.models._precision import policy_scope
from idckit.models._preprocessing import ImagePreprocessing

_OWNER = "build_idc_cnn"


def _conv_bn_relu(x: Any, filters: int, name: str, bn_momentum: float) -> Any:
    """3x3 convolution (no bias), batch normalisation, ReLU."""
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def _check_convs(convs_per_block: int | Sequence[int], depth: int) -> tuple[int, ...]:
    if isinstance(convs_per_block, numbers.Integral) and not isinstance(convs_per_block, bool):
        convs: tuple[Any, ...] = (convs_per_block,) * depth
    elif isinstance(convs_per_block, (list, tuple)):
        convs = tuple(convs_per_block)
    else:
        convs = ()
    valid = len(convs) == depth and all(
        isinstance(c, numbers.Integral) and not isinstance(c, bool) and int(c) >= 1 for c in convs
    )
    if not valid:
        raise invalid_argument(
            "convs_per_block", _OWNER, f"a positive int or {depth} positive ints (one per block)",
            convs_per_block,
        )  # fmt: skip
    return tuple(int(c) for c in convs)


def build_idc_cnn(
    input_shape: Sequence[int] = (50, 50, 3),
    num_classes: int = 2,
    *,
    width: int = 16,
    depth: int = 4,
    convs_per_block: int | Sequence[int] = 1,
    dropout: float = 0.3,
    bn_momentum: float = 0.99,
    output: OutputActivation = "softmax",
    context: int = 0,
    context_width: int = 8,
    mixed_precision: bool | str = False,
    name: str = "idc_cnn",
) -> keras.Model:
    """Build idckit's CPU-sized CNN: VGG-style blocks, global average pooling, one output.

    Block ``i`` (from 0) holds ``convs_per_block[i]`` 3x3 convolutions with
    ``width * 2**i`` filters, each followed by batch normalisation and ReLU; every block ends
    with 2x2 max pooling (50 -> 25 -> 12 -> 6 -> 3 at the default depth). Global
    average pooling, dropout and the output layer follow. The model takes ``uint8`` or float
    0-255 RGB images and rescales them itself (an :class:`ImagePreprocessing` layer in mode
    ``"unit"``); it is returned uncompiled (compile it with :func:`loss_for_model`). Only Keras
    layers are used, so it runs on the TensorFlow, JAX and PyTorch backends.

    With ``context=r`` the model takes the mosaic of each patch's ``(2r+1) x (2r+1)``
    neighbourhood on the slide (:meth:`IDCPatchDataset.load_images` with ``context=r``) and
    has two streams: the blocks above on the central patch (cropped from the mosaic) and the
    same blocks with ``context_width`` filters on the whole mosaic average-pooled
    ``2r+1``-fold to the patch's size (a lower-magnification view of the surrounding
    tissue); their pooled features are concatenated before the output. Train it with
    ``KFoldTrainer(context=r)``.

    Parameters
    ----------
    input_shape
        ``(height, width, 3)``; each side at least ``2**depth``.
    num_classes
        Number of classes (2: IDC(-), IDC(+)).
    width
        Filters of the first block; each later block doubles them.
    depth
        Number of convolution blocks.
    convs_per_block
        Convolutions per block: one int for every block, or one int per block.
    dropout
        Dropout rate in [0, 1) before the output layer (0 disables it).
    bn_momentum
        Momentum in [0, 1) of the batch-norm layers' moving statistics, which the model uses
        at prediction time: 0.99 (Keras's default) averages them over about the last 100
        batches, 0.9 over about 10. When the weights change quickly relative to that window
        (an epoch of fewer than a few hundred batches, a high learning rate), the statistics
        lag behind the weights and the validation scores can jump from epoch to epoch; a
        lower momentum follows the weights more closely. For the ``cpu`` recipe 0.9 steadied
        the validation curves but did not raise the held-out scores (see the benchmarks page).
    output
        ``"softmax"`` (``num_classes`` units) or ``"sigmoid"`` (one unit, ``num_classes=2``).
    context
        Neighbourhood radius in patches (0: the patch alone). The model's input is then
        ``((2 * context + 1) * height, (2 * context + 1) * width, 3)``.
    context_width
        Filters of the first block of the context stream (used when ``context > 0``).
    mixed_precision
        ``False``, ``True`` (``"mixed_float16"``) or ``"mixed_bfloat16"``: build under that
        policy (see :func:`precision_policy`); the output layer stays float32.
    name
        The model's name.

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
    convs = _check_convs(convs_per_block, depth)
    if min(shape[:2]) < 2**depth:
        raise invalid_argument(
            "input_shape", _OWNER, f"sides of at least {2**depth} for depth={depth}",
            input_shape, "Use a smaller `depth`.",
        )  # fmt: skip
    check_fraction("dropout", _OWNER, dropout)
    bn_momentum = check_fraction("bn_momentum", _OWNER, bn_momentum)
    context = check_context(context, _OWNER)
    context_width = check_positive_int("context_width", _OWNER, context_width, "a positive int")
    side = 2 * context + 1
    with policy_scope(mixed_precision, _OWNER):
        inputs = image_input((shape[0] * side, shape[1] * side, shape[2]))
        x = ImagePreprocessing("unit", name="preprocessing")(inputs)
        if context:
            margin = (shape[0] * context, shape[1] * context)
            centre = keras.layers.Cropping2D(margin, name="centre_crop")(x)
            features = _stream(centre, width, convs, "", bn_momentum)
            surround = keras.layers.AveragePooling2D(side, name="context_pool")(x)
            x = keras.layers.Concatenate(name="features")(
                [features, _stream(surround, context_width, convs, "context_", bn_momentum)]
            )
        else:
            x = _stream(x, width, convs, "", bn_momentum)
        if dropout > 0:
            x = keras.layers.Dropout(float(dropout), name="dropout")(x)
        outputs = output_layer(num_classes, output)(x)
        return keras.Model(inputs, outputs, name=name)


def _stream(x: Any, width: int, convs: tuple[int, ...], prefix: str, bn_momentum: float) -> Any:
    """VGG-style blocks (``width * 2**i`` filters), then global average pooling."""
    for block, n_convs in enumerate(convs):
        for conv in range(n_convs):
            name = f"{prefix}block{block + 1}_{conv + 1}"
            x = _conv_bn_relu(x, width * 2**block, name, bn_momentum)
        x = keras.layers.MaxPooling2D(2, name=f"{prefix}block{block + 1}_pool")(x)
    return keras.layers.GlobalAveragePooling2D(name=f"{prefix}avg_pool")(x)
