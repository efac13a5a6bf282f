import keras
import numpy as np
import pytest

from idckit.models import build_benchmark_cnn, build_transfer_model, loss_for_model

pytestmark = pytest.mark.backend


def test_softmax_gives_sparse_categorical_cross_entropy():
    loss = loss_for_model(build_benchmark_cnn(num_classes=3))
    assert isinstance(loss, keras.losses.SparseCategoricalCrossentropy)
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype="float32")
    expected = -np.mean(np.log([0.7, 0.8]))
    assert float(loss(np.array([0, 2]), probs)) == pytest.approx(expected, rel=1e-5)


def test_sigmoid_gives_binary_cross_entropy():
    model = build_transfer_model("vgg16", weights=None, input_shape=(32, 32, 3), output="sigmoid")
    loss = loss_for_model(model)
    assert isinstance(loss, keras.losses.BinaryCrossentropy)
    probs = np.array([[0.9], [0.4]], dtype="float32")
    expected = -np.mean([np.log(0.9), np.log(0.6)])
    assert float(loss(np.array([[1.0], [0.0]]), probs)) == pytest.approx(expected, rel=1e-5)


def test_each_call_returns_a_new_loss():
    model = build_benchmark_cnn()
    assert loss_for_model(model) is not loss_for_model(model)


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        (keras.layers.Flatten(), r"last layer is a Dense output layer"),
        (keras.layers.Dense(2, activation="relu"), r"got 'relu' over 2 units"),
        (keras.layers.Dense(2, activation="sigmoid"), r"got 'sigmoid' over 2 units"),
        (keras.layers.Dense(1, activation="softmax"), r"got 'softmax' over 1 units"),
    ],
)
def test_other_outputs_are_refused(layer, message):
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layer(keras.layers.Dense(3)(inputs)))
    with pytest.raises(ValueError, match=rf"Invalid `model` for loss_for_model: .*{message}"):
        loss_for_model(model)
