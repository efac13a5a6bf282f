"""Fixtures for the training tests: a tiny synthetic tree (8 patients, 200 patches)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from idckit.datasets import make_synthetic

    return make_synthetic(
        tmp_path_factory.mktemp("synthetic") / "data", n_patients=8, patches_per_patient=25, seed=0
    )


@pytest.fixture(scope="session")
def tiny_dataset(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory):
    from idckit.data import IDCPatchDataset

    cache = tmp_path_factory.mktemp("cache")
    return IDCPatchDataset.from_directory(tiny_root, cache_dir=cache, progress=False)
