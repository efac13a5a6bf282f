"""The Keras feed: batch shapes, per-epoch shuffling, augmentation, and model.fit."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from idckit.data import IDCPatchDataset
from idckit.data._augment import augment_batch

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _indexed(n=37):
    """A dataset whose patch i holds the value i everywhere (so batches can be traced)."""
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 50, 50, 3))
    labels = np.arange(n) % 2
    return IDCPatchDataset(labels, [f"p{i % 5}" for i in range(n)], images=np.array(images))


def _epoch(feed):
    return [feed[i] for i in range(len(feed))]


def test_batches_have_the_contract_shapes_and_types():
    feed = _indexed(37).to_keras(batch_size=8, seed=0)
    batches = _epoch(feed)
    assert len(feed) == 5
    assert [len(x) for x, _ in batches] == [8, 8, 8, 8, 5]
    for x, y in batches:
        assert x.dtype == np.uint8 and x.shape[1:] == (50, 50, 3)
        assert y.dtype == np.int32 and y.shape == (len(x),)
        np.testing.assert_array_equal(y, x[:, 0, 0, 0] % 2)  # labels travel with their images
    with pytest.raises(IndexError):
        feed[5]


def test_each_epoch_is_a_new_permutation_of_all_patches():
    feed = _indexed(37).to_keras(batch_size=8, seed=3)
    orders = []
    for _ in range(3):
        order = np.concatenate([x[:, 0, 0, 0] for x, _ in _epoch(feed)])
        assert sorted(order.tolist()) == list(range(37))
        orders.append(order.tolist())
        feed.on_epoch_end()
    assert orders[0] != orders[1] != orders[2] and orders[0] != list(range(37))
    same = _indexed(37).to_keras(batch_size=8, seed=3)
    assert np.concatenate([x[:, 0, 0, 0] for x, _ in _epoch(same)]).tolist() == orders[0]


def test_without_shuffle_the_order_is_the_dataset_order():
    feed = _indexed(10).to_keras(batch_size=4, shuffle=False)
    assert np.concatenate([x[:, 0, 0, 0] for x, _ in _epoch(feed)]).tolist() == list(range(10))


def test_augmentation_moves_pixels_but_keeps_each_patch_multiset():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(64, 50, 50, 3), dtype=np.uint8)
    ds = IDCPatchDataset(np.arange(64) % 2, ["a"] * 64, images=images)
    feed = ds.to_keras(batch_size=64, shuffle=False, augment=True, seed=1)
    x, y = feed[0]
    np.testing.assert_array_equal(y, np.arange(64) % 2)
    for a, b in zip(x, images, strict=True):
        assert sorted(a.reshape(-1, 3).tolist()) == sorted(b.reshape(-1, 3).tolist())
    changed = [not np.array_equal(a, b) for a, b in zip(x, images, strict=True)]
    assert 40 < sum(changed) < 64  # about 7 in 8 patches are moved
    np.testing.assert_array_equal(feed[0][0], x)  # deterministic for one seed and epoch


def test_augment_batch_reaches_all_eight_symmetries(square_symmetries):
    square = np.arange(9, dtype=np.uint8).reshape(1, 3, 3, 1)
    batch = np.repeat(square, 400, axis=0)
    out = augment_batch(batch, np.random.default_rng(0))
    seen = {o.tobytes() for o in out}
    assert seen == {view.tobytes() for view in square_symmetries(square)} and len(seen) == 8


def test_a_feed_from_the_cache_gathers_the_right_rows(hostile, cache_dir):
    ds = IDCPatchDataset.from_directory(hostile["root"], cache_dir=cache_dir, progress=False)
    sub = ds.subset(["10002", "10003"])
    feed = sub.to_keras(batch_size=3, shuffle=False)
    x = np.concatenate([b[0] for b in _epoch(feed)])
    np.testing.assert_array_equal(x, sub.images)
    assert len(pickle.dumps(feed)) < sub.images.nbytes  # pickles the cache path, not pixels


@pytest.mark.parametrize("batch_size", [0, 2.5, True])
def test_bad_batch_size_is_a_clear_error(batch_size):
    with pytest.raises(ValueError, match="Invalid `batch_size`"):
        _indexed(4).to_keras(batch_size=batch_size)


def test_numpy_integer_batch_size_works_like_an_int():
    feed = _indexed(5).to_keras(batch_size=np.int64(2), shuffle=False)
    assert len(feed) == 3 and isinstance(feed.batch_size, int)


def test_workers_is_not_a_feed_setting():
    # removed: feed threads made GPU training slower (docs/benchmarks.rst, GPU training)
    with pytest.raises(TypeError, match="workers"):
        _indexed(4).to_keras(workers=2)


@pytest.mark.backend
def test_keras_reads_the_same_batches_in_order_in_one_worker():
    import keras

    # the mean of patch i is i, so the model's outputs trace which patch came where
    mean = keras.Sequential([keras.Input((50, 50, 3)), keras.layers.GlobalAveragePooling2D()])
    ds = _indexed(37)
    feed = ds.to_keras(batch_size=4, seed=5, augment=True)
    assert feed.workers == 1
    seen = mean.predict(feed, verbose=0)[:, 0]
    direct = ds.to_keras(batch_size=4, seed=5)
    expected = np.concatenate([x[:, 0, 0, 0] for x, _ in _epoch(direct)])
    np.testing.assert_array_equal(seen, expected)


@pytest.mark.backend
def test_model_fit_accepts_the_feed(tiny_sigmoid_model):
    feed = _indexed(16).to_keras(batch_size=8, augment=True, seed=0)
    history = tiny_sigmoid_model.fit(feed, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(history.history["loss"]).all()
