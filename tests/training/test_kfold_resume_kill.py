"""Kill a real training process (SIGKILL) in the middle of a fold, then resume it."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

SCRIPT = """
import sys
import keras
from idckit.data import IDCPatchDataset
from idckit.training import KFoldTrainer, TrainingConfig, model_builder

root, cache, out = sys.argv[1:4]


class Steps(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        print(f"optimizer steps {int(self.model.optimizer.iterations)}", flush=True)

dataset = IDCPatchDataset.from_directory(root, cache_dir=cache, progress=False)
KFoldTrainer(
    model_builder("benchmark", filters=4),
    TrainingConfig(n_splits=2, epochs=3, batch_size=16, seed=1),
    out_dir=out, resume=True, callbacks=[Steps()],
).fit(dataset)
"""


def _start(tmp_path, tiny_root):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, str(script), str(tiny_root), str(tmp_path / "cache"),
            str(tmp_path / "run")]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)  # fmt: skip


def _history(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_a_killed_run_resumes_without_retraining_finished_folds(tmp_path, tiny_root):
    import keras

    run = tmp_path / "run"
    process = _start(tmp_path, tiny_root)
    deadline, seen = time.monotonic() + 300, []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("fold 2/2 epoch 1/3"):
            os.kill(process.pid, signal.SIGKILL)  # mid-run: fold 1 done, fold 2 in epoch 2
            break
        assert time.monotonic() < deadline, "".join(seen)
    process.stdout.close()
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "".join(seen)

    # What the kill left: fold 1 finished, fold 2 checkpointed, no run report.
    assert (run / "fold_1" / "metrics.json").is_file()
    assert not (run / "fold_2" / "metrics.json").exists() and not (run / "report.json").exists()
    before_kill = _history(run / "fold_2" / "history.csv")
    assert 1 <= len(before_kill) < 3
    fold_1 = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (run / "fold_1").iterdir()}

    resumed = _start(tmp_path, tiny_root)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert "fold 1/2: finished earlier, not retrained" in output
    assert f"fold 2: resuming after epoch {len(before_kill)}" in output
    assert "fold 1/2 epoch" not in output

    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (run / "fold_1").iterdir()} \
        == fold_1  # fmt: skip
    history = _history(run / "fold_2" / "history.csv")
    assert [row["epoch"] for row in history] == ["1", "2", "3"]
    assert history[: len(before_kill)] == before_kill
    # The optimizer state came back with the checkpoint: its step count spans all 3 epochs.
    import idckit.models  # registers idckit's layers
    import idckit.training._metrics  # noqa: F401 - registers the fold metrics
    from idckit.metrics import StreamingF1

    model = keras.saving.load_model(
        run / "fold_2" / "model.keras", custom_objects={"StreamingF1": StreamingF1}
    )
    train_patches = sum(1 for p in (tiny_root).glob("*/*/*.png")
                        if p.parts[-3] in _train_patients(run, 2))  # fmt: skip
    steps = -(-train_patches // 16)
    assert f"optimizer steps {3 * steps}" in output  # at the end of fold 2's training
    best_epoch = json.loads((run / "fold_2" / "metrics.json").read_text())["best_epoch"]
    assert int(model.optimizer.iterations) == best_epoch * steps  # saved with the best weights
    assert (run / "report.json").is_file()
    leftovers = [
        p.name
        for p in run.rglob("*")
        if p.name.startswith((".tmp-", "checkpoint-", "best-", "state.json"))
    ]
    assert leftovers == []


def _train_patients(run, fold):
    return set(json.loads((run / "splits.json").read_text())["folds"][fold - 1]["train_patients"])
