"""KFoldTrainer and Run with stain normalisation: one tiny 2-fold run, normalised per patient."""

import json
import warnings

import numpy as np
import pytest

from idckit.data import MacenkoNormalizer, StainNormalization, normalizer_from_dict
from idckit.data._normalize import FIT_PATCHES, _sample_rows, fit_normalizer
from idckit.training import KFoldTrainer, Predictions, Run, TrainingConfig, model_builder

pytestmark = pytest.mark.slow  # one shared 2-fold, 1-epoch run


@pytest.fixture(scope="module")
def run(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("stain") / "run"
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=16, seed=3,
                            stain_normalization="macenko")  # fmt: skip
    trainer = KFoldTrainer(model_builder("benchmark", filters=2), config, out_dir=out, verbose=0)
    trainer.fit(tiny_dataset)
    return trainer


def test_the_setting_is_recorded_and_the_fitted_normaliser_stored(run, tiny_dataset):
    config = json.loads((run.run_dir_ / "config.json").read_text())
    assert config["stain_normalization"] == {"method": "macenko", "per": "patient"}
    stored = normalizer_from_dict(json.loads((run.run_dir_ / "normalizer.json").read_text()))
    expected = fit_normalizer(StainNormalization("macenko"), tiny_dataset, seed=3)
    assert stored == expected and stored == run.run_.normalizer


def test_the_folds_trained_and_validated_on_the_normalised_patches(run, tiny_dataset):
    normalized = tiny_dataset.normalized(run.run_.normalizer, per="patient")
    assert not np.array_equal(normalized.images, tiny_dataset.images)
    for fold, model in zip(run.result_.folds, run.run_.fold_models(), strict=True):
        val = normalized.subset(list(fold.val_patients))
        stored = Predictions.from_csv(run.run_dir_ / f"fold_{fold.fold}" / "val_predictions.csv")
        np.testing.assert_allclose(
            stored.prob_idc, model.predict(val.images, verbose=0)[:, 1], atol=1e-6
        )


def test_a_loaded_run_normalises_new_patches_as_in_training(run, tiny_dataset):
    loaded = Run.load(run.run_dir_)
    normalized = tiny_dataset.normalized(loaded.normalizer, per="patient")
    expected = np.mean([m.predict(normalized.images, verbose=0)[:, 1]
                        for m in loaded.fold_models()], axis=0)  # fmt: skip
    np.testing.assert_allclose(loaded.predict_proba(tiny_dataset), expected, atol=1e-6)


def test_images_are_normalised_each_on_its_own_with_a_warning(run, tiny_dataset):
    images = tiny_dataset.images[:5]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prob = run.run_.predict_proba(images)
    assert any("each on its own" in str(w.message) for w in caught)
    own = run.run_.normalizer.transform(images)
    expected = np.mean([m.predict(own, verbose=0)[:, 1] for m in run.run_.fold_models()], 0)
    np.testing.assert_allclose(prob, expected, atol=1e-6)


def test_a_run_without_its_normaliser_file_says_so(run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run.run_dir_, copy)
    (copy / "normalizer.json").unlink()
    with pytest.raises(ValueError, match=r"normalizer\.json"):
        Run.load(copy).predict_proba(np.zeros((1, 50, 50, 3), np.uint8))


def test_the_fit_sample_takes_an_equal_share_of_every_patient():
    patients = np.repeat(["a", "b", "c"], [10, 5000, 6000])
    rows = _sample_rows(patients, FIT_PATCHES, seed=0)
    counts = dict(zip(*np.unique(patients[rows], return_counts=True), strict=True))
    assert counts == {"a": 10, "b": FIT_PATCHES // 3, "c": FIT_PATCHES // 3}
    assert np.array_equal(rows, np.sort(rows)) and len(set(rows)) == len(rows)


def test_normalized_caches_beside_the_decoded_pixels_and_reuses_them(tiny_dataset):
    normalizer = MacenkoNormalizer().fit(tiny_dataset.images[:50])
    first = tiny_dataset.normalized(normalizer)
    folder, _ = tiny_dataset.cache_status()
    files = sorted(folder.glob("normalized-*.npy"))
    assert len(files) >= 1
    again = tiny_dataset.normalized(normalizer)
    assert sorted(folder.glob("normalized-*.npy")) == files  # reused, not written again
    np.testing.assert_array_equal(first.images, again.images)
    patch = tiny_dataset.normalized(normalizer, per="patch")
    np.testing.assert_array_equal(patch.images, normalizer.transform(tiny_dataset.images))
    one = tiny_dataset.subset(tiny_dataset.patient_ids[0])
    np.testing.assert_array_equal(
        one.normalized(normalizer).images,
        normalizer.transform(one.images, groups=np.zeros(len(one))),
    )
    with pytest.raises(ValueError, match="Invalid `per`"):
        tiny_dataset.normalized(normalizer, per="slide")
    with pytest.raises(ValueError, match="a fitted stain normaliser"):
        tiny_dataset.normalized(MacenkoNormalizer())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("reinhard", StainNormalization("reinhard", "patient")),
     ({"method": "macenko", "per": "patch"}, StainNormalization("macenko", "patch")),
     (None, None)],
)  # fmt: skip
def test_the_setting_coerces_names_and_dicts(value, expected):
    assert TrainingConfig(stain_normalization=value).stain_normalization == expected
    config = TrainingConfig(stain_normalization=value)
    assert TrainingConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize("value", ["vahadane", {"method": "macenko", "per": "slide"}, 1])
def test_bad_settings_are_clear_errors(value):
    with pytest.raises(ValueError, match=r"Invalid `(stain_normalization|per|method)`"):
        TrainingConfig(stain_normalization=value)
