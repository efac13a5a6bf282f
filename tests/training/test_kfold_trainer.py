"""KFoldTrainer end to end on 200 synthetic patches: one 2-fold run, checked many ways."""

import csv
import io
import json
import os
import re
import shutil
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import (
    balanced_accuracy_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
)

from idckit.training import KFoldTrainer, Predictions, Run, TrainingConfig, model_builder
from idckit.training._results import FOLD_METRICS

EPOCHS = 2
pytestmark = pytest.mark.slow  # one shared 2-fold run (~10 s on 2 cores)


@pytest.fixture(scope="module")
def fitted(tiny_dataset, tmp_path_factory):
    """A finished run, with spies on optimizer creation and class-weight computation."""
    import keras

    from idckit.data import IDCPatchDataset

    optimizers, weighed, epochs_seen = [], [], []
    original = IDCPatchDataset.class_weights

    def spy_weights(self, method="balanced"):
        weighed.append(tuple(self.patient_ids))
        return original(self, method)

    def new_optimizer():
        optimizers.append(keras.optimizers.Adam(1e-3))
        return optimizers[-1]

    class Recorder(keras.callbacks.Callback):
        def __init__(self, fold):
            super().__init__()
            self.fold = fold

        def on_epoch_end(self, epoch, logs=None):
            epochs_seen.append((self.fold, epoch + 1, "val_f1" in logs))

    stream = io.StringIO()
    run_dir = tmp_path_factory.mktemp("run") / "run"
    config = TrainingConfig(
        n_splits=2, epochs=EPOCHS, batch_size=16, optimizer=new_optimizer, seed=3
    )
    trainer = KFoldTrainer(
        model_builder("benchmark", filters=4), config, out_dir=run_dir, stream=stream,
        callbacks=lambda fold: [Recorder(fold)],
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IDCPatchDataset, "class_weights", spy_weights)
        result = trainer.fit(tiny_dataset)
    return {
        "trainer": trainer, "result": result, "run": run_dir, "optimizers": optimizers,
        "weighed": weighed, "log": stream.getvalue(), "epochs_seen": epochs_seen,
    }  # fmt: skip


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_run_directory_layout(fitted):
    run = fitted["run"]
    for name in ("config.json", "splits.json", "oof.csv", "summary.txt", "summary.json",
                 "report.json"):  # fmt: skip
        assert (run / name).is_file(), name
    for k in (1, 2):
        names = sorted(os.listdir(run / f"fold_{k}"))
        assert names == ["history.csv", "learning_curves.png", "metrics.json", "model.keras",
                         "val_predictions.csv"]  # fmt: skip
        assert (run / f"fold_{k}" / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_splits_file_holds_disjoint_patient_folds_covering_everyone(fitted, tiny_dataset):
    folds = json.loads((fitted["run"] / "splits.json").read_text())["folds"]
    assert len(folds) == 2
    vals = [set(f["val_patients"]) for f in folds]
    assert not vals[0] & vals[1]
    assert vals[0] | vals[1] == set(tiny_dataset.patient_ids)
    for fold, result in zip(folds, fitted["result"].folds, strict=True):
        assert not set(fold["train_patients"]) & set(fold["val_patients"])
        assert tuple(fold["val_patients"]) == result.val_patients


def test_fresh_optimizer_per_fold_and_class_weights_from_training_patients_only(fitted):
    assert len(fitted["optimizers"]) == 2
    assert fitted["optimizers"][0] is not fitted["optimizers"][1]
    trains = [f.train_patients for f in fitted["result"].folds]
    assert fitted["weighed"] == trains


def test_user_callbacks_are_made_fresh_for_every_fold(fitted):
    assert fitted["epochs_seen"] == [(k, e, True) for k in (1, 2) for e in (1, 2)]


def test_oof_predictions_cover_every_patch_once(fitted, tiny_dataset):
    oof = Predictions.from_csv(fitted["run"] / "oof.csv")
    assert sorted(oof.paths) == sorted(tiny_dataset.paths.tolist())
    assert np.all((oof.prob_idc >= 0) & (oof.prob_idc <= 1))


def test_fold_metrics_equal_sklearn_on_the_fold_predictions(fitted):
    for fold in fitted["result"].folds:
        preds = Predictions.from_csv(fitted["run"] / f"fold_{fold.fold}" / "val_predictions.csv")
        y, p = preds.labels, preds.prob_idc
        hard = (p >= 0.5).astype(int)
        expected = {
            "f1_pos": f1_score(y, hard, zero_division=0),
            "precision_pos": precision_score(y, hard, zero_division=0),
            "recall_pos": recall_score(y, hard, zero_division=0),
            "balanced_accuracy": balanced_accuracy_score(y, hard),
            "roc_auc": roc_auc_score(y, p),
            "accuracy": np.mean(hard == y),
        }
        for name, value in expected.items():
            assert fold.metrics[name] == pytest.approx(value, abs=1e-6), name
        assert set(fold.patients if hasattr(fold, "patients") else preds.patients) == set(
            fold.val_patients
        )


def test_best_epoch_weights_are_restored(fitted):
    """The saved model's validation F1(+) is the best epoch's, as StreamingF1 logged it."""
    for fold in fitted["result"].folds:
        history = _read_csv(fitted["run"] / f"fold_{fold.fold}" / "history.csv")
        val_f1 = [float(row["val_f1"]) for row in history]
        assert len(history) == EPOCHS == fold.epochs_run
        assert fold.best_epoch == 1 + int(np.argmax(val_f1))
        assert fold.metrics["f1_pos"] == pytest.approx(max(val_f1), abs=1e-5)
        assert fold.metrics["loss"] == pytest.approx(
            float(history[fold.best_epoch - 1]["val_loss"])
        )


def test_history_has_stable_metric_names(fitted):
    header = _read_csv(fitted["run"] / "fold_1" / "history.csv")[0].keys()
    names = ("loss", "f1", "precision", "recall", "accuracy")
    assert list(header) == ["epoch", *names, *(f"val_{n}" for n in names)]


def test_threshold_maximises_oof_f1(fitted):
    result = fitted["result"]
    y, p = result.oof.labels, result.oof.prob_idc
    precision, recall, _ = precision_recall_curve(y, p)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = f1[:-1].max()
    assert f1_score(y, p >= result.threshold) == pytest.approx(best)
    assert result.oof_metrics["f1_pos"] == pytest.approx(best)
    assert json.loads((fitted["run"] / "report.json").read_text())["threshold"] == result.threshold


def test_summary_is_mean_and_std_over_folds(fitted):
    summary = json.loads((fitted["run"] / "summary.json").read_text())
    for name in FOLD_METRICS:
        values = [f.metrics[name] for f in fitted["result"].folds]
        assert summary[name]["mean"] == pytest.approx(np.mean(values))
        assert summary[name]["std"] == pytest.approx(np.std(values))
    text = (fitted["run"] / "summary.txt").read_text()
    assert re.search(r"^mean ", text, re.M) and re.search(r"^ std ", text, re.M)


def test_progress_has_one_line_per_fold_and_epoch_with_eta(fitted):
    epochs = [line for line in fitted["log"].splitlines() if re.match(r"fold \d+/\d+ epoch", line)]
    assert [line.split(" | ")[0].split()[:4] for line in epochs] == [
        ["fold", f"{k}/2", "epoch", f"{e}/{EPOCHS}"] for k in (1, 2) for e in (1, 2)
    ]
    assert all(re.search(r"ETA fold \d+:\d\d:\d\d, run \d+:\d\d:\d\d$", line) for line in epochs)
    assert "fold 2/2: done, val F1(+)" in fitted["log"]


def test_evaluate_is_the_mean_of_the_fold_models(fitted, tiny_dataset, tmp_path):
    from idckit.reporting import ClassificationReport

    run = fitted["trainer"].run_
    images = tiny_dataset.images
    probs = [model.predict(images, verbose=0)[:, 1] for model in run.fold_models()]
    mean = np.mean(probs, axis=0)
    predictions = run.predictions(tiny_dataset)
    np.testing.assert_allclose(predictions.prob_idc, mean, atol=1e-6)
    np.testing.assert_allclose(run.predict_proba(tiny_dataset), mean, atol=1e-6)
    report = run.evaluate(tiny_dataset, out_dir=tmp_path)
    expected = ClassificationReport.from_predictions(
        tiny_dataset.labels, mean, threshold=run.threshold
    )
    np.testing.assert_array_equal(report.confusion_matrix, expected.confusion_matrix)
    assert sorted(os.listdir(tmp_path)) == [
        "confusion_matrix.png", "evaluation.json", "patient_maps", "pr_curve.png",
        "predictions.csv", "report.txt", "roc_curve.png",
    ]  # fmt: skip
    wrong = (mean >= run.threshold) != tiny_dataset.labels.astype(bool)
    errors = Counter(tiny_dataset.patients[wrong].tolist())
    mapped = {p.stem for p in (tmp_path / "patient_maps").glob("*.png")}
    assert len(mapped) == min(4, len(errors)) > 0  # the patients with the most wrong patches
    assert min(errors[p] for p in mapped) >= max(
        [errors[p] for p in errors if p not in mapped] or [0]
    )
    summary = json.loads((tmp_path / "evaluation.json").read_text())
    assert summary["n_patches"] == len(tiny_dataset) and summary["n_patients"] == 8
    target = summary["operating_points"]["recall_target"]
    assert target["threshold"] == run.recall_threshold
    decided = mean >= run.recall_threshold
    assert target["recall"] == pytest.approx(decided[tiny_dataset.labels == 1].mean())
    assert target["specificity"] == pytest.approx(1 - decided[tiny_dataset.labels == 0].mean())
    assert "reaches 90% recall(+) out of fold" in (tmp_path / "report.txt").read_text()


def test_predict_carries_the_patch_metadata(fitted, tiny_dataset):
    predictions = fitted["trainer"].run_.predictions(tiny_dataset)
    assert list(predictions.paths) == tiny_dataset.paths.tolist()
    np.testing.assert_array_equal(predictions.x, tiny_dataset.x)
    np.testing.assert_array_equal(predictions.y, tiny_dataset.y)
    np.testing.assert_array_equal(predictions.labels, tiny_dataset.labels)


def test_run_load_reloads_the_same_ensemble_and_threshold(fitted, tiny_dataset):
    reloaded = Run.load(fitted["run"])
    assert reloaded.threshold == fitted["trainer"].run_.threshold
    same = {"optimizer": "adam"}  # the factory is stored as its name
    assert reloaded.config.replace(**same) == fitted["trainer"].run_.config.replace(**same)
    assert reloaded.result.folds == fitted["result"].folds
    np.testing.assert_allclose(
        reloaded.predictions(tiny_dataset).prob_idc,
        fitted["trainer"].run_.predictions(tiny_dataset).prob_idc,
        atol=1e-6,
    )


def test_a_finished_run_is_never_retrained_on_resume(fitted, tiny_dataset):
    stamps = {p: p.stat().st_mtime_ns for p in fitted["run"].rglob("*") if p.is_file()}
    again = fitted["trainer"].clone(resume=True, verbose=0).fit(tiny_dataset)
    assert again.threshold == fitted["result"].threshold
    assert again.folds == fitted["result"].folds
    assert stamps == {p: p.stat().st_mtime_ns for p in fitted["run"].rglob("*") if p.is_file()}


def test_an_existing_run_needs_resume(fitted, tiny_dataset):
    with pytest.raises(ValueError, match=r"It holds a run: pass resume=True"):
        fitted["trainer"].clone(verbose=0).fit(tiny_dataset)


def test_resuming_with_a_different_config_names_the_keys(fitted, tiny_dataset):
    config = fitted["trainer"].config.replace(epochs=3, batch_size=8)
    changed = fitted["trainer"].clone(resume=True, config=config)
    with pytest.raises(ValueError, match=r"batch_size: stored 16, now 8; epochs: stored 2, now 3"):
        changed.fit(tiny_dataset)
    other_data = tiny_dataset.subset(tiny_dataset.patient_ids[:6])
    with pytest.raises(ValueError, match=r"dataset\.n_patches"):
        fitted["trainer"].clone(resume=True).fit(other_data)


def test_a_run_from_an_older_idckit_resumes_and_reloads(fitted, tiny_dataset, tmp_path):
    """A config.json without the settings added since (tta, smoothing, ...) is still accepted."""
    old_run = tmp_path / "old"
    shutil.copytree(fitted["run"], old_run)
    config_path = old_run / "config.json"
    config = json.loads(config_path.read_text())
    for key in ("tta", "smoothing", "context", "label_smoothing", "min_recall"):
        del config[key]
    config_path.write_text(json.dumps(config))

    again = fitted["trainer"].clone(resume=True, out_dir=old_run, verbose=0).fit(tiny_dataset)
    assert again.threshold == fitted["result"].threshold
    with pytest.raises(ValueError, match=r"label_smoothing: stored 0\.0, now 0\.2"):
        fitted["trainer"].clone(
            resume=True,
            out_dir=old_run,
            config=fitted["trainer"].config.replace(label_smoothing=0.2),
        ).fit(tiny_dataset)
    reloaded = Run.load(old_run).config
    assert (reloaded.tta, reloaded.smoothing, reloaded.context) == (False, None, 0)


def test_label_smoothing_reaches_the_loss_of_every_fold_model(tiny_dataset, tmp_path):
    from idckit.models import SparseCrossentropyWithLabelSmoothing

    built = []

    def build():
        built.append(model_builder("benchmark", filters=2)())
        return built[-1]

    config = TrainingConfig(n_splits=2, epochs=1, batch_size=32, label_smoothing=0.2)
    trainer = KFoldTrainer(build, config, out_dir=tmp_path, verbose=0)
    trainer.fit(tiny_dataset)
    assert len(built) == 2
    for model in built:
        assert isinstance(model.loss, SparseCrossentropyWithLabelSmoothing)
        assert model.loss.label_smoothing == pytest.approx(0.2)
    reloaded = Run.load(tmp_path)
    assert reloaded.config.label_smoothing == pytest.approx(0.2)


def test_label_smoothing_with_a_compiled_model_is_a_clear_error(tiny_dataset, tmp_path):
    def compiled():
        model = model_builder("benchmark", filters=2)()
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    config = TrainingConfig(n_splits=2, epochs=1, label_smoothing=0.1)
    trainer = KFoldTrainer(compiled, config, out_dir=tmp_path, verbose=0)
    with pytest.raises(ValueError, match=r"label_smoothing.*0 when build_model returns a compi"):
        trainer.fit(tiny_dataset)


def test_a_compiled_model_is_used_as_it_is(tiny_dataset, tmp_path):
    def compiled():
        model = model_builder("benchmark", filters=2)()
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    trainer = KFoldTrainer(
        compiled, TrainingConfig(n_splits=2, epochs=1), out_dir=tmp_path, verbose=0
    )
    with pytest.raises(KeyError, match=r"'val_f1'.*StreamingF1\(name='f1'\)"):
        trainer.fit(tiny_dataset)


@pytest.mark.parametrize(
    ("class_weight", "passed"), [({0: 1.0, 1: 3}, {0: 1.0, 1: 3.0}), (None, None)]
)
def test_a_dict_or_no_class_weight_reaches_every_folds_fit_as_given(
    class_weight, passed, tiny_dataset, tmp_path, monkeypatch
):
    import keras

    seen = []
    original_fit = keras.Model.fit

    def spy_fit(self, *args, **kwargs):
        seen.append(kwargs.get("class_weight"))
        return original_fit(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy_fit)
    config = TrainingConfig(n_splits=2, epochs=1, batch_size=32, class_weight=class_weight)
    trainer = KFoldTrainer(
        model_builder("benchmark", filters=2), config, out_dir=tmp_path / "run", verbose=0
    )
    trainer.fit(tiny_dataset)
    assert seen == [passed, passed]
    stored = json.loads((tmp_path / "run" / "config.json").read_text())["class_weight"]
    assert stored == (None if class_weight is None else {"0": 1.0, "1": 3})


def test_fit_leaves_the_arguments_and_sets_the_run(fitted):
    trainer = fitted["trainer"]
    assert trainer.out_dir == fitted["run"] and trainer.run_dir_ == fitted["run"]
    assert trainer.result_ is fitted["result"] and trainer.run_.result is fitted["result"]
    assert trainer.run_.path == fitted["run"] and trainer.run_.config is trainer.config
    assert repr(trainer.run_) == (
        f"Run({str(fitted['run'])!r}, folds=2, threshold={fitted['result'].threshold:.4f})"
    )


def test_images_predict_as_the_dataset_does_without_smoothing_or_context(fitted, tiny_dataset):
    run = fitted["trainer"].run_
    rows = np.arange(0, len(tiny_dataset), 3)
    images = tiny_dataset.load_images(rows)
    assert images.dtype == np.uint8 and isinstance(images, np.ndarray)
    from_dataset = run.predict_proba(tiny_dataset)
    np.testing.assert_allclose(run.predict_proba(images), from_dataset[rows], atol=1e-6)
    as_floats = run.predict_proba(images.astype(np.float32))  # 0-255 floats: the same
    np.testing.assert_allclose(as_floats, from_dataset[rows], atol=1e-6)
    classes = run.predict(tiny_dataset)
    assert classes.dtype == np.int64 and set(np.unique(classes)) <= {0, 1}
    np.testing.assert_array_equal(classes, from_dataset >= run.threshold)
    np.testing.assert_array_equal(run.predict(images), classes[rows])


@pytest.mark.parametrize(
    "bad", [np.zeros((0, 50, 50, 3), np.uint8), np.zeros((2, 50, 50), np.uint8), [[1, 2]]]
)
def test_predict_proba_refuses_what_is_not_images(fitted, bad):
    with pytest.raises(ValueError, match=r"Invalid `data` for Run\.predict_proba: expected an "
                       r"IDCPatchDataset or a non-empty array of RGB images"):  # fmt: skip
        fitted["trainer"].run_.predict_proba(bad)


@pytest.mark.parametrize("method", ["predictions", "evaluate"])
def test_predictions_and_evaluate_refuse_arrays(fitted, tiny_dataset, method):
    images = tiny_dataset.load_images([0, 1])
    with pytest.raises(ValueError, match=rf"Invalid `dataset` for Run\.{method}: expected an "
                       r"IDCPatchDataset\. Received: dataset='<ndarray>'\. For arrays of images "
                       r"use predict_proba\(images\) or predict\(images\)\."):  # fmt: skip
        getattr(fitted["trainer"].run_, method)(images)


def test_run_load_takes_an_inference_batch_size(fitted, tiny_dataset):
    reloaded = Run.load(fitted["run"], batch_size=7)
    assert reloaded.config.batch_size == 7 and Run.load(fitted["run"]).config.batch_size == 16
    np.testing.assert_allclose(
        reloaded.predict_proba(tiny_dataset), fitted["trainer"].run_.predict_proba(tiny_dataset),
        atol=1e-6,
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"Invalid `batch_size` for Run"):
        Run.load(fitted["run"], batch_size=0)


def test_fold_models_are_loaded_once(fitted):
    run = Run.load(fitted["run"])
    models = run.fold_models()
    assert len(models) == 2 and run.fold_models() is models
    assert models[0].input_shape == (None, 50, 50, 3)


def test_fit_says_one_summary_line_and_print_shows_the_table_once(fitted):
    log, result = fitted["log"], fitted["result"]
    done = [line for line in log.splitlines() if line.startswith("run done: validation F1(+)")]
    assert len(done) == 1 and result.threshold_line() in done[0]
    assert result.to_table() not in log  # the table is print(result)'s, not repeated by fit
    assert str(result).startswith(result.to_table()) and result.threshold_line() in str(result)
