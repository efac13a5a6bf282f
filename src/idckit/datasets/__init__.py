"""Data sets a user can make or fetch: a learnable synthetic tree and the original archive.

Nothing here imports a deep-learning framework.

Examples
--------
>>> from idckit.datasets import make_synthetic, fetch_idc
>>> callable(make_synthetic) and callable(fetch_idc)
True
"""

from __future__ import annotations

from idckit.datasets._fetch import DEFAULT_URL, UnsafeArchiveError, fetch_idc
from idckit.datasets._synthetic import make_synthetic

__all__ = ["DEFAULT_URL", "UnsafeArchiveError", "fetch_idc", "make_synthetic"]
