"""Grad-CAM (Selvaraju et al. 2017): where in the image the evidence for a class lies.

The class score's gradient with respect to a convolutional layer's activations, averaged over
the layer's grid, weighs its channels; the ReLU of the weighted sum is a coarse map of the
regions that raise the score, upsampled to the input. It takes one forward and one backward
pass per batch, so it is far cheaper than :func:`occlusion_map`, but it needs gradients: it
runs on the TensorFlow, JAX and PyTorch backends of Keras.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import check_context, check_positive_int, invalid_argument
from idckit.explain._occlusion import check_images
from idckit.explain._target import Split, split_model

_OWNER = "grad_cam"
_BACKENDS = ("tensorflow", "jax", "torch")


def _check_models(model: Any) -> list[Any]:
    models = list(model) if isinstance(model, list | tuple) else [model]
    if not models:
        raise invalid_argument("model", _OWNER, "a Keras model or a non-empty list", model)
    return models


def _check_class(dense: Any, class_index: Any) -> int:
    classes = max(2, int(dense.units))  # one sigmoid unit: classes 0 and 1
    valid = isinstance(class_index, int | np.integer) and not isinstance(class_index, bool)
    if not valid or not 0 <= int(class_index) < classes:
        raise invalid_argument(
            "class_index", _OWNER, f"an int from 0 to {classes - 1} (1: IDC(+))", class_index
        )
    return int(class_index)


def _score(features: Any, dense: Any, class_index: int) -> Any:
    """Log-odds of ``class_index`` per image, from the logits of the output layer."""
    from keras import ops

    logits = ops.matmul(ops.cast(features, "float32"), ops.cast(dense.kernel, "float32"))
    if dense.use_bias:
        logits = logits + ops.cast(dense.bias, "float32")
    if dense.units == 1:  # sigmoid: the logit is the log-odds of class 1
        return logits[:, 0] if class_index == 1 else -logits[:, 0]
    others = ops.concatenate([logits[:, :class_index], logits[:, class_index + 1 :]], axis=1)
    return logits[:, class_index] - ops.logsumexp(others, axis=1)


def _gradients(split: Split, x: Any, class_index: int) -> tuple[Any, Any]:
    """Return the target's activations and the gradient of the summed score on them."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        a = split.head(x)
        with tf.GradientTape() as tape:
            tape.watch(a)
            score = keras.ops.sum(_score(split.tail(x, a), split.output, class_index))
        return a, tape.gradient(score, a)
    if backend == "jax":
        import jax

        a = split.head(x)

        def summed(activations: Any) -> Any:
            return keras.ops.sum(_score(split.tail(x, activations), split.output, class_index))

        return a, jax.grad(summed)(a)
    if backend == "torch":  # pragma: no cover - run by `nox -s tests-torch`
        import torch

        a = split.head(x).detach().requires_grad_(True)
        score = keras.ops.sum(_score(split.tail(x, a), split.output, class_index))
        (grad,) = torch.autograd.grad(score, a)
        return a.detach(), grad
    raise RuntimeError(
        f"grad_cam needs gradients: it runs on the Keras backends {', '.join(_BACKENDS)}, "
        f"not on {backend!r}. Use occlusion_map, which needs only predictions."
    )


def _resize(maps: npt.NDArray[np.float64], height: int, width: int) -> npt.NDArray[np.float64]:
    """Bilinear resize of ``(N, h, w)`` maps with pixel centres aligned (as image resizing)."""

    def axis(n_out: int, n_in: int) -> tuple[Any, Any, Any]:
        at = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(at).astype(int)
        return low, np.minimum(low + 1, n_in - 1), at - low

    r0, r1, fr = axis(height, maps.shape[1])
    c0, c1, fc = axis(width, maps.shape[2])
    rows = maps[:, r0] * (1 - fr)[:, None] + maps[:, r1] * fr[:, None]
    return np.asarray(rows[:, :, c0] * (1 - fc) + rows[:, :, c1] * fc, dtype=np.float64)


def _normalise(maps: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Divide each map by its maximum; an all-zero map stays zero."""
    peak = maps.reshape(len(maps), -1).max(axis=1) if maps.size else np.zeros(len(maps))
    safe = np.where(peak > 0, peak, 1.0)
    return maps / safe[:, None, None]


def _one_model(
    model: Any, images: npt.NDArray[Any], target_layer: str | None, class_index: int,
    batch_size: int,
) -> npt.NDArray[np.float64]:  # fmt: skip
    import keras

    split = split_model(model, target_layer)
    index = _check_class(split.output, class_index)
    height, width = images.shape[1:3]
    top, bottom, left, right = split.region
    rows = slice(round(top * height), round(bottom * height))
    cols = slice(round(left * width), round(right * width))
    out = np.zeros(images.shape[:3], dtype=np.float64)
    for start in range(0, len(images), batch_size):
        chunk = np.asarray(images[start : start + batch_size], dtype=np.float32)
        a, grad = _gradients(split, keras.ops.convert_to_tensor(chunk), index)
        a = np.asarray(keras.ops.convert_to_numpy(a), dtype=np.float64)
        grad = np.asarray(keras.ops.convert_to_numpy(grad), dtype=np.float64)
        weights = grad.mean(axis=(1, 2))  # one weight per channel and image
        cam = np.maximum(np.einsum("nhwk,nk->nhw", a, weights), 0.0)
        out[start : start + len(chunk), rows, cols] = _resize(
            cam, rows.stop - rows.start, cols.stop - cols.start
        )
    return _normalise(np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0))


def grad_cam(
    model: Any,
    images: npt.ArrayLike,
    *,
    target_layer: str | None = None,
    class_index: int = 1,
    batch_size: int = 64,
) -> npt.NDArray[np.float64]:
    """Grad-CAM maps: where in each image the evidence for ``class_index`` lies.

    For each image, the gradient of the class score with respect to the target layer's
    activations ``A`` (``h x w x K``) is averaged over the layer's grid into one weight per
    channel; the map is ``ReLU(sum_k weight_k * A_k)``, resized bilinearly to the part of the
    input the layer sees, and divided by its maximum (a map with no positive evidence stays
    all zero). The score is the log-odds of ``class_index`` computed from the output layer's
    logits (``z`` for one sigmoid unit, ``z_c - logsumexp`` of the other logits for a
    softmax), so a sure call does not flatten the gradient as its probability would.

    The target layer defaults to :func:`find_target_layer`: the last convolutional feature map
    before global pooling or ``Flatten``, inside the backbone of a transfer model. A model
    trained with ``context`` (:func:`~idckit.models.build_idc_cnn`) has two streams: by default
    the patch stream is explained; its map covers the centre patch of the mosaic, and is zero
    over the neighbours (:func:`crop_centre` cuts it out). ``target_layer="context_block4_1_relu"``
    explains the context stream instead, whose map covers the whole mosaic.

    Parameters
    ----------
    model
        A Keras model ending in a Dense softmax or sigmoid layer (every idckit model), or a
        list of them (an ensemble such as a run's fold models): the map is then the mean of
        the members' maps, divided by its maximum again.
    images
        ``(N, H, W, 3)`` images the model takes, ``uint8`` or floats 0-255 (mosaics for a
        model trained with context).
    target_layer
        The name of the layer to explain (a layer of the model or of a nested backbone, with
        a 4-D output), or None for :func:`find_target_layer`.
    class_index
        The class explained: 1 is IDC(+), 0 is IDC(-).
    batch_size
        Images per forward and backward pass.

    Returns
    -------
    numpy.ndarray
        ``(N, H, W)`` ``float64`` in [0, 1], aligned with the images.

    Raises
    ------
    RuntimeError
        On a Keras backend without gradients (only TensorFlow, JAX and PyTorch have them).

    Examples
    --------
    >>> import numpy as np
    >>> from idckit.models import build_benchmark_cnn
    >>> model = build_benchmark_cnn(filters=2)
    >>> images = np.random.default_rng(0).integers(0, 256, (2, 50, 50, 3), dtype=np.uint8)
    >>> maps = grad_cam(model, images)
    >>> maps.shape, bool(maps.min() >= 0 and maps.max() <= 1)
    ((2, 50, 50), True)
    """
    models = _check_models(model)
    pixels = check_images(images, _OWNER)
    batch_size = check_positive_int("batch_size", _OWNER, batch_size)
    if not isinstance(class_index, int | np.integer) or isinstance(class_index, bool):
        raise invalid_argument("class_index", _OWNER, "an int (1: IDC(+))", class_index)
    maps = [_one_model(m, pixels, target_layer, class_index, batch_size) for m in models]
    return maps[0] if len(maps) == 1 else _normalise(np.mean(maps, axis=0))


def crop_centre(maps: npt.ArrayLike, context: int) -> npt.NDArray[Any]:
    """Cut the centre patch out of maps (or images) of ``(2r+1) x (2r+1)`` context mosaics.

    Parameters
    ----------
    maps
        ``(N, H, W)`` maps (or ``(N, H, W, C)`` images) of mosaics, the classified patch in the
        middle, as :meth:`~idckit.data.IDCPatchDataset.load_images` builds them.
    context
        The mosaics' context radius ``r``; 0 returns ``maps`` unchanged.

    Returns
    -------
    numpy.ndarray
        ``(N, H / (2r+1), W / (2r+1))`` (plus the channel axis of images).

    Examples
    --------
    >>> import numpy as np
    >>> maps = np.zeros((1, 150, 150))
    >>> maps[0, 50:100, 50:100] = 1
    >>> centre = crop_centre(maps, 1)
    >>> centre.shape, float(centre.min())
    ((1, 50, 50), 1.0)
    """
    context = check_context(context, "crop_centre")
    array = np.asarray(maps)
    side = 2 * context + 1
    if array.ndim not in (3, 4) or array.shape[1] % side or array.shape[2] % side:
        raise invalid_argument(
            "maps", "crop_centre", f"(N, H, W[, C]) maps with H and W multiples of {side}",
            f"shape {array.shape}",
        )  # fmt: skip
    height, width = array.shape[1] // side, array.shape[2] // side
    return array[
        :, context * height : (context + 1) * height, context * width : (context + 1) * width
    ]
