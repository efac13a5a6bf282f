"""Shared fixtures: synthetic trees everywhere, the real patches where they exist."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

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
