"""idckit: Invasive Ductal Carcinoma detection in breast histopathology patches.

The public API is declared here, in ``__all__``. Names are imported lazily (PEP 562), so
``import idckit`` is cheap and never imports a deep-learning framework: Keras (and with it
TensorFlow, JAX or PyTorch) is imported only when a model, metric or trainer is first used.

Examples
--------
>>> import idckit
>>> "IDCPatchDataset" in idckit.__all__
True
"""

from __future__ import annotations

from typing import Any

from idckit._lazy import load_export, public_dir

__version__ = "0.1.0.dev0"

# Public name -> module that defines it. Adding a public name is one line here.
_EXPORTS: dict[str, str] = {
    # data: index, decode, cache and feed patches (no deep-learning framework imported)
    "Augmentation": "idckit.data",
    "IDCPatchDataset": "idckit.data",
    "PatchRecord": "idckit.data",
    "ScanReport": "idckit.data",
    # datasets: data a user can make or fetch
    "fetch_idc": "idckit.datasets",
    "make_synthetic": "idckit.datasets",
    # models (import Keras)
    "build_benchmark_cnn": "idckit.models",
    "HeadConfig": "idckit.models",
    "ImagePreprocessing": "idckit.models",
    "build_transfer_model": "idckit.models",
    "loss_for_model": "idckit.models",
    "precision_policy": "idckit.models",
    "unfreeze_backbone": "idckit.models",
    # metrics (import Keras)
    "StreamingF1": "idckit.metrics",
    # reporting (no deep-learning framework imported)
    "ClassificationReport": "idckit.reporting",
    "choose_threshold": "idckit.reporting",
    "plot_learning_curves": "idckit.reporting",
    # inference: test-time augmentation (imports Keras) and spatial smoothing (NumPy only)
    "SpatialSmoothing": "idckit.inference",
    "predict_proba": "idckit.inference",
    "smooth_probabilities": "idckit.inference",
    # training (imports Keras)
    "CrossValidationResult": "idckit.training",
    "FoldResult": "idckit.training",
    "GridSearchResult": "idckit.training",
    "KFoldTrainer": "idckit.training",
    "Predictions": "idckit.training",
    "Recipe": "idckit.training",
    "Run": "idckit.training",
    "TrainingConfig": "idckit.training",
    "get_recipe": "idckit.training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return public_dir(globals(), __all__)
