import keras
import numpy as np
import pytest

from idckit.models import build_benchmark_cnn, loss_for_model

pytestmark = pytest.mark.backend


def test_architecture_is_the_capstones_baseline():
    model = build_benchmark_cnn()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "ImagePreprocessing", "Conv2D", "Flatten", "Dense"]
    assert model.get_layer("preprocessing").mode == "unit"
    assert keras.activations.serialize(model.get_layer("conv").activation) == "relu"
    assert keras.activations.serialize(model.layers[-1].activation) == "softmax"
    assert model.input_shape == (None, 50, 50, 3)
    assert not model.compiled


@pytest.mark.parametrize(("output", "width"), [("softmax", 2), ("sigmoid", 1)])
def test_uint8_and_float_inputs_give_identical_probabilities(uint8_images, output, width):
    model = build_benchmark_cnn(output=output)
    from_uint8 = keras.ops.convert_to_numpy(model(uint8_images))
    from_float = keras.ops.convert_to_numpy(model(uint8_images.astype("float32")))
    assert from_uint8.shape == (4, width) and from_uint8.dtype == np.float32
    np.testing.assert_array_equal(from_uint8, from_float)


def test_rescaling_happens_inside_the_model(uint8_images):
    model = build_benchmark_cnn()
    conv = model.get_layer("conv")
    probe = keras.Model(model.input, conv.output)
    expected = keras.ops.convert_to_numpy(conv(uint8_images.astype("float32") / 255.0))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(probe(uint8_images)), expected, atol=1e-5
    )


def test_options():
    model = build_benchmark_cnn((64, 48, 3), num_classes=3, filters=8, name="b")
    assert model.output_shape == (None, 3)
    assert model.get_layer("conv").kernel.shape == (3, 3, 3, 8)
    assert model.name == "b"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": (50, 50, 4)}, r"Invalid `input_shape` for build_benchmark_cnn"),
        ({"num_classes": 0}, r"Invalid `num_classes`.*Received: num_classes=0"),
        ({"output": "sigmoid", "num_classes": 4}, r"one sigmoid unit"),
        ({"filters": 0}, r"Invalid `filters`.*positive int"),
        ({"input_shape": (50, 2, 3)}, r"Invalid `input_shape`.*sides of at least 3"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_benchmark_cnn(**kwargs)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_a_few_training_steps_reduce_the_loss(separable_batch, seeded, output):
    x, y = separable_batch
    model = build_benchmark_cnn(filters=4, output=output)
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss=loss_for_model(model))
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=8, epochs=5, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < 0.9 * before
