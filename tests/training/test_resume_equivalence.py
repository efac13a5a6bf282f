"""Resume equals uninterrupted: a fold killed after any epoch and resumed ends bit for bit where
a never-killed run with the same seed ends (weights, metrics, out-of-fold predictions).

The kill is simulated in-process: a callback raises after the epoch's ``state.json`` is
committed (the point a SIGKILL between epochs leaves; a kill inside an epoch leaves the previous
commit, test_kfold_resume_kill.py kills a real process). The resumed trainer loads the
checkpoint into a new model, as a new process would: fresh random generators, a fresh feed.
TensorFlow CPU kernels are deterministic here without ``enable_op_determinism``: the test
compares exactly.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from idckit.training import KFoldTrainer, TrainingConfig, model_builder

CONFIG = TrainingConfig(n_splits=2, epochs=3, batch_size=32, seed=3)
# The benchmark CNN with the feed's flips and rotations (batch order and augmentation), and a
# CNN with Dropout and BatchNormalization (the model's own random generators).
CASES = {
    "benchmark+augment": (model_builder("benchmark", filters=2), CONFIG.replace(augment=True)),
    "idc_cnn+dropout": (model_builder("idc_cnn", width=2, depth=1, dropout=0.5), CONFIG),
}


class KilledError(Exception):
    """Stands for the process being killed."""


def _killer(fold: int, epoch: int):
    import keras

    class KillAfterEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, done, logs=None):
            if done + 1 == epoch:
                raise KilledError(f"fold {fold} after epoch {epoch}")

    return lambda k: [KillAfterEpoch()] if k == fold else []


def _train(tiny_dataset, out, case, **kwargs):
    build, config = CASES[case]
    return KFoldTrainer(build, config, out_dir=out, verbose=0, **kwargs).fit(tiny_dataset)


def _weights(run, fold):
    import keras

    import idckit.models  # noqa: F401 - registers idckit's layers

    model = keras.saving.load_model(run / f"fold_{fold}" / "model.keras", compile=False)
    return [np.asarray(w) for w in model.get_weights()]


@pytest.fixture(scope="module")
def uninterrupted(tiny_dataset, tmp_path_factory):
    runs = {}
    for case in CASES:
        out = tmp_path_factory.mktemp("uninterrupted") / case
        runs[case] = (out, _train(tiny_dataset, out, case))
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("fold", "epoch"), [(1, 1), (2, 2)])
def test_a_run_killed_after_any_epoch_resumes_to_the_uninterrupted_result(
    tiny_dataset, tmp_path, uninterrupted, case, fold, epoch
):
    out = tmp_path / "run"
    with pytest.raises(KilledError):
        _train(tiny_dataset, out, case, callbacks=_killer(fold, epoch))
    state = json.loads((out / f"fold_{fold}" / "state.json").read_text())
    assert state["epoch"] == epoch  # killed mid-fold, as a SIGKILL after the commit leaves it
    resumed = _train(tiny_dataset, out, case, resume=True)

    reference_dir, reference = uninterrupted[case]
    for k in (1, 2):
        for ours, theirs in zip(_weights(out, k), _weights(reference_dir, k), strict=True):
            np.testing.assert_array_equal(ours, theirs)
    assert [f.metrics for f in resumed.folds] == [f.metrics for f in reference.folds]
    assert [f.best_epoch for f in resumed.folds] == [f.best_epoch for f in reference.folds]
    np.testing.assert_array_equal(resumed.oof.prob_idc, reference.oof.prob_idc)
    assert resumed.threshold == reference.threshold
    history = (out / f"fold_{fold}" / "history.csv").read_text()
    assert history == (reference_dir / f"fold_{fold}" / "history.csv").read_text()
