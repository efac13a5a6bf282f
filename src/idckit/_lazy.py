"""Lazy public names (PEP 562), shared by every package ``__init__`` that defers imports.

``import idckit`` (and ``idckit.metrics``, ``idckit.training``, ``idckit.inference``) must not
import a deep-learning framework; names whose modules import Keras load on first use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
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


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` of a package whose public names load lazily.

    Every package ``__init__`` declares ``_EXPORTS`` (public name -> defining module) and ends
    with ``__all__ = sorted(_EXPORTS)`` and ``__getattr__, __dir__ = lazy_exports(__name__,
    _EXPORTS)`` (PEP 562).

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("idckit", {"invalid_argument": "idckit._errors"})
    >>> getattr_("invalid_argument").__name__, "invalid_argument" in dir_()
    ('invalid_argument', True)
    """
    public = sorted(exports)

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's own name
        """Import a public name on first use (PEP 562)."""
        return load_export(package, exports, name)

    def __dir__() -> list[str]:  # noqa: N807 - the module hook's own name
        return public_dir(vars(sys.modules[package]), public)

    return __getattr__, __dir__
