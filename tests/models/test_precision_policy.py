import keras
import numpy as np
import pytest

from idckit.models import (
    build_benchmark_cnn,
    build_transfer_model,
    loss_for_model,
    precision_policy,
)

pytestmark = pytest.mark.backend


@pytest.fixture(autouse=True)
def _policy_is_float32_around_each_test():
    assert keras.config.dtype_policy().name == "float32"
    yield
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_scope_sets_then_restores_the_global_policy(policy):
    with precision_policy(policy):
        assert keras.config.dtype_policy().name == policy
        layer = keras.layers.Dense(2)
    assert layer.dtype_policy.name == policy


def test_scope_restores_after_an_exception():
    with pytest.raises(RuntimeError, match="boom"), precision_policy("mixed_bfloat16"):
        raise RuntimeError("boom")


def test_scope_restores_a_non_default_outer_policy():
    with precision_policy("mixed_bfloat16"):
        with precision_policy("mixed_float16"):
            pass
        assert keras.config.dtype_policy().name == "mixed_bfloat16"


def test_unknown_policy_is_a_clear_error():
    with (
        pytest.raises(ValueError, match=r"Invalid `policy` for precision_policy"),
        precision_policy("float8"),
    ):
        pass


@pytest.mark.parametrize(
    ("policy", "compute"), [("mixed_float16", "float16"), ("mixed_bfloat16", "bfloat16")]
)
def test_builders_use_the_policy_and_keep_a_float32_output(policy, compute, uint8_images):
    with precision_policy(policy):
        model = build_benchmark_cnn()
    assert model.get_layer("conv").compute_dtype == compute
    assert model.get_layer("conv").variable_dtype == "float32"
    assert model.layers[-1].compute_dtype == "float32"
    assert keras.ops.convert_to_numpy(model(uint8_images)).dtype == np.float32


def test_mixed_transfer_model_trains_a_step(separable_batch):
    x, y = separable_batch
    with precision_policy("mixed_bfloat16"):  # 20x20 is resized to MobileNet's minimum, 32
        model = build_transfer_model(
            "mobilenet", weights=None, input_shape=(20, 20, 3), freeze="all"
        )
    assert model.get_layer("resize").compute_dtype == "bfloat16"
    assert model.get_layer("preprocessing").compute_dtype == "bfloat16"
    assert model.layers[-1].compute_dtype == "float32"
    model.compile(optimizer="adam", loss=loss_for_model(model))
    loss = model.train_on_batch(x[:4, :20, :20], y[:4])
    assert np.isfinite(loss)


def test_mixed_float16_compiles_with_loss_scaling():
    with precision_policy():  # "mixed_float16"
        model = build_benchmark_cnn()
    model.compile(optimizer="adam", loss=loss_for_model(model))
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
