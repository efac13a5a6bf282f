"""Data sets a user can make or fetch: a learnable synthetic tree and the original archive.

Nothing here imports a deep-learning framework.

Examples
--------
>>> from idckit.datasets import make_synthetic, fetch_idc
>>> callable(make_synthetic) and callable(fetch_idc)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.datasets._extract import UnsafeArchiveError as UnsafeArchiveError
    from idckit.datasets._fetch import DEFAULT_URL as DEFAULT_URL
    from idckit.datasets._fetch import fetch_idc as fetch_idc
    from idckit.datasets._synthetic import make_synthetic as make_synthetic

_EXPORTS = {
    "DEFAULT_URL": "idckit.datasets._fetch",
    "UnsafeArchiveError": "idckit.datasets._extract",
    "fetch_idc": "idckit.datasets._fetch",
    "make_synthetic": "idckit.datasets._synthetic",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
