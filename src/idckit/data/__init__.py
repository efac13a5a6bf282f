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
    from idckit.data._context import gather_mosaics as gather_mosaics
    from idckit.data._context import neighbour_indices as neighbour_indices
    from idckit.data._dataset import IDCPatchDataset as IDCPatchDataset
    from idckit.data._records import DEFAULT_PATTERN as DEFAULT_PATTERN
    from idckit.data._records import PatchRecord as PatchRecord
    from idckit.data._report import PatchError as PatchError
    from idckit.data._report import ScanReport as ScanReport
    from idckit.data._splits import CRUZ_ROA_2014 as CRUZ_ROA_2014

_EXPORTS = {
    "Augmentation": "idckit.data._augment",
    "CRUZ_ROA_2014": "idckit.data._splits",
    "DEFAULT_PATTERN": "idckit.data._records",
    "IDCPatchDataset": "idckit.data._dataset",
    "PatchError": "idckit.data._report",
    "PatchRecord": "idckit.data._records",
    "ScanReport": "idckit.data._report",
    "gather_mosaics": "idckit.data._context",
    "neighbour_indices": "idckit.data._context",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
