"""Hostile or damaged run files: one ValueError naming the file (and key), never a traceback of
another kind, never a path followed out of the run directory."""

from __future__ import annotations

import json
import math
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idckit.training import TrainingConfig
from idckit.training._callbacks import FoldState
from idckit.training._outputs import load_result
from idckit.training._predictions import Predictions
from idckit.training._run_dir import RunDir
from idckit.training._run_files import check_keras_file, load_weights_file

CONFIG = TrainingConfig().to_dict()
FOLD = {
    "fold": 1, "metrics": {"f1_pos": 0.5, "roc_auc": math.nan}, "best_epoch": 1,
    "epochs_run": 2, "train_patients": ["a"], "val_patients": ["b"], "n_train": 3, "n_val": 2,
    "seconds": 1.0,
}  # fmt: skip
CSV_HEADER = "path,patient,x,y,label,prob_idc\n"


# -- config.json ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"tta": "no"}, r"`tta` must be True or False, got 'no'"),
        ({"tta": 1}, r"`tta` must be True or False, got 1"),
        ({"epochs": "3"}, r"`epochs` must be an integer >= 1, got '3'"),
        ({"epochs": 2.5}, r"`epochs` must be an integer >= 1"),
        ({"seed": -1}, r"`seed` must be an integer >= 0"),
        ({"class_weight": {"0": "x", "1": 1}}, r"`class_weight` must be"),
        ({"optimizer": {"class_name": 5}}, r"`optimizer.class_name` must be the name"),
        ({"optimizer": {"class_name": "Adam", "config": []}}, r"`optimizer.config` must be"),
        ({"augment": [1, 2]}, r"`augment` must be"),
        ({"smoothing": "yes"}, r"`smoothing` must be"),
        ({"threshold_objective": "best"}, r"`threshold_objective` must be"),
        ({"context": 9}, r"`context` must be an int from 0"),
        ([1, 2], r"the content must be a JSON object"),
    ],
)
def test_config_json_values_are_checked_naming_file_and_key(tmp_path, content, message):
    run = RunDir(tmp_path)
    run.config_path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=r"Invalid run file '.*config\.json': " + message):
        run.read_config()


@pytest.mark.parametrize("text", ["", "{", "\xff\xfe", "[" * 100_000, '{"epochs": 1e999999}'])
def test_config_json_that_is_not_json_is_one_error(tmp_path, text):
    run = RunDir(tmp_path)
    run.config_path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match=r"Invalid run file '.*config\.json'"):
        run.read_config()


def test_a_missing_setting_still_takes_its_default(tmp_path):
    run = RunDir(tmp_path)
    run.write_config({k: v for k, v in CONFIG.items() if k != "tta"})
    assert run.read_config()["tta"] is False


# -- splits.json --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [
        {},
        {"folds": 3},
        {"folds": []},
        {"folds": [{"train_patients": ["a"]}]},
        {"folds": [{"train_patients": "ab", "val_patients": ["c"]}]},
        {"folds": [{"train_patients": [1], "val_patients": ["c"]}]},
        {"folds": [{"train_patients": [], "val_patients": ["c"]}]},
        {"folds": ["fold"]},
    ],
)
def test_splits_json_is_checked(tmp_path, content):
    run = RunDir(tmp_path)
    run.splits_path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=r"Invalid run file '.*splits\.json': `folds"):
        run.read_splits()


# -- fold metrics.json --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"fold": "1"}, "fold"),
        ({"fold": 2}, "fold"),  # not the fold of its folder
        ({"metrics": [0.5]}, "metrics"),
        ({"metrics": {"f1_pos": "high"}}, "metrics.f1_pos"),
        ({"best_epoch": 3}, "best_epoch"),
        ({"n_train": True}, "n_train"),
        ({"seconds": -1}, "seconds"),
        ({"val_patients": None}, "val_patients"),
    ],
)
def test_fold_metrics_json_is_checked(tmp_path, change, key):
    run = RunDir(tmp_path)
    run.fold_dir(1).mkdir()
    run.metrics_path(1).write_text(json.dumps({**FOLD, **change}))
    with pytest.raises(ValueError, match=rf"Invalid run file '.*metrics\.json': .*`{key}`"):
        run.read_fold_result(1)


def test_a_fold_metrics_json_round_trips_with_nan_metrics(tmp_path):
    run = RunDir(tmp_path)
    run.fold_dir(1).mkdir()
    run.metrics_path(1).write_text(json.dumps(FOLD))
    assert math.isnan(run.read_fold_result(1).metrics["roc_auc"])


# -- state.json ---------------------------------------------------------------------------------
def _state(tmp_path, **change):
    (tmp_path / "checkpoint-e1.keras").write_bytes(b"")
    (tmp_path / "best-e1.weights.h5").write_bytes(b"")
    state = {
        "epoch": 1, "checkpoint": "checkpoint-e1.keras", "best_epoch": 1, "best_value": 0.5,
        "best_weights": "best-e1.weights.h5", "seconds": 1.0, "stopped": False,
        "history": {"loss": [0.5]}, "seed_states": [[7, 3]], **change,
    }  # fmt: skip
    (tmp_path / "state.json").write_text(json.dumps(state))


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"checkpoint": "/etc/passwd"}, "checkpoint"),
        ({"checkpoint": "../../outside/checkpoint-e1.keras"}, "checkpoint"),
        ({"checkpoint": "sub/checkpoint-e1.keras"}, "checkpoint"),
        ({"best_weights": "../best-e1.weights.h5"}, "best_weights"),
        ({"best_weights": "best-e2.weights.h5"}, "best_weights"),  # missing
        ({"checkpoint": "checkpoint-e2.keras"}, "checkpoint"),  # missing
        ({"epoch": "1"}, "epoch"),
        ({"stopped": "no"}, "stopped"),
        ({"best_value": "0.5"}, "best_value"),
        ({"history": {"loss": ["x"]}}, "history.loss"),
        ({"seed_states": [[1]]}, "seed_states"),
        ({"best_epoch": 5}, "best_epoch"),
    ],
)
def test_state_json_is_checked_and_names_only_files_of_its_fold(tmp_path, change, key):
    _state(tmp_path, **change)
    with pytest.raises(ValueError, match=rf"Invalid run file '.*state\.json': `{key}`"):
        FoldState.load(tmp_path)


def test_a_checkpoint_name_through_a_symlink_out_of_the_run_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "checkpoint-e1.keras").write_bytes(b"")
    fold = tmp_path / "fold_1"
    fold.mkdir()
    _state(fold)
    (fold / "checkpoint-e1.keras").unlink()
    (fold / "checkpoint-e1.keras").symlink_to(outside / "checkpoint-e1.keras")
    with pytest.raises(ValueError, match=r"leaves the run directory"):
        FoldState.load(fold)


def test_a_valid_state_json_loads(tmp_path):
    _state(tmp_path)
    state = FoldState.load(tmp_path)
    assert state.checkpoint == "checkpoint-e1.keras" and state.seed_states == [[7, 3]]


# -- oof.csv / val_predictions.csv ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "empty"),
        ("garbage\n", "header"),
        ("path,patient,x,y,prob_idc,label\n", "header"),
        (CSV_HEADER + "a.png,p,1,2,1\n", "line 2 must have 6 fields"),
        (CSV_HEADER + "a.png,p,1,2,1,0.5,extra\n", "line 2 must have 6 fields"),
        (CSV_HEADER + "a.png,p,x1,2,1,0.5\n", "an integer `x`"),
        (CSV_HEADER + "a.png,p,1,99999999999999999999,1,0.5\n", "an integer `y`"),
        (CSV_HEADER + "a.png,p,1,2,2,0.5\n", "`label` 0 or 1"),
        (CSV_HEADER + "a.png,p,1,2,1,high\n", "a probability"),
        (CSV_HEADER + "a.png,p,1,2,1,nan\n", "a probability"),
        (CSV_HEADER + "a.png,p,1,2,1,1.5\n", "a probability"),
        (CSV_HEADER + 'a.png,"p,1,2,1,0.5\n', "readable CSV|fields"),
        (CSV_HEADER + "a.png,p\x00,1,2,1,0.5\n\xff", "readable CSV"),
    ],
)
def test_prediction_csv_rows_are_checked(tmp_path, text, what):
    path = tmp_path / "oof.csv"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ValueError, match=rf"Invalid run file '.*oof\.csv': .*({what})"):
        Predictions.from_csv(path)


# -- report.json ---------------------------------------------------------------------------------
def _finished_run(tmp_path, **change):
    run = RunDir(tmp_path)
    (tmp_path / "oof.csv").write_text(CSV_HEADER + "a.png,b,0,0,1,0.75\nc.png,b,0,50,0,0.25\n")
    report = {
        "folds": [FOLD], "threshold": 0.5, "threshold_objective": "f1", "oof_metrics": {},
        "n_patches": 2, "min_recall": 0.9, **change,
    }  # fmt: skip
    run.report_path.write_text(json.dumps(report))
    return run


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"folds": {}}, "folds"),
        ({"folds": [{**FOLD, "fold": 2}]}, "folds"),
        ({"threshold": "0.5"}, "threshold"),
        ({"threshold": 7}, "threshold"),
        ({"threshold_objective": "max"}, "threshold_objective"),
        ({"oof_metrics": None}, "oof_metrics"),
        ({"min_recall": 2}, "min_recall"),
        ({"n_patches": 3}, "holds 2 predictions"),
        ({"folds": [{**FOLD, "epochs_run": "2"}]}, "epochs_run"),
    ],
)
def test_report_json_is_checked(tmp_path, change, key):
    run = _finished_run(tmp_path, **change)
    with pytest.raises(ValueError, match=rf"Invalid run file '.*(report\.json|oof\.csv)'.*{key}"):
        load_result(run)


def test_a_valid_finished_run_loads(tmp_path):
    result = load_result(_finished_run(tmp_path))
    assert result.threshold == 0.5 and len(result.oof) == 2


# -- model files ----------------------------------------------------------------------------------
def test_a_truncated_model_keras_is_called_corrupt_not_missing(tmp_path):
    import idckit.training._run_files as run_files
    from idckit.models import build_benchmark_cnn

    path = tmp_path / "model.keras"
    build_benchmark_cnn(filters=2).save(path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"^Corrupt model file '.*model\.keras'"):
        run_files.load_keras_file(path)
    flipped = bytearray(whole)
    with zipfile.ZipFile(path.with_name("m2.keras"), "w") as archive:  # valid zip, bad CRC below
        archive.writestr("config.json", "{}")
    flipped = bytearray(path.with_name("m2.keras").read_bytes())
    flipped[flipped.index(b"{}")] = ord("[")
    path.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"Corrupt model file .*fails its checksum"):
        check_keras_file(path)
    with pytest.raises(ValueError, match=r"Missing model file"):
        check_keras_file(tmp_path / "none.keras")


def test_truncated_best_weights_are_called_corrupt(tmp_path):
    from idckit.models import build_benchmark_cnn

    model = build_benchmark_cnn(filters=2)
    path = tmp_path / "best-e1.weights.h5"
    model.save_weights(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"Corrupt model file '.*best-e1\.weights\.h5'"):
        load_weights_file(model, path)


# -- fuzzing ------------------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=12,
)  # fmt: skip
KEYS = st.sampled_from([*CONFIG, *FOLD, "folds", "checkpoint", "history", "threshold"])
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def _mutated(base: dict, key: str, value: object) -> str:
    return json.dumps({**base, key: value})


def _readers(tmp_path):
    run = RunDir(tmp_path)
    run.fold_dir(1).mkdir(exist_ok=True)
    return {
        run.config_path: run.read_config,
        run.splits_path: run.read_splits,
        run.metrics_path(1): lambda: run.read_fold_result(1),
        run.fold_dir(1) / "state.json": lambda: FoldState.load(run.fold_dir(1)),
        run.report_path: lambda: load_result(_keep_oof(run)),
    }


def _keep_oof(run):
    (run.path / "oof.csv").write_text(CSV_HEADER + "a.png,b,0,0,1,0.75\n")
    return run


@FUZZ
@given(data=st.data())
def test_fuzzed_json_run_files_give_a_value_error_naming_the_file(tmp_path, data):
    readers = _readers(tmp_path)
    path = data.draw(st.sampled_from(sorted(readers)))
    base = data.draw(st.sampled_from([CONFIG, FOLD, {"folds": [FOLD]}, {}]))
    text = data.draw(
        st.one_of(
            st.builds(_mutated, st.just(base), KEYS, JSON),
            JSON.map(json.dumps),
            st.text(max_size=60),
        )
    )
    path.write_text(text, encoding="utf-8")
    try:
        readers[path]()
    except ValueError as error:
        assert path.name in str(error) and "\n" not in str(error)


@FUZZ
@given(
    rows=st.lists(
        st.lists(st.text(max_size=6) | st.floats().map(repr) | st.integers().map(str),
                 min_size=0, max_size=7),
        max_size=5,
    ),
    header=st.sampled_from([CSV_HEADER, "path,patient,x,y,prob_idc\n", "", "a,b\n"]),
    noise=st.binary(max_size=20),
)  # fmt: skip
def test_fuzzed_prediction_csv_gives_a_value_error_naming_the_file(tmp_path, rows, header, noise):
    path = tmp_path / "val_predictions.csv"
    body = "".join(",".join(row) + "\n" for row in rows)
    path.write_bytes(header.encode() + body.encode("utf-8", "surrogatepass") + noise)
    try:
        predictions = Predictions.from_csv(path)
    except ValueError as error:
        assert "val_predictions.csv" in str(error)
    else:
        assert ((predictions.prob_idc >= 0) & (predictions.prob_idc <= 1)).all()
