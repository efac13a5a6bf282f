import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from idckit.models import ImagePreprocessing

pytestmark = pytest.mark.backend

IMAGENET_MODES = ("tf", "caffe", "torch")


def reference(images: np.ndarray, mode: str) -> np.ndarray:
    x = images.astype("float64")
    if mode == "unit":
        return x / 255.0
    if mode == "none":
        return x
    return keras.applications.imagenet_utils.preprocess_input(x.copy(), mode=mode)


@pytest.mark.parametrize("mode", ["unit", "tf", "caffe", "torch", "none"])
@settings(max_examples=15, deadline=None)
@given(
    images=arrays(
        np.uint8, st.tuples(st.integers(1, 3), st.integers(1, 6), st.integers(1, 6), st.just(3))
    )
)
def test_modes_match_keras_imagenet_utils(mode, images):
    got = keras.ops.convert_to_numpy(ImagePreprocessing(mode)(images))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference(images, mode), rtol=1e-5, atol=1e-4)


def test_uint8_and_float_inputs_give_the_same_result(uint8_images):
    layer = ImagePreprocessing("caffe")
    from_uint8 = keras.ops.convert_to_numpy(layer(uint8_images))
    from_float = keras.ops.convert_to_numpy(layer(uint8_images.astype("float32")))
    np.testing.assert_array_equal(from_uint8, from_float)


def test_caffe_mode_swaps_rgb_to_bgr():
    pixel = np.array([[[[255, 0, 0]]]], dtype=np.uint8)  # pure red
    got = keras.ops.convert_to_numpy(ImagePreprocessing("caffe")(pixel))[0, 0, 0]
    np.testing.assert_allclose(got, [-103.939, -116.779, 255 - 123.68], atol=1e-4)


def test_config_round_trip():
    layer = ImagePreprocessing("torch", name="prep")
    clone = ImagePreprocessing.from_config(layer.get_config())
    assert (clone.mode, clone.name) == ("torch", "prep")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, ImagePreprocessing) and restored.mode == "torch"


def test_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Invalid `mode` for ImagePreprocessing: .*'caffe'"):
        ImagePreprocessing("bgr")  # type: ignore[arg-type]
