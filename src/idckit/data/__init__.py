"""Index, decode, cache and feed IDC patches; patient-level splits; EDA plots.

Nothing here imports Keras or a deep-learning framework: :meth:`IDCPatchDataset.to_keras`
imports Keras when it is called, so ``idckit index`` and ``idckit cache`` stay light. Names are
imported lazily (PEP 562), on first use.

Examples
--------
>>> from idckit.data import DEFAULT_PATTERN, PatchRecord
>>> PatchRecord.from_path("10253/1/10253_idx5_x501_y351_class1.png").label
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.data._augment import Augmentation as Augmentation
    from idckit.data._cache import CacheWarning as CacheWarning
    from idckit.data._context import gather_mosaics as gather_mosaics
    from idckit.data._context import neighbour_indices as neighbour_indices
    from idckit.data._dataset import IDCPatchDataset as IDCPatchDataset
    from idckit.data._normalize import StainNormalization as StainNormalization
    from idckit.data._records import DEFAULT_PATTERN as DEFAULT_PATTERN
    from idckit.data._records import PatchRecord as PatchRecord
    from idckit.data._report import PatchError as PatchError
    from idckit.data._report import ScanReport as ScanReport
    from idckit.data._splits import CRUZ_ROA_2014 as CRUZ_ROA_2014
    from idckit.data._stain import MacenkoNormalizer as MacenkoNormalizer
    from idckit.data._stain import NotFittedError as NotFittedError
    from idckit.data._stain import ReinhardNormalizer as ReinhardNormalizer
    from idckit.data._stain import normalizer_from_dict as normalizer_from_dict
    from idckit.data._stain import od_to_rgb as od_to_rgb
    from idckit.data._stain import rgb_to_od as rgb_to_od

_EXPORTS = {
    "Augmentation": "idckit.data._augment",
    "CRUZ_ROA_2014": "idckit.data._splits",
    "CacheWarning": "idckit.data._cache",
    "DEFAULT_PATTERN": "idckit.data._records",
    "IDCPatchDataset": "idckit.data._dataset",
    "MacenkoNormalizer": "idckit.data._stain",
    "NotFittedError": "idckit.data._stain",
    "PatchError": "idckit.data._report",
    "PatchRecord": "idckit.data._records",
    "ReinhardNormalizer": "idckit.data._stain",
    "ScanReport": "idckit.data._report",
    "StainNormalization": "idckit.data._normalize",
    "gather_mosaics": "idckit.data._context",
    "neighbour_indices": "idckit.data._context",
    "normalizer_from_dict": "idckit.data._stain",
    "od_to_rgb": "idckit.data._stain",
    "rgb_to_od": "idckit.data._stain",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
