"""Fixtures of the data tests: the hostile mini tree, cache folders kept out of ~/.cache."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hostile_tree import build_hostile_tree


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default cache folder into the test's tmp dir (never the user's ~/.cache)."""
    path = tmp_path / "default-cache"
    monkeypatch.setenv("IDCKIT_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def _hostile_master(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return build_hostile_tree(tmp_path_factory.mktemp("hostile") / "data")


@pytest.fixture
def hostile(_hostile_master: dict[str, Any]) -> dict[str, Any]:
    """The hostile tree (read-only: tests that change files use ``hostile_copy``)."""
    return _hostile_master


@pytest.fixture
def hostile_copy(_hostile_master: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the hostile tree that a test may change."""
    root = tmp_path / "data"
    shutil.copytree(_hostile_master["root"], root, symlinks=True)
    return {**_hostile_master, "root": root}


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def tiny_sigmoid_model() -> Any:
    """A compiled 50x50 model (rescale, average pooling, one sigmoid unit) to fit feeds with."""
    import keras

    inputs = keras.Input((50, 50, 3))
    hidden = keras.layers.Rescaling(1 / 255)(inputs)
    hidden = keras.layers.GlobalAveragePooling2D()(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    return model
