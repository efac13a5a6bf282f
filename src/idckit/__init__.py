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

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

__version__ = "0.1.0.dev0"

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.data import Augmentation as Augmentation
    from idckit.data import IDCPatchDataset as IDCPatchDataset
    from idckit.data import PatchRecord as PatchRecord
    from idckit.data import ScanReport as ScanReport
    from idckit.datasets import fetch_idc as fetch_idc
    from idckit.datasets import make_synthetic as make_synthetic
    from idckit.inference import SpatialSmoothing as SpatialSmoothing
    from idckit.inference import predict_proba as predict_proba
    from idckit.inference import smooth_probabilities as smooth_probabilities
    from idckit.metrics import StreamingF1 as StreamingF1
    from idckit.models import HeadConfig as HeadConfig
    from idckit.models import ImagePreprocessing as ImagePreprocessing
    from idckit.models import build_benchmark_cnn as build_benchmark_cnn
    from idckit.models import build_idc_cnn as build_idc_cnn
    from idckit.models import build_transfer_model as build_transfer_model
    from idckit.models import loss_for_model as loss_for_model
    from idckit.models import precision_policy as precision_policy
    from idckit.models import unfreeze_backbone as unfreeze_backbone
    from idckit.reporting import ClassificationReport as ClassificationReport
    from idckit.reporting import choose_threshold as choose_threshold
    from idckit.reporting import plot_learning_curves as plot_learning_curves
    from idckit.training import CrossValidationResult as CrossValidationResult
    from idckit.training import FoldResult as FoldResult
    from idckit.training import GridSearchResult as GridSearchResult
    from idckit.training import KFoldTrainer as KFoldTrainer
    from idckit.training import Predictions as Predictions
    from idckit.training import Recipe as Recipe
    from idckit.training import Run as Run
    from idckit.training import TrainingConfig as TrainingConfig
    from idckit.training import get_recipe as get_recipe

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
    "build_idc_cnn": "idckit.models",
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
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
