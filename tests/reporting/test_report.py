"""ClassificationReport against scikit-learn, for every input form."""

import dataclasses
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from idckit.reporting import ClassificationReport

NAMES = ("IDC(-)", "IDC(+)")
FORMS = ["probability", "column", "two_columns", "float32", "int_labels", "bool_labels"]


@st.composite
def predictions(draw, form=None, min_size=1):
    n = draw(st.integers(min_size, 50))
    y_true = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    grid = st.sampled_from(np.arange(11) / 10)  # ties, and values equal to the threshold
    values = st.one_of(grid, st.floats(0, 1))
    prob = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    threshold = draw(st.one_of(st.sampled_from([0.3, 0.5, 0.7]), st.floats(0, 1)))
    form = form or draw(st.sampled_from(FORMS))
    return y_true, prob, threshold, form


def as_input(prob, threshold, form):
    """The model output in ``form``, the hard predictions and the scores it stands for."""
    predicted = (prob >= threshold).astype(int)
    outputs = {
        "probability": prob,
        "column": prob[:, None],
        "two_columns": np.stack([1 - prob, prob], axis=1),
        "float32": prob.astype(np.float32),
        "int_labels": predicted,
        "bool_labels": predicted.astype(bool),
    }
    if form == "float32":
        prob = prob.astype(np.float32)
        predicted = (prob >= np.float32(threshold)).astype(int)
    return outputs[form], predicted, prob


def sklearn_report(y_true, predicted, names=NAMES):
    return classification_report(
        y_true, predicted, labels=[0, 1], target_names=list(names), output_dict=True,
        zero_division=0,
    )  # fmt: skip


@settings(max_examples=80, deadline=None)
@given(case=predictions())
def test_every_number_equals_sklearn(case):
    y_true, prob, threshold, form = case
    output, predicted, prob = as_input(prob, threshold, form)
    report = ClassificationReport.from_predictions(y_true, output, threshold=threshold)
    data = report.to_dict()
    expected = sklearn_report(y_true, predicted)
    assert set(expected) <= set(data)
    for key, value in expected.items():
        assert data[key] == pytest.approx(value, abs=1e-12), key
    assert data["confusion_matrix"] == confusion_matrix(y_true, predicted, labels=[0, 1]).tolist()
    assert data["sensitivity"] == pytest.approx(
        recall_score(y_true, predicted, pos_label=1, zero_division=0)
    )
    assert data["specificity"] == pytest.approx(
        recall_score(y_true, predicted, pos_label=0, zero_division=0)
    )
    with warnings.catch_warnings():  # one class in y_true: sklearn warns, then averages the rest
        warnings.simplefilter("ignore")
        balanced = balanced_accuracy_score(y_true, predicted)
    assert data["balanced_accuracy"] == pytest.approx(balanced, abs=1e-12)
    hard = form.endswith("labels")
    assert data["threshold"] == (None if hard else pytest.approx(threshold))
    if hard or len(set(y_true)) < 2:
        assert data["roc_auc"] is None
    else:
        assert data["roc_auc"] == pytest.approx(roc_auc_score(y_true, prob), abs=1e-12)
    if hard or not y_true.any():
        assert data["average_precision"] is None
    else:
        ap = average_precision_score(y_true, prob)
        assert data["average_precision"] == pytest.approx(ap, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(case=predictions(form="probability"), digits=st.integers(1, 5))
def test_text_table_is_sklearns(case, digits):
    y_true, prob, threshold, _ = case
    predicted = (prob >= threshold).astype(int)
    # scikit-learn prints support as floats ("2.0") when no prediction at all is right
    assume(np.any(predicted == y_true))
    report = ClassificationReport.from_predictions(y_true, prob, threshold=threshold)
    table = classification_report(
        y_true, predicted, labels=[0, 1], target_names=list(NAMES),
        digits=digits, zero_division=0,
    )  # fmt: skip
    assert report.to_text(digits).startswith(table)
    assert str(report).startswith(table if digits == 2 else table[:10])


def test_text_has_the_extra_numbers():
    report = ClassificationReport.from_predictions([0, 0, 1, 1, 1], [0.1, 0.7, 0.8, 0.9, 0.2])
    text = str(report)
    assert "balanced accuracy       0.58" in text  # (1/2 + 2/3) / 2
    assert "ROC-AUC       0.83" in text and "threshold       0.50" in text  # 5 of 6 pairs
    assert text.rstrip().endswith("IDC(+)          1         2")
    hard = ClassificationReport.from_predictions([0, 1], [0, 1])
    assert "ROC-AUC        n/a" in str(hard) and "threshold        n/a" in str(hard)


def test_attributes_match_the_dict():
    report = ClassificationReport.from_predictions(
        [0, 0, 1, 1, 1], [0.1, 0.7, 0.8, 0.9, 0.2], target_names=("benign", "IDC")
    )
    data = report.to_dict()
    assert report.precision.tolist() == [data["benign"]["precision"], data["IDC"]["precision"]]
    assert report.f1.tolist() == [data["benign"]["f1-score"], data["IDC"]["f1-score"]]
    assert report.support.tolist() == [2, 3]
    assert report.macro_avg == data["macro avg"] and report.weighted_avg == data["weighted avg"]
    assert list(data)[:2] == ["benign", "IDC"]


def test_two_column_probabilities_use_column_one():
    y_true = np.array([0, 1, 1, 0])
    prob = np.array([0.2, 0.6, 0.4, 0.55])
    two = np.stack([1 - prob, prob], axis=1)
    assert (
        ClassificationReport.from_predictions(y_true, two, threshold=0.5).to_dict()
        == ClassificationReport.from_predictions(y_true, prob, threshold=0.5).to_dict()
    )


def test_dict_and_json_round_trip():
    report = ClassificationReport.from_predictions([0, 0, 1, 1, 1], [0.1, 0.7, 0.8, 0.9, 0.2])
    text = report.to_json(indent=2)
    assert json.loads(text) == report.to_dict()
    back = ClassificationReport.from_json(text)
    assert back.to_dict() == report.to_dict()
    assert back.y_score is None  # the scores are not serialised
    hard = ClassificationReport.from_predictions([0, 1], [1, 1], target_names=("a", "b"))
    assert ClassificationReport.from_dict(hard.to_dict()).to_dict() == hard.to_dict()


def test_from_dict_rejects_inconsistent_or_foreign_dicts():
    data = ClassificationReport.from_predictions([0, 1, 1], [0.2, 0.9, 0.3]).to_dict()
    tampered = {**data, "accuracy": 0.99}
    with pytest.raises(
        ValueError, match=r"expected 'accuracy' consistent with 'confusion_matrix'"
    ):
        ClassificationReport.from_dict(tampered)
    with pytest.raises(ValueError, match=r"`data` .* written by ClassificationReport.to_dict"):
        ClassificationReport.from_dict({"accuracy": 1.0})


def test_report_is_frozen():
    report = ClassificationReport.from_predictions([0, 1], [0.3, 0.8])
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.threshold = 0.1
    with pytest.raises(ValueError, match="read-only"):
        report.confusion_matrix[0, 0] = 5


@pytest.mark.parametrize(
    ("y_true", "y_pred", "kwargs", "match"),
    [
        ([0, 2], [0.1, 0.9], {}, r"`y_true` .* labels 0 \(IDC-\) and 1 \(IDC\+\)\. .*=\[0, 2\]"),
        ([], [], {}, r"`y_true` .* a non-empty array of shape \(N,\) or \(N, 1\)"),
        ([0, 1], [0.1, 0.9, 0.3], {}, r"`y_prob_or_pred` .* one entry per label \(2\)"),
        ([0, 1], [0.1, 1.5], {}, r"probabilities in \[0, 1\]\. .* Apply a sigmoid or softmax"),
        ([0, 1], [0.1, np.nan], {}, r"Received: y_prob_or_pred='non-finite values'"),
        ([0, 1], [[0.5, 0.9], [0.2, 0.8]], {}, r"rows sum to 1\. .* Apply a softmax\."),
        ([0, 1], np.full((2, 3), 1 / 3), {}, r"`y_prob_or_pred` .* shape \(N,\) or \(N, 1\)"),
        ([0, 1], [0, 2], {}, r"`y_prob_or_pred` .* labels 0 \(IDC-\) and 1 \(IDC\+\)\."),
        ([0, 1], [0, 1], {"threshold": 2}, r"`threshold` .* \[0, 1\]\. Received: threshold=2\."),
        ([0, 1], [0.1, 0.9], {"threshold": 1.5}, r"`threshold` .* \[0, 1\]\. .*=1\.5\."),
        ([0, 1], [0.1, 0.9], {"target_names": ("a",)}, r"`target_names` .* two distinct"),
        ([0, 1], [0.1, 0.9], {"target_names": ("a", "a")}, r"two distinct strings"),
    ],
)
def test_errors(y_true, y_pred, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ClassificationReport.from_predictions(y_true, y_pred, **kwargs)


def test_constructor_checks_its_fields():
    with pytest.raises(ValueError, match=r"`confusion_matrix` .* 2x2 matrix"):
        ClassificationReport(np.array([[1, 2, 3]]))
    with pytest.raises(ValueError, match=r"`y_score` .* given together with y_true"):
        ClassificationReport(np.array([[1, 0], [0, 1]]), y_true=np.array([0, 1]))
    with pytest.raises(ValueError, match=r"`roc_auc` .* \[0, 1\]"):
        ClassificationReport(np.array([[1, 0], [0, 1]]), roc_auc=2.0)


def test_reporting_never_imports_keras():
    code = (
        "import sys, numpy as np, idckit.reporting as r;"
        "rep = r.ClassificationReport.from_predictions([0, 1, 1], [0.2, 0.9, 0.4]);"
        "rep.plot_roc(); rep.plot_confusion_matrix(); r.choose_threshold([0, 1], [0.2, 0.7]);"
        "r.plot_learning_curves({'loss': [1.0, 0.5]});"
        "print(','.join(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@settings(max_examples=60, deadline=None)
@given(predictions(form="probability"))
def test_summary_equals_sklearn(case):
    y_true, prob, threshold, _ = case
    predicted = (prob >= threshold).astype(int)
    summary = ClassificationReport.from_predictions(y_true, prob, threshold=threshold).summary()
    kw = {"labels": [0, 1], "zero_division": 0}
    expected = {
        "f1_pos": f1_score(y_true, predicted, **kw),
        "f1_macro": f1_score(y_true, predicted, average="macro", **kw),
        "f1_weighted": f1_score(y_true, predicted, average="weighted", **kw),
        "precision_pos": precision_score(y_true, predicted, **kw),
        "recall_pos": recall_score(y_true, predicted, **kw),
        "accuracy": float(np.mean(predicted == y_true)),
    }
    for name, value in expected.items():
        assert summary[name] == pytest.approx(value, abs=1e-12), name
    assert (
        summary["confusion_matrix"] == confusion_matrix(y_true, predicted, labels=[0, 1]).tolist()
    )
    assert summary["threshold"] == threshold and json.loads(json.dumps(summary)).keys() == {
        *expected, "balanced_accuracy", "roc_auc", "confusion_matrix", "threshold"
    }  # fmt: skip
    if len(set(y_true)) == 2:
        assert summary["balanced_accuracy"] == pytest.approx(
            balanced_accuracy_score(y_true, predicted)
        )
        assert summary["roc_auc"] == pytest.approx(roc_auc_score(y_true, prob))


def test_summary_of_hard_labels_has_no_roc_auc():
    summary = ClassificationReport.from_predictions([0, 1, 1, 0], [0, 1, 0, 0]).summary()
    assert np.isnan(summary["roc_auc"]) and summary["recall_pos"] == 0.5
    assert summary["confusion_matrix"] == [[2, 0], [1, 1]]


def test_at_threshold_equals_a_report_built_at_that_threshold():
    y_true, y_prob = [0, 0, 1, 1, 1], [0.1, 0.6, 0.55, 0.8, 0.3]
    report = ClassificationReport.from_predictions(y_true, y_prob, threshold=0.5)
    moved = report.at_threshold(0.3)
    expected = ClassificationReport.from_predictions(y_true, y_prob, threshold=0.3)
    assert moved.to_dict() == expected.to_dict()


def test_at_threshold_needs_the_scores():
    hard = ClassificationReport.from_predictions([0, 1], [0, 1])
    with pytest.raises(ValueError, match=r"Invalid `threshold` for ClassificationReport\.at_thr"):
        hard.at_threshold(0.5)
