"""idckit.data's public surface: every name imports, is documented, and no framework loads."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import idckit.data
from idckit.data import IDCPatchDataset


def test_all_is_sorted_and_every_name_imports():
    assert list(idckit.data.__all__) == sorted(idckit.data.__all__)
    for name in idckit.data.__all__:
        assert getattr(idckit.data, name) is not None


@pytest.mark.parametrize(
    "name", [n for n in idckit.data.__all__ if callable(getattr(idckit.data, n))]
)
def test_public_callables_have_docstrings_with_examples(name):
    doc = inspect.getdoc(getattr(idckit.data, name))
    assert doc and "Examples" in doc


def test_public_methods_have_docstrings():
    for name, member in inspect.getmembers(IDCPatchDataset):
        if not name.startswith("_"):
            assert inspect.getdoc(member), name


def test_importing_idckit_data_loads_no_framework_and_no_matplotlib():
    code = (
        "import sys, idckit.data;"
        "print(','.join(m for m in ('tensorflow', 'keras', 'jax', 'torch', 'matplotlib')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_attribute_is_a_clear_error():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        idckit.data.nope  # noqa: B018
