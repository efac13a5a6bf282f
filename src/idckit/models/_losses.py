"""The loss follows from the output activation a model declares: never declared twice."""

from __future__ import annotations

import keras

from idckit._errors import invalid_argument

_OWNER = "loss_for_model"


def loss_for_model(model: keras.Model) -> keras.losses.Loss:
    """Return the cross-entropy that matches ``model``'s output layer.

    * softmax over ``C >= 2`` units -> ``SparseCategoricalCrossentropy`` (integer labels);
    * one sigmoid unit -> ``BinaryCrossentropy`` (0/1 labels).

    Parameters
    ----------
    model
        A model whose last layer is a ``Dense`` with a softmax or sigmoid activation, as every
        idckit builder returns, or a model whose last layer is such a model (one wrapped
        behind :class:`RandomDihedral`, say).

    Returns
    -------
    keras.losses.Loss
        A new loss instance, computing on probabilities (``from_logits=False``).

    Examples
    --------
    >>> from idckit.models import build_benchmark_cnn
    >>> type(loss_for_model(build_benchmark_cnn())).__name__
    'SparseCategoricalCrossentropy'
    >>> type(loss_for_model(build_benchmark_cnn(output="sigmoid"))).__name__
    'BinaryCrossentropy'
    """
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    if isinstance(layer, keras.Model):  # a model wrapped in another (augmentation in front)
        return loss_for_model(layer)
    if not isinstance(layer, keras.layers.Dense):
        raise invalid_argument(
            "model",
            _OWNER,
            "a model whose last layer is a Dense output layer",
            getattr(model, "name", model),
        )
    activation = keras.activations.serialize(layer.activation)
    if activation == "softmax" and layer.units >= 2:
        return keras.losses.SparseCategoricalCrossentropy()
    if activation == "sigmoid" and layer.units == 1:
        return keras.losses.BinaryCrossentropy()
    raise invalid_argument(
        "model",
        _OWNER,
        "an output layer of softmax over >= 2 units or one sigmoid unit, "
        f"got {activation!r} over {layer.units} units",
        model.name,
    )
