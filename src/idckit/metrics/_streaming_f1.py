"""StreamingF1: an F1 score that accumulates counts over an epoch, on every Keras backend."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from idckit._errors import check_choice, invalid_argument
from idckit.metrics._confusion import (
    AVERAGES,
    Average,
    averaged_score,
    check_class_index,
    check_finite,
    check_num_classes,
    check_weight_count,
)

_OWNER = "StreamingF1"


def _check_threshold(threshold: object) -> float:
    rule = "a float in (0, 1)"
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise invalid_argument("threshold", _OWNER, rule, threshold)
    if math.isnan(threshold) or not 0.0 < threshold < 1.0:
        raise invalid_argument("threshold", _OWNER, rule, threshold)
    return float(threshold)


@keras.saving.register_keras_serializable(package="idckit")
class StreamingF1(keras.metrics.Metric):  # type: ignore[misc]  # keras is untyped (Any)
    """F1 score over everything seen since the last reset (the whole epoch, not a batch mean).

    The state is the sufficient statistics: weighted true positives, false positives and false
    negatives of each class. ``result()`` computes F1 from them with the same arithmetic as
    :func:`idckit.metrics.f1_from_confusion`, so after an epoch the value equals
    ``sklearn.metrics.f1_score(y_true, y_pred, labels=range(num_classes), average=...,
    zero_division=0)`` on all the epoch's samples.

    Parameters
    ----------
    average
        ``"binary"`` (F1 of ``positive_class``, the default: IDC(+)), ``"macro"``,
        ``"weighted"`` (by support), ``"micro"`` (pooled counts), or None for the per-class
        vector.
    positive_class
        The class whose F1 ``average="binary"`` reports.
    threshold
        For single-probability predictions (shape ``(N,)`` or ``(N, 1)``, a sigmoid's
        P(class 1)): class 1 is predicted where ``p >= threshold``. Must lie in (0, 1).
    num_classes
        Number of classes (>= 2). Single-probability predictions need ``num_classes=2``.
    name, dtype
        As for any ``keras.metrics.Metric``; the history key is ``name`` (``"f1"``).

    Notes
    -----
    Labels may be sparse ``(N,)`` or ``(N, 1)`` (ints, or floats holding integers) or one-hot
    ``(N, num_classes)``. Predictions may be ``(N, num_classes)`` scores (the argmax is
    predicted) or ``(N,)``/``(N, 1)`` probabilities of class 1. ``sample_weight`` (which is how
    ``fit(class_weight=...)`` reaches metrics) weights each sample's counts: one weight per
    sample, or a scalar for all (Keras's convention). Labels outside ``[0, num_classes)`` count
    for nothing.

    Inputs follow the rule of :func:`~idckit.metrics.confusion_counts`: labels, predictions and
    weights must be finite, and ``y_pred`` and ``sample_weight`` must hold one entry per label.
    Called eagerly (``metric.update_state(...)`` on arrays, ``run_eagerly=True``), a batch that
    breaks it raises a ``ValueError`` naming the argument and leaves the counts unchanged.
    Inside a traced function (``model.fit`` compiles its steps with ``tf.function`` or
    ``jax.jit``) values cannot be inspected from Python: lengths are still checked wherever
    the shapes are static, and a batch holding NaN or infinity turns every count, and so the
    result, into NaN until the next ``reset_state()``, so that it shows in the history instead
    of passing for a clean score.

    In ``model.compile``, Keras 3 passes sample and class weights only to
    ``weighted_metrics``: ``metrics=[StreamingF1()]`` gives the plain F1 of the data (usually
    what you want with ``class_weight``), ``weighted_metrics=[StreamingF1(name="weighted_f1")]``
    the class-weighted one.

    Examples
    --------
    >>> import numpy as np
    >>> f1 = StreamingF1()
    >>> f1.update_state(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
    >>> f1.update_state(np.array([1]), np.array([[0.3, 0.7]]))
    >>> round(float(f1.result()), 4)
    0.8
    """

    def __init__(
        self,
        average: Average = "binary",
        *,
        positive_class: int = 1,
        threshold: float = 0.5,
        num_classes: int = 2,
        name: str = "f1",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        check_choice("average", _OWNER, average, AVERAGES)
        self.num_classes = check_num_classes(num_classes, _OWNER)
        self.positive_class = check_class_index(
            "positive_class", _OWNER, positive_class, self.num_classes
        )
        self.threshold = _check_threshold(threshold)
        self.average = average
        self.true_positives = self._counts("true_positives")
        self.false_positives = self._counts("false_positives")
        self.false_negatives = self._counts("false_negatives")

    def _counts(self, name: str) -> Any:
        return self.add_variable(
            shape=(self.num_classes,), initializer="zeros", dtype=self.dtype, name=name
        )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch's weighted TP/FP/FN counts to the state.

        Raises ``ValueError`` (counts unchanged) on a batch that breaks the input rule when
        its values are known; in a traced function a non-finite batch makes the counts NaN.
        """
        _check_known_values(y_true, y_pred, sample_weight)
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        weight = None if sample_weight is None else ops.convert_to_tensor(sample_weight)
        _check_lengths(y_true, y_pred, weight)
        true_hot = ops.one_hot(self._true_classes(y_true), self.num_classes, dtype=self.dtype)
        pred_hot = ops.one_hot(self._predicted_classes(y_pred), self.num_classes, dtype=self.dtype)
        poison = self._nan_unless_finite(y_true, y_pred, weight)
        if weight is None:
            weight = ops.ones_like(true_hot[:, :1])
        else:
            weight = ops.reshape(ops.cast(weight, self.dtype), (-1, 1))
        for counts, hits in (
            (self.true_positives, true_hot * pred_hot),
            (self.false_positives, (1 - true_hot) * pred_hot),
            (self.false_negatives, true_hot * (1 - pred_hot)),
        ):
            counts.assign_add(ops.sum(weight * hits, axis=0) + poison)

    def _nan_unless_finite(self, *tensors: Any) -> Any:
        """0, or NaN when a floating input holds NaN or infinity (what a traced batch adds)."""
        finite = ops.convert_to_tensor(True)
        for tensor in tensors:
            if tensor is not None and "float" in keras.backend.standardize_dtype(tensor.dtype):
                finite = ops.logical_and(finite, ops.all(ops.isfinite(tensor)))
        nan = ops.full((), float("nan"), dtype=self.dtype)
        return ops.where(finite, ops.zeros((), dtype=self.dtype), nan)

    def result(self) -> Any:
        """F1 from the accumulated counts (a scalar, or a vector when ``average`` is None)."""
        tp, fp, fn = (
            ops.convert_to_tensor(v)
            for v in (self.true_positives, self.false_positives, self.false_negatives)
        )
        return averaged_score(
            "f1", tp, fp, fn, average=self.average, positive_class=self.positive_class, xp=ops
        )

    def reset_state(self) -> None:
        """Zero the counts (Keras calls this at the start of every epoch)."""
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, for ``from_config`` and model saving."""
        return {
            **super().get_config(),
            "average": self.average,
            "positive_class": self.positive_class,
            "threshold": self.threshold,
            "num_classes": self.num_classes,
        }

    def _true_classes(self, y_true: Any) -> Any:
        return self._class_ids(ops.convert_to_tensor(y_true), "y_true")

    def _predicted_classes(self, y_pred: Any) -> Any:
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_pred.shape) == 2 and y_pred.shape[-1] != 1:
            return self._class_ids(y_pred, "y_pred")
        if len(y_pred.shape) > 2:
            raise _shape_error("y_pred", y_pred.shape, self.num_classes)
        if self.num_classes != 2:
            rule = f"shape (N, {self.num_classes}) when num_classes={self.num_classes}"
            remedy = "Single-probability predictions need num_classes=2."
            raise invalid_argument("y_pred", _OWNER, rule, tuple(y_pred.shape), remedy)
        probability = ops.reshape(y_pred, (-1,))
        return ops.cast(ops.greater_equal(probability, self.threshold), "int32")

    def _class_ids(self, y: Any, name: str) -> Any:
        """Sparse ``(N,)``/``(N, 1)`` labels as they are; ``(N, C)`` through argmax."""
        if len(y.shape) == 2 and y.shape[-1] != 1:
            if y.shape[-1] != self.num_classes:
                raise _shape_error(name, y.shape, self.num_classes)
            return ops.argmax(y, axis=-1)
        if len(y.shape) > 2:
            raise _shape_error(name, y.shape, self.num_classes)
        y = ops.reshape(y, (-1,))
        if "float" in keras.backend.standardize_dtype(y.dtype):
            y = ops.round(y)
        return ops.cast(y, "int32")


def _values_now(x: Any) -> np.ndarray[Any, Any] | None:
    """``x`` as a NumPy array when its values exist now, None for a traced (symbolic) tensor."""
    if x is None:
        return None
    if isinstance(x, np.ndarray | np.generic | int | float | list | tuple):
        return np.asarray(x)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        eager = tf.executing_eagerly() and hasattr(x, "numpy")
        return np.asarray(x.numpy()) if eager else None
    if backend == "jax":
        import jax

        return None if isinstance(x, jax.core.Tracer) else np.asarray(x)
    if backend == "torch":
        import torch

        compiling = getattr(torch.compiler, "is_compiling", lambda: False)()
        return None if compiling else np.asarray(ops.convert_to_numpy(x))
    return np.asarray(ops.convert_to_numpy(x))


def _check_known_values(y_true: Any, y_pred: Any, sample_weight: Any) -> None:
    """Apply :func:`check_finite` to every input whose values are known (eager calls)."""
    for name, value in (("y_true", y_true), ("y_pred", y_pred), ("sample_weight", sample_weight)):
        known = _values_now(value)
        if known is not None:
            check_finite(name, _OWNER, known)


def _check_lengths(y_true: Any, y_pred: Any, weight: Any) -> None:
    """One prediction and one weight (or a scalar weight) per label, where shapes are static."""
    n_true = _static_length(y_true)
    if n_true is None:
        return
    n_pred = _static_length(y_pred)
    if n_pred is not None and n_pred != n_true:
        rule = f"one prediction per label of y_true ({n_true} samples)"
        received = f"shape {tuple(y_pred.shape)}: {n_pred} predictions"
        raise invalid_argument("y_pred", _OWNER, rule, received)
    if weight is not None and len(weight.shape) > 0 and None not in tuple(weight.shape):
        check_weight_count(tuple(int(d) for d in weight.shape), n_true, _OWNER)


def _static_length(x: Any) -> int | None:
    """Return the number of samples (first dimension) when the shape says it, else None."""
    shape = tuple(x.shape)
    if not shape or shape[0] is None:
        return None
    return int(shape[0])


def _shape_error(name: str, shape: Any, num_classes: int) -> ValueError:
    rule = f"shape (N,), (N, 1) or (N, {num_classes})"
    return invalid_argument(name, _OWNER, rule, tuple(shape))
