"""The commands that load Keras print none of TensorFlow's C++ start-up lines by default."""

import json
import os
import subprocess
import sys

import pytest

from idckit.datasets import make_synthetic
from idckit.models import build_benchmark_cnn
from idckit.training import KFoldTrainer, TrainingConfig

BACKEND_CHATTER = ("I0000", "W0000", "E0000", "cuInit", "absl::InitializeLog", "oneDNN")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from idckit.data import IDCPatchDataset

    root = make_synthetic(tmp_path_factory.mktemp("data") / "d", n_patients=6,
                          patches_per_patient=10, seed=0)  # fmt: skip
    run_dir = tmp_path_factory.mktemp("run")
    dataset = IDCPatchDataset.from_directory(root, progress=False)
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=16)
    KFoldTrainer(build_benchmark_cnn, config, out_dir=run_dir, verbose=0).fit(dataset)
    return run_dir, root


def _evaluate(finished_run, *flags, **env):
    run_dir, root = finished_run
    clean = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "IDCKIT_DEBUG")
    }
    return subprocess.run(
        [sys.executable, "-m", "idckit", *flags, "evaluate", str(run_dir), str(root), "--json"],
        capture_output=True, text=True, env={**clean, **env}, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.slow
def test_evaluate_prints_its_json_and_nothing_on_stderr(finished_run):
    done = _evaluate(finished_run)
    assert done.returncode == 0, done.stderr
    assert "f1_pos" in json.loads(done.stdout)
    assert not any(line in done.stderr for line in BACKEND_CHATTER), done.stderr
    assert done.stderr.strip() == ""


@pytest.mark.slow
def test_a_level_the_user_set_is_left_alone(finished_run):
    import keras

    done = _evaluate(finished_run, TF_CPP_MIN_LOG_LEVEL="0")
    assert done.returncode == 0, done.stderr
    if keras.backend.backend() == "tensorflow":
        assert "I0000" in done.stderr  # level 0: the user asked for TensorFlow's start-up logs
