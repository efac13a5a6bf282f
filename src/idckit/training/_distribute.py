"""Scaling out with the backends' own tools; idckit does no distribution of its own.

* **TensorFlow**: pass a ``tf.distribute`` strategy (``MirroredStrategy`` for the GPUs of one
  machine, ``MultiWorkerMirroredStrategy`` across machines) as ``KFoldTrainer(strategy=...)``.
  Every fold's model is built, compiled and (when resuming) loaded inside
  ``strategy.scope()``; ``batch_size`` is the global batch, split across replicas by Keras.
* **JAX**: set a ``keras.distribution`` layout *before* training, e.g.
  ``keras.distribution.set_distribution(keras.distribution.DataParallel())`` (all local
  devices), and leave ``strategy=None``; Keras then shards each batch across devices.
  ``batch_size`` must be a multiple of them, and the last batch of an epoch is evened out
  (:mod:`idckit._data_parallel`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from idckit._errors import invalid_argument


def check_strategy(strategy: Any) -> None:
    """Accept None or a ``tf.distribute.Strategy`` on the TensorFlow backend.

    Examples
    --------
    >>> check_strategy(None)
    """
    if strategy is None:
        return
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise invalid_argument(
            "strategy",
            "KFoldTrainer",
            f"None on the {backend!r} backend (tf.distribute strategies need TensorFlow)",
            type(strategy).__name__,
            "On JAX, call keras.distribution.set_distribution(keras.distribution."
            "DataParallel()) before training instead.",
        )
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.Strategy):
        raise invalid_argument(
            "strategy", "KFoldTrainer", "a tf.distribute.Strategy or None", strategy
        )


@contextlib.contextmanager
def strategy_scope(strategy: Any) -> Iterator[None]:
    """``strategy.scope()``, or nothing when ``strategy`` is None.

    Examples
    --------
    >>> with strategy_scope(None):
    ...     pass
    """
    if strategy is None:
        yield
        return
    with strategy.scope():
        yield
