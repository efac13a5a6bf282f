"""Augmentation: dihedral transforms and colour/stain jitter of uint8 batches (NumPy only)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from idckit.data import Augmentation
from idckit.data._augment import HED_FROM_RGB, RGB_FROM_HED, augment_batch, hed_jitter

STRENGTHS = st.fixed_dictionaries(
    {
        "dihedral": st.booleans(),
        "hed": st.floats(0, 0.99),
        "brightness": st.floats(0, 255),
        "contrast": st.floats(0, 0.99),
        "saturation": st.floats(0, 1),
    }
)


def _batches(n=None, side=None):
    """Random uint8 batches ``(n, side, side, 3)``."""
    n = st.integers(1, 5) if n is None else n
    side = st.integers(1, 8) if side is None else side
    return st.tuples(n, side).flatmap(
        lambda s: arrays(np.uint8, (s[0], s[1], s[1], 3), elements=st.integers(0, 255))
    )


def _rng(seed=0):
    return np.random.default_rng(seed)


@settings(max_examples=40, deadline=None)
@given(batch=_batches(), fields=STRENGTHS, seed=st.integers(0, 2**32))
def test_output_is_a_new_uint8_batch_of_the_same_shape(batch, fields, seed):
    before = batch.copy()
    out = Augmentation(**fields).apply(batch, _rng(seed))
    assert out.dtype == np.uint8 and out.shape == batch.shape
    np.testing.assert_array_equal(batch, before)  # the input is not changed in place


@settings(max_examples=25, deadline=None)
@given(batch=_batches())
def test_all_steps_off_is_the_identity(batch):
    aug = Augmentation(dihedral=False)
    assert aug.is_identity
    np.testing.assert_array_equal(aug.apply(batch, _rng()), batch)


@settings(max_examples=25, deadline=None)
@given(batch=_batches(), seed=st.integers(0, 2**32))
def test_dihedral_only_is_augment_batch_with_the_same_draws(batch, seed):
    np.testing.assert_array_equal(
        Augmentation().apply(batch, _rng(seed)), augment_batch(batch, _rng(seed))
    )
    for got, original in zip(Augmentation().apply(batch, _rng(seed)), batch, strict=True):
        assert sorted(got.reshape(-1, 3).tolist()) == sorted(original.reshape(-1, 3).tolist())


def test_the_stain_matrices_are_ruifrok_johnston_and_inverse():
    np.testing.assert_allclose(RGB_FROM_HED @ HED_FROM_RGB, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(RGB_FROM_HED, axis=1), 1.0)
    haematoxylin = np.array([0.65, 0.70, 0.29])
    np.testing.assert_allclose(RGB_FROM_HED[0], haematoxylin / np.linalg.norm(haematoxylin))


@settings(max_examples=30, deadline=None)
@given(batch=_batches())
def test_hed_round_trip_with_strength_zero_is_within_one_grey_level(batch):
    jittered = hed_jitter(batch, _rng(), 0.0)
    assert jittered.dtype == np.float32
    assert np.abs(jittered - batch).max() <= 1.0
    assert np.abs(np.rint(jittered) - batch).max() <= 1.0


def test_hed_jitter_matches_the_unvectorised_definition():
    batch = _rng(1).integers(0, 256, (3, 5, 5, 3), dtype=np.uint8)
    got = hed_jitter(batch, _rng(2), 0.3)
    draws = _rng(2)
    scale, shift = draws.uniform(0.7, 1.3, (3, 3)), draws.uniform(-0.3, 0.3, (3, 3)) * 0.2
    for patch, a, b, g in zip(batch, scale, shift, got, strict=True):
        stains = -np.log((patch.reshape(-1, 3) + 1.0) / 256.0) @ HED_FROM_RGB
        rgb = 256.0 * np.exp(-((stains * a + b) @ RGB_FROM_HED)) - 1.0
        np.testing.assert_allclose(g.reshape(-1, 3), np.clip(rgb, 0, 255), atol=0.02)


def test_hed_shift_sets_the_bound_of_the_stain_shift():
    batch = _rng(1).integers(0, 256, (3, 5, 5, 3), dtype=np.uint8)
    got = hed_jitter(batch, _rng(2), 0.2, shift=0.2)
    draws = _rng(2)
    scale, shift = draws.uniform(0.8, 1.2, (3, 3)), draws.uniform(-0.2, 0.2, (3, 3))
    for patch, a, b, g in zip(batch, scale, shift, got, strict=True):
        stains = -np.log((patch.reshape(-1, 3) + 1.0) / 256.0) @ HED_FROM_RGB
        rgb = 256.0 * np.exp(-((stains * a + b) @ RGB_FROM_HED)) - 1.0
        np.testing.assert_allclose(g.reshape(-1, 3), np.clip(rgb, 0, 255), atol=0.02)
    strong = Augmentation.hed_strong()
    assert (strong.hed, strong.hed_shift, strong.dihedral) == (0.2, 0.2, True)
    assert Augmentation.coerce(strong.to_dict()) == strong
    assert "hed_shift" not in Augmentation(hed=0.1).to_dict()  # as runs recorded it before


def test_hed_jitter_changes_the_stains_per_patch():
    batch = np.repeat(_rng(3).integers(40, 220, (1, 10, 10, 3), dtype=np.uint8), 8, axis=0)
    out = Augmentation(dihedral=False, hed=0.1).apply(batch, _rng())
    means = out.reshape(8, -1, 3).mean(axis=1)
    assert len({m.tobytes() for m in np.round(means, 3)}) == 8  # 8 different colourings
    assert np.abs(out.astype(int) - batch).mean() < 40  # a jitter, not a new image


@settings(max_examples=30, deadline=None)
@given(
    batch=_batches(side=st.integers(2, 8)).map(lambda b: (b // 3 + 85).astype(np.uint8)),
    strength=st.floats(1, 80),
    seed=st.integers(0, 2**32),
)
def test_brightness_shifts_each_patch_by_one_amount_within_the_strength(batch, strength, seed):
    out = Augmentation(dihedral=False, brightness=strength).apply(batch, _rng(seed))
    shift = out.astype(int) - batch  # values in [85, 170] never clip for shifts up to 80
    per_patch = shift.reshape(len(batch), -1)
    assert (per_patch == per_patch[:, :1]).all()
    assert (np.abs(per_patch[:, 0]) <= round(strength)).all()
    expected = np.rint(_rng(seed).uniform(-strength, strength, len(batch)).astype(np.float32))
    np.testing.assert_array_equal(per_patch[:, 0], expected)


def test_brightness_clips_at_the_ends():
    batch = np.stack([np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 255, np.uint8)] * 20)
    out = Augmentation(dihedral=False, brightness=100).apply(batch, _rng())
    assert out[0::2].max() > 0 and out[1::2].min() < 255  # shifted both ways, never wrapped
    assert {int(v) for v in out[0::2, 0, 0, 0] if v} <= set(range(1, 101))


@settings(max_examples=30, deadline=None)
@given(
    grey=arrays(np.uint8, (3, 6, 6, 1), elements=st.integers(0, 255)),
    contrast=st.floats(0, 0.99),
    saturation=st.floats(0, 1),
    brightness=st.floats(0, 50),
)
def test_contrast_saturation_and_brightness_keep_a_grey_patch_grey(
    grey, contrast, saturation, brightness
):
    batch = np.repeat(grey, 3, axis=-1)
    aug = Augmentation(contrast=contrast, saturation=saturation, brightness=brightness)
    out = aug.apply(batch, _rng())
    assert (out == out[..., :1]).all()


def test_saturation_scales_the_colour_around_the_grey():
    batch = np.tile(np.array([100, 150, 200], np.uint8), (4, 3, 3, 1))
    out = Augmentation(dihedral=False, saturation=0.5).apply(batch, _rng(5)).astype(float)
    factors = _rng(5).uniform(0.5, 1.5, 4)
    np.testing.assert_allclose(out[:, 0, 0], 150 + np.outer(factors, [-50, 0, 50]), atol=0.51)


def test_contrast_scales_around_the_patch_mean():
    batch = np.tile(np.array([90, 110], np.uint8).repeat(2).reshape(1, 2, 2, 1), (4, 1, 1, 3))
    out = Augmentation(dihedral=False, contrast=0.5).apply(batch, _rng(7)).astype(float)
    factors = _rng(7).uniform(0.5, 1.5, 4)
    np.testing.assert_allclose(out[:, 0, 0, 0], 100 - 10 * factors, atol=0.51)
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 100, atol=0.51)


@settings(max_examples=20, deadline=None)
@given(batch=_batches(), seed=st.integers(0, 2**32))
def test_the_same_seed_gives_the_same_batch(batch, seed):
    aug = Augmentation(hed=0.05, brightness=10, contrast=0.1, saturation=0.1)
    np.testing.assert_array_equal(aug.apply(batch, _rng(seed)), aug.apply(batch, _rng(seed)))


@pytest.mark.parametrize(
    "aug",
    [
        Augmentation(),
        Augmentation(dihedral=False, hed=0.05),
        Augmentation(dihedral=False, brightness=5),
        Augmentation(dihedral=False, contrast=0.1),
        Augmentation(dihedral=False, saturation=0.1),
    ],
)
def test_another_seed_gives_another_batch(aug):
    batch = _rng(9).integers(30, 220, (16, 8, 8, 3), dtype=np.uint8)
    outs = [aug.apply(batch, _rng(seed)) for seed in range(3)]
    assert not np.array_equal(outs[0], outs[1]) and not np.array_equal(outs[1], outs[2])


def test_true_and_false_and_dicts_coerce():
    assert Augmentation.coerce(True) == Augmentation()
    assert Augmentation.coerce(np.bool_(False)) is None and Augmentation.coerce(None) is None
    aug = Augmentation(dihedral=False, hed=0.05, brightness=8, contrast=0.2, saturation=0.3)
    assert Augmentation.coerce(json.loads(json.dumps(aug.to_dict()))) == aug
    assert Augmentation(brightness=3).brightness == 3.0 and Augmentation(hed=0).hed == 0.0


def test_describe_gives_equal_settings_equal_records():
    assert Augmentation.describe(True) is True
    assert Augmentation.describe(Augmentation()) is True
    assert Augmentation.describe(False) is False
    assert Augmentation.describe(Augmentation(dihedral=False)) is False
    aug = Augmentation(hed=0.04)
    assert Augmentation.describe(aug) == aug.to_dict()
    assert Augmentation.describe(aug.to_dict()) == aug.to_dict()


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"hed": 1.0}, r"Invalid `hed` for Augmentation: expected a number in \[0, 1\)"),
        ({"hed": -0.1}, r"Invalid `hed`.*Received: hed=-0\.1"),
        ({"brightness": 256}, r"Invalid `brightness`.*\[0, 255\]"),
        ({"contrast": 1}, r"Invalid `contrast`.*\[0, 1\)"),
        ({"saturation": 1.5}, r"Invalid `saturation`.*\[0, 1\]"),
        ({"hed_shift": 1.5}, r"Invalid `hed_shift`.*\[0, 1\]"),
        ({"saturation": float("nan")}, r"Invalid `saturation`"),
        ({"brightness": True}, r"Invalid `brightness`"),
        ({"contrast": "0.1"}, r"Invalid `contrast`"),
        ({"dihedral": 1}, r"Invalid `dihedral` for Augmentation: expected True or False"),
    ],
)
def test_bad_fields_are_clear_errors(fields, match):
    with pytest.raises(ValueError, match=match):
        Augmentation(**fields)


@pytest.mark.parametrize("value", ["flips", 1, {"hue": 0.1}])
def test_bad_augment_values_are_clear_errors(value):
    with pytest.raises(ValueError, match=r"Invalid `augment` for Augmentation: expected True"):
        Augmentation.coerce(value)


def test_the_augmentation_module_does_not_import_keras():
    import subprocess
    import sys

    code = "import sys, idckit.data._augment; print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_saturation_contrast_brightness_match_the_stepwise_definition():
    batch = _rng(11).integers(0, 256, (6, 7, 7, 3), dtype=np.uint8)
    aug = Augmentation(dihedral=False, brightness=30, contrast=0.4, saturation=0.6)
    got = aug.apply(batch, _rng(12))
    draws = _rng(12)
    sat, con = draws.uniform(0.4, 1.6, 6), draws.uniform(0.6, 1.4, 6)
    bright = draws.uniform(-30, 30, 6)
    for patch, s, c, b, out in zip(batch.astype(float), sat, con, bright, got, strict=True):
        grey = patch.mean(axis=-1, keepdims=True)
        saturated = grey + (patch - grey) * s
        contrasted = (saturated - saturated.mean()) * c + saturated.mean()
        expected = np.clip(np.rint(contrasted + b), 0, 255)
        assert np.abs(out - expected).max() <= 1  # float32 vs float64 may round differently


def _dihedral_reference(batch, seed):
    """One transform per patch, by the documented bits: 4 transpose, 1 flip rows, 2 columns."""
    kind = _rng(seed).integers(0, 8, size=len(batch))
    out = []
    for image, k in zip(batch, kind, strict=True):
        image = image.transpose(1, 0, 2) if k & 4 else image
        image = image[::-1] if k & 1 else image
        out.append(image[:, ::-1] if k & 2 else image)
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3, 4]), st.integers(0, 99))
def test_augment_batch_is_the_documented_transform_for_any_channels(n, side, channels, seed):
    batch = _rng(seed + 1).integers(0, 256, (n, side, side, channels)).astype(np.uint8)
    np.testing.assert_array_equal(
        augment_batch(batch, _rng(seed)), _dihedral_reference(batch, seed)
    )
    as_float = batch.astype(np.float32)  # other dtypes take the NumPy path: same transforms
    np.testing.assert_array_equal(
        augment_batch(as_float, _rng(seed)), _dihedral_reference(as_float, seed)
    )
