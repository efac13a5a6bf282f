"""Lazy public names (PEP 562), shared by every package ``__init__`` that defers imports.

``import idckit`` (and ``idckit.metrics``, ``idckit.training``, ``idckit.inference``) must not
import a deep-learning framework; names whose modules import Keras load on first use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping
from typing import Any


def load_export(package: str, exports: Mapping[str, str], name: str) -> Any:
    """Import ``name`` from the module ``exports`` maps it to, and cache it in ``package``.

    Parameters
    ----------
    package
        The package whose ``__getattr__`` is asking (its ``__name__``).
    exports
        Public name -> module that defines it.
    name
        The attribute asked for.

    Returns
    -------
    Any
        The object; later lookups find it in the package's namespace directly.

    Raises
    ------
    AttributeError
        When ``name`` is not one of ``exports``.

    Examples
    --------
    >>> load_export("idckit", {"invalid_argument": "idckit._errors"}, "invalid_argument")
    <function invalid_argument at ...>
    """
    try:
        module_name = exports[name]
    except KeyError:
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), name)
    setattr(sys.modules[package], name, value)
    return value


def public_dir(namespace: Iterable[str], public: Iterable[str]) -> list[str]:
    """Return what ``dir(package)`` shows: the loaded names plus every public name.

    Examples
    --------
    >>> public_dir(["a"], ["b"])
    ['a', 'b']
    """
    return sorted(set(namespace) | set(public))
