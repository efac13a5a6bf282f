import subprocess
import sys

import pytest

from idckit.cli._main import CLIError, build_parser, main
from idckit.cli._train import recipe_from_args


def _args(*argv):
    return build_parser().parse_args(["train", "data", "--out", "run", *argv])


def test_defaults_follow_the_cpu_recipe():
    recipe = recipe_from_args(_args())
    assert recipe.name == "cpu" and recipe.model == "idc_cnn"


def test_explicit_flags_override_the_recipe():
    recipe = recipe_from_args(_args("--recipe", "seed", "--folds", "3", "--epochs", "2",
                                    "--batch-size", "8"))  # fmt: skip
    assert (recipe.n_splits, recipe.epochs, recipe.batch_size) == (3, 2, 8)
    assert recipe.model == "vgg19" and recipe.model_kwargs["freeze"] == 6
    assert recipe.optimizer["class_name"] == "SGD"


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


def test_bad_counts_are_one_line_errors():
    with pytest.raises(CLIError, match="--folds must be >= 2; got 1"):
        recipe_from_args(_args("--folds", "1"))
    with pytest.raises(CLIError, match="--epochs must be >= 1; got 0"):
        recipe_from_args(_args("--epochs", "0"))


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
