import keras
import numpy as np
import pytest

from idckit.models import loss_for_model, precision_policy
from idckit.models._idc_cnn import build_idc_cnn

pytestmark = pytest.mark.backend


def _filters(model):
    return [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def test_default_architecture():
    model = build_idc_cnn()
    assert model.input_shape == (None, 50, 50, 3)
    assert model.output_shape == (None, 2)
    assert model.get_layer("preprocessing").mode == "unit"
    assert _filters(model) == [16, 32, 64, 128]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    assert len(pools) == 4
    assert model.get_layer("avg_pool").output.shape == (None, 128)
    assert keras.activations.serialize(model.layers[-1].activation) == "softmax"
    assert model.layers[-1].dtype_policy.name == "float32"
    assert not model.compiled


def test_width_and_depth():
    model = build_idc_cnn((32, 32, 3), 3, width=4, depth=3)
    assert _filters(model) == [4, 8, 16]
    assert model.output_shape == (None, 3)
    assert "dropout" not in [layer.name for layer in build_idc_cnn(width=4, dropout=0).layers]


@pytest.mark.parametrize(("output", "units"), [("softmax", 2), ("sigmoid", 1)])
def test_uint8_and_float_inputs_give_identical_probabilities(uint8_images, output, units):
    model = build_idc_cnn(width=4, output=output)
    from_uint8 = keras.ops.convert_to_numpy(model(uint8_images))
    from_float = keras.ops.convert_to_numpy(model(uint8_images.astype("float32")))
    assert from_uint8.shape == (4, units) and from_uint8.dtype == np.float32
    np.testing.assert_array_equal(from_uint8, from_float)
    if output == "softmax":
        np.testing.assert_allclose(from_uint8.sum(axis=1), 1.0, rtol=1e-5)


def test_rescaling_happens_inside_the_model(uint8_images):
    model = build_idc_cnn(width=4)
    conv = model.get_layer("block1_1_conv")
    probe = keras.Model(model.input, conv.output)
    expected = keras.ops.convert_to_numpy(conv(uint8_images.astype("float32") / 255.0))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(probe(uint8_images)), expected, atol=1e-5
    )


def test_mixed_bfloat16_keeps_a_float32_output_and_restores_the_policy():
    with precision_policy("mixed_bfloat16"):
        model = build_idc_cnn(width=4)
    assert model.get_layer("block1_1_conv").compute_dtype == "bfloat16"
    assert model.layers[-1].compute_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": (50, 50, 1)}, r"Invalid `input_shape` for build_idc_cnn"),
        ({"input_shape": (8, 8, 3)}, r"sides of at least 16 for depth=4.*smaller `depth`"),
        ({"num_classes": 1}, r"Invalid `num_classes`.*Received: num_classes=1"),
        ({"output": "sigmoid", "num_classes": 3}, r"one sigmoid unit"),
        ({"width": 0}, r"Invalid `width`.*positive int"),
        ({"depth": True}, r"Invalid `depth`.*positive int"),
        ({"dropout": 1.0}, r"Invalid `dropout`.*\[0, 1\)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_idc_cnn(**kwargs)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_a_few_training_steps_reduce_the_loss(separable_batch, seeded, output):
    x, y = separable_batch
    model = build_idc_cnn(width=4, depth=3, output=output)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss_for_model(model))
    # batch statistics (training mode): the moving averages lag behind after so few steps
    losses = model.fit(x, y, batch_size=8, epochs=6, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]


def test_save_and_reload_round_trip(tmp_path, uint8_images):
    model = build_idc_cnn(width=4)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(again(uint8_images)),
        keras.ops.convert_to_numpy(model(uint8_images)),
        atol=1e-6,
    )


def test_context_model_takes_mosaics_and_has_two_streams():
    model = build_idc_cnn(width=4, context=1)
    assert model.input_shape == (None, 150, 150, 3)
    convs = {layer.name: layer.filters for layer in model.layers if "conv" in layer.name}
    assert [convs[f"block{i}_1_conv"] for i in (1, 2, 3, 4)] == [4, 8, 16, 32]
    assert [convs[f"context_block{i}_1_conv"] for i in (1, 2, 3, 4)] == [8, 16, 32, 64]
    assert model.get_layer("features").output.shape == (None, 32 + 64)
    assert build_idc_cnn(width=4, context=2).input_shape == (None, 250, 250, 3)
    with pytest.raises(ValueError, match="context"):
        build_idc_cnn(context=4)


def test_context_model_sees_the_centre_patch_at_full_resolution():
    model = build_idc_cnn(width=4, context=1)
    crop = keras.Model(model.input, model.get_layer("centre_crop").output)
    pooled = keras.Model(model.input, model.get_layer("context_pool").output)
    mosaic = np.random.default_rng(0).integers(0, 256, (2, 150, 150, 3)).astype("uint8")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(crop(mosaic)), mosaic[:, 50:100, 50:100] / 255.0, atol=1e-6
    )
    expected = mosaic.reshape(2, 50, 3, 50, 3, 3).mean(axis=(2, 4)) / 255.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(pooled(mosaic)), expected, atol=1e-5)


def _bn_momenta(model):
    return [
        layer.momentum
        for layer in model.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]


def test_every_batch_norm_layer_keeps_keras_default_momentum_after_saving(tmp_path):
    model = build_idc_cnn(width=4, context=1)
    assert _bn_momenta(model) == [0.99] * 8  # four blocks in each of the two streams
    model.save(tmp_path / "m.keras")
    assert _bn_momenta(keras.saving.load_model(tmp_path / "m.keras")) == [0.99] * 8


def test_the_cpu_recipes_model_is_pinned():
    """The ``cpu`` recipe's model_kwargs plus its context: the 123k-parameter network."""
    model = build_idc_cnn(width=16, depth=4, dropout=0.3, context=1)
    assert model.count_params() == 123_434
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 122_714
    assert _filters(model) == [16, 8, 32, 16, 64, 32, 128, 64]  # the streams interleave
    assert model.get_layer("dropout").rate == 0.3
    assert build_idc_cnn().count_params() == 98_418  # the patch alone, every default
