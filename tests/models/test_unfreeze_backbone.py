import keras
import pytest

from idckit.models import build_benchmark_cnn, build_transfer_model, unfreeze_backbone
from idckit.models._finetune import find_backbone

pytestmark = pytest.mark.backend


@pytest.fixture
def frozen_model() -> keras.Model:
    return build_transfer_model("mobilenet", weights=None, input_shape=(32, 32, 3), freeze="all")


def flags(model):
    return [layer.trainable for layer in find_backbone(model).layers]


def is_bn(layer) -> bool:
    return isinstance(layer, keras.layers.BatchNormalization)


def test_unfreeze_all_keeps_batch_norm_frozen(frozen_model):
    assert not any(flags(frozen_model))
    assert unfreeze_backbone(frozen_model) is frozen_model
    layers = find_backbone(frozen_model).layers
    assert any(is_bn(layer) for layer in layers)
    assert all(layer.trainable != is_bn(layer) for layer in layers)


def test_unfreeze_the_top_layers(frozen_model):
    unfreeze_backbone(frozen_model, n_layers=10)
    layers = find_backbone(frozen_model).layers
    expected = [False] * (len(layers) - 10) + [not is_bn(layer) for layer in layers[-10:]]
    assert flags(frozen_model) == expected
    assert any(expected) and not all(expected[-10:])  # both kinds among the top 10


def test_unfreeze_top_layers_refreezes_the_bottom():
    model = build_transfer_model("vgg16", weights=None, input_shape=(32, 32, 3), freeze=None)
    unfreeze_backbone(model, n_layers=3)
    assert flags(model) == [False] * 16 + [True] * 3


def test_trainable_weights_grow_after_recompiling(frozen_model):
    before = len(frozen_model.trainable_weights)
    unfreeze_backbone(frozen_model, n_layers=4)
    assert len(frozen_model.trainable_weights) > before


@pytest.mark.parametrize("n_layers", [0, -1, 10_000, 2.0, True])
def test_invalid_n_layers(frozen_model, n_layers):
    with pytest.raises(
        ValueError, match=r"Invalid `n_layers` for unfreeze_backbone: .*None or an int in \[1, "
    ):
        unfreeze_backbone(frozen_model, n_layers=n_layers)


def test_a_model_without_backbone_is_refused():
    with pytest.raises(ValueError, match=r"exactly one nested backbone model.*found 0"):
        unfreeze_backbone(build_benchmark_cnn())
