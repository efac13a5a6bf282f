"""Flips and 90-degree rotations as a Keras layer: augmentation on the accelerator."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from idckit._errors import invalid_argument


@keras.saving.register_keras_serializable(package="idckit")
class RandomDihedral(keras.layers.Layer):  # type: ignore[misc]  # keras is untyped
    """A random symmetry of the square (flips and 90-degree rotations) per image, in training.

    The layer form of the feed's ``augment=True``: each image gets one of the 8 symmetries,
    all equally likely (an independent transpose, up-down flip and left-right flip). Put it in
    front of a model to augment on the GPU and leave the host only the gathering of batches
    (``to_keras(augment=False)``): steps then wait less for their input (see
    :ref:`benchmarks <bench-gpu>`). At inference (and whenever ``training`` is not true) it
    returns its input unchanged. Images must be square; any dtype (``uint8`` stays ``uint8``).

    Parameters
    ----------
    seed
        Seed of the layer's random draws (``None``: a random one).
    **kwargs
        Passed to ``keras.layers.Layer`` (``name``...).

    Examples
    --------
    >>> import keras, numpy as np
    >>> from idckit.models import RandomDihedral, build_idc_cnn
    >>> model = build_idc_cnn()
    >>> augmented = keras.Sequential([keras.Input((50, 50, 3)), RandomDihedral(seed=0), model])
    >>> image = np.arange(4, dtype="uint8").reshape(1, 2, 2, 1)
    >>> np.asarray(RandomDihedral(seed=0)(image)).ravel().tolist()  # not training: unchanged
    [0, 1, 2, 3]
    """

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise invalid_argument("seed", "RandomDihedral", "an int or None", seed)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Check that the images are square batches ``(N, H, W, C)``."""
        if len(input_shape) != 4 or input_shape[1] != input_shape[2]:
            raise invalid_argument(
                "input_shape", "RandomDihedral", "square images (N, H, H, C)", input_shape
            )

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        """Transform each image of a training batch by a random symmetry; else pass through."""
        if not training:
            return inputs
        draws = keras.random.uniform((ops.shape(inputs)[0], 3), seed=self.seed_generator)
        flags = ops.reshape(draws < 0.5, (-1, 3, 1, 1, 1))
        x = ops.where(flags[:, 0], ops.transpose(inputs, (0, 2, 1, 3)), inputs)
        x = ops.where(flags[:, 1], ops.flip(x, axis=1), x)
        return ops.where(flags[:, 2], ops.flip(x, axis=2), x)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        """Return the input shape: a symmetry of a square keeps it."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """Return the layer's arguments, for saving and cloning."""
        return {**super().get_config(), "seed": self.seed}
