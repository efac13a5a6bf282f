"""KFoldTrainer with the flips/rotations in the model (RandomDihedral) instead of the feed."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from idckit.models import RandomDihedral, build_idc_cnn
from idckit.training import KFoldTrainer, Run, TrainingConfig

pytestmark = pytest.mark.backend


def _augmented_cnn() -> keras.Model:
    return keras.Sequential(
        [keras.Input((50, 50, 3)), RandomDihedral(seed=0), build_idc_cnn(width=2, depth=2)]
    )


def test_a_model_with_random_dihedral_in_front_trains_saves_and_reloads(tiny_dataset, tmp_path):
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=16, augment=False)
    trainer = KFoldTrainer(_augmented_cnn, config, out_dir=tmp_path / "run", verbose=0)
    result = trainer.fit(tiny_dataset)
    assert len(result.folds) == 2
    reloaded = Run.load(tmp_path / "run")
    probs = reloaded.predictions(tiny_dataset).prob_idc
    np.testing.assert_allclose(probs, trainer.run_.predictions(tiny_dataset).prob_idc, atol=1e-5)
    first = keras.saving.load_model(tmp_path / "run" / "fold_1" / "model.keras", safe_mode=True)
    assert isinstance(first.layers[0], RandomDihedral)
