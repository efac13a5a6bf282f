"""Where Grad-CAM looks: the target layer of a model, and the model cut in two around it.

Grad-CAM needs the target layer's activations ``A`` and the gradient of the class score with
respect to them. Cutting the model into a *head* (images -> ``A``) and a *tail* (images and
``A`` -> the features the output layer reads) makes the score a plain function of ``A`` on
every backend (``tf.GradientTape``, ``jax.grad``, ``torch.autograd``). A target inside a
nested model (a transfer backbone) is reached through the chain of layers around it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from idckit._errors import invalid_argument

_OWNER = "grad_cam"
# Layers that move, resize or rescale pixels (or only act in training) rather than compute
# features: never a target, even with a 4-D output.
_NOT_FEATURES = frozenset(
    {
        "InputLayer", "Resizing", "Rescaling", "Normalization", "ImagePreprocessing",
        "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "Reshape",
        "Permute", "RandomDihedral",
    }
)  # fmt: skip
_NOT_FEATURE_PARTS = ("Pooling", "Cropping", "ZeroPadding")


def _is_model(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def _ndim(tensor: Any) -> int:
    return len(tensor.shape) if hasattr(tensor, "shape") else -1


def _is_candidate(layer: Any) -> bool:
    """Tell whether a layer's 4-D output is a feature map (a convolution, activation, merge...)."""
    kind = type(layer).__name__
    if kind in _NOT_FEATURES or kind.startswith("Random"):
        return False
    if any(part in kind for part in _NOT_FEATURE_PARTS):
        return False
    return _ndim(layer.output) == 4


def _path_layers(model: Any, tensor: Any) -> list[Any]:
    """Return the layers of ``model`` that ``tensor`` depends on, in the model's order."""
    import keras

    on_path = {id(layer) for layer in keras.Model(model.inputs, tensor).layers}
    return [layer for layer in model.layers if id(layer) in on_path]


def _last_candidate(model: Any) -> Any:
    """Return the last candidate feeding the first layer that turns a feature map into a vector."""
    end = model.outputs[0]
    for layer in model.layers:
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        if all(_ndim(t) == 4 for t in inputs) and _ndim(layer.output) != 4:
            if _is_model(layer):  # a backbone that pools inside itself
                return _last_candidate(layer)
            end = layer.input  # global pooling or Flatten: the stream that reads the image
            break
    candidates = [layer for layer in _path_layers(model, end) if _is_candidate(layer)]
    if not candidates:
        return None
    last = candidates[-1]
    return (_last_candidate(model=last) or last) if _is_model(last) else last


def find_target_layer(model: Any) -> str:
    """Return the name of the layer :func:`grad_cam` explains by default.

    The model's layers are searched up to the first one that turns a feature map into a
    vector (global pooling or ``Flatten``); the target is the last convolution, activation or
    other feature layer with a 4-D output that feeds it, searched inside a nested model (the
    backbone of :func:`~idckit.models.build_transfer_model`). Layers that only move, resize or
    rescale pixels (pooling, cropping, padding, resizing, preprocessing, dropout) are skipped.
    On the two-stream model of :func:`~idckit.models.build_idc_cnn` with ``context`` this is
    the patch stream's last activation (``"block4_1_relu"``), which reads the centre patch.

    Parameters
    ----------
    model
        A Keras model, e.g. any model that :mod:`idckit.models` builds.

    Returns
    -------
    str
        The layer's name (pass another as ``target_layer`` to :func:`grad_cam`).

    Examples
    --------
    >>> from idckit.models import build_benchmark_cnn, build_idc_cnn
    >>> find_target_layer(build_benchmark_cnn(filters=2))
    'conv'
    >>> find_target_layer(build_idc_cnn(width=4, context=1))
    'block4_1_relu'
    """
    layer = _last_candidate(model)
    if layer is None:
        raise invalid_argument(
            "model", _OWNER, "a model with a convolutional layer (a 4-D output) to explain",
            getattr(model, "name", model), "Use occlusion_map, which needs only predictions.",
        )  # fmt: skip
    return str(layer.name)


def _locate(model: Any, name: str) -> tuple[Any, Any]:
    """Return ``(owner, layer)``: the model (or nested model) holding the layer ``name``."""
    for layer in model.layers:
        if layer.name == name:
            return model, layer
    for layer in model.layers:
        if _is_model(layer):
            try:
                return _locate(layer, name)
            except ValueError:
                continue
    raise invalid_argument(
        "target_layer", _OWNER, f"the name of a layer with a 4-D output in model {model.name!r}",
        name, f"The default for this model is {find_target_layer(model)!r}.",
    )  # fmt: skip


@dataclass(frozen=True)
class Split:
    """A model cut at its target layer.

    ``head(images)`` gives the target's activations ``A``, ``tail(images, A)`` the features
    the output layer reads, ``output`` is that Dense layer, ``region`` the part of the input
    the target's grid covers as fractions ``(top, bottom, left, right)``.
    """

    layer: str
    head: Callable[[Any], Any]
    tail: Callable[[Any, Any], Any]
    output: Any
    region: tuple[float, float, float, float]


def output_layer(model: Any) -> Any:
    """Return the model's last layer if it is a Dense softmax or sigmoid output, else raise."""
    import keras

    last = model.layers[-1]
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if not isinstance(last, keras.layers.Dense) or activation not in ("softmax", "sigmoid"):
        raise invalid_argument(
            "model", _OWNER, "a model ending in a Dense softmax or sigmoid layer (as every "
            "idckit model)", getattr(model, "name", model),
        )  # fmt: skip
    return last


def split_model(model: Any, target_layer: str | None) -> Split:
    """Cut ``model`` at ``target_layer`` (default :func:`find_target_layer`)."""
    import keras

    name = find_target_layer(model) if target_layer is None else target_layer
    if not isinstance(name, str):
        raise invalid_argument("target_layer", _OWNER, "a layer name or None", name)
    dense = output_layer(model)
    owner, target = _locate(model, name)
    if _is_model(target):  # a backbone by name: its own default target
        owner, target = target, _last_candidate(target)
        name = str(target.name)
    if _ndim(target.output) != 4:
        raise invalid_argument(
            "target_layer", _OWNER, "a layer with a 4-D (N, H, W, C) output", name
        )
    features = dense.input
    if owner is model:
        head = keras.Model(model.input, target.output)
        tail = keras.Model([model.input, target.output], features)
        return Split(name, _call(head), _call(tail, 2), dense, _region(head.layers))
    before, after = _around(model, owner)
    prefix = _call(keras.Model(model.input, before))
    inner_head = _call(keras.Model(owner.input, target.output))
    inner_tail = _rest_of(owner, target)
    suffix = _call(keras.Model([model.input, after], features), 2)

    def head_fn(x: Any) -> Any:
        return inner_head(prefix(x))

    def tail_fn(x: Any, a: Any) -> Any:
        return suffix(x, inner_tail(prefix(x), a))

    layers = [
        *keras.Model(model.input, before).layers,
        *keras.Model(owner.input, target.output).layers,
    ]
    return Split(name, head_fn, tail_fn, dense, _region(layers))


def _rest_of(owner: Any, target: Any) -> Callable[[Any, Any], Any]:
    """Return ``(inputs, A) -> owner's output``: the part of a nested model after ``target``."""
    import keras

    if target.output is owner.output:  # the backbone's last layer (MobileNet, NASNet)
        return lambda x, a: a
    return _call(keras.Model([owner.input, target.output], owner.output), 2)


def _call(model: Any, n_inputs: int = 1) -> Callable[..., Any]:
    if n_inputs == 1:
        return lambda x: model(x, training=False)
    return lambda x, a: model([x, a], training=False)


def _around(model: Any, nested: Any) -> tuple[Any, Any]:
    """Return the outer tensors that go into and come out of ``nested`` (a chain of layers)."""
    index = next((i for i, layer in enumerate(model.layers) if layer is nested), -1)
    before = model.layers[index - 1].output if index > 0 else None
    after = model.layers[index + 1].input if 0 <= index < len(model.layers) - 1 else None
    fits = (
        before is not None
        and after is not None
        and not isinstance(after, list)
        and tuple(before.shape[1:]) == tuple(nested.input.shape[1:])
        and tuple(after.shape[1:]) == tuple(nested.output.shape[1:])
    )
    if not fits:
        raise invalid_argument(
            "target_layer", _OWNER, "a layer of the model, or of a nested model it calls in a "
            f"chain of single-input layers; {nested.name!r} is not", nested.name,
        )  # fmt: skip
    return before, after


def _region(layers: list[Any]) -> tuple[float, float, float, float]:
    """Return the part of the input left after the ``Cropping2D`` layers among ``layers``."""
    top, bottom, left, right = 0.0, 1.0, 0.0, 1.0
    for layer in layers:
        if type(layer).__name__ != "Cropping2D":
            continue
        (crop_t, crop_b), (crop_l, crop_r) = layer.cropping
        height, width = layer.input.shape[1], layer.input.shape[2]
        span_h, span_w = bottom - top, right - left
        top, bottom = top + span_h * crop_t / height, bottom - span_h * crop_b / height
        left, right = left + span_w * crop_l / width, right - span_w * crop_r / width
    return top, bottom, left, right
