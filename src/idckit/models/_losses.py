"""The loss follows from the output activation a model declares: never declared twice."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from idckit._errors import check_fraction, invalid_argument

_OWNER = "loss_for_model"


@keras.saving.register_keras_serializable(package="idckit")
class SparseCrossentropyWithLabelSmoothing(keras.losses.Loss):  # type: ignore[misc]  # keras is untyped
    """Cross-entropy of integer labels against softmax probabilities, with label smoothing.

    Keras's ``SparseCategoricalCrossentropy`` has no label smoothing; this loss one-hot encodes
    the labels and computes ``keras.losses.categorical_crossentropy(..., label_smoothing=e)``:
    the target of the true class is ``1 - e + e / C`` and that of every other class ``e / C``
    (``C`` classes), as in ``CategoricalCrossentropy``. Sample and class weights work as with
    any Keras loss.

    Parameters
    ----------
    label_smoothing
        ``e``, a float in [0, 1); 0 gives ``SparseCategoricalCrossentropy``'s values.
    **kwargs
        Passed to ``keras.losses.Loss`` (``reduction``, ``name``, ``dtype``).

    Examples
    --------
    >>> import numpy as np
    >>> loss = SparseCrossentropyWithLabelSmoothing(0.2)
    >>> round(float(loss(np.array([1]), np.array([[0.25, 0.75]]))), 4)  # targets 0.1 / 0.9
    0.3975
    """

    def __init__(self, label_smoothing: float = 0.1, **kwargs: Any) -> None:
        kwargs.setdefault("name", "sparse_crossentropy_smoothed")
        super().__init__(**kwargs)
        self.label_smoothing = check_fraction(
            "label_smoothing", "SparseCrossentropyWithLabelSmoothing", label_smoothing
        )

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Return the per-sample loss of integer labels ``y_true`` against ``y_pred``."""
        classes = ops.shape(y_pred)[-1]
        labels = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        one_hot = ops.one_hot(labels, classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict[str, Any]:
        """Loss config plus ``label_smoothing`` (for ``keras.saving``)."""
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def loss_for_model(model: keras.Model, *, label_smoothing: float = 0.0) -> keras.losses.Loss:
    """Return the cross-entropy that matches ``model``'s output layer.

    * softmax over ``C >= 2`` units -> ``SparseCategoricalCrossentropy`` (integer labels), or
      :class:`SparseCrossentropyWithLabelSmoothing` when ``label_smoothing > 0``;
    * one sigmoid unit -> ``BinaryCrossentropy`` (0/1 labels, with ``label_smoothing``).

    Parameters
    ----------
    model
        A model whose last layer is a ``Dense`` with a softmax or sigmoid activation, as every
        idckit builder returns, or a model whose last layer is such a model (one wrapped
        behind :class:`RandomDihedral`, say).
    label_smoothing
        A float in [0, 1): train towards ``1 - e / 2`` for the true class and ``e / 2`` for the
        other instead of 1 and 0 (two classes). It tempers the pull of wrongly labelled
        patches, as coarse region annotations produce. 0 (the default): plain cross-entropy.

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
    >>> loss_for_model(build_benchmark_cnn(), label_smoothing=0.1).label_smoothing
    0.1
    """
    smoothing = check_fraction("label_smoothing", _OWNER, label_smoothing)
    layer = model.layers[-1] if getattr(model, "layers", None) else None
    if isinstance(layer, keras.Model):  # a model wrapped in another (augmentation in front)
        return loss_for_model(layer, label_smoothing=smoothing)
    if not isinstance(layer, keras.layers.Dense):
        raise invalid_argument(
            "model",
            _OWNER,
            "a model whose last layer is a Dense output layer",
            getattr(model, "name", model),
        )
    activation = keras.activations.serialize(layer.activation)
    if activation == "softmax" and layer.units >= 2:
        if smoothing:
            return SparseCrossentropyWithLabelSmoothing(smoothing)
        return keras.losses.SparseCategoricalCrossentropy()
    if activation == "sigmoid" and layer.units == 1:
        return keras.losses.BinaryCrossentropy(label_smoothing=smoothing)
    raise invalid_argument(
        "model",
        _OWNER,
        "an output layer of softmax over >= 2 units or one sigmoid unit, "
        f"got {activation!r} over {layer.units} units",
        model.name,
    )
