"""grad_cam: against the closed form of CAM, on a learnt quadrant, the model-randomisation sanity
check, the target layer of every idckit model, shapes, ranges, errors, plot_grad_cam."""

import keras
import numpy as np
import pytest

from idckit.explain import crop_centre, find_target_layer, grad_cam, plot_grad_cam
from idckit.models import build_benchmark_cnn, build_idc_cnn, build_transfer_model, loss_for_model

pytestmark = pytest.mark.backend


def quadrant_set(n, seed):
    """Random dark texture; class 1 adds a bright disc somewhere in the top-left quadrant."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 150, (n, 50, 50, 3)).astype(np.uint8)
    labels = rng.integers(0, 2, n)
    rows, cols = np.mgrid[:50, :50]
    for i in np.flatnonzero(labels):
        cy, cx = rng.integers(7, 19, 2)  # the disc (radius 5) stays inside rows/cols 2-23
        images[i][(rows - cy) ** 2 + (cols - cx) ** 2 <= 25] = 255
    return images, labels


def quadrant_model(seed):
    keras.utils.set_random_seed(seed)
    return build_idc_cnn(width=8, depth=3, dropout=0.0)


@pytest.fixture(scope="module")
def trained():
    """idckit's CNN, small, trained until it finds the disc (about 5 s on 2 CPU cores)."""
    images, labels = quadrant_set(400, 0)
    model = quadrant_model(0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=loss_for_model(model),
                  metrics=["accuracy"])  # fmt: skip
    model.fit(images, labels, epochs=10, batch_size=32, verbose=0)
    test, test_labels = quadrant_set(100, 1)
    accuracy = model.evaluate(test, test_labels, verbose=0)[1]
    return model, test[test_labels == 1], accuracy


def quadrant_share(maps):
    return maps[:, :25, :25].sum(axis=(1, 2)) / np.maximum(maps.sum(axis=(1, 2)), 1e-12)


def rank_correlation(a, b):
    """Spearman's rho of two maps (0 when either is constant)."""
    ra, rb = (np.argsort(np.argsort(m.ravel())).astype(float) for m in (a, b))
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


@pytest.mark.slow
def test_a_trained_models_evidence_lies_in_the_quadrant_that_decides_the_class(trained):
    model, positives, accuracy = trained
    assert accuracy >= 0.95
    share = quadrant_share(grad_cam(model, positives))
    assert np.median(share) > 0.8  # a quarter of the area holds most of the evidence
    assert share.min() > 0.5


@pytest.mark.slow
def test_randomising_the_weights_changes_the_maps(trained):
    """Adebayo et al. 2018, model randomisation: the maps must depend on what was learnt."""
    model, positives, _ = trained
    learnt = grad_cam(model, positives)
    random = grad_cam(quadrant_model(1), positives)  # the same network, re-initialised
    rho = [rank_correlation(a, b) for a, b in zip(learnt, random, strict=True)]
    assert np.median(rho) < 0.5
    assert np.median(quadrant_share(random)) < 0.6
    # cascading: re-initialise only the output layer; the learnt features remain
    cascaded = quadrant_model(0)
    cascaded.set_weights(model.get_weights())
    output = cascaded.get_layer("predictions")
    output.set_weights(
        [np.random.default_rng(2).normal(0, 1, w.shape) for w in output.get_weights()]
    )
    changed = grad_cam(cascaded, positives)
    assert not np.allclose(changed, learnt, atol=0.05)


def cam_model(output="softmax", units=2):
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(units, activation=output)(x))


@pytest.mark.parametrize(("output", "units", "class_index"),
                         [("softmax", 2, 1), ("softmax", 2, 0), ("softmax", 3, 2),
                          ("sigmoid", 1, 1), ("sigmoid", 1, 0)])  # fmt: skip
def test_matches_the_closed_form_of_cam_on_a_global_pooling_network(output, units, class_index):
    """Conv -> global average pooling -> Dense: Grad-CAM's weights are the Dense weights of
    the class's log-odds over the grid size (Selvaraju et al. 2017, section 3.1)."""
    keras.utils.set_random_seed(3)
    model = cam_model(output, units)
    images = np.random.default_rng(0).uniform(0, 1, (5, 12, 12, 3)).astype("float32")
    activations = keras.ops.convert_to_numpy(
        keras.Model(model.input, model.get_layer("conv").output)(images)
    ).astype(np.float64)
    kernel = model.layers[-1].get_weights()[0].astype(np.float64)  # (4, units)
    if units == 1:
        weights = kernel[:, 0] * (1 if class_index == 1 else -1)
    else:  # d/dA of z_c - logsumexp(z_others): the others weighted by their softmax
        logits = activations.mean(axis=(1, 2)) @ kernel + model.layers[-1].get_weights()[1]
        others = np.delete(np.arange(units), class_index)
        share = np.exp(logits[:, others])
        share /= share.sum(axis=1, keepdims=True)
        weights = kernel[:, class_index][None] - share @ kernel[:, others].T
        weights = weights if weights.ndim == 2 else weights[None]
    weights = np.broadcast_to(weights, (5, 4)) / 144
    want = np.maximum(np.einsum("nhwk,nk->nhw", activations, weights), 0)
    peak = want.max(axis=(1, 2), keepdims=True)
    want = np.where(peak > 0, want / np.where(peak > 0, peak, 1), 0)
    got = grad_cam(model, images, class_index=class_index)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_shapes_ranges_batches_and_determinism():
    keras.utils.set_random_seed(0)
    model = build_benchmark_cnn(filters=3)
    images = np.random.default_rng(0).integers(0, 256, (7, 50, 50, 3), dtype=np.uint8)
    maps = grad_cam(model, images)
    assert maps.shape == (7, 50, 50) and maps.dtype == np.float64
    assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert all(m.max() in (0.0, 1.0) for m in maps)  # each normalised by its own peak
    np.testing.assert_array_equal(grad_cam(model, images), maps)  # deterministic
    np.testing.assert_allclose(grad_cam(model, images, batch_size=2), maps, atol=1e-6)
    np.testing.assert_allclose(grad_cam(model, images.astype("float32")), maps, atol=1e-6)


def test_a_map_without_positive_evidence_stays_zero():
    model = cam_model()
    model.layers[-1].set_weights([np.zeros((4, 2)), np.zeros(2)])  # no evidence anywhere
    maps = grad_cam(model, np.ones((2, 12, 12, 3), "float32"))
    assert np.array_equal(maps, np.zeros((2, 12, 12)))


def test_an_ensembles_map_is_the_normalised_mean_of_its_members_maps():
    keras.utils.set_random_seed(1)
    members = [cam_model(), cam_model()]
    images = np.random.default_rng(1).uniform(0, 1, (3, 12, 12, 3)).astype("float32")
    each = [grad_cam(m, images) for m in members]
    mean = np.mean(each, axis=0)
    want = mean / np.where(mean.max(axis=(1, 2)) > 0, mean.max(axis=(1, 2)), 1)[:, None, None]
    np.testing.assert_allclose(grad_cam(members, images), want, atol=1e-12)


def test_the_context_model_explains_the_patch_stream_over_the_centre_patch():
    keras.utils.set_random_seed(0)
    model = build_idc_cnn(width=4, context=1)
    assert find_target_layer(model) == "block4_1_relu"
    mosaics = np.random.default_rng(0).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    # an untrained model's evidence may all be for one class: explain the class that has some
    both = [grad_cam(model, mosaics, class_index=c) for c in (1, 0)]
    assert all(m.shape == (3, 150, 150) for m in both)
    maps = both[0] if both[0].max() > 0 else both[1]
    index = 1 if both[0].max() > 0 else 0
    centre = np.zeros((150, 150), bool)
    centre[50:100, 50:100] = True
    assert all(np.all(m[:, ~centre] == 0) for m in both) and maps[:, centre].max() > 0
    np.testing.assert_array_equal(crop_centre(maps, 1), maps[:, 50:100, 50:100])
    around = grad_cam(model, mosaics, target_layer="context_block4_1_relu", class_index=index)
    assert around.shape == (3, 150, 150) and not np.array_equal(around, maps)


def test_crop_centre_takes_images_too_and_checks_its_arguments():
    mosaics = np.arange(2 * 250 * 250 * 3).reshape(2, 250, 250, 3)
    np.testing.assert_array_equal(crop_centre(mosaics, 2), mosaics[:, 100:150, 100:150])
    assert crop_centre(np.ones((1, 50, 50)), 0).shape == (1, 50, 50)
    with pytest.raises(ValueError, match=r"Invalid `maps` for crop_centre: .*multiples of 3"):
        crop_centre(np.ones((1, 50, 50)), 1)
    with pytest.raises(ValueError, match=r"Invalid `context` for crop_centre"):
        crop_centre(np.ones((1, 50, 50)), 4)


def test_the_benchmark_cnns_target_and_an_override_by_name():
    model = build_benchmark_cnn(filters=2)
    assert find_target_layer(model) == "conv"
    images = np.random.default_rng(2).integers(0, 256, (2, 50, 50, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        grad_cam(model, images, target_layer="conv"), grad_cam(model, images)
    )


def test_errors_name_the_argument():
    model = build_benchmark_cnn(filters=2)
    images = np.zeros((1, 50, 50, 3), np.uint8)
    with pytest.raises(
        ValueError,
        match=r"Invalid `target_layer` for grad_cam: .* Received: "
        r"target_layer='nope'\. The default .* is 'conv'",
    ):
        grad_cam(model, images, target_layer="nope")
    with pytest.raises(
        ValueError,
        match=r"Invalid `target_layer` for grad_cam: expected a layer "
        r"with a 4-D",
    ):
        grad_cam(model, images, target_layer="flatten")
    with pytest.raises(
        ValueError,
        match=r"Invalid `class_index` for grad_cam: expected an int "
        r"from 0 to 1",
    ):
        grad_cam(model, images, class_index=2)
    with pytest.raises(ValueError, match=r"Invalid `class_index`"):
        grad_cam(model, images, class_index=True)
    with pytest.raises(ValueError, match=r"Invalid `images` for grad_cam"):
        grad_cam(model, np.zeros((50, 50, 3)))
    with pytest.raises(ValueError, match=r"Invalid `batch_size` for grad_cam"):
        grad_cam(model, images, batch_size=0)
    with pytest.raises(ValueError, match=r"Invalid `model` for grad_cam: expected a Keras model"):
        grad_cam([], images)
    dense_only = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(
        ValueError,
        match=r"Invalid `model` for grad_cam: expected a model with a "
        r"convolutional layer",
    ):
        find_target_layer(dense_only)
    linear = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3),
                               keras.layers.Flatten(), keras.layers.Dense(1)])  # fmt: skip
    with pytest.raises(ValueError, match=r"ending in a Dense softmax or sigmoid layer"):
        grad_cam(linear, np.zeros((1, 8, 8, 3)))


def test_a_backend_without_gradients_is_a_clear_error(monkeypatch):
    model = build_benchmark_cnn(filters=2)
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(
        RuntimeError,
        match=r"runs on the Keras backends tensorflow, jax, torch, "
        r"not on 'numpy'\. Use occlusion_map",
    ):
        grad_cam(model, np.zeros((1, 50, 50, 3), np.uint8))


BACKBONE_TARGETS = {
    "vgg16": "block5_conv3",
    "vgg19": "block5_conv4",
    "mobilenet": "conv_pw_13_relu",
    "nasnet": None,  # NASNet's names are numbered: its last layer, an activation
}


@pytest.fixture(scope="module", params=sorted(BACKBONE_TARGETS))
def transfer(request):
    """Each registered capstone backbone, random weights, 32x32 input (built once)."""
    name = request.param
    if name == "nasnet" and keras.backend.backend() == "torch":
        pytest.skip("keras.applications does not build NASNetMobile on the torch backend")
    keras.utils.set_random_seed(0)
    return name, build_transfer_model(name, weights=None, input_shape=(32, 32, 3))


@pytest.mark.slow
def test_every_transfer_backbone_has_its_last_feature_map_as_target(transfer):
    name, model = transfer
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    want = BACKBONE_TARGETS[name] or backbone.layers[-1].name
    assert find_target_layer(model) == want
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    maps = grad_cam(model, images)
    assert maps.shape == (2, 32, 32) and np.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1
    if name == "vgg16":  # a layer deeper inside the backbone, by name; and the backbone itself
        early = grad_cam(model, images, target_layer="block3_conv1")
        assert early.shape == (2, 32, 32) and not np.array_equal(early, maps)
        np.testing.assert_array_equal(grad_cam(model, images, target_layer="vgg16"), maps)


def test_plot_grad_cam_draws_maps_on_one_scale():
    images = np.full((3, 150, 150, 3), 200, np.uint8)
    maps = np.zeros((3, 150, 150))
    figure = plot_grad_cam(images, maps, titles=["a", "b", "c"], context=1)
    assert len(figure.axes) == 7  # 3 images, 3 maps, the colour bar
    assert figure.axes[3].images[-1].get_clim() == (0.0, 1.0)
    assert len(figure.axes[0].patches) == 1  # the centre patch outlined
    with pytest.raises(ValueError, match=r"Invalid `maps` for plot_grad_cam: .*grad_cam returned"):
        plot_grad_cam(images, np.zeros((3, 50, 50)))
