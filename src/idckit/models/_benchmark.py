"""The capstone's deliberately weak baseline: one convolution, flatten, one output layer."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from idckit._errors import check_positive_int, invalid_argument
from idckit.models._head import OutputActivation, check_output, output_layer
from idckit.models._inputs import check_input_shape, image_input
from idckit.models._preprocessing import ImagePreprocessing

_OWNER = "build_benchmark_cnn"


def build_benchmark_cnn(
    input_shape: Sequence[int] = (50, 50, 3),
    num_classes: int = 2,
    *,
    filters: int = 32,
    output: OutputActivation = "softmax",
    name: str = "benchmark_cnn",
) -> keras.Model:
    """Build the benchmark CNN: rescale to [0, 1], Conv2D 3x3 (relu), Flatten, Dense output.

    The model takes ``uint8`` or float 0-255 RGB images and rescales them itself (an
    :class:`ImagePreprocessing` layer in mode ``"unit"``). It is returned uncompiled; compile
    it with :func:`loss_for_model`. To build it under mixed precision, call it inside
    :func:`precision_policy`.

    Parameters
    ----------
    input_shape
        ``(height, width, 3)``. Every idckit builder takes it, so that one trainer can build
        any of them for its data.
    num_classes
        Number of classes (2: IDC(-), IDC(+)). Every idckit builder takes it; it sets the
        units of a softmax output.
    filters
        The convolution's filter count (the capstone's 32). Fewer make a faster stand-in model
        for smoke tests and examples: ``filters=2`` is what idckit's own tests train.
    output
        ``"softmax"`` (``num_classes`` units) or ``"sigmoid"`` (one unit, ``num_classes=2``).
        Every idckit builder takes it, so that :func:`loss_for_model` can derive the loss
        from the one place the activation is declared.
    name
        The model's name (Keras's own argument, as in ``keras.applications``).

    Returns
    -------
    keras.Model
        Uncompiled; ``(N, *input_shape)`` in, ``(N, num_classes)`` or ``(N, 1)`` out.

    Examples
    --------
    >>> import numpy as np
    >>> model = build_benchmark_cnn()
    >>> model.predict(np.zeros((4, 50, 50, 3), dtype="uint8"), verbose=0).shape
    (4, 2)
    """
    shape = check_input_shape(input_shape, _OWNER)
    check_output(num_classes, output, _OWNER)
    filters = check_positive_int("filters", _OWNER, filters, "a positive int")
    if min(shape[:2]) < 3:
        raise invalid_argument(
            "input_shape", _OWNER, "sides of at least 3 (the 3x3 convolution)", input_shape
        )
    inputs = image_input(shape)
    x = ImagePreprocessing("unit", name="preprocessing")(inputs)
    x = keras.layers.Conv2D(filters, 3, activation="relu", name="conv")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = output_layer(num_classes, output)(x)
    return keras.Model(inputs, outputs, name=name)
