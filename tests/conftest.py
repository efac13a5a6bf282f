"""Shared fixtures: synthetic trees everywhere, the real patches where they exist."""

from __future__ import annotations

import os
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


@pytest.fixture(autouse=True)
def _isolated_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Keep decode caches of every test out of the user's ~/.cache/idckit."""
    monkeypatch.setenv("IDCKIT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "idckit-cache"))
