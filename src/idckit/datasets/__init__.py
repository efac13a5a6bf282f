"""Data sets a user can make or fetch: a learnable synthetic tree and the original archive.

Nothing here imports a deep-learning framework.

Examples
--------
>>> from idckit.datasets import make_synthetic, fetch_idc
>>> callable(make_synthetic) and callable(fetch_idc)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from idckit._lazy import load_export, public_dir

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.datasets._fetch import DEFAULT_URL as DEFAULT_URL
    from idckit.datasets._fetch import UnsafeArchiveError as UnsafeArchiveError
    from idckit.datasets._fetch import fetch_idc as fetch_idc
    from idckit.datasets._synthetic import make_synthetic as make_synthetic

_EXPORTS = {
    "DEFAULT_URL": "idckit.datasets._fetch",
    "UnsafeArchiveError": "idckit.datasets._fetch",
    "fetch_idc": "idckit.datasets._fetch",
    "make_synthetic": "idckit.datasets._synthetic",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return public_dir(globals(), __all__)
