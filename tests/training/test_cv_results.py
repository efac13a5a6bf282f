import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.training import CrossValidationResult, FoldResult, Predictions
from idckit.training._results import FOLD_METRICS, format_table, summarise


def _fold(k, **metrics):
    return FoldResult(k, metrics, 1, 2, ("a",), ("b",), 10, 5, 1.0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_mean_and_std_equal_numpy(values):
    folds = tuple(_fold(i + 1, f1_pos=v) for i, v in enumerate(values))
    summary = summarise(folds)["f1_pos"]
    assert summary["mean"] == pytest.approx(np.mean(values))
    assert summary["std"] == pytest.approx(np.std(values), abs=1e-12)


def test_summary_keeps_the_table_order_and_missing_values_are_nan():
    folds = (_fold(1, loss=0.5, f1_pos=0.7), _fold(2, f1_pos=0.9))
    summary = summarise(folds)
    assert list(summary) == ["f1_pos", "loss"]
    assert math.isnan(summary["loss"]["mean"])


def test_table_has_one_row_per_fold_plus_mean_and_std():
    folds = tuple(_fold(k, **{m: k / 10 for m in FOLD_METRICS}) for k in (1, 2, 3))
    lines = format_table(folds).splitlines()
    assert lines[0].split() == ["fold", *FOLD_METRICS]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3", "mean", "std"]
    assert lines[4].split()[1] == "0.2000"


def test_fold_result_round_trips_through_a_dict():
    fold = _fold(3, f1_pos=0.5, roc_auc=0.75)
    assert FoldResult.from_dict(fold.to_dict()) == fold


def test_cross_validation_result_to_dict():
    oof = Predictions(["p1", "p2"], ["a", "b"], np.zeros(2), np.zeros(2), np.array([0, 1]),
                      np.array([0.1, 0.8]))  # fmt: skip
    result = CrossValidationResult((_fold(1, f1_pos=0.6),), 0.4, "f1", oof, {"f1_pos": 1.0}, "r")
    data = result.to_dict()
    assert data["threshold"] == 0.4 and data["n_patches"] == 2 and data["n_patients"] == 2
    assert data["summary"]["f1_pos"] == {"mean": 0.6, "std": 0.0}
    assert "threshold 0.4000" in str(result)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1)), min_size=2, max_size=40).filter(
        lambda rows: {label for label, _ in rows} == {0, 1}
    ),
    st.floats(0.05, 0.95),
    st.sampled_from([0.5, 0.9, 1.0]),
)
def test_operating_points_match_scikit_learn(rows, threshold, min_recall):
    from sklearn.metrics import recall_score

    labels = np.array([label for label, _ in rows])
    prob = np.array([p for _, p in rows])
    oof = Predictions([f"p{i}" for i in range(len(rows))], ["a"] * len(rows),
                      np.zeros(len(rows)), np.zeros(len(rows)), labels, prob)  # fmt: skip
    result = CrossValidationResult((_fold(1),), threshold, 0.5, oof, {}, "r", min_recall)
    points = result.operating_points()
    for name, cut in (("run", threshold), ("recall_target", result.recall_threshold)):
        decided = (prob >= cut).astype(int)
        assert points[name]["threshold"] == cut
        assert points[name]["recall"] == pytest.approx(recall_score(labels, decided))
        assert points[name]["specificity"] == pytest.approx(
            recall_score(labels, decided, pos_label=0)
        )
    # the recall target is reached, and by the highest threshold that reaches it
    assert points["recall_target"]["recall"] >= min_recall
    higher = prob[prob > result.recall_threshold]
    if higher.size:
        assert recall_score(labels, (prob >= higher.min()).astype(int)) < min_recall


def test_the_result_says_its_operating_points_and_stores_them():
    oof = Predictions([f"p{i}" for i in range(4)], ["a"] * 4, np.zeros(4), np.zeros(4),
                      np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.7, 0.4]))  # fmt: skip
    result = CrossValidationResult((_fold(1),), 0.5, 0.5, oof, {}, "r", 0.9)
    assert result.to_dict()["operating_points"]["recall_target"] == {
        "threshold": 0.4, "recall": 1.0, "specificity": 0.5,
    }  # fmt: skip
    assert result.to_dict()["min_recall"] == 0.9
    assert "recall(+) 0.500, specificity 0.500 at the run's threshold 0.5000" in str(result)
    assert "at 0.4000 (the threshold that reaches 90% recall(+) out of fold)" in str(result)
