"""The real patches in ../shared/data/idc-train (skipped where they are absent)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from idckit.data import DEFAULT_PATTERN, IDCPatchDataset
from idckit.data._scan import scan_tree

pytestmark = pytest.mark.integration


def test_index_finds_the_published_counts(real_data_root):
    report = scan_tree(real_data_root, pattern=DEFAULT_PATTERN)
    assert report.n_patches == 27_865
    assert report.n_patients == 111
    assert dict(report.class_counts) == {0: 22_094, 1: 5_771}
    assert report.padded == 254
    assert report.duplicates == 0 and report.n_skipped == 0


@pytest.mark.slow
def test_decoded_cache_of_the_real_patches(real_data_root, tmp_path):
    ds = IDCPatchDataset.from_directory(real_data_root, cache_dir=tmp_path, progress=False)
    assert len(ds) == 27_865 and len(ds.patient_ids) == 111
    assert ds.report.padded == 254 and ds.report.verified
    rng = np.random.default_rng(0)
    for i in rng.choice(len(ds), size=200, replace=False):
        raw = cv2.imread(ds.paths[i], cv2.IMREAD_COLOR)[:, :, ::-1]
        h, w = raw.shape[:2]
        np.testing.assert_array_equal(ds.images[i, :h, :w], raw)
        assert (ds.images[i, h:] == 255).all() and (ds.images[i, :, w:] == 255).all()
    again = IDCPatchDataset.from_directory(real_data_root, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again.labels, ds.labels)
