"""Second-stage fine-tuning: unfreeze (part of) a transfer model's backbone."""

from __future__ import annotations

import keras

from idckit._errors import invalid_argument
from idckit.models._inputs import is_int

_OWNER = "unfreeze_backbone"


def find_backbone(model: keras.Model, owner: str = _OWNER) -> keras.Model:
    """Return the one nested ``keras.Model`` of an idckit transfer model (its backbone)."""
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise invalid_argument(
            "model",
            owner,
            "a model with exactly one nested backbone model "
            f"(as built by build_transfer_model), found {len(nested)}",
            model.name,
        )
    return nested[0]


def unfreeze_backbone(model: keras.Model, n_layers: int | None = None) -> keras.Model:
    """Make the backbone's top ``n_layers`` (or all) trainable, for a fine-tuning stage.

    The usual recipe: train the head with a frozen backbone, then unfreeze the top of the
    backbone and train again with a low learning rate. Trainability is read when a model is
    compiled, so **compile the model again** after calling this (``model.compile(...)``); the
    weights are kept. The backbone's BatchNormalization layers stay frozen: a frozen
    BatchNormalization layer also runs in inference mode (Keras 3), so its ImageNet
    statistics are not overwritten by small fine-tuning batches (the standard advice).

    Parameters
    ----------
    model
        A model from :func:`build_transfer_model` (or one reloaded from disk).
    n_layers
        Unfreeze the last ``n_layers`` of ``backbone.layers`` (BatchNormalization layers
        excepted) and freeze the rest; ``None`` unfreezes the whole backbone. No recipe
        fine-tunes; this is the second stage of the two-stage fine-tuning in the models guide.

    Returns
    -------
    keras.Model
        The same ``model``, modified in place.

    Examples
    --------
    >>> from idckit.models import build_transfer_model
    >>> model = build_transfer_model("vgg16", weights=None, input_shape=(32, 32, 3), freeze="all")
    >>> model = unfreeze_backbone(model, n_layers=4)
    >>> [layer.trainable for layer in model.layers[2].layers[-5:]]
    [False, True, True, True, True]
    """
    backbone = find_backbone(model)
    total = len(backbone.layers)
    if n_layers is None:
        n_layers = total
    if not is_int(n_layers) or not 1 <= n_layers <= total:
        raise invalid_argument(
            "n_layers", _OWNER, f"None or an int in [1, {total}] (the backbone's layers)", n_layers
        )
    backbone.trainable = True
    for index, layer in enumerate(backbone.layers):
        frozen = index < total - n_layers
        if isinstance(layer, keras.layers.BatchNormalization):
            frozen = True
        layer.trainable = not frozen
    return model
