"""Named training recipes, as data: a model (by name) plus the settings to train it.

A recipe names its model rather than holding a builder, so it can be stored in a run's
``config.json``, printed and compared. :func:`model_builder` turns a name into a builder:
``"benchmark"`` is the capstone's baseline CNN, ``"idc_cnn"`` idckit's CPU-sized CNN and any
other name a ``keras.applications`` backbone for :func:`idckit.models.build_transfer_model`.
This module imports no deep-learning framework.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from idckit._errors import check_fraction, invalid_argument
from idckit.data._augment import Augmentation
from idckit.data._context import check_context
from idckit.inference._spatial import SpatialSmoothing

ClassWeight = Literal["balanced"] | Mapping[int, float] | None
LRSchedule = Literal["constant", "cosine", "warmup_cosine"]
#: An objective that chooses the threshold on out-of-fold predictions, or a fixed threshold.
ThresholdObjective = Literal["f1", "youden", "min_recall"] | float

LR_SCHEDULES = ("constant", "cosine", "warmup_cosine")
OBJECTIVES = ("f1", "youden", "min_recall")


def check_lr_schedule(value: Any, owner: str) -> LRSchedule:
    """Return ``value`` if it names a learning-rate schedule, else raise the standard error.

    Examples
    --------
    >>> check_lr_schedule("warmup_cosine", "Recipe")
    'warmup_cosine'
    """
    if not isinstance(value, str) or value not in LR_SCHEDULES:
        allowed = ", ".join(repr(c) for c in LR_SCHEDULES)
        raise invalid_argument("lr_schedule", owner, f"one of {allowed}", value)
    return value  # type: ignore[return-value]  # checked against the Literal's values


def check_threshold_objective(value: Any, owner: str) -> ThresholdObjective:
    """Return an objective name, or a fixed threshold as a float in (0, 1).

    Examples
    --------
    >>> check_threshold_objective("youden", "Recipe"), check_threshold_objective(0.5, "Recipe")
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


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Read-only view of ``mapping``, nested mappings included."""
    return MappingProxyType(
        {k: _frozen(v) if isinstance(v, Mapping) else v for k, v in (mapping or {}).items()}
    )


def _thawed(value: Any) -> Any:
    """Plain dicts again (JSON-ready), nested ones included."""
    if isinstance(value, Mapping):
        return {str(k): _thawed(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Recipe:
    """A model and the settings that train it, by name (see :data:`RECIPES`).

    Parameters
    ----------
    name
        The recipe's name.
    model
        Model name for :func:`model_builder`.
    model_kwargs
        Keyword arguments of the model builder.
    n_splits, epochs, batch_size
        Folds, epochs per fold and batch size.
    optimizer
        A Keras optimizer config (``keras.optimizers.get`` accepts it), rebuilt fresh per fold.
    lr_schedule
        ``"constant"``, ``"cosine"`` (cosine decay to 0 over all steps of a fold) or
        ``"warmup_cosine"`` (a linear warm-up from a tenth of the rate to the rate over the
        first 5% of the fold's steps, then cosine decay to 0).
    augment
        Random flips and 90-degree rotations of training patches (``True``), or an
        :class:`~idckit.data.Augmentation` that adds colour/stain jitter.
    class_weight
        ``"balanced"`` (from each training fold), a dict or None.
    label_smoothing
        Label smoothing of the loss, a float in [0, 1) (``KFoldTrainer(label_smoothing=...)``).
    threshold_objective
        How the decision threshold is chosen on out-of-fold predictions (``"f1"``,
        ``"youden"``, ``"min_recall"``), or a fixed threshold in (0, 1) such as ``0.5``.
    tta
        Test-time augmentation: average P(IDC+) over the 8 dihedral transforms of each patch.
    smoothing
        Spatial smoothing of P(IDC+) over each patient's neighbouring patches (a
        :class:`~idckit.inference.SpatialSmoothing` or a dict of its fields), or None.
    context
        Neighbourhood radius fed to the model (``KFoldTrainer(context=...)``); passed to the
        ``"idc_cnn"`` builder too, the only named model that takes mosaics. 0: none.
    description
        One line for ``--help`` and the docs.

    Examples
    --------
    >>> RECIPES["seed"].epochs, RECIPES["seed"].n_splits
    (15, 7)
    >>> RECIPES["seed"].replace(epochs=2).epochs
    2
    """

    name: str
    model: str
    model_kwargs: Mapping[str, Any] = field(default_factory=_frozen)
    n_splits: int = 5
    epochs: int = 10
    batch_size: int = 64
    optimizer: Mapping[str, Any] = field(
        default_factory=lambda: _frozen({"class_name": "Adam", "config": {"learning_rate": 1e-3}})
    )
    lr_schedule: LRSchedule = "constant"
    augment: bool | Augmentation = False
    class_weight: ClassWeight = "balanced"
    label_smoothing: float = 0.0
    threshold_objective: ThresholdObjective = "f1"
    tta: bool = False
    smoothing: SpatialSmoothing | None = None
    context: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_kwargs", _frozen(self.model_kwargs))
        object.__setattr__(self, "optimizer", _frozen(self.optimizer))
        object.__setattr__(self, "smoothing", SpatialSmoothing.coerce(self.smoothing, "Recipe"))
        check_lr_schedule(self.lr_schedule, "Recipe")
        objective = check_threshold_objective(self.threshold_objective, "Recipe")
        object.__setattr__(self, "threshold_objective", objective)
        smoothing = check_fraction("label_smoothing", "Recipe", self.label_smoothing)
        object.__setattr__(self, "label_smoothing", smoothing)
        Augmentation.coerce(self.augment, "Recipe")  # validates; booleans stay booleans
        object.__setattr__(self, "context", check_context(self.context, "Recipe"))
        if self.context and self.model != "idc_cnn":
            raise invalid_argument(
                "context", "Recipe", "0 unless model='idc_cnn' (the model that takes mosaics)",
                self.context,
            )  # fmt: skip

    def replace(self, **changes: Any) -> Recipe:
        """Return a copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as a JSON-ready dict."""
        data = {f.name: _thawed(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["smoothing"] = None if self.smoothing is None else self.smoothing.to_dict()
        if isinstance(self.augment, Augmentation):
            data["augment"] = self.augment.to_dict()
        return data

    def trainer_kwargs(self) -> dict[str, Any]:
        """Return keyword arguments for :class:`~idckit.training.KFoldTrainer` (with a builder)."""
        return {
            "build_model": model_builder(self.model, **self.builder_kwargs()),
            "n_splits": self.n_splits,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "optimizer": _thawed(self.optimizer),
            "lr_schedule": self.lr_schedule,
            "augment": self.augment,
            "class_weight": self.class_weight,
            "label_smoothing": self.label_smoothing,
            "threshold_objective": self.threshold_objective,
            "tta": self.tta,
            "smoothing": self.smoothing,
            "context": self.context,
        }

    def builder_kwargs(self) -> dict[str, Any]:
        """Return the model builder's keyword arguments (with ``context`` when it is set)."""
        kwargs = dict(self.model_kwargs)
        if self.context:
            kwargs["context"] = self.context
        return kwargs


RECIPES: Mapping[str, Recipe] = MappingProxyType(
    {
        "seed": Recipe(
            name="seed",
            model="vgg19",
            model_kwargs={"weights": "imagenet", "freeze": 6},
            n_splits=7,
            epochs=15,
            batch_size=50,
            optimizer={"class_name": "SGD", "config": {"learning_rate": 1e-4, "momentum": 0.2}},
            lr_schedule="constant",
            augment=False,
            class_weight="balanced",
            description="The capstone: VGG19 ImageNet transfer (first 6 layers frozen, "
            "BN + L2 + dropout head), 7 folds x 15 epochs, SGD 1e-4/0.2; meant for a GPU.",
        ),
        "cpu": Recipe(
            name="cpu",
            model="idc_cnn",
            model_kwargs={"width": 16, "depth": 4, "convs_per_block": 1, "dropout": 0.3},
            n_splits=3,
            epochs=12,
            batch_size=128,
            optimizer={
                "class_name": "AdamW",
                "config": {"learning_rate": 2e-3, "weight_decay": 1e-4},
            },
            lr_schedule="warmup_cosine",
            augment=True,
            class_weight="balanced",
            label_smoothing=0.1,
            threshold_objective=0.5,
            tta=False,
            smoothing=SpatialSmoothing(alpha=0.7, radius=1),
            context=1,
            description="A 123k-parameter two-stream CNN for a 2-core CPU that sees each patch "
            "(16-32-64-128) and its 3x3 neighbourhood (8-16-32-64): 3 folds x 12 epochs, AdamW "
            "2e-3 with warm-up and cosine decay, flips/rotations, class weights, label smoothing "
            "0.1, spatial smoothing (alpha 0.7), fixed threshold 0.5.",
        ),
    }
)

#: Model names the command line offers (any ``keras.applications`` name also works in Python).
MODEL_NAMES = ("benchmark", "idc_cnn", "vgg16", "vgg19", "mobilenet", "nasnet")


def get_recipe(name: str) -> Recipe:
    """Look up a recipe in :data:`RECIPES`.

    Parameters
    ----------
    name
        A recipe name, one of the keys of :data:`RECIPES` (``"seed"``, ``"cpu"``).

    Returns
    -------
    Recipe
        The recipe's frozen settings.

    Examples
    --------
    >>> get_recipe("cpu").model
    'idc_cnn'
    """
    try:
        return RECIPES[name]
    except KeyError:
        allowed = ", ".join(repr(n) for n in RECIPES)
        raise invalid_argument("recipe", "get_recipe", f"one of {allowed}", name) from None


def _build_named(name: str, /, **kwargs: Any) -> Any:
    from idckit import models

    if name == "benchmark":
        return models.build_benchmark_cnn(**kwargs)
    if name == "idc_cnn":
        return models.build_idc_cnn(**kwargs)
    return models.build_transfer_model(name, **kwargs)


def model_builder(name: str, **kwargs: Any) -> Callable[[], Any]:
    """Return a builder (a callable making a fresh Keras model) for a model name.

    Parameters
    ----------
    name
        ``"benchmark"``, ``"idc_cnn"`` or a backbone name (``"vgg19"``, ``"mobilenet"``, ...).
    **kwargs
        Passed to the model function.

    Examples
    --------
    >>> build = model_builder("benchmark")
    >>> build.args
    ('benchmark',)
    """
    if not isinstance(name, str) or not name:
        raise invalid_argument("name", "model_builder", "a model name", name)
    return functools.partial(_build_named, name, **kwargs)
