"""predict_proba: softmax and sigmoid models, 8-way dihedral TTA, chunked memmap reads."""

import numpy as np
import pytest

from idckit.inference import predict_proba
from idckit.inference._predict import dihedral_transforms


class CornerModel:
    """A fake model: P(IDC+) is the top-left pixel's red value / 255; records its calls."""

    def __init__(self, softmax=True):
        self.softmax, self.calls = softmax, []

    def predict(self, images, batch_size, verbose):
        self.calls.append((images.shape[0], batch_size, verbose))
        p = images[:, 0, 0, 0].astype(np.float64) / 255
        return np.stack([1 - p, p], axis=1) if self.softmax else p[:, None]


def _images(n, size=50, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_dihedral_transforms_are_the_eight_symmetries(square_symmetries):
    images = _images(2, size=5)
    got = sorted(t.tobytes() for t in dihedral_transforms(images))
    want = sorted(view.tobytes() for view in square_symmetries(images))
    assert got == want and len(set(got)) == 8
    assert np.array_equal(next(dihedral_transforms(images)), images)  # identity first


@pytest.mark.parametrize("softmax", [True, False])
def test_without_tta_it_is_the_models_positive_column(softmax):
    images = _images(7)
    out = predict_proba(CornerModel(softmax), images, batch_size=3)
    np.testing.assert_allclose(out, images[:, 0, 0, 0] / 255)


@pytest.mark.parametrize("softmax", [True, False])
def test_tta_averages_the_four_corners(softmax):
    # under the 8 symmetries, the top-left pixel visits each corner of the patch twice
    images = _images(5)
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1], 0].astype(np.float64) / 255
    out = predict_proba(CornerModel(softmax), images, tta=True, batch_size=2)
    np.testing.assert_allclose(out, corners.mean(axis=1))


@pytest.mark.parametrize("batch_size", [1, 2, 3, 256])
def test_memmap_is_read_in_chunks_of_sixteen_batches(tmp_path, batch_size):
    images = _images(40)
    np.save(tmp_path / "images.npy", images)
    mapped = np.load(tmp_path / "images.npy", mmap_mode="r")
    model = CornerModel()
    out = predict_proba(model, mapped, tta=True, batch_size=batch_size)
    sizes = [n for n, _, _ in model.calls]
    assert max(sizes) == min(16 * batch_size, 40) and sum(sizes) == 8 * 40
    assert {(b, v) for _, b, v in model.calls} == {(batch_size, 0)}
    np.testing.assert_allclose(out, predict_proba(CornerModel(), images, tta=True))


def test_empty_input_gives_an_empty_result():
    assert predict_proba(CornerModel(), np.zeros((0, 50, 50, 3), np.uint8)).shape == (0,)


def _sigmoid_model():
    import keras

    inputs = keras.Input((50, 50, 3))
    hidden = keras.layers.Conv2D(2, 5, strides=5)(keras.layers.Rescaling(1 / 255)(inputs))
    outputs = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(hidden))
    return keras.Model(inputs, outputs)


@pytest.mark.backend
def test_keras_softmax_and_sigmoid_models_match_model_predict():
    from idckit.models import build_benchmark_cnn

    images = _images(6)
    for model in (build_benchmark_cnn(filters=2), _sigmoid_model()):
        output = model.predict(images, verbose=0)
        want = output[:, 1] if output.shape[1] == 2 else output[:, 0]
        np.testing.assert_allclose(predict_proba(model, images, batch_size=4), want, atol=1e-6)


@pytest.mark.backend
def test_keras_tta_equals_the_mean_over_flipped_inputs(square_symmetries):
    from idckit.models import build_benchmark_cnn

    model = build_benchmark_cnn(filters=2)
    images = _images(4)
    want = np.mean([model.predict(v, verbose=0)[:, 1] for v in square_symmetries(images)], axis=0)
    got = predict_proba(model, images, tta=True, batch_size=3)
    # 1e-5: on a GPU (JAX, H200) other batchings of the same images differ by up to 2e-6
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert not np.allclose(got, predict_proba(model, images), atol=1e-6)  # TTA did something


def test_bad_arguments_are_clear_errors():
    model = CornerModel()
    with pytest.raises(ValueError, match=r"Invalid `images` for predict_proba: expected RGB"):
        predict_proba(model, np.zeros((2, 50, 50), np.uint8))
    with pytest.raises(ValueError, match=r"square patches for tta=True"):
        predict_proba(model, np.zeros((2, 50, 40, 3), np.uint8), tta=True)
    assert predict_proba(model, np.zeros((2, 50, 40, 3), np.uint8)).shape == (2,)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match=r"Invalid `batch_size`.*an integer >= 1"):
            predict_proba(model, np.zeros((2, 50, 50, 3), np.uint8), batch_size=bad)
