"""Compile settings: the fold metrics (stable history names) and a fresh optimizer per fold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
from keras import ops

from idckit._errors import invalid_argument
from idckit.training._config import OptimizerSpec, thawed


def _positive_probability(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Sparse labels ``(N,)`` and P(class 1) ``(N,)`` from softmax ``(N, 2)`` or sigmoid output."""
    y_true = ops.reshape(y_true, (-1,))
    if y_pred.shape[-1] == 2:
        return y_true, y_pred[:, 1]
    return y_true, ops.reshape(y_pred, (-1,))


@keras.saving.register_keras_serializable(package="idckit.training")
class PositivePrecision(keras.metrics.Precision):  # type: ignore[misc]  # keras is untyped
    """Precision of IDC(+) for softmax ``(N, 2)`` or sigmoid outputs and sparse labels."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulate counts of one batch."""
        y_true, prob = _positive_probability(y_true, y_pred)
        super().update_state(y_true, prob, sample_weight)


@keras.saving.register_keras_serializable(package="idckit.training")
class PositiveRecall(keras.metrics.Recall):  # type: ignore[misc]  # keras is untyped
    """Recall (sensitivity) of IDC(+) for softmax ``(N, 2)`` or sigmoid outputs."""

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulate counts of one batch."""
        y_true, prob = _positive_probability(y_true, y_pred)
        super().update_state(y_true, prob, sample_weight)


def fold_metrics() -> list[Any]:
    """Create the fold metrics: history names ``f1``, ``precision``, ``recall``, ``accuracy``.

    Examples
    --------
    >>> [m.name for m in fold_metrics()[:3]]
    ['f1', 'precision', 'recall']
    """
    from idckit.metrics import StreamingF1

    return [
        StreamingF1(name="f1"),
        PositivePrecision(name="precision"),
        PositiveRecall(name="recall"),
        "accuracy",
    ]


def make_optimizer(spec: OptimizerSpec) -> Any:
    """Create a new optimizer from a name, a Keras config dict or a no-argument factory.

    Examples
    --------
    >>> type(make_optimizer({"class_name": "SGD", "config": {"momentum": 0.2}})).__name__
    'SGD'
    """
    if callable(spec) and not isinstance(spec, keras.optimizers.Optimizer):
        optimizer = spec()
    elif isinstance(spec, str | Mapping):
        optimizer = keras.optimizers.get(thawed(spec))
    else:
        optimizer = None
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise invalid_argument(
            "optimizer",
            "KFoldTrainer",
            "a name ('adam'), a Keras optimizer config dict or a factory returning a new "
            "optimizer (an optimizer instance cannot be reused across folds)",
            spec,
        )
    return optimizer


#: ``lr_schedule="warmup_cosine"``: warm up over this fraction of a fold's steps ...
WARMUP_FRACTION = 0.05
#: ... starting from this fraction of the optimizer's learning rate.
WARMUP_START = 0.1


def with_cosine_decay(optimizer: Any, total_steps: int, *, warmup: float = 0.0) -> Any:
    """Return the optimizer with its rate decayed to 0 by a cosine over ``total_steps``.

    With ``warmup`` > 0, the first ``int(warmup * total_steps)`` steps raise the rate linearly
    from ``WARMUP_START`` times the rate to the rate, and the cosine decays it to 0 over the
    remaining steps (Keras's ``CosineDecay`` with ``warmup_target``). When that is 0 steps
    (a fold of fewer than 20 steps at ``warmup=0.05``) the cosine starts at the rate itself.

    Examples
    --------
    >>> opt = with_cosine_decay(make_optimizer({"class_name": "AdamW", "config": {
    ...     "learning_rate": 1e-2}}), 100, warmup=0.1)
    >>> round(float(opt.learning_rate), 6)  # at step 0: a tenth of the rate
    0.001
    """
    config = optimizer.get_config()
    initial = config["learning_rate"]
    if not isinstance(initial, int | float):
        raise invalid_argument(
            "lr_schedule", "KFoldTrainer", "a constant initial learning rate to decay", initial,
            "Pass lr_schedule='constant' with an optimizer that has its own schedule.",
        )  # fmt: skip
    total = max(1, total_steps)
    warm = int(warmup * total)
    if warm > 0:
        schedule = keras.optimizers.schedules.CosineDecay(
            WARMUP_START * float(initial), total - warm, alpha=0.0,
            warmup_target=float(initial), warmup_steps=warm,
        )  # fmt: skip
    else:
        schedule = keras.optimizers.schedules.CosineDecay(float(initial), total)
    return optimizer.__class__.from_config({**config, "learning_rate": schedule})


def compile_model(model: Any, optimizer: Any, label_smoothing: float = 0.0) -> None:
    """Compile an uncompiled model: loss from its output layer, the fold metrics."""
    from idckit.models import loss_for_model

    loss = loss_for_model(model, label_smoothing=label_smoothing)
    model.compile(optimizer=optimizer, loss=loss, metrics=fold_metrics())
