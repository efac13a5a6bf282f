"""TrainingConfig: every setting that shapes a training run, named, defaulted and checked once.

A setting is added here (a field, its docstring line, its check in ``__post_init__``), in its
test, and in the one place that uses it; :class:`~idckit.training.Recipe`, the run directory's
``config.json``, ``idckit train``'s flags and :func:`~idckit.training.grid_search` all take
:class:`TrainingConfig` whole. The module also holds the JSON descriptions of what a run's
``config.json`` records. It imports no deep-learning framework.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from idckit._errors import check_context, check_fraction, invalid_argument
from idckit.data import Augmentation, StainNormalization
from idckit.inference import SpatialSmoothing

ClassWeight = Literal["balanced"] | Mapping[int, float] | None
LRSchedule = Literal["constant", "warmup_cosine"]
#: An objective that chooses the threshold on out-of-fold predictions, or a fixed threshold.
ThresholdObjective = Literal["f1", "youden", "min_recall"] | float
#: A Keras optimizer name, its config dict, or a no-argument factory of a new optimizer.
OptimizerSpec = str | Mapping[str, Any] | Callable[[], Any]

LR_SCHEDULES = ("constant", "warmup_cosine")
OBJECTIVES = ("f1", "youden", "min_recall")
#: Not a setting of its own: :meth:`TrainingConfig.replace` sets the optimizer's rate by it.
LEARNING_RATE = "learning_rate"
_OWNER = "TrainingConfig"


def frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Read-only view of ``mapping``, nested mappings included (:func:`thawed` undoes it)."""
    return MappingProxyType(
        {k: frozen(v) if isinstance(v, Mapping) else v for k, v in (mapping or {}).items()}
    )


def thawed(value: Any) -> Any:
    """Plain dicts again (JSON-ready), nested ones included.

    Examples
    --------
    >>> thawed(frozen({"a": {"b": 1}}))
    {'a': {'b': 1}}
    """
    if isinstance(value, Mapping):
        return {str(k): thawed(v) for k, v in value.items()}
    return value


def _integer(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise invalid_argument(name, _OWNER, f"an integer >= {minimum}", value)
    return int(value)


def check_threshold_objective(value: Any, owner: str = _OWNER) -> ThresholdObjective:
    """Return an objective name, or a fixed threshold as a float in (0, 1).

    Examples
    --------
    >>> check_threshold_objective("youden"), check_threshold_objective(0.5)
    ('youden', 0.5)
    """
    if isinstance(value, str) and value in OBJECTIVES:
        return value  # type: ignore[return-value]  # checked against the Literal's values
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        threshold = float(value)
        if math.isfinite(threshold) and 0 < threshold < 1:
            return threshold
    allowed = ", ".join(repr(c) for c in OBJECTIVES)
    raise invalid_argument(
        "threshold_objective", owner, f"one of {allowed}, or a fixed threshold in (0, 1)", value
    )


def _check_class_weight(value: Any) -> ClassWeight:
    if value is None or value == "balanced":
        return value  # type: ignore[no-any-return]  # None or the Literal's one value
    if isinstance(value, Mapping) and {str(k) for k in value} == {"0", "1"}:  # JSON: "0"
        weights = {int(k): float(v) for k, v in value.items()}
        if all(math.isfinite(w) and w >= 0 for w in weights.values()):
            return MappingProxyType(weights)
    raise invalid_argument(
        "class_weight", _OWNER, "'balanced', None, or a dict {0: w0, 1: w1} of weights >= 0",
        value,
    )  # fmt: skip


def _check_optimizer(value: Any) -> OptimizerSpec:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping) and "class_name" in value:
        return frozen(value)
    if callable(value) and not hasattr(value, "apply_gradients"):
        return value  # type: ignore[no-any-return]  # a factory
    raise invalid_argument(
        "optimizer", _OWNER,
        "a name ('adam'), a Keras optimizer config dict ({'class_name': ..., 'config': ...}) "
        "or a factory returning a new optimizer",
        value, "An optimizer instance cannot be reused across folds: pass its config instead.",
    )  # fmt: skip


def _check_min_recall(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < float(value) <= 1:
        raise invalid_argument("min_recall", _OWNER, "a float in (0, 1]", value)
    return float(value)


def _default_optimizer() -> Mapping[str, Any]:
    return frozen({"class_name": "Adam", "config": {"learning_rate": 1e-3}})


@dataclass(frozen=True)
class TrainingConfig:
    """Every setting that shapes a K-fold training run and its predictions, checked once.

    Frozen and validated on construction: a config that exists is a valid one. A
    :class:`~idckit.training.Recipe` holds one, :class:`~idckit.training.KFoldTrainer` trains
    with one, and a run directory's ``config.json`` stores it (:meth:`to_dict`).

    Parameters
    ----------
    n_splits
        Number of patient-grouped folds (>= 2).
    epochs
        Epochs per fold.
    batch_size
        Global batch size (split across devices under a distribution strategy).
    optimizer
        A Keras optimizer name (``"adam"``), its config dict (``keras.optimizers.get`` accepts
        it) or a no-argument factory; a new optimizer is made for every fold.
    lr_schedule
        ``"constant"`` or ``"warmup_cosine"`` (a linear warm-up from a tenth of the rate to the
        rate over the first 5% of the fold's steps, then cosine decay to 0: the ``cpu``
        recipe's).
    class_weight
        ``"balanced"`` (computed from each training fold only), a dict ``{0: w0, 1: w1}`` or
        None.
    label_smoothing
        Label smoothing of the loss of models idckit compiles, in [0, 1): with ``e`` the
        targets are ``1 - e / 2`` and ``e / 2`` instead of 1 and 0. It softens the pull of
        wrongly labelled patches (coarse region annotations).
    augment
        Training-batch augmentation: ``True`` (flips, 90-degree rotations), an
        :class:`~idckit.data.Augmentation` (colour/stain jitter too) or a dict of its fields.
    patience
        Early stopping: stop a fold after this many epochs without a better validation F1(+);
        None: never. No recipe uses it (a fold restores its best epoch either way); it saves
        the time of long schedules such as the ``seed`` recipe's 15 epochs per fold.
    seed
        Seeds the patient shuffle, weight initialisation and batch order (per fold).
    threshold_objective
        How the decision threshold is chosen on the out-of-fold predictions (``"f1"``,
        ``"youden"``, ``"min_recall"``; see :func:`idckit.reporting.choose_threshold`), or a
        fixed threshold in (0, 1) such as ``0.5``.
    min_recall
        The recall that ``threshold_objective="min_recall"`` must reach, in (0, 1].
    tta
        Test-time augmentation: P(IDC+) is the mean over the 8 dihedral transforms of each
        patch, for the out-of-fold predictions and for every prediction of the run. No recipe
        uses it: on the ``cpu`` recipe, which trains with flips and rotations, nested CV gave
        0.766 / 0.878 (F1(+) / balanced accuracy) with it and 0.767 / 0.879 without (the
        benchmarks page). It is for models trained without them.
    smoothing
        Spatial smoothing of P(IDC+) over each patient's neighbouring patches (a
        :class:`~idckit.inference.SpatialSmoothing` or a dict of its fields), applied to the
        validation predictions before the threshold is chosen and to every prediction of the
        run; None: off.
    context
        Feed every patch as the mosaic of its ``(2r+1) x (2r+1)`` neighbourhood on its
        patient's slide; the model must take such mosaics (``build_idc_cnn(context=r)``).
        0: the patch alone.
    stain_normalization
        Normalise stains before training and before every prediction of the run: a
        :class:`~idckit.data.StainNormalization`, a method's name (``"macenko"``,
        ``"reinhard"``: estimated per patient) or a dict of its fields; None: off. The
        normaliser is fitted on the training patients and stored in the run directory
        (``normalizer.json``).

    Examples
    --------
    >>> config = TrainingConfig(n_splits=3, epochs=2)
    >>> config.replace(epochs=4).epochs
    4
    >>> TrainingConfig.from_dict(config.to_dict()) == config
    True
    >>> TrainingConfig(epochs=0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid `epochs` for TrainingConfig: expected an integer >= 1. Received: epochs=0.
    """

    n_splits: int = 5
    epochs: int = 10
    batch_size: int = 64
    optimizer: OptimizerSpec = field(default_factory=_default_optimizer)
    lr_schedule: LRSchedule = "constant"
    class_weight: ClassWeight = "balanced"
    label_smoothing: float = 0.0
    augment: bool | Augmentation = False
    patience: int | None = None
    seed: int = 0
    threshold_objective: ThresholdObjective = "f1"
    min_recall: float = 0.9
    tta: bool = False
    smoothing: SpatialSmoothing | None = None
    context: int = 0
    stain_normalization: StainNormalization | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("n_splits", _integer("n_splits", self.n_splits, 2))
        put("epochs", _integer("epochs", self.epochs, 1))
        put("batch_size", _integer("batch_size", self.batch_size, 1))
        put("optimizer", _check_optimizer(self.optimizer))
        if self.lr_schedule not in LR_SCHEDULES:
            allowed = ", ".join(repr(c) for c in LR_SCHEDULES)
            raise invalid_argument("lr_schedule", _OWNER, f"one of {allowed}", self.lr_schedule)
        put("class_weight", _check_class_weight(self.class_weight))
        put("label_smoothing", check_fraction("label_smoothing", _OWNER, self.label_smoothing))
        if isinstance(self.augment, bool | np.bool_):  # booleans stay booleans (grid, JSON)
            put("augment", bool(self.augment))
        else:  # an Augmentation that only flips/rotates (or does nothing) is True (False)
            augment = Augmentation.coerce(self.augment, _OWNER)
            described = Augmentation.describe(augment)
            put("augment", described if isinstance(described, bool) else augment)
        if self.patience is not None:
            put("patience", _integer("patience", self.patience, 1))
        put("seed", _integer("seed", self.seed, 0))
        put("threshold_objective", check_threshold_objective(self.threshold_objective))
        put("min_recall", _check_min_recall(self.min_recall))
        if not isinstance(self.tta, bool | np.bool_):
            raise invalid_argument("tta", _OWNER, "True or False", self.tta)
        put("tta", bool(self.tta))
        put("smoothing", SpatialSmoothing.coerce(self.smoothing, _OWNER))
        put("context", check_context(self.context, _OWNER))
        put("stain_normalization", StainNormalization.coerce(self.stain_normalization, _OWNER))

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={thawed(getattr(self, name))!r}" for name in self.names())
        return f"TrainingConfig({values})"

    def replace(self, **changes: Any) -> TrainingConfig:
        """Return a checked copy with ``changes`` applied (``dataclasses.replace``).

        Besides the settings, ``learning_rate`` sets the learning rate of a config-dict
        ``optimizer`` and keeps the rest of it (see :attr:`learning_rate`).

        Examples
        --------
        >>> TrainingConfig().replace(seed=3).seed
        3
        >>> TrainingConfig().replace(learning_rate=3e-3).optimizer["config"]["learning_rate"]
        0.003
        """
        changes = dict(changes)
        rate = changes.pop(LEARNING_RATE, None)
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            allowed = ", ".join((*self.names(), LEARNING_RATE))
            raise invalid_argument(
                unknown[0], _OWNER, f"one of its settings ({allowed})", changes[unknown[0]]
            )
        config = dataclasses.replace(self, **changes)
        return config if rate is None else config._with_learning_rate(rate)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Return the settings' names, in declaration order.

        Examples
        --------
        >>> TrainingConfig.names()[:3]
        ('n_splits', 'epochs', 'batch_size')
        """
        return tuple(f.name for f in dataclasses.fields(cls))

    @property
    def learning_rate(self) -> float | None:
        """The learning rate of a config-dict ``optimizer`` (None when it does not say).

        Examples
        --------
        >>> TrainingConfig().learning_rate
        0.001
        """
        if isinstance(self.optimizer, Mapping):
            rate = self.optimizer.get("config", {}).get("learning_rate")
            return float(rate) if isinstance(rate, numbers.Real) else None
        return None

    def _with_learning_rate(self, rate: Any) -> TrainingConfig:
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not float(rate) > 0:
            raise invalid_argument("learning_rate", _OWNER, "a float > 0", rate)
        if not isinstance(self.optimizer, Mapping):
            raise invalid_argument(
                "optimizer", _OWNER, "a Keras optimizer config dict to set its learning rate",
                self.optimizer,
            )  # fmt: skip
        optimizer = thawed(self.optimizer)
        optimizer["config"] = {**optimizer.get("config", {}), "learning_rate": float(rate)}
        return dataclasses.replace(self, optimizer=optimizer)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready data (what a run's ``config.json`` stores)."""
        data = {name: thawed(getattr(self, name)) for name in self.names()}
        data["optimizer"] = describe_callable(data["optimizer"])
        data["augment"] = Augmentation.describe(self.augment)
        data["smoothing"] = None if self.smoothing is None else self.smoothing.to_dict()
        stain = self.stain_normalization
        data["stain_normalization"] = None if stain is None else stain.to_dict()
        if isinstance(self.class_weight, Mapping):
            data["class_weight"] = {str(k): v for k, v in self.class_weight.items()}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Rebuild a config from :meth:`to_dict`'s data; keys that are not settings are ignored.

        A missing setting takes its default: settings added to idckit after a run was written
        default to what that run was trained with.
        """
        if not isinstance(data, Mapping):
            raise invalid_argument("data", f"{_OWNER}.from_dict", "a mapping", data)
        values = {name: data[name] for name in cls.names() if name in data}
        weights = values.get("class_weight")
        if isinstance(weights, Mapping):
            values["class_weight"] = {int(k): v for k, v in weights.items()}
        return cls(**values)


def json_safe(obj: Any) -> Any:
    """``obj`` after a JSON round trip; values JSON cannot hold become their ``repr``.

    Examples
    --------
    >>> json_safe({"a": (1, 2), "b": {3}})
    {'a': [1, 2], 'b': '{3}'}
    """
    return json.loads(json.dumps(obj, default=repr))


def describe_callable(obj: Any) -> Any:
    """Describe a builder, optimizer factory or splitter as JSON-ready data.

    ``functools.partial`` objects show their function, arguments and keywords; functions and
    classes their qualified name; other objects their ``repr`` (scikit-learn splitters print
    their parameters).

    Examples
    --------
    >>> import functools
    >>> describe_callable(functools.partial(max, 1, key=abs))
    {'function': 'builtins.max', 'args': [1], 'kwargs': {'key': 'builtins.abs'}}
    """
    if isinstance(obj, functools.partial):
        return {
            "function": describe_callable(obj.func),
            "args": [describe_callable(a) for a in obj.args],
            "kwargs": {k: describe_callable(v) for k, v in obj.keywords.items()},
        }
    if hasattr(obj, "__qualname__") and hasattr(obj, "__module__"):
        return f"{obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, Mapping):
        return {str(k): describe_callable(v) for k, v in obj.items()}
    if isinstance(obj, str | int | float | bool | type(None) | list | tuple):
        return json_safe(obj)
    return repr(obj)


def dataset_fingerprint(dataset: Any) -> dict[str, Any]:
    """Patches, patients, class counts and a hash of the patient ids of ``dataset``.

    Examples
    --------
    >>> class Tiny:
    ...     patient_ids = ("a", "b")
    ...     def __len__(self): return 3
    ...     def class_counts(self): return {0: 2, 1: 1}
    >>> dataset_fingerprint(Tiny())["class_counts"]
    {'0': 2, '1': 1}
    """
    patients = [str(p) for p in dataset.patient_ids]
    digest = hashlib.sha256("\n".join(patients).encode()).hexdigest()[:16]
    return {
        "n_patches": len(dataset),
        "n_patients": len(patients),
        "class_counts": {str(k): int(v) for k, v in dataset.class_counts().items()},
        "patients_sha256": digest,
    }
