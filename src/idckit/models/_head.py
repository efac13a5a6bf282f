"""The classification head: the capstone's dense block as a frozen, validated config."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Literal

import keras

from idckit._errors import check_choice, check_fraction, invalid_argument
from idckit.models._inputs import is_int

OutputActivation = Literal["softmax", "sigmoid"]
Pooling = Literal["flatten", "avg", "max"]

OUTPUT_LAYER_NAME = "predictions"


@dataclass(frozen=True)
class HeadConfig:
    """The layers between a backbone's feature map and the output layer.

    The default is the capstone's head: flatten, then twice Dense(64, relu) with an L2(0.01)
    kernel penalty, BatchNormalization and Dropout(0.5). No recipe changes it; the fields
    exist so that each part of the capstone's head can be switched off or resized to measure
    what it contributes (the hidden Dense layers are always ReLU).

    Parameters
    ----------
    units
        Width of each hidden Dense layer, in order; ``()`` for none (linear probe).
    batch_norm
        Add a BatchNormalization layer after each hidden Dense layer.
    dropout
        Dropout rate after each hidden block, in [0, 1); 0 adds no Dropout layer.
    l2
        L2 kernel penalty of the hidden Dense layers; 0 for none.
    pooling
        How the feature map becomes a vector: ``"flatten"`` (the capstone), global ``"avg"`` or
        ``"max"`` pooling. Pooling matters on large feature maps: NASNetMobile at 224x224
        gives 7x7x1056, so the first Dense(64) has 3,311,680 weights after ``"flatten"`` and
        67,648 after ``"avg"``.

    Examples
    --------
    >>> HeadConfig()
    HeadConfig(units=(64, 64), batch_norm=True, dropout=0.5, l2=0.01, pooling='flatten')
    >>> HeadConfig(units=(128,), dropout=0.2, pooling="avg").units
    (128,)
    """

    units: tuple[int, ...] = (64, 64)
    batch_norm: bool = True
    dropout: float = 0.5
    l2: float = 0.01
    pooling: Pooling = "flatten"

    def __post_init__(self) -> None:
        units = tuple(self.units) if isinstance(self.units, (list, tuple)) else None
        if units is None or not all(is_int(u) and u > 0 for u in units):
            raise invalid_argument("units", "HeadConfig", "a tuple of positive ints", self.units)
        object.__setattr__(self, "units", units)
        check_fraction("dropout", "HeadConfig", self.dropout)
        if not _is_real(self.l2) or self.l2 < 0:
            raise invalid_argument("l2", "HeadConfig", "a float >= 0", self.l2)
        check_choice("pooling", "HeadConfig", self.pooling, ("flatten", "avg", "max"))


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def apply_head(features: Any, head: HeadConfig) -> Any:
    """Apply ``head``'s pooling and hidden blocks to a feature tensor (functional API)."""
    pooling = {
        "flatten": keras.layers.Flatten,
        "avg": keras.layers.GlobalAveragePooling2D,
        "max": keras.layers.GlobalMaxPooling2D,
    }[head.pooling]
    x = pooling(name=f"head_{head.pooling}")(features)
    for i, units in enumerate(head.units, start=1):
        x = keras.layers.Dense(
            units,
            activation="relu",
            kernel_regularizer=keras.regularizers.L2(head.l2) if head.l2 else None,
            name=f"head_dense_{i}",
        )(x)
        if head.batch_norm:
            x = keras.layers.BatchNormalization(name=f"head_bn_{i}")(x)
        if head.dropout:
            x = keras.layers.Dropout(head.dropout, name=f"head_dropout_{i}")(x)
    return x


def check_output(num_classes: int, output: str, owner: str) -> None:
    """Validate ``num_classes`` and ``output`` together (a sigmoid output is binary)."""
    if not is_int(num_classes) or num_classes < 2:
        raise invalid_argument("num_classes", owner, "an int >= 2", num_classes)
    check_choice("output", owner, output, ("softmax", "sigmoid"))
    if output == "sigmoid" and num_classes != 2:
        raise invalid_argument(
            "num_classes",
            owner,
            "2 with output='sigmoid' (one sigmoid unit gives P(class 1))",
            num_classes,
            "Use output='softmax' for more than two classes.",
        )


def output_layer(num_classes: int, output: OutputActivation) -> keras.layers.Dense:
    """Return the output layer: the one place a model declares its activation (float32)."""
    units = 1 if output == "sigmoid" else num_classes
    return keras.layers.Dense(units, activation=output, dtype="float32", name=OUTPUT_LAYER_NAME)
