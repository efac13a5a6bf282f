"""RandomDihedral: the feed's flips/rotations as a layer, for augmenting on the accelerator."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.models import RandomDihedral, build_idc_cnn, loss_for_model

pytestmark = pytest.mark.backend


def test_training_reaches_all_eight_symmetries_with_equal_odds(square_symmetries):
    square = np.arange(9, dtype="uint8").reshape(1, 3, 3, 1)
    batch = np.repeat(square, 800, axis=0)
    out = keras.ops.convert_to_numpy(RandomDihedral(seed=0)(batch, training=True))
    assert out.dtype == np.uint8
    seen, counts = np.unique(out.reshape(800, -1), axis=0, return_counts=True)
    expected = {view.tobytes() for view in square_symmetries(square)}
    assert {row.astype("uint8").tobytes() for row in seen} == expected
    assert counts.min() > 60  # 100 expected each; 60 is over 4 standard deviations below


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.sampled_from([1, 3]), st.integers(0, 2**16))
def test_every_image_becomes_one_of_its_own_symmetries(square_symmetries, n, side, channels, seed):
    images = np.random.default_rng(seed).integers(0, 256, (n, side, side, channels), "uint8")
    out = keras.ops.convert_to_numpy(RandomDihedral(seed=seed)(images, training=True))
    views = square_symmetries(images)
    for i, after in enumerate(out):
        assert after.tobytes() in {view[i].tobytes() for view in views}


def test_outside_training_it_passes_images_through():
    images = np.random.default_rng(0).integers(0, 256, (4, 5, 5, 3), "uint8")
    layer = RandomDihedral(seed=0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images)), images)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(images, training=False)), images
    )


def test_non_square_images_are_a_clear_error():
    with pytest.raises(ValueError, match=r"Invalid `input_shape` for RandomDihedral"):
        RandomDihedral()(np.zeros((1, 4, 5, 3), "uint8"))


def test_bad_seed_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Invalid `seed` for RandomDihedral"):
        RandomDihedral(seed=1.5)


def test_a_wrapped_model_trains_saves_and_reloads(tmp_path, separable_batch):
    x, y = separable_batch
    inner = build_idc_cnn(output="sigmoid")
    model = keras.Sequential([keras.Input((50, 50, 3)), RandomDihedral(seed=0), inner])
    model.compile(optimizer="adam", loss=loss_for_model(model))
    assert isinstance(loss_for_model(model), keras.losses.BinaryCrossentropy)
    history = model.fit(x, y.astype("float32"), epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert again.layers[0].get_config()["seed"] == 0
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
