import subprocess
import sys

import pytest

import idckit


def test_all_is_sorted_and_unique():
    assert list(idckit.__all__) == sorted(set(idckit.__all__))


@pytest.mark.parametrize("name", idckit.__all__)
def test_every_public_name_imports_and_has_a_docstring(name):
    obj = getattr(idckit, name)
    assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"


def test_unknown_attribute_is_a_clear_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        idckit.nope  # noqa: B018


def test_import_idckit_does_not_import_a_deep_learning_framework():
    code = (
        "import sys, idckit, idckit.data, idckit.datasets, idckit.cli;"
        "heavy = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_training_api_is_exported_where_the_docs_say():
    import idckit.training as training

    top = {"CrossValidationResult", "FoldResult", "GridSearchResult", "KFoldTrainer",
           "Predictions", "Recipe", "Run", "TrainingConfig", "get_recipe"}  # fmt: skip
    assert top <= set(idckit.__all__)
    extra = {"RECIPES", "grid_search", "model_builder", "write_run_report"}
    assert set(training.__all__) == top | extra
    for name in top:
        assert getattr(idckit, name) is getattr(training, name)
