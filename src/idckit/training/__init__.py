"""Patient-grouped K-fold training that survives crashes, finished runs, recipes, grid search.

:class:`TrainingConfig` holds every training setting. :class:`KFoldTrainer` splits patients
(never patches) into stratified folds, trains a fresh model per fold, keeps each fold's best
epoch by validation F1(+) and chooses the decision threshold on the out-of-fold predictions.
Its run directory makes it resumable: every file is written atomically, finished folds are
never retrained and an unfinished fold continues from its last epoch checkpoint. A finished
run is a :class:`Run`: its fold models predict and evaluate as an ensemble. A
:class:`Recipe` is a named model plus a :class:`TrainingConfig`.

Scaling out uses the backends' own tools. On TensorFlow pass a ``tf.distribute`` strategy
(``KFoldTrainer(build, config, strategy=tf.distribute.MirroredStrategy())``): each fold's
model is built, compiled and loaded inside ``strategy.scope()`` and ``batch_size`` is the
global batch. On JAX, call ``keras.distribution.set_distribution(keras.distribution.
DataParallel())`` before training and leave ``strategy=None``.

Names are imported lazily (PEP 562): :class:`TrainingConfig`, :data:`RECIPES` and
:class:`Recipe` import no deep-learning framework; :class:`KFoldTrainer` imports Keras.

Examples
--------
>>> from idckit.training import RECIPES
>>> sorted(RECIPES)
['cpu', 'seed']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from idckit._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover - the same names, typed, for mypy and IDEs
    from idckit.training._config import TrainingConfig as TrainingConfig
    from idckit.training._grid import GridSearchResult as GridSearchResult
    from idckit.training._grid import grid_search as grid_search
    from idckit.training._kfold import KFoldTrainer as KFoldTrainer
    from idckit.training._predictions import Predictions as Predictions
    from idckit.training._recipes import RECIPES as RECIPES
    from idckit.training._recipes import Recipe as Recipe
    from idckit.training._recipes import get_recipe as get_recipe
    from idckit.training._recipes import model_builder as model_builder
    from idckit.training._results import CrossValidationResult as CrossValidationResult
    from idckit.training._results import FoldResult as FoldResult
    from idckit.training._run import Run as Run
    from idckit.training._run_report import write_run_report as write_run_report

_EXPORTS = {
    "CrossValidationResult": "idckit.training._results",
    "FoldResult": "idckit.training._results",
    "GridSearchResult": "idckit.training._grid",
    "KFoldTrainer": "idckit.training._kfold",
    "Predictions": "idckit.training._predictions",
    "RECIPES": "idckit.training._recipes",
    "Recipe": "idckit.training._recipes",
    "Run": "idckit.training._run",
    "TrainingConfig": "idckit.training._config",
    "get_recipe": "idckit.training._recipes",
    "grid_search": "idckit.training._grid",
    "model_builder": "idckit.training._recipes",
    "write_run_report": "idckit.training._run_report",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
