"""One writer per run directory: run.lock refuses a second one, naming its pid and host."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from idckit.training._lock import RunLock

HOLD = """
import sys, time
from idckit.training._lock import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("held", flush=True)
sys.stdin.readline()  # hold until the test says so
lock.release()
"""


@pytest.fixture
def holder(tmp_path):
    """A real second process that holds the lock of ``tmp_path / 'run'``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "run")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "held"
    yield process
    process.stdin.close()
    process.wait(timeout=30)
    process.stdout.close()


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_second_writer_is_refused_with_one_line_naming_the_holder(tmp_path, holder):
    with pytest.raises(ValueError) as caught:
        RunLock(tmp_path / "run").acquire()
    message = str(caught.value)
    assert "\n" not in message
    assert f"pid {holder.pid} on host {socket.gethostname()}" in message
    assert message.startswith("Invalid `out_dir` for KFoldTrainer: expected a run directory")


def test_the_trainer_refuses_a_run_directory_another_process_writes(tmp_path, holder):
    from idckit.models import build_benchmark_cnn
    from idckit.training import KFoldTrainer, TrainingConfig

    trainer = KFoldTrainer(build_benchmark_cnn, TrainingConfig(), out_dir=tmp_path / "run")
    with pytest.raises(ValueError, match=rf"held by pid {holder.pid} on host "):
        trainer.fit(object())  # refused before the data set is touched
    assert not (tmp_path / "run" / "config.json").exists()


def test_idckit_train_says_it_in_one_error_line(tmp_path, holder, tiny_root, capsys):
    from idckit.cli import main

    code = main(["train", str(tiny_root), "--out", str(tmp_path / "run"), "--epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("idckit train: error: ") and f"pid {holder.pid}" in err[0]


def test_the_lock_is_free_again_once_its_process_ends(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path / "run")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout.readline().strip() == "held"
    process.kill()  # SIGKILL: no release, the file stays with the dead holder's pid
    process.wait(timeout=30)
    process.stdin.close()
    process.stdout.close()
    assert json.loads((tmp_path / "run" / "run.lock").read_text())["pid"] == process.pid
    lock = RunLock(tmp_path / "run").acquire()
    assert lock.stale["pid"] == process.pid  # taken over
    lock.release()


def test_a_stale_lock_file_of_a_dead_process_is_taken_over_with_its_temporaries(tmp_path):
    run = tmp_path / "run"
    (run / "fold_1").mkdir(parents=True)
    dead = _dead_pid()
    stale = {"pid": dead, "host": socket.gethostname(), "started": "2020-01-01T00:00:00+00:00"}
    (run / "run.lock").write_text(json.dumps(stale))
    (run / f".tmp-{dead}-0a1b2c3d-summary.json").write_text("{")  # a killed writer's
    (run / "fold_1" / f".tmp-{dead}-0a1b2c3d-state.json").write_text("{")
    alive = run / f".tmp-{os.getppid()}-0a1b2c3d-oof.csv"  # a live process's: kept
    alive.write_text("")
    with RunLock(run) as lock:
        assert lock.stale == stale
        assert json.loads((run / "run.lock").read_text())["pid"] == os.getpid()
        assert sorted(p.name for p in run.rglob(".tmp-*")) == [alive.name]
    assert not (run / "run.lock").exists()


def test_the_lock_is_released_when_fit_fails(tmp_path):
    from idckit.models import build_benchmark_cnn
    from idckit.training import KFoldTrainer, TrainingConfig

    trainer = KFoldTrainer(build_benchmark_cnn, TrainingConfig(), out_dir=tmp_path / "run")
    with pytest.raises(AttributeError):
        trainer.fit(object())  # not a data set: fails inside the lock
    assert not (tmp_path / "run" / "run.lock").exists()
    RunLock(tmp_path / "run").acquire().release()


def test_a_lock_file_removed_under_a_waiting_opener_is_not_trusted(tmp_path, monkeypatch):
    # The holder releases (removes run.lock) between our open and our lock: we must lock the
    # file now at that name, not the removed one.
    import idckit.training._lock as module

    real = module._try_lock
    calls = []

    def racing(fd):
        if not calls:
            (tmp_path / "run.lock").unlink()  # as a releasing holder does
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(module, "_try_lock", racing)
    with RunLock(tmp_path):
        assert len(calls) == 2
        assert os.path.samestat(os.stat(tmp_path / "run.lock"), os.fstat(calls[-1]))
