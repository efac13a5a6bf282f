"""Shared fixtures: synthetic trees everywhere, the real patches where they exist."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_DATA = Path(
    os.environ.get("IDCKIT_REAL_DATA", REPO_ROOT.parent / "shared" / "data" / "idc-train")
)


@pytest.fixture(scope="session")
def real_data_root() -> Path:
    """The 27,865 real patches in ../shared/data/idc-train; skips where they are absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real patches not found at {REAL_DATA} (set IDCKIT_REAL_DATA)")
    return REAL_DATA


def _square_symmetries(images: np.ndarray) -> list[np.ndarray]:
    """The 8 symmetries of the square of every image in ``images`` (N, H, W, C)."""
    views = []
    for k in range(4):
        turned = np.rot90(images, k, axes=(1, 2))
        views += [np.ascontiguousarray(turned), np.ascontiguousarray(turned[:, :, ::-1])]
    return views


@pytest.fixture(scope="session")
def square_symmetries() -> Callable[[np.ndarray], list[np.ndarray]]:
    """The tests' reference for idckit's flips and 90-degree rotations.

    A function from a batch (N, H, W, C) of square images to its 8 symmetries (the 4 rotations,
    each with and without a left-right mirror) as contiguous batches, the identity first. It
    is built from ``np.rot90``, not from the transpose and flip bits that idckit uses, so that
    it checks them independently.
    """
    return _square_symmetries


def pytest_configure(config: pytest.Config) -> None:
    """Keep every decode cache the tests build (subprocesses included) out of ~/.cache/idckit."""
    if "IDCKIT_CACHE_DIR" not in os.environ:
        config._idckit_cache = tempfile.mkdtemp(prefix="idckit-test-cache-")  # type: ignore[attr-defined]
        os.environ["IDCKIT_CACHE_DIR"] = config._idckit_cache  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    cache = getattr(config, "_idckit_cache", None)
    if cache:
        shutil.rmtree(cache, ignore_errors=True)
        os.environ.pop("IDCKIT_CACHE_DIR", None)
