"""The benchmark scripts: standalone, public API only, their options, and tiny real runs.

The full measurements take minutes to hours on the real patches and are run by hand (the
benchmarks page names each command); these tests check that every script answers ``--help``,
imports no private idckit module and no other script, that ``--set`` reaches
``Recipe.replace`` (and the library's errors reach the user), the arithmetic the recipe figures
rest on, and that ``bench_recipe.py`` and ``bench_speed.py`` run end to end on a small
synthetic tree and write a JSON result of the expected shape.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from idckit import make_synthetic
from idckit.training import get_recipe

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py"))
SHARED_BENCH = BENCHMARKS.parents[1] / "shared" / "bench"
#: A tiny recipe: the capstone's benchmark CNN, 2 folds of 1 epoch, on the patch alone.
TINY = ["--set", "model=benchmark", "--set", "model_kwargs={}", "--set", "context=0",
        "--set", "n_splits=2", "--set", "epochs=1"]  # fmt: skip


def _load(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` by its path (the scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}_under_test", BENCHMARKS / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_recipe = _load("bench_recipe.py")
bench_speed = _load("bench_speed.py")
WITH_SET = [bench_recipe, bench_speed]


def _run(script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True, text=True, timeout=timeout, cwd=BENCHMARKS,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip


def test_there_are_at_most_four_scripts():
    assert len(SCRIPTS) <= 4, SCRIPTS
    assert {"bench_data.py", "bench_recipe.py", "bench_speed.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_answers_help_with_what_it_measures_and_how_long(script):
    done = _run(script, "--help", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage:")
    assert "--out" in done.stdout
    assert "Takes" in done.stdout and "minute" in done.stdout


# --- standalone, public API only -------------------------------------------------------


def _imported_modules(tree: ast.AST) -> list[str]:
    """Modules imported anywhere in ``tree``, also inside code held in string constants (what
    a script runs with ``python -c``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Constant) and "import " in str(node.value):
            with contextlib.suppress(SyntaxError):  # prose, not code
                found += _imported_modules(ast.parse(str(node.value)))
    return found


def _script_imports(script: str) -> list[str]:
    return _imported_modules(ast.parse((BENCHMARKS / script).read_text()))


def test_the_import_finder_sees_private_imports_in_code_strings():
    code = 'CODE = """\nfrom idckit.data._scan import walk_tree\n"""\nimport idckit.models'
    assert _imported_modules(ast.parse(code)) == ["idckit.models", "idckit.data._scan"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_script_imports_a_private_idckit_module(script):
    private = [
        m for m in _script_imports(script)
        if m.split(".")[0] == "idckit" and any(part.startswith("_") for part in m.split("."))
    ]  # fmt: skip
    assert private == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_script_imports_another_benchmark_script(script):
    others = {Path(s).stem for s in SCRIPTS} | {"_recipe_variant"}
    imported = {m.lstrip(".").split(".")[0] for m in _script_imports(script)}
    assert imported.isdisjoint(others)
    assert not any(m.startswith(".") for m in _script_imports(script))


@pytest.mark.parametrize("script", SCRIPTS)
def test_no_script_defaults_to_a_data_path_outside_the_repository(script):
    text = (BENCHMARKS / script).read_text()
    assert "parents[1].parent" not in text and '"shared"' not in text
    assert "DEFAULT_DATA" not in text


def test_bench_data_needs_the_shared_bench_folder():
    env_free = {k: v for k, v in os.environ.items() if k != "IDCKIT_SHARED_BENCH"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_data.py"), "data", "--out", "x.json"],
        capture_output=True, text=True, timeout=60, env=env_free,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--shared-bench" in done.stderr


# --- --set -----------------------------------------------------------------------------


@pytest.mark.parametrize("module", WITH_SET, ids=lambda m: m.__name__)
def test_set_values_are_json_else_strings(module):
    changes = module.parse_set(
        ["epochs=2", "label_smoothing=0.2", "class_weight=null", "tta=true",
         'augment={"dihedral": true, "hed": 0.05}', "model=benchmark", "name=a=b",
         "seed=1", "seed=3"]
    )  # fmt: skip
    assert changes == {
        "epochs": 2, "label_smoothing": 0.2, "class_weight": None, "tta": True,
        "augment": {"dihedral": True, "hed": 0.05}, "model": "benchmark", "name": "a=b",
        "seed": 3,
    }  # fmt: skip
    assert type(changes["epochs"]) is int


@pytest.mark.parametrize("module", WITH_SET, ids=lambda m: m.__name__)
@pytest.mark.parametrize("item", ["epochs", "=2", " =2"])
def test_set_without_a_name_and_value_is_refused(module, item):
    with pytest.raises(ValueError, match="NAME=VALUE"):
        module.parse_set([item])


@pytest.mark.parametrize("module", WITH_SET, ids=lambda m: m.__name__)
def test_set_reaches_the_recipe_its_config_and_its_model(module):
    cpu = get_recipe("cpu")
    changes = module.parse_set(
        ["epochs=5", "n_splits=4", "class_weight=null", "model__dropout=0.2",
         "model__convs_per_block=[1, 1, 2, 2]", "learning_rate=4e-3", "description=x"]
    )  # fmt: skip
    recipe = cpu.replace(**changes)  # the scripts pass --set to Recipe.replace as it is
    assert (recipe.config.epochs, recipe.config.n_splits) == (5, 4)
    assert recipe.config.class_weight is None
    assert dict(recipe.model_kwargs) == {
        **cpu.model_kwargs,
        "dropout": 0.2,
        "convs_per_block": [1, 1, 2, 2],
    }
    assert recipe.config.learning_rate == 4e-3
    assert (
        recipe.config.optimizer["config"]["weight_decay"]
        == (cpu.config.optimizer["config"]["weight_decay"])
    )  # the rest of the optimizer is kept
    assert recipe.description == "x"
    assert cpu.config.epochs == 12 and cpu.config.learning_rate == 2e-3  # untouched
    assert cpu.replace(**module.parse_set([])) == cpu


@pytest.mark.parametrize("module", WITH_SET, ids=lambda m: m.__name__)
@pytest.mark.parametrize(
    ("item", "message"),
    [("epoch=3", r"Invalid `epoch` for TrainingConfig"),
     ("epochs=0", r"Invalid `epochs` for TrainingConfig.*integer >= 1"),
     ("lr_schedule=linear", r"Invalid `lr_schedule`")],
)  # fmt: skip
def test_set_errors_are_the_librarys(module, item, message):
    with pytest.raises(ValueError, match=message):
        get_recipe("cpu").replace(**module.parse_set([item]))


@pytest.mark.parametrize("script", ["bench_recipe.py", "bench_speed.py"])
def test_an_unknown_setting_stops_the_script_with_the_librarys_message(script, tmp_path):
    done = _run(script, str(tmp_path), "--out", str(tmp_path / "r.json"), "--set", "epoch=3")
    assert done.returncode == 2
    assert "Invalid `epoch` for TrainingConfig" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_baseline_takes_the_seed_only(tmp_path):
    args, _ = bench_recipe.parse_args(["d", "--out", "r.json", "--baseline", "--set", "seed=2"])
    assert args.baseline
    done = _run("bench_recipe.py", "d", "--out", "r.json", "--baseline", "--set", "epochs=4")
    assert done.returncode == 2
    assert "only --set seed=S" in done.stderr


def test_test_data_goes_with_the_holdout_and_outside_protocols():
    with pytest.raises(SystemExit):
        bench_recipe.parse_args(["d", "--out", "r", "--protocol", "nested", "--test-data", "t"])
    with pytest.raises(SystemExit):
        bench_recipe.parse_args(["d", "--out", "r", "--protocol", "outside"])


# --- the recipe figures' arithmetic ----------------------------------------------------


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
    found = bench_recipe.f1_at_prevalence([[tn, fp], [fn, tp]], prevalence)
    assert found == pytest.approx(expected, abs=1e-12)


def test_f1_at_the_patches_own_prevalence_is_their_f1():
    tn, fp, fn, tp = 900, 40, 25, 110
    truth, guess = _outcomes(tn, fp, fn, tp)
    prevalence = (fn + tp) / len(truth)
    found = bench_recipe.f1_at_prevalence([[tn, fp], [fn, tp]], prevalence)
    assert found == pytest.approx(f1_score(truth, guess))
    higher = bench_recipe.f1_at_prevalence([[tn, fp], [fn, tp]], 0.28)
    assert higher > found  # same recall and false-positive rate, more positives: more precise


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nested_groups_are_the_trainers_folds_as_before(seed):
    # The published nested figures used the trainer's own fold drawing for the outer groups;
    # the script draws them itself (public API only), and must draw the same groups.
    from idckit.training._splits import make_splits

    rng = np.random.default_rng(seed)
    patients = np.repeat([str(9000 + i) for i in range(30)], rng.integers(5, 40, size=30))
    labels = (rng.random(len(patients)) < 0.3).astype(int)
    expected = make_splits(patients, labels, 3, seed=seed)
    found = bench_recipe.outer_groups(patients, labels, 3, seed)
    assert [tuple(map(tuple, f)) for f in found] == [tuple(map(tuple, f)) for f in expected]
    tested = [p for _, test in found for p in test]
    assert sorted(tested) == sorted(set(patients.tolist()))  # every patient scored once


def test_most_false_positives_counts_and_leaves_out_the_worst_patients():
    patients = np.array(["a"] * 4 + ["b"] * 4 + ["c"] * 4)
    labels = np.array([0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 1])
    decided = np.array([1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1])
    found = bench_recipe.most_false_positives(patients, labels, decided, k=2)
    assert found["false_pos"] == 4
    assert [row["patient"] for row in found["patients"]] == ["a", "b"]
    assert found["patients"][0] == {"patient": "a", "patches": 4, "idc_pos": 1, "false_pos": 3}
    assert found["without_top_2"] == {"f1_pos": 1.0, "balanced_accuracy": 1.0}


# --- tiny end-to-end runs --------------------------------------------------------------


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """Two small synthetic trees of different patients: train on one, score on the other."""
    root = tmp_path_factory.mktemp("bench")
    train = make_synthetic(root / "train", n_patients=8, patches_per_patient=20, seed=0)
    test = make_synthetic(root / "test", n_patients=8, patches_per_patient=20, seed=1)
    return train, test


def _patients(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir()}


@pytest.mark.slow
def test_bench_recipe_holdout_on_another_tree_writes_its_scores(trees, tmp_path):
    train, test = trees
    assert _patients(train).isdisjoint(_patients(test))
    out = tmp_path / "result.json"
    done = _run(
        "bench_recipe.py", str(train), "--test-data", str(test), "--out", str(out),
        "--run-dir", str(tmp_path / "run"), *TINY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert (result["benchmark"], result["protocol"], result["model"]) == (
        "bench_recipe",
        "holdout",
        "recipe",
    )
    assert result["recipe"]["model"] == "benchmark"
    assert result["recipe"]["config"]["epochs"] == 1
    assert result["train"]["patients"] == 8 and result["held_out"]["patients"] == 8
    held_out = result["held_out"]
    for key in ("f1_pos", "balanced_accuracy", "roc_auc", "f1_pos_at_28pct", "prevalence"):
        assert 0 <= held_out[key] <= 1, key
    (tn, fp), (fn, tp) = held_out["confusion_matrix"]
    assert tn + fp + fn + tp == held_out["patches"] > 0
    assert set(result["cv_on_train"]) == {"f1_pos", "balanced_accuracy", "roc_auc"}
    assert all(len(pair) == 2 for pair in result["cv_on_train"].values())
    assert 0 < result["threshold"] < 1
    assert list(result["threshold_rules"]) == ["0.5", "f1", "youden", "min_recall"]
    objective = str(result["recipe"]["config"]["threshold_objective"])  # the run's own rule
    at_the_runs_rule = result["threshold_rules"][objective]["confusion_matrix"]
    assert at_the_runs_rule == held_out["confusion_matrix"]
    assert set(result["operating_points"]) == {"run", "recall_target"}
    rows = (tmp_path / "run" / "held_out_predictions.csv").read_text().splitlines()
    assert len(rows) == 1 + held_out["patches"]
    lines = done.stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line == "{")
    assert json.loads("\n".join(lines[start:])) == result  # also printed


@pytest.mark.slow
def test_bench_recipe_nested_scores_every_patient_once(trees, tmp_path):
    train, _ = trees
    out, run_dir = tmp_path / "nested.json", tmp_path / "runs"
    done = _run(
        "bench_recipe.py", str(train), "--protocol", "nested", "--outer", "2", "--out", str(out),
        "--run-dir", str(run_dir), *TINY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert (result["protocol"], result["outer"], result["seed"]) == ("nested", 2, 0)
    groups = result["groups"]
    assert [g["group"] for g in groups] == [1, 2]
    assert sum(g["patients"] for g in groups) == result["scored"]["patients"] == 8
    assert sum(g["patches"] for g in groups) == result["scored"]["patches"]
    for scores in [result["pooled"], *groups]:
        for key in ("f1_pos", "balanced_accuracy", "roc_auc", "f1_pos_at_28pct"):
            assert 0 <= scores[key] <= 1, key
    assert sum(map(sum, result["pooled"]["confusion_matrix"])) == result["scored"]["patches"]
    rows = (run_dir / "nested_predictions.csv").read_text().splitlines()
    assert rows[0] == "patient,x,y,label,group,prob_idc"
    assert len(rows) == 1 + result["scored"]["patches"]
    assert all((run_dir / f"outer_{k}").is_dir() for k in (1, 2))


@pytest.mark.slow
def test_bench_recipe_outside_scores_the_other_trees_patients_trained_with_data(trees, tmp_path):
    train, test = trees
    out, run_dir = tmp_path / "outside.json", tmp_path / "runs"
    done = _run(
        "bench_recipe.py", str(train), "--protocol", "outside", "--test-data", str(test),
        "--outer", "2", "--out", str(out), "--run-dir", str(run_dir), *TINY,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["always_trained"]["patients"] == 8 and result["scored"]["patients"] == 8
    assert sum(g["patients"] for g in result["groups"]) == 8
    for k, group in enumerate(result["groups"], start=1):
        config = json.loads((run_dir / f"outer_{k}" / "config.json").read_text())
        assert config["dataset"]["n_patients"] == 8 + 8 - group["patients"]


@pytest.mark.slow
def test_bench_speed_writes_epoch_and_inference_rates(trees, tmp_path):
    train, _ = trees
    out = tmp_path / "speed.json"
    done = _run(
        "bench_speed.py", str(train), "--out", str(out), "--max-patients", "6",
        "--folds", "2", "--epochs", "2", *TINY[:6],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["benchmark"] == "bench_speed"
    assert result["patients"] == 6 and result["recipe"]["config"]["n_splits"] == 2
    assert [len(fold) for fold in result["epoch_seconds"]] == [2, 2]
    assert all(s > 0 for fold in result["epoch_seconds"] for s in fold)
    assert result["seconds_per_epoch"] > 0 and result["train_patches_per_s"] > 0
    assert 0 < result["train_patches_per_fold"] < result["patches"]
    assert result["fit_seconds"] >= sum(sum(fold) for fold in result["epoch_seconds"])
    assert result["predict_patches"] == result["patches"]
    assert result["predict_models"] == 2
    assert result["predict_patches_per_s"] > 0


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_BENCH.is_dir(), reason=f"{SHARED_BENCH} not found")
def test_bench_data_without_the_baselines_writes_its_rates(trees, tmp_path):
    train, _ = trees
    out = tmp_path / "data.json"
    done = _run(
        "bench_data.py", str(train), "--shared-bench", str(SHARED_BENCH), "--patches", "200",
        "--workdir", str(tmp_path / "work"), "--no-baselines", "--batch-size", "32",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["patches"] == 200
    for key in ("cold_rate", "warm_seconds", "feed_rate", "feed_rate_augment",
                "index_seconds", "index_peak_mb"):  # fmt: skip
        assert result[key] > 0, key
    assert "decode_limit" not in result


def test_threshold_rules_score_the_held_out_patients_at_each_out_of_fold_threshold():
    from sklearn.metrics import balanced_accuracy_score, f1_score

    from idckit.reporting import ClassificationReport, choose_threshold
    from idckit.training import CrossValidationResult, FoldResult, Predictions

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    oof_prob = np.clip(labels * 0.3 + rng.uniform(0, 0.7, 200), 0, 1)
    oof = Predictions([f"p{i}" for i in range(200)], ["a"] * 200, np.zeros(200),
                      np.zeros(200), labels, oof_prob)  # fmt: skip
    fold = FoldResult(1, {"f1_pos": 0.5}, 1, 1, ("a",), ("b",), 1, 1, 0.0)
    result = CrossValidationResult((fold,), 0.5, 0.5, oof, {}, "r", 0.9)
    truth = rng.integers(0, 2, 100)
    prob = np.clip(truth * 0.2 + rng.uniform(0, 0.8, 100), 0, 1)
    report = ClassificationReport.from_predictions(truth, prob)
    rules = bench_recipe.threshold_rules(result, report)
    assert list(rules) == ["0.5", "f1", "youden", "min_recall"]
    for name, rule in zip(rules, bench_recipe.THRESHOLD_RULES, strict=True):
        cut = rule if isinstance(rule, float) else choose_threshold(labels, oof_prob, rule)
        assert rules[name]["threshold"] == round(cut, 4)
        assert rules[name]["f1_pos"] == round(f1_score(truth, prob >= cut), 4)
        assert rules[name]["balanced_accuracy"] == round(
            balanced_accuracy_score(truth, prob >= cut), 4
        )
