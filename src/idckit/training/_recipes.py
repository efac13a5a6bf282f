"""Named training recipes, as data: a model (by name) plus the :class:`TrainingConfig` for it.

A recipe names its model rather than holding a builder, so it can be stored in a run's
``config.json``, printed and compared. :func:`model_builder` turns a name into a builder:
``"benchmark"`` is the capstone's baseline CNN, ``"idc_cnn"`` idckit's CPU-sized CNN and any
other name a ``keras.applications`` backbone for :func:`idckit.models.build_transfer_model`.
This module imports no deep-learning framework.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from idckit._errors import invalid_argument
from idckit.data import Augmentation
from idckit.inference import SpatialSmoothing
from idckit.training._config import TrainingConfig, frozen, thawed

_RECIPE_FIELDS = ("name", "model", "model_kwargs", "config", "description")
#: ``model__<arg>``: an argument of the model builder (recipes and grid search alike).
MODEL_PREFIX = "model__"


@dataclass(frozen=True)
class Recipe:
    """A model (by name) and the :class:`TrainingConfig` that trains it (see :data:`RECIPES`).

    Parameters
    ----------
    name
        The recipe's name.
    model
        Model name for :func:`model_builder`.
    model_kwargs
        Keyword arguments of the model builder.
    config
        The training settings.
    description
        One line for ``--help`` and the docs.

    Examples
    --------
    >>> RECIPES["seed"].config.epochs, RECIPES["seed"].config.n_splits
    (15, 7)
    >>> RECIPES["seed"].replace(epochs=2).config.epochs
    2
    """

    name: str
    model: str
    model_kwargs: Mapping[str, Any] = field(default_factory=dict)
    config: TrainingConfig = field(default_factory=TrainingConfig)
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_kwargs", frozen(self.model_kwargs))
        if not isinstance(self.config, TrainingConfig):
            raise invalid_argument("config", "Recipe", "a TrainingConfig", self.config)
        if self.config.context and self.model != "idc_cnn":
            raise invalid_argument(
                "context", "Recipe", "0 unless model='idc_cnn' (the model that takes mosaics)",
                self.config.context,
            )  # fmt: skip

    def replace(self, **changes: Any) -> Recipe:
        """Return a copy with ``changes``: recipe fields, or settings of its :attr:`config`.

        Names are routed by what they are: recipe fields (``model``, ``model_kwargs``, ...) go
        to the recipe, ``model__<arg>`` to the model builder's arguments (merged into
        ``model_kwargs``, as :func:`grid_search` names them), anything else to
        :meth:`TrainingConfig.replace` (settings, and ``learning_rate``).

        Examples
        --------
        >>> recipe = get_recipe("cpu").replace(epochs=2, model__dropout=0.2, learning_rate=1e-3)
        >>> recipe.config.epochs, recipe.model_kwargs["dropout"], recipe.config.learning_rate
        (2, 0.2, 0.001)
        """
        own = {k: v for k, v in changes.items() if k in _RECIPE_FIELDS}
        builder = {k: v for k, v in changes.items() if k.startswith(MODEL_PREFIX)}
        settings = {k: v for k, v in changes.items() if k not in own and k not in builder}
        builder = {k.removeprefix(MODEL_PREFIX): v for k, v in builder.items()}
        if builder:
            own["model_kwargs"] = {**own.get("model_kwargs", self.model_kwargs), **builder}
        config = own.pop("config", self.config)
        if settings:
            config = config.replace(**settings)
        return dataclasses.replace(self, **own, config=config)

    @property
    def build_model(self) -> Callable[[], Any]:
        """A no-argument builder of a fresh model (``context`` passed on when set)."""
        return model_builder(self.model, **self.builder_kwargs())

    def builder_kwargs(self) -> dict[str, Any]:
        """Return the model builder's keyword arguments (with ``context`` when it is set)."""
        kwargs: dict[str, Any] = thawed(self.model_kwargs)
        if self.config.context:
            kwargs["context"] = self.config.context
        return kwargs

    def model_config(self) -> dict[str, Any]:
        """Describe the model for a run's ``config.json``: its name and builder arguments."""
        return {"name": self.model, "kwargs": self.builder_kwargs()}

    def to_dict(self) -> dict[str, Any]:
        """Return the recipe as a JSON-ready dict.

        Examples
        --------
        >>> get_recipe("cpu").to_dict()["config"]["epochs"]
        12
        """
        return {
            "name": self.name,
            "model": self.model,
            "model_kwargs": thawed(self.model_kwargs),
            "config": self.config.to_dict(),
            "description": self.description,
        }


RECIPES: Mapping[str, Recipe] = MappingProxyType(
    {
        "seed": Recipe(
            name="seed",
            model="vgg19",
            model_kwargs={"weights": "imagenet", "freeze": 6},
            config=TrainingConfig(
                n_splits=7,
                epochs=15,
                batch_size=50,
                optimizer={
                    "class_name": "SGD",
                    "config": {"learning_rate": 1e-4, "momentum": 0.2},
                },
                lr_schedule="constant",
                augment=False,
                class_weight="balanced",
            ),
            description="The capstone: VGG19 ImageNet transfer (first 6 layers frozen, "
            "BN + L2 + dropout head), 7 folds x 15 epochs, SGD 1e-4/0.2; meant for a GPU.",
        ),
        "cpu": Recipe(
            name="cpu",
            model="idc_cnn",
            model_kwargs={"width": 16, "depth": 4, "dropout": 0.3},
            config=TrainingConfig(
                n_splits=3,
                epochs=12,
                batch_size=128,
                optimizer={
                    "class_name": "AdamW",
                    "config": {"learning_rate": 2e-3, "weight_decay": 1e-4},
                },
                lr_schedule="warmup_cosine",
                augment=Augmentation.hed_strong(),
                class_weight="balanced",
                label_smoothing=0.1,
                threshold_objective="youden",
                tta=False,
                smoothing=SpatialSmoothing(alpha=0.7, radius=1),
                context=1,
            ),
            description="A 123k-parameter two-stream CNN for a 2-core CPU that sees each patch "
            "(16-32-64-128) and its 3x3 neighbourhood (8-16-32-64): 3 folds x 12 epochs, AdamW "
            "2e-3 with warm-up and cosine decay, flips/rotations and HED-strong stain jitter, "
            "class weights, label smoothing 0.1, spatial smoothing (alpha 0.7), threshold chosen "
            "out of fold for the best balanced accuracy (Youden).",
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
