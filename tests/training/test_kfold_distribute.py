"""The tf.distribute path on CPU: two logical devices, MirroredStrategy, in a fresh process."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys
import tensorflow as tf

# Two logical CPUs must be configured before TensorFlow initialises its devices.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

from idckit.data import IDCPatchDataset
from idckit.training import KFoldTrainer, TrainingConfig, model_builder

root, cache, out = sys.argv[1:4]
seen = {}

def build():
    seen["built_in_scope"] = tf.distribute.get_strategy() is strategy
    model = model_builder("benchmark", filters=4)()
    seen["model"] = model
    return model

dataset = IDCPatchDataset.from_directory(root, cache_dir=cache, progress=False)
config = TrainingConfig(n_splits=2, epochs=1, batch_size=16)
result = KFoldTrainer(build, config, out_dir=out, strategy=strategy, verbose=0).fit(dataset)
model = seen.pop("model")
seen["replicas"] = strategy.num_replicas_in_sync
seen["weights"] = type(model.trainable_variables[0].value).__name__
seen["optimizer_state"] = type(model.optimizer.variables[1].value).__name__
seen["fit_strategy"] = type(model.distribute_strategy).__name__
seen["folds"] = len(result.folds)
print(json.dumps(seen))
"""


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(tmp_path, tiny_root):
    script = tmp_path / "dist.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    out = subprocess.run(
        [sys.executable, str(script), str(tiny_root), str(tmp_path / "c"), str(tmp_path / "r")],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {
        "built_in_scope": True,
        "replicas": 2,
        "weights": "MirroredVariable",
        "optimizer_state": "MirroredVariable",
        "fit_strategy": "MirroredStrategy",
        "folds": 2,
    }
    assert (tmp_path / "r" / "report.json").is_file()


def test_a_strategy_on_another_backend_points_to_keras_distribution(monkeypatch):
    import keras

    from idckit.training._distribute import check_strategy

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match=r"keras\.distribution\.DataParallel"):
        check_strategy(object())
