"""Stain normalisation (Macenko, Reinhard): recovery of known stains, groups, edge cases, I/O."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from idckit.data import _stain
from idckit.data._augment import _OD_OF_UINT8, RGB_FROM_HED
from idckit.data._stain import (
    MIN_TISSUE_PIXELS,
    MacenkoNormalizer,
    NotFittedError,
    ReinhardNormalizer,
    normalizer_from_dict,
    od_to_rgb,
    rgb_to_od,
)

HE = RGB_FROM_HED[:2]  # Ruifrok-Johnston haematoxylin and eosin, unit OD rows
CLASSES = [MacenkoNormalizer, ReinhardNormalizer]


def _rotated(stains, degrees, seed):
    """Each stain turned by ``degrees`` towards a random direction (still unit, still >= 0)."""
    rng = np.random.default_rng(seed)
    out = []
    for v in stains:
        w = rng.normal(size=3)
        w -= (w @ v) * v
        w /= np.linalg.norm(w)
        t = np.radians(degrees)
        out.append(np.abs(np.cos(t) * v + np.sin(t) * w))
    out = np.array(out)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def _stained(stains=HE, n=4, side=50, scale=1.0, seed=0, background=0.0):
    """Beer-Lambert images ``od = concentrations @ stains``: each pixel a mix of the two stains.

    ``background``: the share of pixels left white.
    """
    rng = np.random.default_rng(seed)
    mix = rng.uniform(0, 1, (n, side, side, 1))
    amount = rng.uniform(0.5, 3.0, (n, side, side, 1)) * scale
    od = np.concatenate([mix, 1 - mix], axis=-1) * amount @ stains
    od[rng.uniform(size=(n, side, side)) < background] = 0.0
    return od_to_rgb(od)


def _angles(a, b):
    """Angles in degrees between the rows of ``a`` and ``b``."""
    cos = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _lab_stats(images):
    lab = cv2.cvtColor(images.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3)
    return lab.mean(axis=0), lab.std(axis=0)


# --- optical density ---------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 4), st.integers(1, 5), st.just(3))))
def test_od_round_trip_of_uint8_is_exact(rgb):
    od = rgb_to_od(rgb)
    assert od.dtype == np.float32 and od.shape == rgb.shape
    np.testing.assert_array_equal(od, _OD_OF_UINT8[rgb])  # augmentation's convention
    np.testing.assert_allclose(od, -np.log((rgb + 1.0) / 256.0), atol=1e-6)
    np.testing.assert_array_equal(od_to_rgb(od), rgb)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.integers(1, 20), elements=st.floats(0, 255)))
def test_od_round_trip_of_floats_is_within_rounding(rgb):
    od = rgb_to_od(rgb)
    np.testing.assert_allclose(od, -np.log((rgb + 1.0) / 256.0), rtol=1e-6, atol=1e-6)
    assert np.abs(od_to_rgb(od).astype(float) - rgb).max() <= 0.5 + 1e-3


def test_od_to_rgb_clips_to_uint8():
    out = od_to_rgb(np.array([-3.0, 0.0, 100.0, np.log(256.0)]))
    assert out.dtype == np.uint8 and out.tolist() == [255, 255, 0, 0]


@pytest.mark.parametrize("bad", [np.array([-1.0, 3.0]), np.array([256.0]), np.array([np.nan])])
def test_rgb_to_od_rejects_values_outside_0_255(bad):
    with pytest.raises(ValueError, match=r"Invalid `images` for rgb_to_od: expected uint8 RGB"):
        rgb_to_od(bad)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 3), st.integers(1, 60)), elements=st.floats(-9, 9)
    ),
    st.data(),
    st.sampled_from([0.0, 1.0, 2.5, 50.0, 97.0, 99.0, 100.0]),
)
def test_masked_percentile_equals_numpy_on_each_row(values, data, q):
    mask = data.draw(arrays(np.bool_, values.shape))
    got = _stain._masked_percentile(values, mask, q)
    for row, keep, value in zip(values, mask, got, strict=True):
        expected = np.percentile(row[keep], q) if keep.any() else 0.0
        assert value == pytest.approx(expected, rel=1e-12, abs=1e-12)


# --- Macenko: stains and concentrations ----------------------------------------------------


@pytest.mark.parametrize("background", [0.0, 0.6])
def test_macenko_recovers_known_stains_h_first(background):
    normalizer = MacenkoNormalizer().fit(_stained(background=background))
    assert normalizer.stain_matrix_.shape == (2, 3) and normalizer.max_concentrations_.shape == (
        2,
    )
    assert _angles(normalizer.stain_matrix_, HE).max() < 2.0  # H first, then E
    np.testing.assert_allclose(np.linalg.norm(normalizer.stain_matrix_, axis=1), 1.0)
    # Concentrations up to 3 (the 99th percentile of amount * mix, a little below).
    assert ((normalizer.max_concentrations_ > 2.2) & (normalizer.max_concentrations_ < 3.1)).all()


def test_macenko_recovers_other_stains_and_orders_by_red():
    stains = _rotated(HE, 12, seed=1)
    fitted = MacenkoNormalizer().fit(_stained(stains, seed=3)).stain_matrix_
    assert _angles(fitted, stains).max() < 2.5
    swapped = MacenkoNormalizer().fit(_stained(stains[::-1], seed=3)).stain_matrix_
    np.testing.assert_allclose(swapped, fitted, atol=0.02)  # H: the larger red OD, first


def test_macenko_moves_a_source_to_the_reference_stains():
    normalizer = MacenkoNormalizer().fit(_stained(seed=0))
    source_stains = _rotated(HE, 15, seed=2)
    source = _stained(source_stains, scale=0.5, seed=1, background=0.3)
    before = MacenkoNormalizer().fit(source)
    after = MacenkoNormalizer().fit(normalizer.transform(source, groups=np.zeros(len(source))))
    ref = normalizer.stain_matrix_
    assert _angles(after.stain_matrix_, ref).max() < 2.0 < _angles(before.stain_matrix_, ref).min()
    gap_before = np.abs(before.max_concentrations_ - normalizer.max_concentrations_).max()
    gap_after = np.abs(after.max_concentrations_ - normalizer.max_concentrations_).max()
    assert gap_after < 0.15 * gap_before
    # White stays white.
    white = (source == 255).all(axis=-1)
    assert (normalizer.transform(source)[white] == 255).all()


def test_reinhard_moves_lab_statistics_to_the_reference():
    reference = _stained(seed=0)
    source = _stained(_rotated(HE, 15, seed=2), scale=0.5, seed=1)
    normalizer = ReinhardNormalizer(beta=0.0).fit(reference)  # beta=0: every pixel
    np.testing.assert_allclose(normalizer.mean_, _lab_stats(reference)[0], atol=1e-6)
    np.testing.assert_allclose(normalizer.std_, _lab_stats(reference)[1], atol=1e-6)
    out = normalizer.transform(source, groups=np.zeros(len(source)))
    ref = np.concatenate(_lab_stats(reference))
    gap_before = np.linalg.norm(np.concatenate(_lab_stats(source)) - ref)
    assert np.linalg.norm(np.concatenate(_lab_stats(out)) - ref) < 0.15 * gap_before


def test_reinhard_per_image_standardises_each_image():
    images = np.concatenate([_stained(n=2, scale=0.4), _stained(n=2, seed=1, scale=1.2)])
    normalizer = ReinhardNormalizer(beta=0.0).fit(_stained(seed=5))
    out = normalizer.transform(images)
    for image in out:
        mean, std = _lab_stats(image)
        assert (
            np.abs(mean - normalizer.mean_).max() < 3 and np.abs(std - normalizer.std_).max() < 3
        )


# --- groups -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_batch():
    """Images from three different stainings, interleaved, with group labels."""
    parts = [
        _stained(n=3, seed=10, background=0.2),
        _stained(_rotated(HE, 10, seed=4), n=3, seed=11, scale=0.6),
        _stained(_rotated(HE, 20, seed=5), n=3, seed=12, scale=1.4, background=0.5),
    ]
    order = np.random.default_rng(0).permutation(9)
    groups = np.repeat(np.array(["p2", "p10", "p1"]), 3)[order]
    return np.concatenate(parts)[order], groups


@pytest.mark.parametrize("cls", CLASSES)
def test_each_group_is_transformed_as_on_its_own(cls, mixed_batch):
    images, groups = mixed_batch
    normalizer = cls().fit(_stained(seed=0))
    out = normalizer.transform(images, groups=groups)
    assert out.dtype == np.uint8 and out.shape == images.shape
    for label in np.unique(groups):
        alone = normalizer.transform(images[groups == label], groups=groups[groups == label])
        np.testing.assert_array_equal(out[groups == label], alone)
    # Groups matter: pooling everything gives another result.
    assert not np.array_equal(normalizer.transform(images, groups=np.zeros(9)), out)


@pytest.mark.parametrize("cls", CLASSES)
def test_no_groups_means_one_group_per_image(cls, mixed_batch):
    images, _ = mixed_batch
    normalizer = cls().fit(_stained(seed=0))
    per_image = normalizer.transform(images)
    one_each = normalizer.transform(images, groups=np.arange(len(images)))
    assert np.abs(per_image.astype(int) - one_each).max() <= 1  # float rounding only
    for i in (0, 4):
        np.testing.assert_array_equal(per_image[i], normalizer.transform(images[i]))


@pytest.mark.parametrize("cls", CLASSES)
def test_large_units_are_subsampled_deterministically(cls, mixed_batch, monkeypatch):
    monkeypatch.setattr(_stain, "_MAX_PIXELS", 1000)  # every 50x50 image and group is larger
    images, groups = mixed_batch
    normalizer = cls().fit(images)
    first = normalizer.transform(images, groups=groups)
    np.testing.assert_array_equal(first, normalizer.transform(images, groups=groups))
    np.testing.assert_array_equal(normalizer.transform(images), normalizer.transform(images))
    assert np.abs(normalizer.transform(images).astype(int) - images).max() > 10  # it did work


# --- edge cases ------------------------------------------------------------------------------


def _edge_images():
    rng = np.random.default_rng(0)
    near_white = rng.integers(235, 256, (50, 50, 3), dtype=np.uint8)
    sparse = near_white.copy()
    sparse[:4, :5] = _stained(n=1, side=5)[0, :4]  # 20 tissue pixels < MIN_TISSUE_PIXELS
    return {
        "white": np.full((50, 50, 3), 255, np.uint8),
        "near_white": near_white,
        "sparse_tissue": sparse,
        "black": np.zeros((50, 50, 3), np.uint8),
        "single_colour": np.broadcast_to(np.uint8([180, 90, 160]), (50, 50, 3)).copy(),
    }


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("kind", list(_edge_images()))
def test_background_and_flat_images_give_finite_uint8(cls, kind):
    image = _edge_images()[kind]
    normalizer = cls().fit(_stained())
    batch = np.stack([image, image])
    for out in (normalizer.transform(batch), normalizer.transform(batch, groups=[0, 0])):
        assert out.dtype == np.uint8 and out.shape == batch.shape
    if kind in ("white", "near_white", "sparse_tissue") or cls is MacenkoNormalizer:
        # Too little tissue, or (Macenko) one colour, no two stains: left unchanged.
        np.testing.assert_array_equal(normalizer.transform(batch), batch)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (50, 13), (7, 3)])
def test_tiny_and_edge_patches(cls, shape):
    normalizer = cls().fit(_stained())
    batch = _stained(n=3, side=50, seed=7)[:, : shape[0], : shape[1]]
    for groups in (None, [0, 0, 0], [0, 1, 0]):
        out = normalizer.transform(batch, groups=groups)
        assert out.dtype == np.uint8 and out.shape == batch.shape
    if shape[0] * shape[1] < MIN_TISSUE_PIXELS:
        np.testing.assert_array_equal(normalizer.transform(batch), batch)
    else:
        assert not np.array_equal(normalizer.transform(batch), batch)


@pytest.mark.parametrize("cls", CLASSES)
def test_a_mixed_batch_with_background_transforms_tissue_only(cls):
    edges = _edge_images()
    tissue = _stained(n=2, seed=3, scale=0.6)
    batch = np.stack([edges["white"], tissue[0], edges["near_white"], tissue[1]])
    out = cls().fit(_stained()).transform(batch)
    np.testing.assert_array_equal(out[[0, 2]], batch[[0, 2]])
    assert np.abs(out[[1, 3]].astype(int) - batch[[1, 3]]).mean() > 5


@pytest.mark.parametrize("cls", CLASSES)
def test_floats_single_images_and_determinism(cls):
    normalizer = cls().fit(_stained().astype(np.float32))
    assert normalizer == cls().fit(_stained())
    source = _stained(n=2, seed=4, scale=0.7)
    out = normalizer.transform(source)
    np.testing.assert_array_equal(out, normalizer.transform(source.astype(np.float64)))
    np.testing.assert_array_equal(out, normalizer.transform(source))
    np.testing.assert_array_equal(out[1], normalizer.transform(source[1]))
    np.testing.assert_array_equal(cls().fit_transform(source), cls().fit(source).transform(source))


# --- fitting, errors ------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES)
def test_transform_before_fit_raises(cls):
    normalizer = cls()
    assert not normalizer.is_fitted
    message = rf"{cls.__name__} is not fitted: call fit\(reference_images\) first"
    with pytest.raises(NotFittedError, match=message):
        normalizer.transform(_stained(n=1))
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    assert normalizer.fit(_stained()) is normalizer and normalizer.is_fitted


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("kind", ["white", "near_white", "sparse_tissue"])
def test_fit_without_tissue_raises(cls, kind):
    images = _edge_images()[kind][None]
    message = rf"Invalid `images` for {cls.__name__}\.fit: expected images with at least 32 tissue"
    with pytest.raises(ValueError, match=message):
        cls().fit(images)


def test_macenko_fit_on_one_colour_raises():
    with pytest.raises(ValueError, match=r"expected images that show two distinct stains"):
        MacenkoNormalizer().fit(_edge_images()["single_colour"][None])


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(
    ("images", "match"),
    [
        (
            np.zeros((2, 5, 5, 4), np.uint8),
            r"expected RGB images \(N, H, W, 3\).*shape \(2, 5, 5, 4\)",
        ),
        (np.zeros((5, 5), np.uint8), r"expected RGB images .*shape \(5, 5\)"),
        (np.zeros((2, 0, 5, 3), np.uint8), r"expected RGB images .*shape \(2, 0, 5, 3\)"),
        (np.full((1, 2, 2, 3), 300.0), r"expected uint8 RGB or numbers in \[0, 255\].*300"),
        (np.full((1, 2, 2, 3), np.nan), r"expected uint8 RGB or numbers in \[0, 255\]"),
        (np.full((1, 2, 2, 3), "a"), r"expected uint8 RGB .*dtype <U1"),
        (np.zeros((1, 2, 2, 3), bool), r"expected uint8 RGB .*dtype bool"),
    ],
)
def test_bad_images_are_refused(cls, images, match):
    with pytest.raises(ValueError, match=rf"Invalid `images` for {cls.__name__}\.fit: {match}"):
        cls().fit(images)
    fitted = cls().fit(_stained())
    with pytest.raises(ValueError, match=rf"Invalid `images` for {cls.__name__}\.transform"):
        fitted.transform(images)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("groups", [[0, 1], np.zeros((3, 1)), [[0, 1, 2]]])
def test_bad_groups_are_refused(cls, groups):
    normalizer = cls().fit(_stained())
    match = rf"Invalid `groups` for {cls.__name__}\.transform: expected one label per image: a 1-D"
    with pytest.raises(ValueError, match=match + r" array of length 3\. Received: groups="):
        normalizer.transform(_stained(n=3), groups=groups)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 50}, r"`alpha` for MacenkoNormalizer: expected a number in \[0, 50\)"),
        ({"alpha": True}, r"`alpha` .*Received: alpha=True"),
        ({"beta": -0.1}, r"`beta` for MacenkoNormalizer: expected a number in \[0, 5\)"),
        (
            {"max_percentile": 101},
            r"`max_percentile` .*in \[50, 100\]\. Received: max_percentile=101",
        ),
        ({"max_percentile": float("nan")}, r"`max_percentile`"),
    ],
)
def test_bad_macenko_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MacenkoNormalizer(**kwargs)


def test_bad_reinhard_parameters_are_refused():
    with pytest.raises(ValueError, match=r"`beta` for ReinhardNormalizer: expected a number in"):
        ReinhardNormalizer(beta="0.1")


# --- parameters, serialising --------------------------------------------------------------


def test_params_repr_and_equality():
    normalizer = MacenkoNormalizer(alpha=2, beta=0.2)
    assert normalizer.get_params() == {"alpha": 2.0, "beta": 0.2, "max_percentile": 99.0}
    assert repr(normalizer) == "MacenkoNormalizer(alpha=2.0, beta=0.2, max_percentile=99.0)"
    assert repr(ReinhardNormalizer()) == "ReinhardNormalizer(beta=0.15)"
    assert normalizer == MacenkoNormalizer(alpha=2, beta=0.2) != MacenkoNormalizer()
    assert MacenkoNormalizer() != ReinhardNormalizer()
    fitted = MacenkoNormalizer().fit(_stained())
    assert fitted != MacenkoNormalizer() and fitted == MacenkoNormalizer().fit(_stained())
    assert fitted.get_params() == MacenkoNormalizer().get_params()  # fit sets attr_ only
    assert fitted.get_params(deep=False) == fitted.get_params()  # as sklearn.base.clone calls it


@pytest.mark.parametrize("cls", CLASSES)
def test_to_dict_round_trip_through_json(cls):
    normalizer = cls().fit(_stained(background=0.3))
    data = json.loads(json.dumps(normalizer.to_dict()))
    assert data["method"] == cls._method and data["params"] == normalizer.get_params()
    again = normalizer_from_dict(data)
    assert type(again) is cls and again == normalizer and again.is_fitted
    source = _stained(n=3, seed=9, scale=0.6)
    np.testing.assert_array_equal(again.transform(source), normalizer.transform(source))
    unfitted = normalizer_from_dict(json.loads(json.dumps(cls(beta=0.3).to_dict())))
    assert unfitted == cls(beta=0.3) and not unfitted.is_fitted


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (
            {"method": "vahadane", "params": {}},
            r"`data` for normalizer_from_dict: expected a dict",
        ),
        ([1, 2], r"`data` for normalizer_from_dict"),
        (
            {"method": "reinhard", "params": {}, "fitted": {"mean_": [1, 2], "std_": [1, 1, 1]}},
            r"fitted\['mean_'\]: finite numbers of shape \(3,\)\. Received: data=\[1, 2\]",
        ),
        ({"method": "macenko", "params": {"alpha": 60}}, r"`alpha` for MacenkoNormalizer"),
    ],
)
def test_normalizer_from_dict_refuses_bad_data(data, match):
    with pytest.raises(ValueError, match=match):
        normalizer_from_dict(data)


# --- the real patches ------------------------------------------------------------------------


def _patient_patches(root, patient):
    images = []
    for path in sorted((root / patient).glob("*/*.png")):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1]
        padded = np.full((50, 50, 3), 255, np.uint8)  # edge patches are smaller
        padded[: image.shape[0], : image.shape[1]] = image
        images.append(padded)
    return np.stack(images)


@pytest.mark.integration
def test_macenko_on_real_patches_moves_toward_the_reference(real_data_root):
    """Other patients' stains and maximum concentrations end up near the reference's.

    (Not their mean optical density: Macenko matches stain vectors and 99th percentiles, and
    on these patients the mean tissue OD often moves away from the reference's.)
    """
    patients = sorted(p.name for p in real_data_root.iterdir() if p.is_dir())
    reference = _patient_patches(real_data_root, patients[0])
    normalizer = MacenkoNormalizer().fit(reference)
    ref_stains, ref_max = normalizer.stain_matrix_, normalizer.max_concentrations_
    assert _angles(ref_stains, HE).max() < 30  # an H&E-like reference, H first
    for patient in patients[1:4]:
        source = _patient_patches(real_data_root, patient)
        per_image = normalizer.transform(source)
        assert per_image.dtype == np.uint8 and per_image.shape == source.shape
        before = MacenkoNormalizer().fit(source)
        after = MacenkoNormalizer().fit(
            normalizer.transform(source, groups=[patient] * len(source))
        )
        angle_before = _angles(before.stain_matrix_, ref_stains).max()
        assert _angles(after.stain_matrix_, ref_stains).max() < 0.3 * angle_before
        gap_before = np.abs(before.max_concentrations_ - ref_max).max()
        assert np.abs(after.max_concentrations_ - ref_max).max() < 0.3 * gap_before
