"""Augmentation through the Keras feed, KFoldTrainer (config.json, resume) and Recipe."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from idckit.data import Augmentation, IDCPatchDataset
from idckit.data._augment import augment_batch

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COLOUR = Augmentation(hed=0.05, brightness=10, contrast=0.1, saturation=0.1)


def _dataset(n=24, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(30, 220, size=(n, 50, 50, 3), dtype=np.uint8)
    return IDCPatchDataset(np.arange(n) % 2, [f"p{i % 6}" for i in range(n)], images=images)


def _epoch(feed):
    return [feed[i] for i in range(len(feed))]


def test_true_gives_the_batches_of_the_dihedral_feed_before_augmentation_objects():
    ds = _dataset()
    feed = ds.to_keras(batch_size=8, augment=True, seed=4)
    same = ds.to_keras(batch_size=8, augment=Augmentation(), seed=4)
    for epoch in range(2):
        for i, (x, y) in enumerate(_epoch(feed)):
            pick = feed.order[i * 8 : (i + 1) * 8]  # the previous feed's draws, done by hand
            old = augment_batch(ds.images[pick], np.random.default_rng([4, epoch, i]))
            np.testing.assert_array_equal(x, old)
            np.testing.assert_array_equal(same[i][0], x)
            np.testing.assert_array_equal(y, ds.labels[pick])
        feed.on_epoch_end()
        same.on_epoch_end()


def test_colour_augmentation_in_the_feed_is_seeded_and_keeps_the_contract():
    ds = _dataset()
    x, y = ds.to_keras(batch_size=8, shuffle=False, augment=COLOUR, seed=1)[0]
    assert x.dtype == np.uint8 and x.shape == (8, 50, 50, 3) and y.dtype == np.int32
    again = ds.to_keras(batch_size=8, shuffle=False, augment=COLOUR, seed=1)[0][0]
    other = ds.to_keras(batch_size=8, shuffle=False, augment=COLOUR, seed=2)[0][0]
    np.testing.assert_array_equal(again, x)
    assert not np.array_equal(other, x)
    dihedral = ds.to_keras(batch_size=8, shuffle=False, augment=True, seed=1)[0][0]
    assert not np.array_equal(dihedral, x)  # the colour steps changed the pixels too
    plain = ds.to_keras(batch_size=8, shuffle=False, augment=Augmentation(dihedral=False))
    np.testing.assert_array_equal(plain[0][0], ds.images[:8])


@pytest.mark.parametrize("augment", ["hed", 2, {"gamma": 1}])
def test_bad_augment_in_the_feed_is_a_clear_error(augment):
    with pytest.raises(ValueError, match=r"Invalid `augment` for IDCPatchDataset\.to_keras"):
        _dataset(4).to_keras(augment=augment)


@pytest.mark.backend
def test_a_model_trains_a_step_on_the_colour_augmented_feed(tiny_sigmoid_model):
    feed = _dataset(8).to_keras(batch_size=8, augment=COLOUR, seed=0)
    history = tiny_sigmoid_model.fit(feed, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_recipes_accept_and_record_an_augmentation():
    from idckit.training import KFoldTrainer, get_recipe

    recipe = get_recipe("cpu").replace(augment=COLOUR)
    assert json.loads(json.dumps(recipe.to_dict()))["config"]["augment"] == COLOUR.to_dict()
    assert KFoldTrainer.from_recipe(recipe).config.augment == COLOUR
    hed_strong = {"dihedral": True, "hed": 0.2, "hed_shift": 0.2, "brightness": 0.0,
                  "contrast": 0.0, "saturation": 0.0}  # fmt: skip
    assert get_recipe("cpu").to_dict()["config"]["augment"] == hed_strong
    assert get_recipe("cpu").replace(augment=True).to_dict()["config"]["augment"] is True
    with pytest.raises(ValueError, match=r"Invalid `augment` for TrainingConfig"):
        get_recipe("cpu").replace(augment="flips")


def test_trainer_validates_augment_and_records_equal_settings_equally():
    from idckit.training import KFoldTrainer, TrainingConfig, model_builder

    ds = _dataset()

    def stored(augment):
        trainer = KFoldTrainer(model_builder("benchmark"), TrainingConfig(augment=augment))
        return trainer.run_config(ds)["augment"]

    assert TrainingConfig(augment=True).augment is True
    assert TrainingConfig(augment=COLOUR.to_dict()).augment == COLOUR
    assert stored(True) is True
    assert stored(Augmentation()) is True
    assert stored(COLOUR) == COLOUR.to_dict()
    with pytest.raises(ValueError, match=r"Invalid `augment` for TrainingConfig"):
        TrainingConfig(augment="flips")


@pytest.mark.slow  # one tiny 2-fold, 1-epoch run (a few seconds on 2 cores)
def test_config_json_records_the_augmentation_and_resume_refuses_another(tmp_path):
    from idckit.training import KFoldTrainer, Run, TrainingConfig, model_builder

    ds = _dataset(24)
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=8, augment=COLOUR)
    trainer = KFoldTrainer(
        model_builder("benchmark", filters=2), config, out_dir=tmp_path / "run", verbose=0
    )
    trainer.fit(ds)
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    assert stored["augment"] == COLOUR.to_dict()
    assert Run.load(tmp_path / "run").config.augment == COLOUR
    trainer.clone(resume=True).fit(ds)  # same settings: resumes (nothing left to train)
    with pytest.raises(ValueError, match=r"augment\.hed: stored 0\.05, now 0\.1"):
        trainer.clone(resume=True, config=config.replace(augment=Augmentation(hed=0.1))).fit(ds)
    with pytest.raises(
        ValueError, match=r"augment: stored 'absent', now True; augment\.brightness: stored 10\.0"
    ):
        trainer.clone(resume=True, config=config.replace(augment=True)).fit(ds)
