import contextlib
import csv
import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from idckit.cli._main import CLIError, build_parser, main
from idckit.cli._train import recipe_from_args
from idckit.data import Augmentation
from idckit.training import get_recipe


def _args(*argv):
    return build_parser().parse_args(["train", "data", "--out", "run", *argv])


def _error(capsys, *argv):
    """The one line ``idckit train`` prints for bad flags (exit 2, before reading any data)."""
    capsys.readouterr()
    assert main(["train", "no-such-data", "--out", "no-such-run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("idckit train: error: ")
    return err.strip()


def test_defaults_follow_the_cpu_recipe():
    recipe = recipe_from_args(_args())
    assert recipe.name == "cpu" and recipe.model == "idc_cnn"
    config = recipe.config
    assert (config.lr_schedule, config.threshold_objective) == ("warmup_cosine", "youden")
    assert config.augment == Augmentation.hed_strong()
    assert (config.smoothing.alpha, config.tta) == (0.7, False)
    assert recipe == get_recipe("cpu")  # no flag, no change (the seed included)


def test_help_lists_the_recipes_descriptions(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "cpu: A 123k-parameter two-stream CNN" in out and "out of fold" in out


def test_explicit_flags_override_the_recipe():
    recipe = recipe_from_args(_args("--recipe", "seed", "--folds", "3", "--epochs", "2",
                                    "--batch-size", "8"))  # fmt: skip
    assert (recipe.config.n_splits, recipe.config.epochs, recipe.config.batch_size) == (3, 2, 8)
    assert recipe.model == "vgg19" and recipe.model_kwargs["freeze"] == 6
    assert recipe.config.optimizer["class_name"] == "SGD"
    assert recipe_from_args(_args("--seed", "7")).config.seed == 7


def test_another_model_drops_the_recipes_model_arguments():
    recipe = recipe_from_args(_args("--recipe", "seed", "--model", "mobilenet"))
    assert recipe.model == "mobilenet" and dict(recipe.model_kwargs) == {}


@pytest.mark.parametrize(("flag", "expected"), [("none", None), ("imagenet", "imagenet")])
def test_weights_flag(flag, expected):
    recipe = recipe_from_args(_args("--recipe", "seed", "--weights", flag))
    assert recipe.model_kwargs["weights"] == expected


def test_weights_path_must_exist_and_apply_to_a_backbone(tmp_path):
    weights = tmp_path / "vgg.weights.h5"
    weights.write_bytes(b"")
    recipe = recipe_from_args(_args("--model", "vgg16", "--weights", str(weights)))
    assert recipe.model_kwargs["weights"] == str(weights)
    with pytest.raises(CLIError, match="expected 'imagenet', 'none' or a weights file"):
        recipe_from_args(_args("--model", "vgg16", "--weights", str(tmp_path / "missing.h5")))
    with pytest.raises(CLIError, match="applies to transfer backbones, not to --model benchmark"):
        recipe_from_args(_args("--model", "benchmark", "--weights", "none"))


def test_bad_counts_are_one_line_errors(capsys):
    assert _error(capsys, "--folds", "1") == (
        "idckit train: error: Invalid `n_splits` for TrainingConfig: expected an integer >= 2. "
        "Received: n_splits=1."
    )
    assert _error(capsys, "--epochs", "0") == (
        "idckit train: error: Invalid `epochs` for TrainingConfig: expected an integer >= 1. "
        "Received: epochs=0."
    )
    assert _error(capsys, "--batch-size", "0").endswith(
        "Invalid `batch_size` for TrainingConfig: expected an integer >= 1. "
        "Received: batch_size=0."
    )
    with pytest.raises(ValueError, match=r"Invalid `epochs` for TrainingConfig"):
        recipe_from_args(_args("--epochs", "0"))  # the library's error, made one line by main


def test_tta_and_smoothing_default_to_the_recipe_and_flags_override_it():
    from idckit.inference import SpatialSmoothing

    config = recipe_from_args(_args("--recipe", "seed")).config
    assert config.tta is False and config.smoothing is None
    config = recipe_from_args(_args("--recipe", "seed", "--tta", "--smooth", "0.6")).config
    assert config.tta is True and config.smoothing == SpatialSmoothing(alpha=0.6, radius=1)
    config = recipe_from_args(_args("--smooth", "0.5", "--smooth-radius", "2", "--no-tta")).config
    assert config.tta is False and config.smoothing == SpatialSmoothing(alpha=0.5, radius=2)


def test_label_smoothing_defaults_to_the_recipe_and_the_flag_overrides_it(capsys):
    from idckit.training import RECIPES

    def label_smoothing(*argv):
        return recipe_from_args(_args(*argv)).config.label_smoothing

    assert label_smoothing() == RECIPES["cpu"].config.label_smoothing
    assert label_smoothing("--label-smoothing", "0.15") == 0.15
    assert label_smoothing("--label-smoothing", "0") == 0.0
    assert _error(capsys, "--label-smoothing", "1").endswith(
        "Invalid `label_smoothing` for TrainingConfig: expected a float in [0, 1). "
        "Received: label_smoothing=1.0."
    )


def test_stain_normalization_flag_overrides_the_recipe():
    from idckit.data import StainNormalization
    from idckit.training import RECIPES

    def stain(*argv):
        return recipe_from_args(_args(*argv)).config.stain_normalization

    assert stain() == RECIPES["cpu"].config.stain_normalization
    assert stain("--stain-normalization", "reinhard") == StainNormalization("reinhard")
    macenko = recipe_from_args(_args("--stain-normalization", "macenko"))
    assert stain("--recipe", "seed", "--stain-normalization", "none") is None
    assert macenko.replace(stain_normalization=None).config == RECIPES["cpu"].config.replace(
        stain_normalization=None
    )


def test_optimisation_flags_override_the_recipe(capsys):
    from idckit.training import RECIPES

    cpu = RECIPES["cpu"].config
    assert recipe_from_args(_args()).config.optimizer == cpu.optimizer
    config = recipe_from_args(
        _args("--learning-rate", "5e-4", "--lr-schedule", "constant", "--class-weight", "none")
    ).config
    assert config.optimizer["class_name"] == cpu.optimizer["class_name"]
    assert config.optimizer["config"] == {**cpu.optimizer["config"], "learning_rate": 5e-4}
    assert config.learning_rate == 5e-4
    assert (config.lr_schedule, config.class_weight) == ("constant", None)
    seed = recipe_from_args(_args("--recipe", "seed", "--class-weight", "balanced")).config
    assert seed.class_weight == "balanced" and seed.optimizer["config"]["momentum"] == 0.2
    assert _error(capsys, "--learning-rate", "0").endswith(
        "Invalid `learning_rate` for TrainingConfig: expected a float > 0. "
        "Received: learning_rate=0.0."
    )


def test_bad_schedule_and_class_weight_are_rejected_by_the_parser(capsys):
    for argv in (("--lr-schedule", "step"), ("--class-weight", "inverse")):
        with pytest.raises(SystemExit):
            _args(*argv)
        assert "invalid choice" in capsys.readouterr().err


def test_smooth_zero_turns_smoothing_off_and_bad_values_are_one_line_errors(monkeypatch, capsys):
    from idckit.cli import _train
    from idckit.training import RECIPES

    smoothed = RECIPES["seed"].replace(smoothing={"alpha": 0.7, "radius": 2})
    monkeypatch.setattr(_train, "get_recipe", lambda name: smoothed)
    assert recipe_from_args(_args("--smooth", "0")).config.smoothing is None
    kept = recipe_from_args(_args("--smooth-radius", "1")).config.smoothing
    assert (kept.alpha, kept.radius) == (0.7, 1)
    assert _error(capsys, "--smooth", "1.5").endswith(
        "Invalid `alpha` for SpatialSmoothing: expected a float in [0, 1]. Received: alpha=1.5."
    )
    assert _error(capsys, "--smooth", "0.5", "--smooth-radius", "0").endswith(
        "Invalid `radius` for SpatialSmoothing: expected an integer >= 1. Received: radius=0."
    )
    monkeypatch.setattr(_train, "get_recipe", lambda name: RECIPES["seed"])
    with pytest.raises(CLIError, match="--smooth-radius needs --smooth ALPHA"):
        recipe_from_args(_args("--smooth-radius", "2"))
    assert "--smooth-radius needs --smooth ALPHA" in _error(capsys, "--smooth-radius", "2")


def test_unknown_model_and_recipe_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        _args("--model", "resnet9000")
    with pytest.raises(SystemExit):
        _args("--recipe", "gpu")
    assert "invalid choice" in capsys.readouterr().err


def test_missing_data_directory_is_one_line_without_traceback(tmp_path, capsys):
    assert main(["train", str(tmp_path / "nope"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("idckit train: error: no such data directory") and "Traceback" not in err


def test_cli_modules_do_not_import_keras_at_import_time():
    code = (
        "import sys; import idckit.cli._train, idckit.cli._evaluate, idckit.cli._predict,"
        " idckit.cli._demo; from idckit.cli._main import build_parser; build_parser();"
        "print(any(m in sys.modules for m in ('keras', 'tensorflow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- end to end: train, evaluate and predict on a tiny synthetic tree --------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from idckit.datasets import make_synthetic

    base = tmp_path_factory.mktemp("cli")
    data = make_synthetic(base / "data", n_patients=8, patches_per_patient=25, seed=1)
    held_out = make_synthetic(base / "test", n_patients=3, patches_per_patient=20, seed=2)
    argv = ["train", str(data), "--out", str(base / "run"), "--model", "benchmark", "--folds",
            "2", "--epochs", "1", "--batch-size", "16", "--seed", "4", "--tta", "--smooth", "0.5",
            "--test-data",
            str(held_out), "--cache-dir", str(base / "cache")]  # fmt: skip
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):  # trained here, so every test can run alone
        code = main(argv)
    return base, argv, code, stdout.getvalue()


@pytest.mark.slow
def test_train_writes_a_finished_run_and_evaluates_the_test_data(trained):
    base, _, code, out = trained
    assert code == 0
    assert "fold 2/2 epoch 1/1" in out and "threshold" in out and "held-out patients (3" in out
    assert "operating points: recall(+)" in out and "out of fold: recall(+)" in out
    assert (base / "run" / "report.json").is_file()
    assert (base / "run" / "test" / "confusion_matrix.png").is_file()
    config = json.loads((base / "run" / "config.json").read_text())
    # the cpu recipe's training settings, with --model/--folds/--epochs/--batch-size over them
    assert config["model"] == {"name": "benchmark", "kwargs": {}}
    assert (config["n_splits"], config["epochs"], config["batch_size"]) == (2, 1, 16)
    assert config["seed"] == 4 and config["context"] == 0
    assert config["lr_schedule"] == "warmup_cosine"
    assert config["optimizer"]["class_name"] == "AdamW"
    assert config["threshold_objective"] == "youden"
    report = json.loads((base / "run" / "report.json").read_text())
    assert report["threshold_objective"] == "youden" and 0 < report["threshold"] < 1
    assert config["tta"] is True
    assert config["smoothing"] == {"alpha": 0.5, "radius": 1, "step": 50}


@pytest.mark.slow
def test_train_again_without_resume_is_refused_in_one_line(trained, capsys):
    _, argv, _, _ = trained
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume" in err


@pytest.mark.slow
def test_resume_with_other_settings_names_them(trained, capsys):
    _, argv, _, _ = trained
    assert main([*argv[:-2], "--resume", "--epochs", "2"]) == 2
    assert "epochs: stored 1, now 2" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_json_prints_exactly_one_object_with_the_documented_keys(trained, capsys):
    base, *_ = trained
    capsys.readouterr()
    argv = ["evaluate", str(base / "run"), str(base / "test"), "--json", "--cache-dir",
            str(base / "cache")]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    summary = json.loads(stdout)
    assert set(summary) == {
        "f1_pos", "f1_macro", "f1_weighted", "precision_pos", "recall_pos", "accuracy",
        "balanced_accuracy", "roc_auc", "confusion_matrix", "threshold", "n_patches",
        "n_patients", "operating_points",
    }  # fmt: skip
    assert set(summary["operating_points"]) == {"run", "recall_target"}
    report = json.loads((base / "run" / "report.json").read_text())
    assert summary["threshold"] == report["threshold"] and summary["n_patients"] == 3
    (tn, fp), (fn, tp) = summary["confusion_matrix"]
    assert tn + fp + fn + tp == summary["n_patches"]
    test_report = json.loads((base / "run" / "test" / "evaluation.json").read_text())
    assert test_report["confusion_matrix"] == summary["confusion_matrix"]
    assert test_report["operating_points"] == summary["operating_points"]


@pytest.mark.slow
def test_evaluate_out_writes_text_report_and_plots(trained, capsys):
    base, *_ = trained
    out = base / "eval"
    argv = ["evaluate", str(base / "run"), str(base / "test"), "--out", str(out), "--cache-dir",
            str(base / "cache")]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "precision    recall  f1-score" in stdout
    assert "TTA (8 dihedral transforms), spatial smoothing alpha 0.5 radius 1" in stdout
    for name in ("report.txt", "evaluation.json", "confusion_matrix.png", "roc_curve.png"):
        assert (out / name).is_file()


@pytest.mark.slow
def test_predict_writes_the_documented_columns(trained, capsys):
    base, *_ = trained
    target = base / "preds.csv"
    argv = ["predict", str(base / "run"), str(base / "test"), "--out", str(target), "--cache-dir",
            str(base / "cache")]  # fmt: skip
    assert main(argv) == 0
    with open(target, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["path", "patient", "x", "y", "label", "prob_idc"]
    assert len(rows) == len(list((base / "test").glob("*/*/*.png")))
    assert all(0.0 <= float(r["prob_idc"]) <= 1.0 for r in rows)
    assert f"wrote {len(rows)} predictions (3 patients)" in capsys.readouterr().out
    # the run's stored TTA and smoothing settings were used
    from idckit.data import IDCPatchDataset
    from idckit.training import Run

    run = Run.load(base / "run")
    test = IDCPatchDataset.from_directory(base / "test", cache_dir=base / "cache", progress=False)
    expected = run.predictions(test).prob_idc
    np.testing.assert_allclose([float(r["prob_idc"]) for r in rows], expected, atol=1e-9)


def test_evaluate_an_unfinished_run_is_one_line(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "expected a finished run directory" in err and err.count("\n") == 1


def test_context_flag_overrides_the_recipe_and_needs_the_idc_cnn(capsys):
    assert recipe_from_args(_args("--context", "2")).config.context == 2
    assert recipe_from_args(_args("--context", "0")).config.context == 0
    plain = recipe_from_args(_args("--model", "benchmark"))
    assert plain.config.context == 0  # dropped with the model
    assert "context" not in plain.builder_kwargs()
    assert _error(capsys, "--model", "benchmark", "--context", "1").endswith(
        "Invalid `context` for Recipe: expected 0 unless model='idc_cnn' (the model that takes "
        "mosaics). Received: context=1."
    )
    assert _error(capsys, "--context", "4").endswith(
        "Invalid `context` for TrainingConfig: expected an int from 0 (no context) to 3. "
        "Received: context=4."
    )


@pytest.mark.slow
def test_explain_writes_one_figure_per_group_of_surest_calls(trained, capsys):
    base, *_ = trained
    out = base / "explain"
    argv = ["explain", str(base / "run"), str(base / "test"), "--out", str(out), "--per-group",
            "3", "--window", "25", "--stride", "25",
            "--cache-dir", str(base / "cache")]  # fmt: skip
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    written = sorted(p.name for p in out.glob("*.png"))
    assert written and set(written) <= {
        "occlusion_false_positives.png", "occlusion_false_negatives.png",
        "occlusion_true_positives.png",
    }  # fmt: skip
    assert all(f"wrote {out / name}:" in stdout for name in written)
    assert re.search(r": [123] of \d+ (false positives|false negatives|true positives)", stdout)
    assert "maps of the fold models' mean P(IDC+)" in stdout


@pytest.mark.slow
def test_explain_one_patient_and_bad_arguments(trained, capsys):
    base, *_ = trained
    common = ["explain", str(base / "run"), str(base / "test"), "--cache-dir", str(base / "cache")]
    patient = sorted(p.name for p in (base / "test").iterdir() if p.is_dir())[0]
    out = base / "explain-one"
    argv = [*common, "--out", str(out), "--patient", patient, "--window", "50"]
    assert main(argv) == 0
    assert list(out.glob("occlusion_*.png"))
    capsys.readouterr()
    assert main([*common, "--out", str(out), "--patient", "nobody"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Invalid `patients`" in err and "nobody" in err
    assert main([*common, "--out", str(out), "--per-group", "0"]) == 2
    assert "--per-group must be at least 1" in capsys.readouterr().err
    assert main([*common, "--out", str(out), "--window", "80"]) == 2
    assert "Invalid `window` for occlusion_map" in capsys.readouterr().err


def test_explain_picks_the_surest_patches_of_each_group():
    from idckit.cli._explain import pick

    prob = np.array([0.9, 0.2, 0.7, 0.6, 0.95, 0.1, 0.4])
    labels = np.array([0, 1, 1, 0, 1, 1, 0])
    groups = pick(prob, labels, 0.5)
    assert {k: v.tolist() for k, v in groups.items()} == {
        "false_positives": [0, 3], "false_negatives": [5, 1], "true_positives": [4, 2],
    }  # fmt: skip
    unlabelled = pick(prob, None, 0.5)
    assert {k: v.tolist() for k, v in unlabelled.items()} == {"highest_prob_idc": [4, 0, 2, 3]}
    assert pick(np.array([0.1]), np.array([0]), 0.5) == {}
