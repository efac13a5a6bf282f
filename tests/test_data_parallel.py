"""Batches that split evenly under a data-parallel keras.distribution layout.

Most tests stand a fake layout in for ``keras.distribution.distribution()``, so they need no
real layout and one device; the last one trains for real on two JAX CPU devices.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import keras
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit._data_parallel import batch_shards, check_batch_size, pad_rows
from idckit.data import IDCPatchDataset
from idckit.inference import predict_proba


def fake_layout(shape=(2,), axis_names=("batch",), batch_dim_name="batch"):
    mesh = SimpleNamespace(shape=shape, axis_names=axis_names)
    return SimpleNamespace(device_mesh=mesh, batch_dim_name=batch_dim_name)


@contextlib.contextmanager
def data_parallel(n):
    """Pretend a DataParallel layout over ``n`` devices is set."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(keras.distribution, "distribution", lambda: fake_layout((n,)))
        yield


@pytest.fixture
def devices():
    """Call ``devices(n)`` to pretend a DataParallel layout over ``n`` devices is set."""
    with contextlib.ExitStack() as stack:
        yield lambda n: stack.enter_context(data_parallel(n))


def _indexed(n):
    """Patch i holds the value i everywhere, label i % 2."""
    images = np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, 50, 50, 3))
    return IDCPatchDataset(
        np.arange(n) % 2, [f"p{i % 5}" for i in range(n)], images=np.array(images)
    )


def _epoch(feed):
    return [feed[i] for i in range(len(feed))]


def test_without_a_layout_batches_are_not_split():
    assert keras.distribution.distribution() is None
    assert batch_shards() == 1


@pytest.mark.parametrize(
    ("shape", "axis_names", "expected"),
    [((2, 4), ("batch", "model"), 2), ((2, 4), ("model", "batch"), 4)],
)
def test_shards_are_the_size_of_the_mesh_batch_dimension(monkeypatch, shape, axis_names, expected):
    monkeypatch.setattr(keras.distribution, "distribution", lambda: fake_layout(shape, axis_names))
    assert batch_shards() == expected


def test_a_batch_size_that_does_not_split_is_a_clear_error(devices):
    devices(4)
    check_batch_size(8, "KFoldTrainer")
    with pytest.raises(
        ValueError,
        match=r"`batch_size` for KFoldTrainer: expected a multiple of 4.*=10\. Use batch_size=12",
    ):
        check_batch_size(10, "KFoldTrainer")


def test_pad_rows_repeats_the_last_row():
    np.testing.assert_array_equal(pad_rows(np.arange(6).reshape(3, 2), 4)[3:], [[4, 5]])
    assert pad_rows(np.arange(4), 4).shape == (4,)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), shards=st.integers(1, 4), per_device=st.integers(1, 5))
def test_a_training_feed_leaves_out_fewer_patches_than_devices(n, shards, per_device):
    batch_size = shards * per_device
    if n < shards:
        with data_parallel(shards), pytest.raises(ValueError, match=f"at least {shards} patch"):
            _indexed(n).to_keras(batch_size=batch_size, seed=0)
        return
    with data_parallel(shards):
        feed = _indexed(n).to_keras(batch_size=batch_size, seed=0)
    left_out = set()
    for _ in range(8):
        batches = _epoch(feed)
        assert all(len(x) % shards == 0 for x, _ in batches)
        seen = np.concatenate([x[:, 0, 0, 0] for x, _ in batches])
        assert len(set(seen.tolist())) == len(seen) > n - shards  # none twice, < shards left out
        assert len(seen) == feed.patches_per_epoch == n - n % batch_size % shards
        left_out |= set(range(n)) - set(seen.tolist())
        feed.on_epoch_end()
    if n - len(seen) and n > 10:  # other patches are left out in other epochs
        assert len(left_out) > n - len(seen)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), shards=st.integers(1, 4), per_device=st.integers(1, 5))
def test_an_unshuffled_feed_keeps_the_order_and_leaves_out_only_the_last_patches(
    n, shards, per_device
):
    with data_parallel(shards):
        if n < shards:
            with pytest.raises(ValueError, match=f"at least {shards} patch"):
                _indexed(n).to_keras(batch_size=shards * per_device, shuffle=False)
            return
        feed = _indexed(n).to_keras(batch_size=shards * per_device, shuffle=False)
    fed = np.concatenate([x[:, 0, 0, 0] for x, _ in _epoch(feed)]).tolist()
    assert fed == list(range(feed.patches_per_epoch)) and n - shards < len(fed) <= n


class RecordingModel:
    """P(IDC+) is the top-left red value / 255; records the size of every predicted batch."""

    def __init__(self):
        self.sizes = []

    def predict(self, images, batch_size, verbose):
        self.sizes.append(len(images))
        p = images[:, 0, 0, 0].astype(np.float64) / 255
        return np.stack([1 - p, p], axis=1)


@pytest.mark.parametrize("tta", [False, True])
def test_predictions_pad_for_the_devices_and_drop_the_copies(devices, tta):
    images = np.random.default_rng(0).integers(0, 256, (13, 50, 50, 3), dtype=np.uint8)
    expected = predict_proba(RecordingModel(), images, tta=tta, batch_size=4)
    devices(2)
    model = RecordingModel()
    got = predict_proba(model, images, tta=tta, batch_size=4)
    np.testing.assert_array_equal(got, expected)
    assert set(model.sizes) == {14}
    with pytest.raises(ValueError, match="expected a multiple of 2"):
        predict_proba(model, images, batch_size=5)


def test_kfold_trainer_refuses_a_batch_size_that_does_not_split_before_writing(devices, tmp_path):
    from idckit.models import build_benchmark_cnn
    from idckit.training import KFoldTrainer, TrainingConfig

    devices(4)
    config = TrainingConfig(n_splits=2, batch_size=6)
    trainer = KFoldTrainer(build_benchmark_cnn, config, out_dir=tmp_path / "run")
    with pytest.raises(ValueError, match="multiple of 4"):
        trainer.fit(_indexed(20))
    assert not (tmp_path / "run").exists()


TWO_DEVICES = """
import json, sys
import jax, keras, numpy as np
keras.distribution.set_distribution(keras.distribution.DataParallel())
from idckit.data import IDCPatchDataset
from idckit.inference import predict_proba
from idckit.training import KFoldTrainer, TrainingConfig, model_builder

root, out = sys.argv[1:3]
models = []
def build():
    models.append(model_builder("benchmark", filters=4)())
    return models[-1]

dataset = IDCPatchDataset.from_directory(root, progress=False)
config = TrainingConfig(n_splits=2, epochs=1, batch_size=16)
trainer = KFoldTrainer(build, config, out_dir=out, verbose=0)
result = trainer.fit(dataset)
images = dataset.load_images(np.arange(7))
sharded = predict_proba(models[0], images, batch_size=4)
keras.distribution.set_distribution(None)
single = predict_proba(models[0], images, batch_size=4)
print(json.dumps({
    "devices": len(jax.devices()),
    "weight_devices": len(models[0].trainable_variables[0].value.sharding.device_set),
    "folds": len(result.folds),
    "patches": len(dataset),
    "max_prediction_difference": float(np.abs(sharded - single).max()),
}))
"""


@pytest.mark.backend
@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX (nox -s tests-jax)")
def test_kfold_training_on_two_jax_devices_with_uneven_batches(tmp_path):
    from idckit.datasets import make_synthetic

    # 9 x 23 = 207 patches: the folds' last batches of 16 hold odd numbers of patches.
    root = make_synthetic(tmp_path / "data", n_patients=9, patches_per_patient=23, seed=0)
    script = tmp_path / "two_devices.py"
    script.write_text(TWO_DEVICES)
    env = {
        **os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu",
    }  # fmt: skip
    out = subprocess.run(
        [sys.executable, str(script), str(root), str(tmp_path / "run")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen.pop("max_prediction_difference") < 1e-5
    assert seen == {"devices": 2, "weight_devices": 2, "folds": 2, "patches": 207}
    oof = (tmp_path / "run" / "oof.csv").read_text().strip().splitlines()
    assert len(oof) == 1 + 207  # every patch predicted once, out of fold
