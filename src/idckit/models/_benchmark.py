"""The capstone's deliberately weak baseline: one convolution, flatten, one output layer."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from idckit._errors import check_positive_int, invalid_argument
from idckit.models._head import OutputActivation, check_output, output_layer
from idckit.models._inputs import check_input_shape, image_input
from idckit.models._precision import policy_scope
from idckit.models._preprocessing import ImagePreprocessing

_OWNER = "build_benchmark_cnn"


def build_benchmark_cnn(
    input_shape: Sequence[int] = (50, 50, 3),
    num_classes: int = 2,
    *,
    filters: int = 32,
    kernel_size: int = 3,
    output: OutputActivation = "softmax",
    mixed_precision: bool | str = False,
    name: str = "benchmark_cnn",
) -> keras.Model:
    """Build the benchmark CNN: rescale to [0, 1], Conv2D (relu), Flatten, Dense output.

    The model takes ``uint8`` or float 0-255 RGB images and rescales them itself (an
    :class:`ImagePreprocessing` layer in mode ``"unit"``). It is returned uncompiled; compile
    it with :func:`loss_for_model`.

    Parameters
    ----------
    input_shape
        ``(height, width, 3)``.
    num_classes
        Number of classes (2: IDC(-), IDC(+)).
    filters, kernel_size
        The convolution's filter count and square kernel side.
    output
        ``"softmax"`` (``num_classes`` units) or ``"sigmoid"`` (one unit, ``num_classes=2``).
    mixed_precision
        ``False``, ``True`` (``"mixed_float16"``) or ``"mixed_bfloat16"``: build under that
        policy (see :func:`precision_policy`); the output layer stays float32.
    name
        The model's name.

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
    kernel_size = check_positive_int("kernel_size", _OWNER, kernel_size, "a positive int")
    if kernel_size > min(shape[:2]):
        raise invalid_argument(
            "kernel_size", _OWNER, f"at most the input's side {min(shape[:2])}", kernel_size
        )
    with policy_scope(mixed_precision, _OWNER):
        inputs = image_input(shape)
        x = ImagePreprocessing("unit", name="preprocessing")(inputs)
        x = keras.layers.Conv2D(filters, kernel_size, activation="relu", name="conv")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        outputs = output_layer(num_classes, output)(x)
        return keras.Model(inputs, outputs, name=name)
