"""Index, decode, cache and feed IDC patches; patient-level splits; EDA plots.

Nothing here imports Keras or a deep-learning framework: :meth:`IDCPatchDataset.to_keras`
imports Keras when it is called, so ``idckit index`` and ``idckit cache`` stay light.

Examples
--------
>>> from idckit.data import DEFAULT_PATTERN, PatchRecord
>>> PatchRecord.from_path("10253/1/10253_idx5_x501_y351_class1.png").label
1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from idckit.data._augment import Augmentation
from idckit.data._context import gather_mosaics, neighbour_indices
from idckit.data._dataset import IDCPatchDataset
from idckit.data._records import DEFAULT_PATTERN, PatchRecord
from idckit.data._report import PatchError, ScanReport
from idckit.data._splits import CRUZ_ROA_2014, named_patient_split, patient_train_test_split

if TYPE_CHECKING:  # pragma: no cover
    from idckit.data._eda import plot_class_balance, plot_patch_grid

__all__ = [  # noqa: RUF022 - plain sorted() order, as test_data_api checks (not isort-style)
    "Augmentation",
    "CRUZ_ROA_2014",
    "DEFAULT_PATTERN",
    "IDCPatchDataset",
    "PatchError",
    "PatchRecord",
    "ScanReport",
    "gather_mosaics",
    "named_patient_split",
    "neighbour_indices",
    "patient_train_test_split",
    "plot_class_balance",
    "plot_patch_grid",
]


def __getattr__(name: str) -> Any:
    """Import the plotting functions (and with them matplotlib) on first use (PEP 562)."""
    if name in ("plot_class_balance", "plot_patch_grid"):
        from idckit.data import _eda

        return getattr(_eda, name)
    raise AttributeError(f"module 'idckit.data' has no attribute {name!r}")
