"""Decoding: conversions to RGB uint8, padding modes, refusals, and the cached pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from idckit.data import IDCPatchDataset
from idckit.data._decode import (
    OK,
    OVERSIZE,
    PADDED,
    UNDECODABLE,
    UNREADABLE,
    decode_bytes,
    fit_patch,
    header_status,
    to_rgb_uint8,
)


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


@given(arrays(np.uint16, (4, 5, 3)))
def test_16_bit_is_scaled_to_the_nearest_8_bit_value(bgr16):
    expected = np.rint(bgr16[:, :, ::-1] / 257.0).astype(np.uint8)
    np.testing.assert_array_equal(to_rgb_uint8(bgr16), expected)


@given(arrays(np.uint8, (4, 5, 3)), arrays(np.uint8, (4, 5)))
def test_alpha_is_composited_over_white(bgr, alpha):
    a = alpha[:, :, None] / 255.0
    expected = np.rint(bgr[:, :, ::-1] * a + 255.0 * (1.0 - a)).astype(np.uint8)
    np.testing.assert_array_equal(to_rgb_uint8(np.dstack([bgr, alpha])), expected)


@given(arrays(np.uint8, (3, 3)), arrays(np.uint8, (3, 3)))
def test_gray_and_gray_alpha_become_three_equal_channels(gray, alpha):
    out = to_rgb_uint8(gray)
    assert out.shape == (3, 3, 3)
    assert (out == gray[:, :, None]).all()
    out = to_rgb_uint8(np.dstack([gray, alpha]))
    assert (out[:, :, 0] == out[:, :, 1]).all() and (out[:, :, 1] == out[:, :, 2]).all()


def test_unsupported_pixel_types_are_refused():
    assert to_rgb_uint8(np.zeros((2, 2, 3), np.float32)) is None
    image, status, detail = decode_bytes(b"not an image at all", 50, "constant")
    assert image is None and status == UNDECODABLE and detail
    assert decode_bytes(b"", 50, "constant")[1:] == (UNDECODABLE, "empty file")


@settings(max_examples=30)
@given(st.integers(1, 50), st.integers(1, 50), st.integers(0, 2**32 - 1))
def test_padding_modes_against_opencv_references(h, w, seed):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    constant = fit_patch(small, 50, "constant")
    assert constant.shape == (50, 50, 3) and constant.dtype == np.uint8
    np.testing.assert_array_equal(constant[:h, :w], small)
    assert (constant[h:] == 255).all() and (constant[:, w:] == 255).all()
    resized = fit_patch(small, 50, "resize")
    np.testing.assert_array_equal(
        resized, cv2.resize(small, (50, 50), interpolation=cv2.INTER_CUBIC)
    )
    reflected = fit_patch(small, 50, "reflect")
    np.testing.assert_array_equal(reflected[:h, :w], small)
    if h > 1 and w > 1 and 50 - h < h and 50 - w < w:  # OpenCV reflects at most once
        ref = cv2.copyMakeBorder(small, 0, 50 - h, 0, 50 - w, cv2.BORDER_REFLECT_101)
        np.testing.assert_array_equal(reflected, ref)


def test_decode_statuses():
    rng = np.random.default_rng(0)
    full = rng.integers(0, 256, size=(50, 50, 3), dtype=np.uint8)
    image, status, _ = decode_bytes(_png(full), 50, "constant")
    assert status == OK
    np.testing.assert_array_equal(image, full[:, :, ::-1])
    assert decode_bytes(_png(full[:30]), 50, "constant")[1] == PADDED
    image, status, detail = decode_bytes(_png(np.zeros((51, 50, 3), np.uint8)), 50, "resize")
    assert (image, status, detail) == (None, OVERSIZE, "50x51 pixels, patch size 50")


def test_header_status_agrees_with_decoding(hostile, tmp_path):
    for rel in hostile["pixels"]:
        expected = PADDED if rel in hostile["padded"] else OK
        assert header_status(str(hostile["root"] / rel), 50) == (expected, "")
    assert header_status(str(hostile["root"] / hostile["oversize"]), 50)[0] == OVERSIZE
    assert header_status(str(hostile["root"] / hostile["corrupt"]), 50) == (OK, "")
    (tmp_path / "fake.png").write_bytes(b"GIF89a....................")
    assert header_status(str(tmp_path / "fake.png"), 50) == (UNDECODABLE, "no PNG header")
    assert header_status(str(tmp_path / "missing.png"), 50)[0] == UNREADABLE
    cv2.imwrite(str(tmp_path / "small.jpg"), np.zeros((20, 50, 3), np.uint8))
    assert header_status(str(tmp_path / "small.jpg"), 50) == (PADDED, "")


def test_cached_pixels_equal_independently_decoded_ones(hostile, cache_dir):
    ds = IDCPatchDataset.from_directory(hostile["root"], cache_dir=cache_dir, progress=False)
    images = ds.images
    assert images.shape == (len(ds), 50, 50, 3) and images.dtype == np.uint8
    assert isinstance(images, np.memmap) and not images.flags.writeable
    rel = [str(p)[len(str(hostile["root"])) + 1 :] for p in ds.paths]
    for i, r in enumerate(rel):
        np.testing.assert_array_equal(images[i], hostile["pixels"][r], err_msg=r)


@pytest.mark.parametrize("pad_mode", ["reflect", "resize"])
def test_pad_modes_apply_to_edge_patches_only(hostile, cache_dir, pad_mode):
    ds = IDCPatchDataset.from_directory(
        hostile["root"], cache_dir=cache_dir, pad_mode=pad_mode, progress=False
    )
    for i, path in enumerate(ds.paths):
        rel = path[len(str(hostile["root"])) + 1 :]
        expected = hostile["pixels"][rel]
        if rel in hostile["padded"]:
            raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)[:, :, ::-1]
            expected = fit_patch(np.ascontiguousarray(raw), 50, pad_mode)
            assert not np.array_equal(ds.images[i], hostile["pixels"][rel])
        np.testing.assert_array_equal(ds.images[i], expected)


def test_the_rgb_fast_path_equals_the_general_path(hostile, monkeypatch):
    import idckit.data._decode as decode_module

    for rel in hostile["pixels"]:
        data = (hostile["root"] / rel).read_bytes()
        fast = decode_bytes(data, 50, "constant")
        with monkeypatch.context() as patch:
            patch.setattr(decode_module, "_IMREAD_RGB", None)
            slow = decode_bytes(data, 50, "constant")
        assert fast[1:] == slow[1:]
        np.testing.assert_array_equal(fast[0], slow[0])
        np.testing.assert_array_equal(fast[0], hostile["pixels"][rel])
