import keras
import numpy as np
import pytest

from idckit.models import BACKBONES, HeadConfig, build_transfer_model, loss_for_model
from idckit.models._finetune import find_backbone
from idckit.models._registry import ALIASES

pytestmark = pytest.mark.backend

SMALL = (32, 32, 3)  # the smallest input most backbones accept: keeps CPU tests light


def skip_where_unsupported(backbone: str) -> None:
    spec = BACKBONES[ALIASES.get(backbone, backbone)]
    if keras.backend.backend() in spec.unsupported_backends:
        pytest.skip(f"keras.applications has no {spec.constructor} on this backend")


def frozen_flags(model: keras.Model) -> list[bool]:
    return [not layer.trainable for layer in find_backbone(model).layers]


@pytest.fixture
def record_constructor(monkeypatch):
    """Replace keras.applications constructors by a recorder that builds a tiny stand-in."""
    calls: list[dict] = []

    def install(constructor: str) -> list[dict]:
        def fake(**kwargs):
            calls.append(kwargs)
            inputs = keras.Input(kwargs["input_shape"])
            x = inputs
            for _ in range(7):  # more layers than the default freeze=6
                x = keras.layers.Conv2D(2, 3, padding="same")(x)
            return keras.Model(inputs, x, name="fake")

        monkeypatch.setattr(keras.applications, constructor, fake)
        return calls

    return install


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_shapes_and_dtypes_with_uint8_input(output, predict):
    model = build_transfer_model("vgg16", weights=None, input_shape=SMALL, output=output)
    images = np.random.default_rng(0).integers(0, 256, size=(3, *SMALL), dtype=np.uint8)
    probs = predict(model, images)
    assert probs.shape == ((3, 2) if output == "softmax" else (3, 1))
    assert probs.dtype == np.float32
    assert np.all((probs >= 0) & (probs <= 1))
    if output == "softmax":
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert not model.compiled


def test_default_head_is_the_capstones():
    model = build_transfer_model("vgg16", weights=None, input_shape=SMALL)
    kinds = [type(layer).__name__ for layer in model.layers[3:]]
    assert kinds == ["Flatten", "Dense", "BatchNormalization", "Dropout"] * 1 + [
        "Dense",
        "BatchNormalization",
        "Dropout",
        "Dense",
    ]
    dense = model.get_layer("head_dense_1")
    assert dense.units == 64
    assert float(dense.kernel_regularizer.l2) == pytest.approx(0.01)
    assert model.get_layer("head_dropout_2").rate == 0.5
    assert model.name == "idc_vgg16"


def test_custom_head():
    head = HeadConfig(units=(16,), batch_norm=False, dropout=0.0, l2=0.0, pooling="avg")
    model = build_transfer_model("vgg16", weights=None, input_shape=SMALL, head=head)
    kinds = [type(layer).__name__ for layer in model.layers[3:]]
    assert kinds == ["GlobalAveragePooling2D", "Dense", "Dense"]
    assert model.get_layer("head_dense_1").kernel_regularizer is None


@pytest.mark.parametrize(("freeze", "n_frozen"), [(6, 6), (0, 0), (None, 0), ("all", 19)])
def test_frozen_layer_counts(freeze, n_frozen):
    model = build_transfer_model("vgg16", weights=None, input_shape=SMALL, freeze=freeze)
    flags = frozen_flags(model)
    assert len(flags) == 19
    assert flags == [True] * n_frozen + [False] * (19 - n_frozen)
    backbone = find_backbone(model)
    trainable = {id(v) for v in model.trainable_weights}
    frozen_vars = [v for layer in backbone.layers[:n_frozen] for v in layer.weights]
    assert frozen_vars or n_frozen <= 1
    assert not any(id(v) in trainable for v in frozen_vars)
    assert all(layer.trainable for layer in model.layers if layer is not backbone)


def test_weights_from_a_local_file_are_loaded(tmp_path, seeded):
    source = build_transfer_model("mobilenet", weights=None, input_shape=SMALL)
    path = tmp_path / "mobilenet.weights.h5"
    find_backbone(source).save_weights(path)
    loaded = build_transfer_model("mobilenet", weights=path, input_shape=SMALL)
    fresh = build_transfer_model("mobilenet", weights=None, input_shape=SMALL)
    expected = find_backbone(source).get_weights()
    for got, want in zip(find_backbone(loaded).get_weights(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    differs = [
        not np.array_equal(a, b)
        for a, b in zip(find_backbone(fresh).get_weights(), expected, strict=True)
    ]
    assert any(differs)  # the check above could fail


@pytest.mark.parametrize(
    ("backbone", "constructor", "side"),
    [
        ("vgg19", "VGG19", None),
        ("vgg16", "VGG16", None),
        ("mobilenet", "MobileNet", 128),
        ("mobilenetv2", "MobileNetV2", 96),
        ("nasnet", "NASNetMobile", 224),
        ("nasnetlarge", "NASNetLarge", 331),
        ("xception", "Xception", None),  # 50 < 71: resized to the minimum
        ("efficientnetb0", "EfficientNetB0", None),
    ],
)
def test_imagenet_reaches_keras_applications_with_a_sound_size(
    record_constructor, backbone, constructor, side
):
    skip_where_unsupported(backbone)
    calls = record_constructor(constructor)
    model = build_transfer_model(backbone, weights="imagenet")
    spec = BACKBONES[constructor.lower()]
    expected = side or max(50, spec.min_size)
    assert calls == [
        {"include_top": False, "weights": "imagenet", "input_shape": (expected, expected, 3)}
    ]
    names = [layer.name for layer in model.layers]
    assert ("resize" in names) == (expected != 50)
    if expected != 50:
        assert model.get_layer("resize").get_config()["height"] == expected


def test_resizing_follows_the_weights_and_the_backbones_minimum(record_constructor):
    calls = record_constructor("MobileNet")
    build_transfer_model("mobilenet", weights="imagenet", input_shape=(150, 150, 3))
    build_transfer_model("mobilenet", weights="imagenet", input_shape=(300, 300, 3))
    build_transfer_model("mobilenet", weights=None)
    build_transfer_model("mobilenet", weights=None, input_shape=(20, 40, 3))
    assert [c["input_shape"] for c in calls] == [
        (160, 160, 3),  # the smallest ImageNet size at least as large as the input
        (224, 224, 3),  # the largest when none is
        (50, 50, 3),  # no ImageNet weights: the input as it is
        (32, 40, 3),  # ... raised to the backbone's minimum side
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backbone": "alexnet"}, r"Invalid `backbone`.*'nasnet'.*Received: backbone='alexnet'"),
        ({"weights": "no/such/file.h5"}, r"Invalid `weights`.*existing weights file"),
        ({"weights": None, "input_shape": (50, 50)}, r"Invalid `input_shape`"),
        ({"weights": None, "input_shape": (50, 50, 1)}, r"Invalid `input_shape`.*RGB"),
        ({"weights": None, "num_classes": 1}, r"Invalid `num_classes`.*int >= 2"),
        ({"weights": None, "output": "relu"}, r"Invalid `output`.*'softmax', 'sigmoid'"),
        ({"weights": None, "output": "sigmoid", "num_classes": 3}, r"one sigmoid unit"),
        ({"weights": None, "freeze": -1}, r"Invalid `freeze`.*int >= 0, 'all' or None"),
        ({"weights": None, "freeze": True}, r"Invalid `freeze`"),
        ({"weights": None, "freeze": 20}, r"at most the backbone's 19 layers"),
        ({"weights": None, "head": {"units": (8,)}}, r"Invalid `head`.*HeadConfig"),
    ],
)
def test_invalid_arguments_are_clear_errors(kwargs, message):
    kwargs = {"backbone": "vgg16", **kwargs}
    with pytest.raises(ValueError, match=message):
        build_transfer_model(**kwargs)


def test_nasnet_mobile_is_refused_clearly_on_torch():
    if keras.backend.backend() != "torch":
        pytest.skip("only torch lacks NASNetMobile")
    with pytest.raises(ValueError, match=r"runs on the 'torch' backend"):
        build_transfer_model("nasnet", weights=None)


def test_a_few_training_steps_reduce_the_loss(separable_batch, seeded):
    x, y = separable_batch[0][:16, :32, :32], separable_batch[1][:16]
    model = build_transfer_model("mobilenet", weights=None, input_shape=SMALL, freeze="all")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss_for_model(model))
    before = model.evaluate(x, y, batch_size=16, verbose=0)
    model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    after = model.evaluate(x, y, batch_size=16, verbose=0)
    assert after < before
