"""Test-time inference: P(IDC+) with dihedral test-time augmentation, spatial smoothing.

:func:`predict_proba` returns a model's P(IDC+) per patch, optionally averaged over the 8
dihedral transforms of each patch (``tta=True``). :func:`smooth_probabilities` blends each
patch's probability with the mean of its neighbours on the same patient's slide grid (patch
coordinates come from the file names); :class:`SpatialSmoothing` holds its settings for
:class:`~idckit.training.KFoldTrainer` and the recipes. Both use only the unlabeled patches
being predicted.

Names are imported lazily (PEP 562): :func:`smooth_probabilities` and
:class:`SpatialSmoothing` import numpy only; :func:`predict_proba` calls a Keras model.

Examples
--------
>>> from idckit.inference import smooth_probabilities
>>> smooth_probabilities([0.9, 0.1], ["p1", "p1"], [0, 50], [0, 0], alpha=0.5).tolist()
[0.5, 0.5]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.inference._predict import predict_proba as predict_proba
    from idckit.inference._smoothing import smooth_probabilities as smooth_probabilities
    from idckit.inference._spatial import SpatialSmoothing as SpatialSmoothing

_EXPORTS = {
    "SpatialSmoothing": "idckit.inference._spatial",
    "predict_proba": "idckit.inference._predict",
    "smooth_probabilities": "idckit.inference._smoothing",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
