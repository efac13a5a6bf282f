"""The one input every idckit model takes: RGB images, ``uint8`` or float 0-255."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, TypeGuard

import keras

from idckit._errors import invalid_argument

INPUT_NAME = "image"


def is_int(value: object) -> TypeGuard[int]:
    """Return whether ``value`` is an integer (numpy integers too) and not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_input_shape(input_shape: Sequence[int], owner: str) -> tuple[int, int, int]:
    """Return ``input_shape`` as ``(height, width, 3)`` or raise the standard error."""
    shape = tuple(input_shape) if isinstance(input_shape, (list, tuple)) else ()
    valid = len(shape) == 3 and all(is_int(s) and s > 0 for s in shape)
    if not valid or shape[2] != 3:
        raise invalid_argument(
            "input_shape", owner, "(height, width, 3) with positive ints (RGB)", input_shape
        )
    return int(shape[0]), int(shape[1]), 3


def image_input(shape: tuple[int, int, int]) -> Any:
    """Return a float32 ``keras.Input``: uint8 batches convert exactly, 0-255 floats pass."""
    return keras.Input(shape=shape, dtype="float32", name=INPUT_NAME)
