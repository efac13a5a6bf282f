"""The recipe benchmarks' own arithmetic and options, checked without training a model.

The scripts train for minutes to hours on the real patches, so they are run by hand (the
benchmarks page names each command); these tests check the parts their figures rest on: the
F1(+) conversion to another prevalence, the epoch rules, the options that make a variant of the
``cpu`` recipe, the pooling of nested runs, and that every script answers ``--help``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import types
from pathlib import Path

import _recipe_variant  # benchmarks/ is on sys.path: pytest's pythonpath in pyproject.toml
import bench_recipe_holdout
import bench_recipe_nested
import combine_nested
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, roc_auc_score

from idckit.data import Augmentation
from idckit.training import get_recipe

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _outcomes(tn: int, fp: int, fn: int, tp: int) -> tuple[np.ndarray, np.ndarray]:
    truth = np.array([0] * (tn + fp) + [1] * (fn + tp))
    guess = np.array([0] * tn + [1] * fp + [0] * fn + [1] * tp)
    return truth, guess


counts = st.integers(min_value=0, max_value=300)


@settings(max_examples=60, deadline=None)
@given(tn=counts, fp=counts, fn=counts, tp=counts, prevalence=st.floats(0.01, 0.99))
def test_f1_at_prevalence_is_sklearns_f1_with_the_classes_reweighted(tn, fp, fn, tp, prevalence):
    assume(tn + fp > 0 and fn + tp > 0)  # a recall and a false-positive rate need both classes
    truth, guess = _outcomes(tn, fp, fn, tp)
    weights = np.where(truth == 1, prevalence / (fn + tp), (1 - prevalence) / (tn + fp))
    expected = f1_score(truth, guess, sample_weight=weights, zero_division=0.0)
    found = bench_recipe_holdout.f1_at_prevalence([[tn, fp], [fn, tp]], prevalence)
    assert found == pytest.approx(expected, abs=1e-12)


def test_f1_at_the_patches_own_prevalence_is_their_f1():
    tn, fp, fn, tp = 900, 40, 25, 110
    truth, guess = _outcomes(tn, fp, fn, tp)
    prevalence = (fn + tp) / len(truth)
    found = bench_recipe_holdout.f1_at_prevalence([[tn, fp], [fn, tp]], prevalence)
    assert found == pytest.approx(f1_score(truth, guess))
    higher = bench_recipe_holdout.f1_at_prevalence([[tn, fp], [fn, tp]], 0.28)
    assert higher > found  # same recall and false-positive rate, more positives: more precise


HISTORY = {"val_f1": [0.5, 0.8, 0.7, 0.8, 0.6], "val_loss": [0.6, 0.4, 0.3, 0.35, 0.5]}


@pytest.mark.parametrize(
    ("rule", "epochs"),
    [("best_val_f1", [2]), ("least_val_loss", [3]), ("last", [5]), ("mean_of_last_3", [3, 4, 5])],
)
def test_epoch_rules_choose_epochs_from_one(rule, epochs):
    # best_val_f1 takes the first of equal epochs (2, not 4), as the trainer's checkpoint does
    assert bench_recipe_holdout.chosen_epochs(HISTORY, rule) == epochs


def test_mean_of_last_3_takes_what_a_short_history_has():
    short = {"val_f1": [0.4, 0.5], "val_loss": [0.7, 0.6]}
    assert bench_recipe_holdout.chosen_epochs(short, "mean_of_last_3") == [1, 2]


def _variant(*argv: str) -> dict:
    parser = argparse.ArgumentParser()
    _recipe_variant.add_recipe_arguments(parser)
    return _recipe_variant.variant_changes(parser.parse_args(list(argv)))


def test_no_options_is_the_cpu_recipe_as_it_is():
    assert _variant() == {}
    assert _variant("--seed", "3") == {}


def test_every_variant_option_reaches_a_valid_recipe():
    changes = _variant(
        "--context", "2", "--epochs", "5", "--folds", "4", "--class-weight", "none",
        "--label-smoothing", "0.2", "--context-width", "12", "--convs-per-block", "1,1,2,2",
        "--bn-momentum", "0.9", "--learning-rate", "4e-3",
        "--colour-jitter", "hed=0.05,brightness=10,contrast=0.1,saturation=0.2",
    )  # fmt: skip
    cpu = get_recipe("cpu")
    recipe = cpu.replace(**changes)
    assert (recipe.context, recipe.epochs, recipe.n_splits) == (2, 5, 4)
    assert recipe.class_weight is None
    assert recipe.label_smoothing == 0.2
    assert recipe.model_kwargs == {
        **cpu.model_kwargs, "context_width": 12, "convs_per_block": [1, 1, 2, 2],
        "bn_momentum": 0.9,
    }  # fmt: skip
    config = recipe.optimizer["config"]
    assert config["learning_rate"] == 4e-3
    assert config["weight_decay"] == cpu.optimizer["config"]["weight_decay"]  # kept
    assert cpu.optimizer["config"]["learning_rate"] == 2e-3  # the recipe itself is untouched
    assert Augmentation.coerce(recipe.trainer_kwargs()["augment"]) == Augmentation(
        dihedral=True, hed=0.05, brightness=10, contrast=0.1, saturation=0.2
    )
    json.dumps(changes)  # the nested benchmark prints them


def test_colour_jitter_names_only_augmentation_strengths():
    with pytest.raises(SystemExit):
        _variant("--colour-jitter", "hue=0.1")
    with pytest.raises(SystemExit):
        _variant("--colour-jitter", "hed")


def test_one_convs_per_block_count_means_every_block():
    assert _variant("--convs-per-block", "2")["model_kwargs"]["convs_per_block"] == 2


class _Patches(types.SimpleNamespace):
    """The part of a data set that ``write_predictions`` reads."""

    def __len__(self) -> int:
        return len(self.patients)


def _write_nested_csv(path, rows):
    """Write ``(patient, x, y, label, group, prob_recipe)`` rows with the nested benchmark's own
    writer, so that the reader is tested on the files it reads."""
    patient, x, y, label, group, prob = (list(column) for column in zip(*rows, strict=True))
    patches = _Patches(patients=patient, x=x, y=y, labels=label)
    bench_recipe_nested.write_predictions(path, patches, group, {"recipe": prob})


def test_nested_predictions_are_read_in_one_order_whatever_the_files_order(tmp_path):
    rows = [("9", 51, 1, 1, 1, 0.9), ("10", 1, 1, 0, 2, 0.2), ("9", 1, 51, 0, 1, 0.4)]
    _write_nested_csv(tmp_path / "a.csv", rows)
    _write_nested_csv(tmp_path / "b.csv", rows[::-1])
    keys_a, labels_a, prob_a = combine_nested.read_predictions(tmp_path / "a.csv", "prob_recipe")
    keys_b, labels_b, prob_b = combine_nested.read_predictions(tmp_path / "b.csv", "prob_recipe")
    assert keys_a == keys_b == [("10", "1", "1"), ("9", "1", "51"), ("9", "51", "1")]
    np.testing.assert_array_equal(labels_a, [0, 0, 1])
    np.testing.assert_array_equal(labels_a, labels_b)
    np.testing.assert_allclose(prob_a, [0.2, 0.4, 0.9])
    np.testing.assert_allclose(prob_a, prob_b)


def test_nested_predictions_without_the_asked_column_stop_with_the_file_named(tmp_path):
    path = tmp_path / "nested_predictions.csv"
    _write_nested_csv(path, [("9", 1, 1, 1, 1, 0.9)])
    with pytest.raises(SystemExit, match=r"nested_predictions\.csv.*prob_baseline"):
        combine_nested.read_predictions(tmp_path, "prob_baseline")


def test_within_patient_auc_is_the_median_over_patients_with_both_classes():
    rng = np.random.default_rng(0)
    patients = np.repeat(np.array(["a", "b", "c", "d"]), 30)
    labels = rng.integers(0, 2, size=120)
    labels[patients == "d"] = 0  # one class only: left out
    prob = np.clip(labels * 0.3 + rng.random(120) * 0.7, 0, 1)
    expected = np.median(
        [roc_auc_score(labels[patients == p], prob[patients == p]) for p in "abc"]
    )
    found = combine_nested.within_patient_auc(patients, labels, prob)
    assert found == {"patients": 3, "median_roc_auc": round(float(expected), 4)}


SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_script_answers_help(script):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--help"],
        capture_output=True, text=True, timeout=120, cwd=BENCHMARKS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")


def test_holdout_baseline_refuses_recipe_options():
    done = subprocess.run(
        [sys.executable, "bench_recipe_holdout.py", "--baseline", "--folds", "4"],
        capture_output=True, text=True, timeout=120, cwd=BENCHMARKS,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--baseline trains one plain CNN" in done.stderr
