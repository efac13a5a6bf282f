"""Explain predictions: which part of a patch, or of its neighbourhood, drives P(IDC+).

:func:`occlusion_map` hides one region of an image at a time and records how much the model's
P(IDC+) drops; it needs only predictions, so it works for every idckit model (context mosaics
included) on every Keras backend. :func:`grad_cam` weighs a convolutional layer's feature maps
by the gradient of the class score (Grad-CAM): one backward pass, on the TensorFlow, JAX and
PyTorch backends; :func:`find_target_layer` names the layer it explains by default and
:func:`crop_centre` cuts the classified patch out of a context mosaic's map.
:func:`plot_occlusion` and :func:`plot_grad_cam` draw the maps over their images.

Names are imported lazily (PEP 562): the plots import matplotlib only; :func:`occlusion_map`,
:func:`grad_cam` and :func:`find_target_layer` call a Keras model.

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
    from idckit.explain._gradcam import crop_centre as crop_centre
    from idckit.explain._gradcam import grad_cam as grad_cam
    from idckit.explain._occlusion import occlusion_map as occlusion_map
    from idckit.explain._plot import plot_grad_cam as plot_grad_cam
    from idckit.explain._plot import plot_occlusion as plot_occlusion
    from idckit.explain._target import find_target_layer as find_target_layer

_EXPORTS = {
    "crop_centre": "idckit.explain._gradcam",
    "find_target_layer": "idckit.explain._target",
    "grad_cam": "idckit.explain._gradcam",
    "occlusion_map": "idckit.explain._occlusion",
    "plot_grad_cam": "idckit.explain._plot",
    "plot_occlusion": "idckit.explain._plot",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
