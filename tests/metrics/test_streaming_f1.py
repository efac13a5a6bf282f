"""StreamingF1 against scikit-learn on the whole set after random, uneven batchings."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

keras = pytest.importorskip("keras")

from idckit.metrics import StreamingF1  # noqa: E402 - after the importorskip guard

pytestmark = pytest.mark.backend

AVERAGES = ["binary", "macro", "weighted", "micro", None]
LABEL_FORMS = ["sparse", "column", "float", "one_hot"]
PREDICTION_FORMS = ["scores", "probability", "probability_column"]
THRESHOLDS = [0.25, 0.375, 0.5, 0.75]  # dyadic: float32 and float64 compare alike


def as_labels(y, num_classes, form):
    if form == "sparse":
        return y.astype("int32")
    if form == "column":
        return y.astype("int64")[:, None]
    if form == "float":
        return y.astype("float32")
    return np.eye(num_classes, dtype="float32")[y]


@st.composite
def streamed(draw, prediction_form):
    """Labels, predicted classes, the model output that yields them, weights and batch cuts."""
    num_classes = 2 if prediction_form != "scores" else draw(st.integers(2, 4))
    n = draw(st.integers(1, 30))
    classes = st.lists(st.integers(0, num_classes - 1), min_size=n, max_size=n)
    y_true, y_pred = np.array(draw(classes)), np.array(draw(classes))
    threshold = draw(st.sampled_from(THRESHOLDS))
    if prediction_form == "scores":  # the predicted class strictly largest: no argmax ties
        scores = np.array(draw(st.lists(st.integers(0, 8), min_size=n * num_classes)))
        output = scores[: n * num_classes].reshape(n, num_classes) / 16
        output[np.arange(n), y_pred] = 0.75
    else:  # probabilities on a 1/16 grid, including values equal to the threshold
        grid = np.arange(17) / 16
        output = np.array(draw(st.lists(st.sampled_from(grid), min_size=n, max_size=n)))
        y_pred = (output >= threshold).astype(int)
        if prediction_form == "probability_column":
            output = output[:, None]
    weights = None
    if draw(st.booleans()):
        weights = np.array(draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))) / 4
        if not weights.any():
            weights[0] = 1.0  # scikit-learn rejects all-zero weights
    cuts = sorted(draw(st.lists(st.integers(1, max(n - 1, 1)), max_size=3, unique=True)))
    positive_class = draw(st.integers(0, num_classes - 1))
    return num_classes, y_true, y_pred, output, weights, cuts, threshold, positive_class


def expected_f1(y_true, y_pred, num_classes, average, positive_class, weights):
    labels = list(range(num_classes))
    kwargs = {"labels": labels, "sample_weight": weights, "zero_division": 0}
    if average == "binary":
        return f1_score(y_true, y_pred, average=None, **kwargs)[positive_class]
    return f1_score(y_true, y_pred, average=average, **kwargs)


@pytest.mark.parametrize("label_form", LABEL_FORMS)
@pytest.mark.parametrize("prediction_form", PREDICTION_FORMS)
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_streamed_result_equals_sklearn_on_the_whole_set(label_form, prediction_form, data):
    case = data.draw(streamed(prediction_form))
    num_classes, y_true, y_pred, output, weights, cuts, threshold, positive_class = case
    metrics = [
        StreamingF1(
            average,
            num_classes=num_classes,
            threshold=threshold,
            positive_class=positive_class,
        )
        for average in AVERAGES
    ]
    labels = as_labels(y_true, num_classes, label_form)
    for part in np.split(np.arange(len(y_true)), cuts):
        batch_weights = None if weights is None else weights[part]
        for metric in metrics:
            metric.update_state(labels[part], output[part], sample_weight=batch_weights)
    for metric, average in zip(metrics, AVERAGES, strict=True):
        expected = expected_f1(y_true, y_pred, num_classes, average, positive_class, weights)
        got = keras.ops.convert_to_numpy(metric.result())
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=str(average))


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_batching_and_order_do_not_change_the_result(data):
    _, y_true, _, output, _, cuts, _, _ = data.draw(streamed("scores"))
    order = np.array(data.draw(st.permutations(range(len(y_true)))))
    whole, shuffled = StreamingF1("macro", num_classes=output.shape[1]), None
    whole.update_state(y_true, output)
    shuffled = StreamingF1("macro", num_classes=output.shape[1])
    for part in np.split(order, cuts):
        shuffled.update_state(y_true[part], output[part])
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(shuffled.result()),
        keras.ops.convert_to_numpy(whole.result()),
        atol=1e-6,
    )


def test_binary_default_is_f1_of_idc_positive_and_differs_from_a_batch_mean():
    y_true = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    prob = np.array([0.9, 0.2, 0.6, 0.1, 0.4, 0.8, 0.7, 0.3])
    metric = StreamingF1()
    batch_scores = []
    for part in np.split(np.arange(8), [2, 3]):
        batch = StreamingF1()
        batch.update_state(y_true[part], prob[part])
        batch_scores.append(float(batch.result()))
        metric.update_state(y_true[part], prob[part])
    expected = f1_score(y_true, prob >= 0.5)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    assert np.mean(batch_scores) != pytest.approx(expected, abs=1e-3)


def test_reset_state_forgets_the_counts():
    metric = StreamingF1()
    metric.update_state(np.array([1, 1]), np.array([0.9, 0.8]))
    assert float(metric.result()) == pytest.approx(1.0)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(np.array([1, 0]), np.array([0.1, 0.8]))
    assert float(metric.result()) == 0.0


def test_no_positive_anywhere_is_zero_like_sklearn_zero_division():
    metric = StreamingF1(None)
    metric.update_state(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(metric.result()), [1.0, 0.0])


def test_config_round_trip_and_keras_serialisation():
    metric = StreamingF1("weighted", positive_class=0, threshold=0.3, num_classes=3, name="wf1")
    config = metric.get_config()
    assert config["average"] == "weighted" and config["threshold"] == 0.3
    assert config["num_classes"] == 3 and config["positive_class"] == 0
    clone = StreamingF1.from_config(config)
    assert clone.get_config() == config
    serialised = keras.saving.serialize_keras_object(metric)
    assert serialised["registered_name"] == "idckit>StreamingF1"
    restored = keras.saving.deserialize_keras_object(serialised, safe_mode=True)
    assert isinstance(restored, StreamingF1) and restored.get_config() == config


def tiny_model(num_outputs, activation):
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(num_outputs, activation=activation)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),  # frozen: predictions fixed
        loss="sparse_categorical_crossentropy" if num_outputs > 1 else "binary_crossentropy",
        metrics=[StreamingF1(), StreamingF1("macro", name="macro_f1")],
        weighted_metrics=[StreamingF1(name="weighted_f1")],
    )
    return model


def synthetic(n=53, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] + 0.5 * rng.normal(size=n) > 0.3).astype("int32")
    return x, y


@pytest.mark.parametrize(("num_outputs", "activation"), [(2, "softmax"), (1, "sigmoid")])
def test_in_fit_with_class_weight_equals_sklearn(num_outputs, activation):
    # Keras 3 gives sample weights (and so class weights) to `weighted_metrics` only.
    keras.utils.set_random_seed(1)
    x, y = synthetic()
    model = tiny_model(num_outputs, activation)
    class_weight = {0: 0.75, 1: 2.5}
    history = model.fit(
        x, y, batch_size=8, epochs=1, class_weight=class_weight, shuffle=True, verbose=0
    ).history
    output = model.predict(x, verbose=0)
    y_pred = output.argmax(axis=1) if num_outputs > 1 else (output[:, 0] >= 0.5).astype(int)
    weights = np.where(y == 1, class_weight[1], class_weight[0])
    assert history["f1"][0] == pytest.approx(f1_score(y, y_pred), abs=1e-6)
    macro = f1_score(y, y_pred, average="macro")
    assert history["macro_f1"][0] == pytest.approx(macro, abs=1e-6)
    weighted = f1_score(y, y_pred, sample_weight=weights)
    assert history["weighted_f1"][0] == pytest.approx(weighted, abs=1e-6)
    assert weighted != pytest.approx(f1_score(y, y_pred), abs=1e-3)  # the weights mattered


def test_evaluate_and_saved_model_round_trip(tmp_path):
    keras.utils.set_random_seed(2)
    x, y = synthetic(seed=3)
    model = tiny_model(2, "softmax")
    before = model.evaluate(x, y, batch_size=7, return_dict=True, verbose=0)
    expected = f1_score(y, model.predict(x, verbose=0).argmax(axis=1))
    assert before["f1"] == pytest.approx(expected, abs=1e-5)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    after = loaded.evaluate(x, y, batch_size=5, return_dict=True, verbose=0)
    assert after["f1"] == pytest.approx(before["f1"], abs=1e-6)
    assert after["macro_f1"] == pytest.approx(before["macro_f1"], abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"threshold": 1},
            r"^Invalid `threshold` for StreamingF1: expected a float in \(0, 1\)\. "
            r"Received: threshold=1\.$",
        ),
        ({"threshold": 0.0}, r"`threshold` .* Received: threshold=0\.0\."),
        ({"threshold": float("nan")}, r"`threshold` .* Received: threshold=nan\."),
        ({"threshold": "0.5"}, r"`threshold` .* Received: threshold='0\.5'\."),
        ({"num_classes": 1}, r"`num_classes` for StreamingF1: expected an int >= 2"),
        ({"num_classes": 2.0}, r"`num_classes` .* Received: num_classes=2\.0\."),
        ({"positive_class": 2}, r"`positive_class` .* an int in \[0, 1\] \(num_classes=2\)"),
        ({"positive_class": -1}, r"Received: positive_class=-1\."),
        ({"average": "samples"}, r"`average` for StreamingF1: expected one of 'binary', "),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StreamingF1(**kwargs)


@pytest.mark.parametrize(
    ("metric", "y_true", "y_pred", "match"),
    [
        (
            StreamingF1(num_classes=3),
            np.array([0, 1]),
            np.array([0.2, 0.9]),
            r"`y_pred` .* shape \(N, 3\) when num_classes=3\. .* need num_classes=2\.",
        ),
        (
            StreamingF1(),
            np.array([0, 1]),
            np.ones((2, 3)) / 3,
            r"`y_pred` .* shape \(N,\), \(N, 1\) or \(N, 2\)\. Received: y_pred=\(2, 3\)\.",
        ),
        (StreamingF1(), np.eye(3)[:2], np.array([0.2, 0.9]), r"`y_true` .* y_true=\(2, 3\)"),
        (StreamingF1(), np.zeros((2, 1, 1)), np.array([0.2, 0.9]), r"y_true=\(2, 1, 1\)\."),
    ],
)
def test_update_errors_name_the_shape(metric, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        metric.update_state(y_true, y_pred)
