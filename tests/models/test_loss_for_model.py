import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.models import (
    SparseCrossentropyWithLabelSmoothing,
    build_benchmark_cnn,
    build_transfer_model,
    loss_for_model,
)

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


def _smoothed_reference(labels, probs, smoothing):
    """Cross-entropy against targets 1 - e + e / C (true class) and e / C (others), by hand."""
    classes = probs.shape[-1]
    targets = np.full(probs.shape, smoothing / classes)
    targets[np.arange(len(labels)), labels] += 1 - smoothing
    return float(np.mean(-np.sum(targets * np.log(probs), axis=-1)))


@settings(max_examples=25, deadline=None)
@given(
    classes=st.integers(2, 5),
    rows=st.integers(1, 6),
    smoothing=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**16),
)
def test_label_smoothing_of_softmax_matches_the_smoothed_targets(classes, rows, smoothing, seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(classes), size=rows).clip(1e-3).astype("float32")
    probs /= probs.sum(axis=1, keepdims=True)
    labels = rng.integers(0, classes, size=rows)
    model = build_benchmark_cnn(num_classes=classes)
    loss = loss_for_model(model, label_smoothing=smoothing)
    expected = _smoothed_reference(labels, probs, smoothing)
    assert float(loss(labels, probs)) == pytest.approx(expected, rel=1e-4, abs=1e-5)
    if smoothing:  # Keras's own CategoricalCrossentropy on one-hot labels agrees
        reference = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
        one_hot = np.eye(classes, dtype="float32")[labels]
        assert float(loss(labels, probs)) == pytest.approx(float(reference(one_hot, probs)), 1e-5)


def test_no_smoothing_keeps_keras_sparse_cross_entropy():
    loss = loss_for_model(build_benchmark_cnn(), label_smoothing=0.0)
    assert type(loss) is keras.losses.SparseCategoricalCrossentropy


def test_smoothed_loss_takes_column_labels_and_sample_weights():
    loss = SparseCrossentropyWithLabelSmoothing(0.2)
    probs = np.array([[0.25, 0.75], [0.6, 0.4]], dtype="float32")
    flat = float(loss(np.array([1, 0]), probs, sample_weight=np.array([1.0, 3.0])))
    column = float(loss(np.array([[1], [0]]), probs, sample_weight=np.array([1.0, 3.0])))
    per_row = [
        _smoothed_reference(np.array([y]), probs[i : i + 1], 0.2) for i, y in enumerate([1, 0])
    ]
    assert flat == pytest.approx(column)
    assert flat == pytest.approx((per_row[0] + 3 * per_row[1]) / 2, rel=1e-5)


def test_label_smoothing_of_sigmoid_is_keras_binary_smoothing():
    model = build_benchmark_cnn(output="sigmoid")
    loss = loss_for_model(model, label_smoothing=0.2)
    assert isinstance(loss, keras.losses.BinaryCrossentropy)
    probs = np.array([[0.9], [0.4]], dtype="float32")
    expected = -np.mean(
        [0.9 * np.log(0.9) + 0.1 * np.log(0.1), 0.9 * np.log(0.6) + 0.1 * np.log(0.4)]
    )
    assert float(loss(np.array([[1.0], [0.0]]), probs)) == pytest.approx(expected, rel=1e-5)


def test_a_model_compiled_with_the_smoothed_loss_saves_and_reloads(tmp_path):
    model = build_benchmark_cnn()
    model.compile(optimizer="adam", loss=loss_for_model(model, label_smoothing=0.15))
    model.train_on_batch(np.zeros((2, 50, 50, 3), "uint8"), np.array([0, 1]))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.loss, SparseCrossentropyWithLabelSmoothing)
    assert loaded.loss.label_smoothing == pytest.approx(0.15)


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, 1.5, True, "0.1", None])
def test_bad_label_smoothing_is_a_clear_error(smoothing):
    with pytest.raises(
        ValueError,
        match=r"Invalid `label_smoothing` for loss_for_model: expected a float in \[0, 1\)",
    ):
        loss_for_model(build_benchmark_cnn(), label_smoothing=smoothing)
    with pytest.raises(ValueError, match=r"Invalid `label_smoothing` for SparseCrossentropyWith"):
        SparseCrossentropyWithLabelSmoothing(smoothing)
