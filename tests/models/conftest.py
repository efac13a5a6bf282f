"""Fixtures for the model tests: small synthetic images, a fixed seed."""

from __future__ import annotations

import keras
import numpy as np
import pytest


@pytest.fixture
def seeded() -> None:
    keras.utils.set_random_seed(0)


@pytest.fixture
def uint8_images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(4, 50, 50, 3), dtype=np.uint8)


@pytest.fixture
def separable_batch() -> tuple[np.ndarray, np.ndarray]:
    """32 images whose brightness gives the label away: any working model learns it fast."""
    rng = np.random.default_rng(0)
    y = np.arange(32) % 2
    base = np.where(y[:, None, None, None] == 1, 170, 80)
    noise = rng.integers(-40, 41, size=(32, 50, 50, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8), y.astype("int32")


@pytest.fixture
def predict():
    """Inference the fastest way for one batch: compiled under JAX (whose eager convolutions
    compile op by op), eager elsewhere (TensorFlow would trace a new function per model)."""

    def run(model: keras.Model, images: np.ndarray) -> np.ndarray:
        if keras.backend.backend() == "jax":
            return np.asarray(model.predict_on_batch(images))
        return np.asarray(keras.ops.convert_to_numpy(model(images, training=False)))

    return run
