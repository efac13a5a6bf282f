"""Explain predictions: which part of a patch, or of its neighbourhood, drives P(IDC+).

:func:`occlusion_map` hides one region of an image at a time and records how much the model's
P(IDC+) drops; it needs only predictions, so it works for every idckit model (context mosaics
included) on every Keras backend. :func:`plot_occlusion` draws the maps over their images.

Names are imported lazily (PEP 562): :func:`plot_occlusion` imports matplotlib only;
:func:`occlusion_map` calls a Keras model.

Examples
--------
>>> import numpy as np
>>> from idckit.explain import plot_occlusion
>>> fig = plot_occlusion(np.zeros((1, 50, 50, 3), np.uint8), np.zeros((1, 50, 50)))
>>> len(fig.axes)  # the image, its map, the colour bar
3
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.explain._occlusion import occlusion_map as occlusion_map
    from idckit.explain._plot import plot_occlusion as plot_occlusion

_EXPORTS = {
    "occlusion_map": "idckit.explain._occlusion",
    "plot_occlusion": "idckit.explain._plot",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
