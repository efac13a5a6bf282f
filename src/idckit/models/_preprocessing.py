"""The preprocessing layer every idckit model starts with: 0-255 pixels in, normalised out."""

from __future__ import annotations

from typing import Any, get_args

import keras
import numpy as np
from keras import ops

from idckit._errors import check_choice
from idckit.models._registry import PreprocessingMode

MODES: tuple[str, ...] = get_args(PreprocessingMode)

# keras.applications.imagenet_utils: the ImageNet channel statistics of each mode.
_CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype="float32")
_TORCH_MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
_TORCH_STD = np.array([0.229, 0.224, 0.225], dtype="float32")


@keras.saving.register_keras_serializable(package="idckit")
class ImagePreprocessing(keras.layers.Layer):  # type: ignore[misc]  # keras is untyped
    """Map ``uint8`` or float 0-255 RGB images to what a network expects, inside the model.

    Because the normalisation is a layer, a saved model needs no external preprocessing and
    every idckit model takes the same input. Modes (those of
    ``keras.applications.imagenet_utils.preprocess_input``, plus two):

    ``"unit"``
        ``x / 255``, to [0, 1] (the benchmark CNN).
    ``"tf"``
        ``x / 127.5 - 1``, to [-1, 1] (MobileNet, NASNet, Xception, Inception, ResNetV2).
    ``"caffe"``
        RGB -> BGR, then subtract the ImageNet BGR mean, no scaling (VGG, ResNet).
    ``"torch"``
        ``x / 255``, then subtract the ImageNet mean and divide by its std per channel
        (DenseNet).
    ``"none"``
        Cast only: the backbone rescales inside itself (EfficientNet, ConvNeXt, MobileNetV3).

    Parameters
    ----------
    mode
        One of the modes above.
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``, ``dtype``...).

    Examples
    --------
    >>> import numpy as np
    >>> layer = ImagePreprocessing("tf")
    >>> np.asarray(layer(np.array([[[[0, 255, 127.5]]]], dtype="float32"))).round(3).tolist()
    [[[[-1.0, 1.0, 0.0]]]]
    """

    def __init__(self, mode: PreprocessingMode = "unit", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_choice("mode", "ImagePreprocessing", mode, MODES)
        self.mode = mode

    def call(self, inputs: Any) -> Any:
        """Normalise a batch of 0-255 images (any dtype) in the layer's compute dtype."""
        x = ops.cast(inputs, self.compute_dtype)
        if self.mode == "unit":
            return x * (1.0 / 255.0)
        if self.mode == "tf":
            return x * (1.0 / 127.5) - 1.0
        if self.mode == "caffe":
            mean = ops.convert_to_tensor(_CAFFE_BGR_MEAN, dtype=self.compute_dtype)
            return ops.flip(x, axis=-1) - mean
        if self.mode == "torch":
            scale = ops.convert_to_tensor(1.0 / (255.0 * _TORCH_STD), dtype=self.compute_dtype)
            offset = ops.convert_to_tensor(-_TORCH_MEAN / _TORCH_STD, dtype=self.compute_dtype)
            return x * scale + offset
        return x

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return the input shape: normalisation keeps it."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Layer config plus ``mode`` (for ``keras.saving``)."""
        return {**super().get_config(), "mode": self.mode}
