import json

import pytest

from idckit.training import (
    GridSearchResult,
    KFoldTrainer,
    TrainingConfig,
    grid_search,
    model_builder,
)


@pytest.fixture(scope="module")
def searched(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=16)
    trainer = KFoldTrainer(model_builder("benchmark", filters=4), config, out_dir=out, verbose=0)
    params = trainer.get_params()
    grid = [{"batch_size": [32]}, {"model__filters": [2], "class_weight": [None]}]
    result = grid_search(trainer, tiny_dataset, grid)
    assert trainer.get_params() == params and not hasattr(trainer, "result_")  # left as it was
    return result, out


@pytest.mark.slow
def test_rows_are_ranked_by_mean_validation_f1(searched):
    result, _ = searched
    means = [row["mean_f1_pos"] for row in result.rows]
    assert means == sorted(means, reverse=True)
    assert result.rows[0]["rank"] == 1
    assert result.best_params == result.rows[0]["params"]


@pytest.mark.slow
def test_each_combination_is_a_cross_validated_run_with_its_settings(searched):
    result, out = searched
    by_params = {json.dumps(row["params"], sort_keys=True): row for row in result.rows}
    first = by_params[json.dumps({"batch_size": 32})]
    second = by_params[json.dumps({"class_weight": None, "model__filters": 2}, sort_keys=True)]
    config = json.loads((out / "grid_1" / "config.json").read_text())
    assert config["batch_size"] == 32 and config["class_weight"] == "balanced"
    config = json.loads((out / "grid_2" / "config.json").read_text())
    assert config["class_weight"] is None
    assert config["model"]["kwargs"]["filters"] == 2
    for row in (first, second):
        summary = json.loads((out / row["run_dir"].split("/")[-1] / "summary.json").read_text())
        assert row["mean_f1_pos"] == summary["f1_pos"]["mean"]
        assert row["std_balanced_accuracy"] == summary["balanced_accuracy"]["std"]


@pytest.mark.slow
def test_table_and_files(searched):
    _, out = searched
    saved = json.loads((out / "grid.json").read_text())
    assert saved["ranked_by"] == "mean_f1_pos" and len(saved["rows"]) == 2
    lines = (out / "grid.txt").read_text().splitlines()
    assert lines[0].split()[:2] == ["rank", "F1(+)"] and len(lines) == 3
    assert "+-" in lines[1]


def test_ties_share_the_best_rank():
    from idckit.training._grid import _rank

    rows = _rank([{"mean_f1_pos": v, "params": {"i": i}} for i, v in enumerate([0.5, 0.7, 0.5])])
    assert [(r["mean_f1_pos"], r["rank"]) for r in rows] == [(0.7, 1), (0.5, 2), (0.5, 2)]
    assert isinstance(GridSearchResult(tuple(rows)).to_table(), str)


@pytest.mark.parametrize("grid", [{"learning_rat": [0.1]}, [{"epochs": [1]}, {"folds": [2]}]])
def test_unknown_grid_keys_are_refused_listing_the_settings(tiny_dataset, tmp_path, grid):
    config = TrainingConfig(n_splits=2, epochs=1)
    trainer = KFoldTrainer(model_builder("benchmark"), config, out_dir=tmp_path, verbose=0)
    names = r", ".join((*TrainingConfig.names(), "learning_rate"))
    with pytest.raises(ValueError, match=r"Invalid `param_grid` for grid_search: expected keys "
                       rf"among the TrainingConfig settings \({names}\), or model__<builder "
                       r"argument>\. Received: param_grid='(learning_rat|folds)'"):  # fmt: skip
        grid_search(trainer, tiny_dataset, grid)
    assert list(tmp_path.iterdir()) == []  # refused before training anything


@pytest.mark.slow
def test_best_run_dir_is_the_first_ranked_run_and_str_is_the_table(searched):
    result, out = searched
    assert result.best_run_dir == out / result.rows[0]["run_dir"].split("/")[-1]
    assert (result.best_run_dir / "report.json").is_file()
    assert str(result) == result.to_table()
