"""occlusion_map against a brute-force reference; window positions; plot_occlusion; errors."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.explain import occlusion_map, plot_occlusion
from idckit.explain._occlusion import window_positions


class LinearModel:
    """A fake model: P(IDC+) = 0.5 + sum(weights * image); records the dtypes it is given."""

    def __init__(self, weights):
        self.weights, self.dtypes, self.sizes = np.asarray(weights, np.float64), set(), []

    def predict(self, images, batch_size, verbose):
        self.dtypes.add(images.dtype)
        self.sizes.append(len(images))
        p = 0.5 + np.einsum("nhwc,hwc->n", images.astype(np.float64), self.weights)
        return p[:, None]


def logit(p):
    return np.log(p / (1 - p))


def reference_map(predict, image, window, stride, fill, scale=lambda p: p):
    """Brute force: every window start on a ``stride`` grid plus one flush with each edge."""
    height, width = image.shape[:2]
    starts_r = sorted({*range(0, height - window + 1, stride), height - window})
    starts_c = sorted({*range(0, width - window + 1, stride), width - window})
    base = scale(predict(image[None].astype(np.float64))[0])
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for r in starts_r:
        for c in starts_c:
            hidden = image.astype(np.float64)  # a copy
            hidden[r : r + window, c : c + window] = fill
            total[r : r + window, c : c + window] += base - scale(predict(hidden[None])[0])
            count[r : r + window, c : c + window] += 1
    assert count.min() >= 1  # the reference covers every pixel too
    return total / count


def _linear_predict(model):
    return lambda images: model.predict(images, None, 0)[:, 0]


@settings(max_examples=40, deadline=None)
@given(
    height=st.integers(4, 14),
    width=st.integers(4, 14),
    window=st.integers(1, 6),
    stride=st.integers(1, 8),
    n=st.integers(1, 4),
    batch_size=st.integers(1, 40),
    fill=st.sampled_from([0, 255, 127.5, (255, 0, 30)]),
    scale=st.sampled_from(["probability", "logit"]),
    seed=st.integers(0, 2**16),
)
def test_matches_the_brute_force_reference(
    height, width, window, stride, n, batch_size, fill, scale, seed
):
    window = min(window, height, width)
    stride = min(stride, window)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, height, width, 3), dtype=np.uint8)
    model = LinearModel(rng.normal(0, 1e-5, (height, width, 3)))  # P(IDC+) within (0.3, 0.7)
    got = occlusion_map(
        model, images, window=window, stride=stride, fill=fill, scale=scale, batch_size=batch_size
    )
    assert got.shape == (n, height, width) and got.dtype == np.float64
    transform = logit if scale == "logit" else (lambda p: p)
    for image, map_ in zip(images, got, strict=True):
        predict = _linear_predict(model)
        want = reference_map(predict, image, window, stride, np.asarray(fill), transform)
        np.testing.assert_allclose(map_, want, atol=1e-12)


@given(size=st.integers(1, 200), window=st.integers(1, 200), stride=st.integers(1, 200))
def test_window_positions_cover_every_pixel_in_bounds(size, window, stride):
    window = min(window, size)
    stride = min(stride, window)
    starts = window_positions(size, window, stride)
    assert starts[0] == 0 and starts[-1] == size - window
    assert starts == sorted(set(starts))
    assert all(0 < b - a <= stride for a, b in itertools.pairwise(starts))
    covered = np.zeros(size, bool)
    for s in starts:
        covered[s : s + window] = True
    assert covered.all()


def test_a_model_reading_only_the_centre_patch_has_a_zero_map_elsewhere():
    weights = np.zeros((150, 150, 3))
    weights[50:100, 50:100] = 1e-6  # only the middle patch of a 3x3 mosaic counts
    mosaics = np.random.default_rng(0).integers(0, 200, (2, 150, 150, 3), dtype=np.uint8)
    maps = occlusion_map(LinearModel(weights), mosaics, window=10, stride=10)
    outside = np.ones((150, 150), bool)
    outside[50:100, 50:100] = False
    assert np.all(maps[:, outside] == 0)
    assert np.all(maps[:, 50:100, 50:100] < 0)  # hiding tissue under white raises this P(IDC+)


@settings(max_examples=20, deadline=None)
@given(
    members=st.integers(1, 4),
    scale=st.sampled_from(["probability", "logit"]),
    seed=st.integers(0, 2**16),
)
def test_an_ensembles_map_is_the_map_of_its_mean_probability(members, scale, seed):
    rng = np.random.default_rng(seed)
    weights = rng.normal(0, 1e-5, (members, 12, 12, 3))
    images = rng.integers(0, 256, (3, 12, 12, 3), dtype=np.uint8)
    models = [LinearModel(w) for w in weights]
    ensemble = occlusion_map(models, images, window=4, stride=3, scale=scale)
    mean_model = LinearModel(weights.mean(axis=0))
    want = occlusion_map(mean_model, images, window=4, stride=3, scale=scale)
    np.testing.assert_allclose(ensemble, want, atol=1e-9)
    assert ensemble.shape == (3, 12, 12)


def test_logit_scale_still_shows_what_matters_in_a_sure_call():
    weights = np.zeros((10, 10, 3))
    weights[:5] = 0.49 / (5 * 10 * 3 * 255)  # only the top half counts: P(IDC+) 0.99 on white
    images = np.full((1, 10, 10, 3), 255, np.uint8)
    model = LinearModel(weights)
    prob = occlusion_map(model, images, window=5, stride=5, fill=0)
    odds = occlusion_map(model, images, window=5, stride=5, fill=0, scale="logit")
    np.testing.assert_allclose(prob[0, :5], 0.245)  # 0.99 -> 0.745 when half the top is hidden
    np.testing.assert_allclose(odds[0, :5], logit(0.99) - logit(0.745))
    assert np.all(prob[0, 5:] == 0) and np.all(odds[0, 5:] == 0)


def test_an_image_with_more_windows_than_a_read_is_occluded_in_blocks():
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (2, 10, 10, 3), dtype=np.uint8)
    model = LinearModel(rng.normal(0, 1e-5, (10, 10, 3)))
    got = occlusion_map(model, images, window=1, stride=1, batch_size=2)  # 100 windows each
    assert max(model.sizes) <= 2 * 4  # never more than 4 batches of occluded images at a time
    for image, map_ in zip(images, got, strict=True):
        want = reference_map(_linear_predict(model), image, 1, 1, 255)
        np.testing.assert_allclose(map_, want, atol=1e-12)


def test_default_window_is_a_fifth_of_the_side_and_stride_half_of_it():
    images = np.random.default_rng(1).integers(0, 256, (2, 50, 50, 3), dtype=np.uint8)
    model = LinearModel(np.random.default_rng(2).normal(0, 1e-5, (50, 50, 3)))
    np.testing.assert_array_equal(
        occlusion_map(model, images), occlusion_map(model, images, window=10, stride=5)
    )


def test_uint8_images_stay_uint8_unless_the_fill_is_fractional():
    images = np.full((1, 8, 8, 3), 100, np.uint8)
    model = LinearModel(np.full((8, 8, 3), 1e-4))
    occlusion_map(model, images, window=4, fill=255)
    assert model.dtypes == {np.dtype(np.uint8)}
    model.dtypes.clear()
    occlusion_map(model, images, window=4, fill=127.5)
    assert model.dtypes == {np.dtype(np.float32)}


def test_bad_arguments_are_clear_errors():
    model = LinearModel(np.zeros((10, 10, 3)))
    images = np.zeros((1, 10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match=r"Invalid `images` for occlusion_map: expected one or"):
        occlusion_map(model, np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError, match=r"Invalid `images`"):
        occlusion_map(model, np.zeros((0, 10, 10, 3), np.uint8))
    with pytest.raises(
        ValueError, match=r"Invalid `window`.*shorter side \(10 pixels\).*window=11"
    ):
        occlusion_map(model, images, window=11)
    with pytest.raises(ValueError, match=r"Invalid `stride`.*at most the window \(4 pixels\).*=5"):
        occlusion_map(model, images, window=4, stride=5)
    for name in ("window", "stride"):
        for bad in (0, -1, 2.0, True):
            with pytest.raises(ValueError, match=rf"Invalid `{name}`.*a positive int"):
                occlusion_map(model, images, **{name: bad})
    for bad in (256, -1, (1, 2), "white", True, [[255]]):
        with pytest.raises(ValueError, match=r"Invalid `fill`.*0-255.*background"):
            occlusion_map(model, images, fill=bad)
    with pytest.raises(ValueError, match=r"Invalid `scale`.*'probability', 'logit'"):
        occlusion_map(model, images, scale="log")
    with pytest.raises(ValueError, match=r"Invalid `model`.*non-empty list"):
        occlusion_map([], images)
    for bad in (0, 1.5, False):
        with pytest.raises(ValueError, match=r"Invalid `batch_size`.*integer >= 1"):
            occlusion_map(model, images, batch_size=bad)


@pytest.mark.backend
def test_a_keras_model_matches_the_reference_whatever_the_batch_size():
    from idckit.models import build_idc_cnn

    model = build_idc_cnn(width=4, depth=2)
    images = np.random.default_rng(3).integers(0, 256, (3, 50, 50, 3), dtype=np.uint8)

    def predict(batch):
        return model.predict(batch.astype(np.float32), verbose=0)[:, 1]

    got = occlusion_map(model, images, window=25, stride=20, batch_size=5)
    for image, map_ in zip(images, got, strict=True):
        np.testing.assert_allclose(map_, reference_map(predict, image, 25, 20, 255), atol=1e-5)
    other = occlusion_map(model, images, window=25, stride=20, batch_size=64)
    np.testing.assert_allclose(got, other, atol=1e-5)
    assert np.abs(got).max() > 0  # the model does react to occlusion


def test_plot_draws_each_image_above_its_map_on_one_symmetric_scale():
    images = np.full((3, 50, 50, 3), 180, np.uint8)
    maps = np.zeros((3, 50, 50))
    maps[1, :10, :10] = 0.4
    maps[2, 20:, 20:] = -0.1
    fig = plot_occlusion(images, maps, titles=["a", "b", "c"])
    assert len(fig.axes) == 7  # 3 images, 3 maps, the colour bar
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    for ax in fig.axes[3:6]:
        assert ax.images[-1].get_clim() == (-0.4, 0.4)
    assert fig.axes[6].get_ylabel() == "P(IDC+) lost when hidden"
    fig = plot_occlusion(images, maps, scale="logit")
    assert fig.axes[6].get_ylabel() == "log-odds of IDC(+) lost when hidden"


def test_plot_outlines_the_centre_patch_of_mosaics():
    images = np.zeros((1, 150, 150, 3), np.uint8)
    fig = plot_occlusion(images, np.zeros((1, 150, 150)), context=1)
    (outline,) = fig.axes[0].patches
    assert (outline.get_x(), outline.get_y(), outline.get_width()) == (49.5, 49.5, 50.0)
    assert not plot_occlusion(images, np.zeros((1, 150, 150))).axes[0].patches


def test_plot_bad_arguments_are_clear_errors():
    images = np.zeros((2, 50, 50, 3), np.uint8)
    with pytest.raises(ValueError, match=r"Invalid `maps`.*\(2, 50, 50\).*occlusion_map"):
        plot_occlusion(images, np.zeros((2, 40, 40)))
    with pytest.raises(ValueError, match=r"Invalid `titles`.*2 titles"):
        plot_occlusion(images, np.zeros((2, 50, 50)), titles=["one"])
    with pytest.raises(ValueError, match=r"Invalid `images` for plot_occlusion"):
        plot_occlusion(np.zeros((50, 50, 3)), np.zeros((50, 50)))
    with pytest.raises(ValueError, match=r"Invalid `scale` for plot_occlusion"):
        plot_occlusion(images, np.zeros((2, 50, 50)), scale="odds")
    with pytest.raises(ValueError, match=r"Invalid `context` for plot_occlusion"):
        plot_occlusion(images, np.zeros((2, 50, 50)), context=-1)
