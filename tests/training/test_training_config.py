"""TrainingConfig: every setting validated once, copied by name, stored as JSON and read back."""

import dataclasses
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.data import Augmentation
from idckit.inference import SpatialSmoothing
from idckit.training import TrainingConfig

EXPECTED = (
    "n_splits", "epochs", "batch_size", "optimizer", "lr_schedule", "class_weight",
    "label_smoothing", "augment", "patience", "seed", "threshold_objective", "min_recall", "tta",
    "smoothing", "context", "stain_normalization",
)  # fmt: skip


def test_names_are_the_dataclass_fields_in_order():
    assert TrainingConfig.names() == tuple(f.name for f in dataclasses.fields(TrainingConfig))
    assert TrainingConfig.names() == EXPECTED
    assert TrainingConfig().names() == EXPECTED


def test_defaults_are_the_documented_ones():
    config = TrainingConfig()
    assert (config.n_splits, config.epochs, config.batch_size, config.seed) == (5, 10, 64, 0)
    assert config.to_dict()["optimizer"] == {
        "class_name": "Adam", "config": {"learning_rate": 1e-3}
    }  # fmt: skip
    assert (config.lr_schedule, config.class_weight, config.label_smoothing) == (
        "constant", "balanced", 0.0
    )  # fmt: skip
    assert (config.augment, config.patience, config.threshold_objective) == (False, None, "f1")
    assert (config.min_recall, config.tta, config.smoothing, config.context) == (
        0.9, False, None, 0
    )  # fmt: skip


def _message(name, rule, shown):
    return rf"^Invalid `{name}` for TrainingConfig: expected {rule}.*\. Received: {name}={shown}"


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("n_splits", 1, "an integer >= 2"),
        ("n_splits", 2.0, "an integer >= 2"),
        ("n_splits", True, "an integer >= 2"),
        ("epochs", 0, "an integer >= 1"),
        ("epochs", "3", "an integer >= 1"),
        ("batch_size", 0, "an integer >= 1"),
        ("batch_size", 2.5, "an integer >= 1"),
        ("optimizer", "", r"a name \('adam'\), a Keras optimizer config dict"),
        ("optimizer", {"config": {}}, r"a name \('adam'\), a Keras optimizer config dict"),
        ("optimizer", 3, r"a name \('adam'\)"),
        ("lr_schedule", "step", "one of 'constant', 'warmup_cosine'"),
        ("lr_schedule", None, "one of 'constant', 'warmup_cosine'"),
        ("lr_schedule", "cosine", "one of 'constant', 'warmup_cosine'"),
        ("class_weight", "inverse", r"'balanced', None, or a dict \{0: w0, 1: w1\}"),
        ("class_weight", {1: 2.0}, r"'balanced', None, or a dict \{0: w0, 1: w1\}"),
        ("class_weight", {0: 1.0, 1: -1.0}, r"'balanced', None, or a dict"),
        ("class_weight", {0: 1.0, 1: math.inf}, r"'balanced', None, or a dict"),
        ("label_smoothing", 1.0, r"a float in \[0, 1\)"),
        ("label_smoothing", -0.1, r"a float in \[0, 1\)"),
        ("label_smoothing", "0.1", r"a float in \[0, 1\)"),
        ("augment", "flips", "True, False, an Augmentation or a dict of its fields"),
        ("augment", {"rotate": True}, "True, False, an Augmentation or a dict of its fields"),
        ("patience", 0, "an integer >= 1"),
        ("patience", 1.5, "an integer >= 1"),
        ("seed", -1, "an integer >= 0"),
        ("seed", None, "an integer >= 0"),
        ("threshold_objective", "auc", r"one of 'f1', 'youden', 'min_recall', or a fixed"),
        ("threshold_objective", 1.0, r"one of 'f1', 'youden', 'min_recall', or a fixed"),
        ("min_recall", 0, r"a float in \(0, 1\]"),
        ("min_recall", 1.5, r"a float in \(0, 1\]"),
        ("min_recall", True, r"a float in \(0, 1\]"),
        ("tta", "yes", "True or False"),
        ("tta", 1, "True or False"),
        ("smoothing", 0.7, "None, a"),
        ("smoothing", "on", "None, a"),
        ("context", 4, r"an int from 0 \(no context\) to 3"),
        ("context", -1, r"an int from 0 \(no context\) to 3"),
        ("context", 1.0, r"an int from 0 \(no context\) to 3"),
    ],
)
def test_every_setting_is_validated(name, value, rule):
    with pytest.raises(ValueError, match=_message(name, rule, re.escape(repr(value)))):
        TrainingConfig(**{name: value})
    with pytest.raises(ValueError, match=_message(name, rule, re.escape(repr(value)))):
        TrainingConfig().replace(**{name: value})  # replace checks as construction does


def test_an_optimizer_instance_is_refused_with_the_remedy():
    class Instance:
        def apply_gradients(self, grads):  # what makes a Keras optimizer an optimizer
            return grads

        def __call__(self):
            return self

    with pytest.raises(ValueError, match=r"Invalid `optimizer`.*cannot be reused across folds"):
        TrainingConfig(optimizer=Instance())


def test_a_smoothing_dict_is_checked_by_spatial_smoothing():
    with pytest.raises(ValueError, match=r"Invalid `alpha` for SpatialSmoothing"):
        TrainingConfig(smoothing={"alpha": 2})
    assert TrainingConfig(smoothing={"alpha": 0.5}).smoothing == SpatialSmoothing(alpha=0.5)


def test_accepted_values_are_normalised():
    config = TrainingConfig(
        n_splits=np.int64(3), epochs=np.int32(2), seed=np.int64(4), tta=np.bool_(True),
        threshold_objective=np.float32(0.25), class_weight={0: 1, 1: 2}, min_recall=1,
        augment=np.bool_(True),
    )  # fmt: skip
    assert (type(config.n_splits), type(config.epochs), type(config.seed)) == (int, int, int)
    assert config.tta is True and config.augment is True
    assert type(config.threshold_objective) is float and config.threshold_objective == 0.25
    assert dict(config.class_weight) == {0: 1.0, 1: 2.0}
    assert type(config.min_recall) is float
    assert TrainingConfig(augment=Augmentation()).augment is True  # flips/rotations only
    assert TrainingConfig(augment=Augmentation(dihedral=False)).augment is False  # nothing
    assert TrainingConfig(augment=None).augment is False


def test_the_config_is_frozen_and_nested_settings_are_read_only():
    config = TrainingConfig(class_weight={0: 1.0, 1: 2.0})
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    with pytest.raises(TypeError):
        config.optimizer["config"]["learning_rate"] = 1.0
    with pytest.raises(TypeError):
        config.class_weight[1] = 5.0


def test_replace_returns_a_changed_copy_and_refuses_unknown_names():
    config = TrainingConfig(epochs=3)
    changed = config.replace(epochs=4, seed=2)
    assert (changed.epochs, changed.seed, config.epochs, config.seed) == (4, 2, 3, 0)
    assert changed == TrainingConfig(epochs=4, seed=2)
    assert config.replace() == config
    names = ", ".join((*EXPECTED, "learning_rate"))
    with pytest.raises(ValueError, match=rf"^Invalid `folds` for TrainingConfig: expected one of "
                       rf"its settings \({names}\)\. Received: folds=3\.$"):  # fmt: skip
        config.replace(folds=3)
    assert config.replace(epochs=2, learning_rate=0.1).learning_rate == 0.1  # not a field, but
    assert "learning_rate" not in TrainingConfig.names()  # a name that replace understands


def test_learning_rate_and_replace_learning_rate():
    config = TrainingConfig(optimizer={"class_name": "SGD", "config": {"momentum": 0.2}})
    assert config.learning_rate is None  # the dict does not say
    faster = config.replace(learning_rate=0.05)
    assert faster.learning_rate == 0.05 and config.learning_rate is None
    assert faster.to_dict()["optimizer"] == {
        "class_name": "SGD", "config": {"momentum": 0.2, "learning_rate": 0.05}
    }  # fmt: skip
    assert faster.replace(optimizer=config.optimizer) == config
    assert TrainingConfig().replace(learning_rate=3e-3).learning_rate == 3e-3
    assert TrainingConfig(optimizer="adam").learning_rate is None
    with pytest.raises(ValueError, match=r"Invalid `learning_rate` for TrainingConfig: expected "
                       r"a float > 0\. Received: learning_rate=0\."):  # fmt: skip
        TrainingConfig().replace(learning_rate=0)
    with pytest.raises(ValueError, match=r"Invalid `learning_rate`.*Received: learning_rate=True"):
        TrainingConfig().replace(learning_rate=True)
    with pytest.raises(ValueError, match=r"Invalid `optimizer` for TrainingConfig: expected a "
                       r"Keras optimizer config dict to set its learning rate\. Received: "
                       r"optimizer='adam'"):  # fmt: skip
        TrainingConfig(optimizer="adam").replace(learning_rate=0.1)


def test_to_dict_is_json_and_names_every_setting():
    config = TrainingConfig(
        class_weight={0: 1.0, 1: 3.0}, smoothing=SpatialSmoothing(alpha=0.5, radius=2),
        augment=Augmentation(hed=0.05), threshold_objective=0.4,
    )  # fmt: skip
    data = config.to_dict()
    assert list(data) == list(EXPECTED)
    assert json.loads(json.dumps(data)) == data
    assert data["class_weight"] == {"0": 1.0, "1": 3.0}
    assert data["smoothing"] == {"alpha": 0.5, "radius": 2, "step": 50}
    assert data["augment"] == Augmentation(hed=0.05).to_dict()
    assert TrainingConfig.from_dict(json.loads(json.dumps(data))) == config


def test_from_dict_ignores_other_keys_fills_defaults_and_checks_values():
    data = {"epochs": 3, "model": {"name": "benchmark"}, "dataset": {"n_patches": 10}}
    assert TrainingConfig.from_dict(data) == TrainingConfig(epochs=3)
    assert TrainingConfig.from_dict({}) == TrainingConfig()
    with pytest.raises(ValueError, match=r"Invalid `epochs` for TrainingConfig"):
        TrainingConfig.from_dict({"epochs": 0})
    with pytest.raises(
        ValueError, match=r"Invalid `data` for TrainingConfig\.from_dict: expected"
    ):
        TrainingConfig.from_dict([("epochs", 3)])


def test_an_optimizer_factory_is_stored_by_name():
    def make_adam():
        raise AssertionError("never called by the config")

    config = TrainingConfig(optimizer=make_adam)
    assert config.optimizer is make_adam and config.learning_rate is None
    assert config.to_dict()["optimizer"].endswith("make_adam")


_smoothing = st.one_of(
    st.none(),
    st.builds(SpatialSmoothing, alpha=st.floats(0, 1), radius=st.integers(1, 3)),
)
_augment = st.one_of(
    st.booleans(),
    st.builds(
        Augmentation,
        dihedral=st.booleans(),
        hed=st.sampled_from([0.0, 0.05]),
        brightness=st.sampled_from([0.0, 10.0]),
    ),
)
_optimizer = st.one_of(
    st.sampled_from(["adam", "sgd"]),
    st.builds(
        lambda name, rate: {"class_name": name, "config": {"learning_rate": rate}},
        st.sampled_from(["Adam", "SGD", "AdamW"]),
        st.floats(1e-6, 1.0),
    ),
)
_configs = st.builds(
    TrainingConfig,
    n_splits=st.integers(2, 10),
    epochs=st.integers(1, 100),
    batch_size=st.integers(1, 512),
    optimizer=_optimizer,
    lr_schedule=st.sampled_from(["constant", "warmup_cosine"]),
    class_weight=st.one_of(
        st.none(),
        st.just("balanced"),
        st.fixed_dictionaries({0: st.floats(0, 10), 1: st.floats(0, 10)}),
    ),
    label_smoothing=st.floats(0, 1, exclude_max=True),
    augment=_augment,
    patience=st.one_of(st.none(), st.integers(1, 20)),
    seed=st.integers(0, 2**31),
    threshold_objective=st.one_of(
        st.sampled_from(["f1", "youden", "min_recall"]),
        st.floats(0, 1, exclude_min=True, exclude_max=True),
    ),
    min_recall=st.floats(0, 1, exclude_min=True),
    tta=st.booleans(),
    smoothing=_smoothing,
    context=st.integers(0, 3),
)


@settings(max_examples=60, deadline=None)
@given(_configs)
def test_a_json_round_trip_gives_the_same_config(config):
    data = json.loads(json.dumps(config.to_dict()))
    again = TrainingConfig.from_dict(data)
    assert again == config
    assert again.to_dict() == config.to_dict()
    assert config.replace(**{name: getattr(config, name) for name in config.names()}) == config


@settings(max_examples=30, deadline=None)
@given(_configs, st.floats(1e-6, 10))
def test_replace_learning_rate_changes_only_the_rate(config, rate):
    if isinstance(config.optimizer, str):  # a name: no config dict to change
        with pytest.raises(ValueError, match="Invalid `optimizer`"):
            config.replace(learning_rate=rate)
        return
    changed = config.replace(learning_rate=rate)
    assert changed.learning_rate == rate
    assert changed.optimizer["class_name"] == config.optimizer["class_name"]
    assert changed.replace(optimizer=config.optimizer) == config


def test_importing_the_config_does_not_import_keras():
    code = (
        "import sys; from idckit.training import TrainingConfig; TrainingConfig(epochs=2);"
        "print(any(m in sys.modules for m in ('keras', 'tensorflow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
