"""choose_threshold against brute force over scikit-learn's curve thresholds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_recall_curve, recall_score, roc_curve

from idckit.reporting import ClassificationReport, choose_threshold


@st.composite
def scored(draw):
    """Labels with both classes, and scores with ties (a coarse grid) or without."""
    n = draw(st.integers(2, 40))
    y_true = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    y_true[:2] = [0, 1]
    coarse = st.sampled_from(np.arange(21) / 20)
    values = draw(st.sampled_from([coarse, st.floats(0, 1)]))
    return y_true, np.array(draw(st.lists(values, min_size=n, max_size=n)))


def lowest_of_best(candidates, values):
    best = max(values)
    return min(t for t, v in zip(candidates, values, strict=True) if v >= best - 1e-12)


@settings(max_examples=40, deadline=None)
@given(case=scored())
def test_f1_objective_is_the_brute_force_maximum(case):
    y_true, y_prob = case
    _, _, candidates = precision_recall_curve(y_true, y_prob)
    values = [f1_score(y_true, y_prob >= t, zero_division=0) for t in candidates]
    chosen = choose_threshold(y_true, y_prob, "f1")
    assert chosen in candidates
    assert f1_score(y_true, y_prob >= chosen) == pytest.approx(max(values), abs=1e-12)
    assert chosen == lowest_of_best(candidates, values)


def youden(y_true, predicted):
    sensitivity = recall_score(y_true, predicted, pos_label=1)
    specificity = recall_score(y_true, predicted, pos_label=0)
    return sensitivity + specificity - 1


@settings(max_examples=40, deadline=None)
@given(case=scored())
def test_youden_objective_is_the_brute_force_maximum(case):
    y_true, y_prob = case
    _, _, thresholds = roc_curve(y_true, y_prob, drop_intermediate=False)
    candidates = thresholds[np.isfinite(thresholds)]
    values = [youden(y_true, y_prob >= t) for t in candidates]
    chosen = choose_threshold(y_true, y_prob, "youden")
    assert youden(y_true, y_prob >= chosen) == pytest.approx(max(values), abs=1e-12)
    assert chosen == lowest_of_best(candidates, values)


@settings(max_examples=40, deadline=None)
@given(case=scored(), min_recall=st.floats(0.01, 1.0))
def test_min_recall_is_the_highest_threshold_reaching_the_target(case, min_recall):
    y_true, y_prob = case
    _, _, candidates = precision_recall_curve(y_true, y_prob)
    reaching = [t for t in candidates if recall_score(y_true, y_prob >= t) >= min_recall]
    chosen = choose_threshold(y_true, y_prob, "min_recall", min_recall=min_recall)
    assert chosen == max(reaching)
    report = ClassificationReport.from_predictions(y_true, y_prob, threshold=chosen)
    assert report.sensitivity >= min_recall


def test_capstone_aim_fewer_than_ten_percent_missed_cancers():
    rng = np.random.default_rng(0)
    y_true = (rng.random(500) < 0.28).astype(int)
    y_prob = np.clip(0.35 * y_true + 0.65 * rng.random(500), 0, 1)
    chosen = choose_threshold(y_true, y_prob, "min_recall")  # min_recall=0.9 by default
    report = ClassificationReport.from_predictions(y_true, y_prob, threshold=chosen)
    assert 0.9 <= report.sensitivity < 0.9 + 1 / y_true.sum() + 1e-12
    assert chosen < choose_threshold(y_true, y_prob, "min_recall", min_recall=0.5)


def test_forms_of_probabilities_agree_and_min_recall_is_ignored_elsewhere():
    y_true = np.array([0, 0, 1, 1, 0, 1])
    y_prob = np.array([0.2, 0.45, 0.5, 0.9, 0.6, 0.3])
    two = np.stack([1 - y_prob, y_prob], axis=1)
    for objective in ("f1", "youden", "min_recall"):
        expected = choose_threshold(y_true, y_prob, objective)
        assert choose_threshold(y_true, two, objective) == expected
        assert choose_threshold(y_true[:, None], y_prob[:, None], objective) == expected
    assert choose_threshold(y_true, y_prob, "f1", min_recall=0.5) == choose_threshold(
        y_true, y_prob, "f1"
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([0, 1], [0.2, 0.8], "auc"), {}, r"`objective` for choose_threshold: expected one of"),
        (([0, 1], [0.2, 0.8], "min_recall"), {"min_recall": 0}, r"\(0, 1\]\. .*min_recall=0\."),
        (([0, 1], [0.2, 0.8]), {"min_recall": 1.5}, r"`min_recall` .* min_recall=1\.5\."),
        (([0, 0], [0.2, 0.8]), {}, r"`y_true` .* at least one IDC\(\+\) \(1\)\. .*=\[0\]\."),
        (([1, 1], [0.2, 0.8], "youden"), {}, r"`y_true` .* both classes .*=\[1\]\."),
        (([0, 1], [0, 1]), {}, r"`y_prob` .* floating probabilities\. .*dtype int64"),
        (([0, 1], [0.2]), {}, r"`y_prob` .* one entry per label \(2\)"),
    ],
)
def test_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        choose_threshold(*args, **kwargs)
