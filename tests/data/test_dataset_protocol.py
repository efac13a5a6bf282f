"""``len(ds)``, ``ds[i]`` and ``iter(ds)``: the Python protocols a PyTorch or Keras user tries."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from idckit.data import IDCPatchDataset


def _dataset(n: int) -> IDCPatchDataset:
    images = np.arange(n * 50 * 50 * 3, dtype=np.int64).reshape(n, 50, 50, 3) % 251
    labels = np.arange(n) % 2
    return IDCPatchDataset(labels, ["p"] * n, images=images.astype(np.uint8))


@given(n=st.integers(1, 7), data=st.data())
def test_item_is_the_image_and_label_of_that_patch(n, data):
    ds = _dataset(n)
    i = data.draw(st.integers(-n, n - 1))
    image, label = ds[i]
    np.testing.assert_array_equal(image, ds.load_images([i % n])[0])
    assert label == int(ds.labels[i % n]) and isinstance(label, int)
    assert image.shape == (50, 50, 3) and image.dtype == np.uint8


def test_iteration_yields_every_patch_in_order():
    ds = _dataset(5)
    items = list(ds)
    assert len(items) == len(ds) == 5
    np.testing.assert_array_equal(np.stack([img for img, _ in items]), ds.load_images(range(5)))
    assert [label for _, label in items] == ds.labels.tolist()


def test_numpy_integers_index_like_ints():
    ds = _dataset(3)
    np.testing.assert_array_equal(ds[np.int64(2)][0], ds[2][0])


@pytest.mark.parametrize("index", [3, -4])
def test_out_of_range_index_raises_index_error(index):
    with pytest.raises(IndexError, match=r"patch index .* out of range for 3 patches"):
        _dataset(3)[index]


@pytest.mark.parametrize("index", [slice(0, 2), [0, 1], "a", 1.0, True])
def test_non_integer_index_points_to_take_and_load_images(index):
    with pytest.raises(TypeError, match=r"ds\.take\(indices\).*load_images"):
        _dataset(3)[index]
