"""Patient-grouped K-fold training that survives crashes, recipes and grid search.

:class:`KFoldTrainer` splits patients (never patches) into stratified folds, trains a fresh
model per fold, keeps each fold's best epoch by validation F1(+), chooses the decision
threshold on the out-of-fold predictions and evaluates the fold models as an ensemble. Its run
directory makes it resumable: every file is written atomically, finished folds are never
retrained and an unfinished fold continues from its last epoch checkpoint.

Scaling out uses the backends' own tools. On TensorFlow pass a ``tf.distribute`` strategy
(``KFoldTrainer(..., strategy=tf.distribute.MirroredStrategy())``): each fold's model is built,
compiled and loaded inside ``strategy.scope()`` and ``batch_size`` is the global batch. On JAX,
call ``keras.distribution.set_distribution(keras.distribution.DataParallel())`` before
training and leave ``strategy=None``.

Names are imported lazily (PEP 562): :data:`RECIPES` and :class:`Recipe` import no
deep-learning framework; :class:`KFoldTrainer` imports Keras.

Examples
--------
>>> from idckit.training import RECIPES
>>> sorted(RECIPES)
['cpu', 'seed']
"""

from __future__ import annotations

from typing import Any

from idckit._lazy import load_export, public_dir

_EXPORTS = {
    "CrossValidationResult": "idckit.training._results",
    "FoldResult": "idckit.training._results",
    "GridSearchResult": "idckit.training._grid",
    "KFoldTrainer": "idckit.training._kfold",
    "Predictions": "idckit.training._predictions",
    "RECIPES": "idckit.training._recipes",
    "Recipe": "idckit.training._recipes",
    "get_recipe": "idckit.training._recipes",
    "grid_search": "idckit.training._grid",
    "model_builder": "idckit.training._recipes",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562)."""
    return load_export(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return public_dir(globals(), __all__)
