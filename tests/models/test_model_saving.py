import keras
import numpy as np
import pytest

from idckit.models import (
    ImagePreprocessing,
    build_benchmark_cnn,
    build_transfer_model,
    loss_for_model,
    precision_policy,
)

pytestmark = pytest.mark.backend


def _transfer(backbone: str, **kwargs):
    return lambda: build_transfer_model(backbone, weights=None, **kwargs)


BUILDERS = {
    "benchmark": build_benchmark_cnn,
    "benchmark-sigmoid": lambda: build_benchmark_cnn(output="sigmoid"),
    "vgg16": _transfer("vgg16"),
    "vgg19-sigmoid": _transfer("vgg19", output="sigmoid", freeze="all"),
    # 20x20 is below MobileNet's minimum side: the model resizes to 32 inside itself
    "mobilenet-resized": _transfer("mobilenet", input_shape=(20, 20, 3), freeze=None),
    "nasnet": pytest.param(_transfer("nasnet"), marks=pytest.mark.slow),
}


def trainable_flags(model: keras.Model) -> list[tuple[str, bool]]:
    """Per-layer trainable flags, the backbone's included (InputLayers hold no weights, and
    Keras does not save their flag)."""
    nested = [inner for layer in model.layers for inner in getattr(layer, "layers", [])]
    layers = [*model.layers, *nested]
    return [(x.name, x.trainable) for x in layers if not isinstance(x, keras.layers.InputLayer)]


def round_trip(model: keras.Model, tmp_path) -> keras.Model:
    path = tmp_path / "model.keras"
    model.save(path)
    return keras.saving.load_model(path, safe_mode=True)


@pytest.mark.parametrize("build", list(BUILDERS.values()), ids=list(BUILDERS))
def test_save_load_round_trip(build, tmp_path, uint8_images, seeded, predict):
    if build is BUILDERS["nasnet"].values[0] and keras.backend.backend() == "torch":
        pytest.skip("keras.applications has no NASNetMobile on torch")
    model = build()
    images = uint8_images[:, : model.input_shape[1], : model.input_shape[2]]
    expected = predict(model, images)
    restored = round_trip(model, tmp_path)
    np.testing.assert_array_equal(predict(restored, images), expected)
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    assert isinstance(restored.get_layer("preprocessing"), ImagePreprocessing)
    assert restored.get_layer("preprocessing").mode == model.get_layer("preprocessing").mode
    assert trainable_flags(restored) == trainable_flags(model)
    assert len(restored.trainable_weights) == len(model.trainable_weights)
    assert type(loss_for_model(restored)) is type(loss_for_model(model))


def test_mixed_precision_model_round_trip(tmp_path, uint8_images):
    with precision_policy("mixed_bfloat16"):
        model = build_benchmark_cnn()
    restored = round_trip(model, tmp_path)
    assert restored.get_layer("conv").compute_dtype == "bfloat16"
    assert restored.layers[-1].compute_dtype == "float32"
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(restored(uint8_images)),
        keras.ops.convert_to_numpy(model(uint8_images)),
    )
