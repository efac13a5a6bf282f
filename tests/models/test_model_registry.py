import importlib
import inspect

import keras
import numpy as np
import pytest

from idckit.models import BACKBONES, BackboneSpec, ImagePreprocessing
from idckit.models._registry import ALIASES, resolve_backbone

pytestmark = pytest.mark.backend


def _keras_application_names() -> set[str]:
    return {
        name
        for name, obj in vars(keras.applications).items()
        if name[0].isupper() and inspect.isfunction(obj)
    }


def test_every_spec_names_a_keras_application():
    for key, spec in BACKBONES.items():
        assert isinstance(spec, BackboneSpec)
        assert key == spec.constructor.lower()
        assert callable(getattr(keras.applications, spec.constructor))


def test_every_keras_application_is_registered():
    registered = {spec.constructor for spec in BACKBONES.values()}
    assert _keras_application_names() <= registered


@pytest.mark.parametrize("key", sorted(BACKBONES))
def test_preprocessing_mode_matches_the_backbones_own_preprocess_input(key):
    spec = BACKBONES[key]
    module = importlib.import_module(getattr(keras.applications, spec.constructor).__module__)
    images = np.random.default_rng(1).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = module.preprocess_input(images.copy())
    got = keras.ops.convert_to_numpy(ImagePreprocessing(spec.preprocessing)(images))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("key", sorted(BACKBONES))
def test_min_size_is_what_the_constructor_enforces(key):
    spec = BACKBONES[key]
    if keras.backend.backend() in spec.unsupported_backends:
        pytest.skip(f"{spec.constructor} is not available on this backend")
    constructor = getattr(keras.applications, spec.constructor)
    too_small = (spec.min_size - 1, spec.min_size - 1, 3)
    with pytest.raises(ValueError, match=f"at least {spec.min_size}"):
        constructor(include_top=False, weights=None, input_shape=too_small)


@pytest.mark.parametrize(
    ("name", "constructor"),
    [
        ("vgg16", "VGG16"),
        ("VGG19", "VGG19"),
        ("mobilenet", "MobileNet"),
        ("nasnet", "NASNetMobile"),
        ("NASNetMobile", "NASNetMobile"),
        ("nasnetlarge", "NASNetLarge"),
        ("ResNet50", "ResNet50"),
        ("efficientnetb0", "EfficientNetB0"),
        ("efficientnet_b0", "EfficientNetB0"),
        ("resnet50-v2", "ResNet50V2"),
    ],
)
def test_names_resolve_case_insensitively_with_aliases(name, constructor):
    assert resolve_backbone(name)[1].constructor == constructor


def test_aliases_point_into_the_registry():
    assert set(ALIASES.values()) <= set(BACKBONES)


@pytest.mark.parametrize("name", ["alexnet", "", 3])
def test_unknown_backbone_lists_the_known_ones(name):
    with pytest.raises(
        ValueError, match=r"Invalid `backbone` for build_transfer_model: .*'vgg19'"
    ):
        resolve_backbone(name)


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        BACKBONES["mine"] = BACKBONES["vgg16"]  # type: ignore[index]


def test_capstone_backbones_constraints():
    assert BACKBONES["vgg19"].imagenet_sizes == ()
    assert BACKBONES["mobilenet"].imagenet_sizes == (128, 160, 192, 224)
    assert BACKBONES["nasnetmobile"].imagenet_sizes == (224,)
    assert BACKBONES["nasnetlarge"].imagenet_sizes == (331,)


def test_public_names_import_and_are_documented():
    import idckit.models

    assert list(idckit.models.__all__) == sorted(idckit.models.__all__)
    for name in idckit.models.__all__:
        obj = getattr(idckit.models, name)
        if name != "BACKBONES":  # a read-only mapping: documented in the registry module
            assert obj.__doc__ and obj.__doc__.strip(), name
