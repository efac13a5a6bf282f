"""Stain normalisation of a whole dataset: the setting, fitting on a dataset, applying it.

:class:`StainNormalization` names a method (Macenko or Reinhard, from :mod:`._stain`) and
whether each patient's stain statistics are estimated from all of its patches or each patch's
from itself. :func:`fit_normalizer` fits the method's normaliser on a sample of a dataset's
patches, and :func:`normalized_store` transforms every patch of a dataset, into the dataset's
cache folder when it has one (the file's name holds a hash of the fitted normaliser, so the
cache key includes it) or into memory. NumPy only.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from idckit._errors import check_choice, invalid_argument
from idckit.data._cache import PixelStore
from idckit.data._stain import MacenkoNormalizer, ReinhardNormalizer

Method = Literal["macenko", "reinhard"]
Per = Literal["patient", "patch"]
METHODS: tuple[Method, ...] = ("macenko", "reinhard")
PER: tuple[Per, ...] = ("patient", "patch")
#: Patches sampled (evenly over the patients) to fit a normaliser on a dataset.
FIT_PATCHES = 4096
_BLOCK = 4096  # patches transformed at a time when each patch is its own group
_OWNER = "StainNormalization"


class StainNormalizer(Protocol):
    """What a fitted stain normaliser offers (:class:`~idckit.data.MacenkoNormalizer`, ...)."""

    @property
    def is_fitted(self) -> bool: ...  # pragma: no cover - a protocol

    def fit(self, images: npt.NDArray[Any]) -> Any: ...  # pragma: no cover

    def transform(
        self, images: npt.NDArray[Any], groups: npt.ArrayLike | None = None
    ) -> npt.NDArray[np.uint8]: ...  # pragma: no cover

    def to_dict(self) -> dict[str, Any]: ...  # pragma: no cover


@dataclass(frozen=True)
class StainNormalization:
    """How a training run normalises stains: the method and what shares one estimate.

    The run fits the method's normaliser on its training patients (a sample of
    :data:`FIT_PATCHES` patches spread evenly over them: the reference is the training set's
    staining), transforms every patch before training, and transforms the patches of every
    later prediction the same way (:class:`~idckit.Run`).

    Parameters
    ----------
    method
        ``"macenko"`` (:class:`~idckit.data.MacenkoNormalizer`: stain vectors and
        concentrations) or ``"reinhard"`` (:class:`~idckit.data.ReinhardNormalizer`: the
        mean and spread of each LAB channel, i.e. standardisation in LAB).
    per
        ``"patient"``: one estimate of the source staining from all of a patient's patches
        (patches of one slide share its staining); ``"patch"``: each patch on its own.

    Examples
    --------
    >>> StainNormalization.coerce("macenko")
    StainNormalization(method='macenko', per='patient')
    >>> StainNormalization.coerce({"method": "reinhard", "per": "patch"}).to_dict()
    {'method': 'reinhard', 'per': 'patch'}
    """

    method: Method = "macenko"
    per: Per = "patient"

    def __post_init__(self) -> None:
        check_choice("method", _OWNER, self.method, METHODS)
        check_choice("per", _OWNER, self.per, PER)

    @classmethod
    def coerce(
        cls, value: str | Mapping[str, Any] | StainNormalization | None, owner: str = _OWNER
    ) -> StainNormalization | None:
        """Return ``value`` as a setting: None, a method's name, a dict of the fields, or one."""
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, str) and value in METHODS:
            return cls(value)
        if isinstance(value, Mapping) and set(value) <= {"method", "per"}:
            return cls(**value)
        raise invalid_argument(
            "stain_normalization", owner,
            f"None, one of {', '.join(repr(m) for m in METHODS)}, or a dict "
            "{'method': ..., 'per': 'patient' or 'patch'}",
            value,
        )  # fmt: skip

    def to_dict(self) -> dict[str, str]:
        """Return the fields as JSON-ready data (:meth:`coerce` reads it back)."""
        return {"method": self.method, "per": self.per}

    def new_normalizer(self) -> StainNormalizer:
        """Return an unfitted normaliser of the method (with its default parameters)."""
        return MacenkoNormalizer() if self.method == "macenko" else ReinhardNormalizer()


def fit_normalizer(setting: StainNormalization, dataset: Any, seed: int = 0) -> StainNormalizer:
    """Fit ``setting``'s normaliser on up to :data:`FIT_PATCHES` patches of ``dataset``.

    The patches are drawn evenly over the patients (each patient gives an equal share, or
    all of its patches when it has fewer), with ``seed``.
    """
    rows = _sample_rows(np.asarray(dataset.patients).astype(str), FIT_PATCHES, seed)
    normalizer = setting.new_normalizer()
    normalizer.fit(dataset.load_images(rows))
    return normalizer


def _sample_rows(patients: npt.NDArray[np.str_], size: int, seed: int) -> npt.NDArray[np.intp]:
    """Up to ``size`` row indices, an equal share per patient, sorted."""
    rng = np.random.default_rng(seed)
    ids, codes = np.unique(patients, return_inverse=True)
    share = max(1, size // max(len(ids), 1))
    chosen = []
    for k in range(len(ids)):
        rows = np.flatnonzero(codes == k)
        chosen.append(rows if len(rows) <= share else rng.choice(rows, share, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.intp)


def normalizer_key(normalizer: StainNormalizer, per: Per, dataset: Any) -> str:
    """Hash the fitted normaliser, ``per`` and the dataset's patches (paths, patients)."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"normalizer": normalizer.to_dict(), "per": per}).encode())
    for column in (dataset.paths, dataset.patients):
        digest.update("\n".join(str(v) for v in column).encode())
    return digest.hexdigest()[:20]


def normalized_store(
    dataset: Any, normalizer: StainNormalizer, per: Per, folder: Path | None
) -> PixelStore:
    """Transform every patch of ``dataset``; return the pixels as a store, in patch order.

    With a ``folder`` (the dataset's cache entry) the result is a ``.npy`` file there,
    named by :func:`normalizer_key` and reused when it exists; without one it is an array.
    """
    check_choice("per", "IDCPatchDataset.normalized", per, PER)
    if not normalizer.is_fitted:
        raise invalid_argument(
            "normalizer", "IDCPatchDataset.normalized", "a fitted stain normaliser",
            normalizer, "Call normalizer.fit(reference_images) first.",
        )  # fmt: skip
    shape = (len(dataset), *dataset.load_images([0]).shape[1:])
    if folder is None:
        out = np.empty(shape, dtype=np.uint8)
        _transform_into(out, dataset, normalizer, per)
        return PixelStore(array=out)
    path = folder / f"normalized-{normalizer_key(normalizer, per, dataset)}.npy"
    if not path.is_file():
        temporary = folder / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            out = np.lib.format.open_memmap(temporary, mode="w+", dtype=np.uint8, shape=shape)
            _transform_into(out, dataset, normalizer, per)
            out.flush()
            del out
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    return PixelStore(path)


def _transform_into(
    out: npt.NDArray[np.uint8], dataset: Any, normalizer: StainNormalizer, per: Per
) -> None:
    """Write ``dataset``'s transformed patches into ``out``, a patient (or block) at a time."""
    if per == "patch":
        for start in range(0, len(dataset), _BLOCK):
            rows = np.arange(start, min(start + _BLOCK, len(dataset)))
            out[rows] = normalizer.transform(dataset.load_images(rows))
        return
    patients = np.asarray(dataset.patients).astype(str)
    for patient in np.unique(patients):
        rows = np.flatnonzero(patients == patient)
        out[rows] = normalizer.transform(dataset.load_images(rows), groups=np.zeros(len(rows)))
