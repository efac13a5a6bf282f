"""Every package ``__init__`` exports the same way: ``_EXPORTS``, ``load_export``, typed names.

The convention (see ``idckit._lazy``): an ``_EXPORTS`` dict of public name -> defining module,
``__all__ = sorted(_EXPORTS)``, ``__getattr__`` through ``load_export``, ``__dir__`` through
``public_dir``, and an ``if TYPE_CHECKING:`` block importing exactly the same names from the
same modules (``name as name``) so that mypy and IDEs see their types.
"""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

PACKAGES = [
    "idckit",
    "idckit.data",
    "idckit.datasets",
    "idckit.explain",
    "idckit.inference",
    "idckit.metrics",
    "idckit.models",
    "idckit.reporting",
    "idckit.training",
]


def _typed_imports(package) -> dict[str, str]:
    """Name -> module of the imports under ``if TYPE_CHECKING:`` in the package's source."""
    tree = ast.parse(inspect.getsource(package))
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.unparse(stmt)
                for alias in stmt.names:
                    assert alias.asname == alias.name, f"{alias.name}: use `name as name`"
                    found[alias.name] = stmt.module
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_package_follows_the_lazy_export_convention(name):
    package = importlib.import_module(name)
    exports = package._EXPORTS
    assert package.__all__ == sorted(exports)
    assert _typed_imports(package) == exports
    for public, module in exports.items():
        obj = getattr(package, public)
        assert getattr(importlib.import_module(module), public) is obj
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        package.nope  # noqa: B018
