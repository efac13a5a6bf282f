"""Report plots: what is drawn equals scikit-learn's numbers."""

import io

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import (
    confusion_matrix,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_curve,
)

from idckit.reporting import (
    ClassificationReport,
    plot_confusion_matrix,
    plot_precision_recall,
    plot_roc,
)

RNG = np.random.default_rng(7)
Y_TRUE = (RNG.random(120) < 0.3).astype(int)
Y_PROB = np.clip(0.4 * Y_TRUE + 0.6 * RNG.random(120), 0, 1)
THRESHOLD = 0.45


@pytest.fixture
def report():
    return ClassificationReport.from_predictions(Y_TRUE, Y_PROB, threshold=THRESHOLD)


@pytest.mark.parametrize("normalize", [False, "true"])
def test_confusion_matrix_heat_map(report, normalize):
    fig = report.plot_confusion_matrix(normalize=normalize)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    predicted = (Y_PROB >= THRESHOLD).astype(int)
    expected = confusion_matrix(Y_TRUE, predicted, normalize=normalize or None)
    np.testing.assert_allclose(ax.images[0].get_array(), expected, atol=1e-12)
    texts = [t.get_text() for t in ax.texts]
    formatted = [f"{v:.2f}" if normalize else f"{int(v)}" for v in expected.ravel()]
    assert texts == formatted
    assert [t.get_text() for t in ax.get_xticklabels()] == ["IDC(-)", "IDC(+)"]
    assert ax.get_xlabel() == "Predicted label" and ax.get_ylabel() == "True label"


def test_confusion_matrix_of_an_empty_class_row_is_zero_not_nan():
    report = ClassificationReport.from_predictions([0, 0, 0], [0.1, 0.7, 0.2])
    values = report.plot_confusion_matrix(normalize="true").axes[0].images[0].get_array()
    np.testing.assert_allclose(values, [[2 / 3, 1 / 3], [0.0, 0.0]])


def test_roc_curve_and_operating_point(report):
    ax = plot_roc(report).axes[0]
    curve, _chance, point = ax.get_lines()
    fpr, tpr, _ = roc_curve(Y_TRUE, Y_PROB)
    np.testing.assert_allclose(curve.get_xdata(), fpr)
    np.testing.assert_allclose(curve.get_ydata(), tpr)
    predicted = Y_PROB >= THRESHOLD
    np.testing.assert_allclose(
        point.get_xdata(), [1 - recall_score(Y_TRUE, predicted, pos_label=0)]
    )
    np.testing.assert_allclose(point.get_ydata(), [recall_score(Y_TRUE, predicted)])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"ROC curve (AUC = {report.roc_auc:.3f})", "chance", "threshold = 0.45"]


def test_precision_recall_curve_and_operating_point(report):
    ax = report.plot_precision_recall().axes[0]
    curve, prevalence, point = ax.get_lines()
    np.testing.assert_allclose(prevalence.get_ydata(), [Y_TRUE.mean()] * 2)
    precision, recall, _ = precision_recall_curve(Y_TRUE, Y_PROB)
    np.testing.assert_allclose(curve.get_xdata(), recall)
    np.testing.assert_allclose(curve.get_ydata(), precision)
    assert curve.get_drawstyle() == "steps-post"
    predicted = Y_PROB >= THRESHOLD
    np.testing.assert_allclose(point.get_xdata(), [recall_score(Y_TRUE, predicted)])
    np.testing.assert_allclose(point.get_ydata(), [precision_score(Y_TRUE, predicted)])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1] == f"prevalence = {Y_TRUE.mean():.2f}"


def test_plots_draw_into_given_axes_and_render(report):
    fig = Figure()
    axes = fig.subplots(1, 3)
    assert plot_confusion_matrix(report, ax=axes[0]) is fig
    assert plot_roc(report, ax=axes[1]) is fig
    assert plot_precision_recall(report, ax=axes[2]) is fig
    assert axes[1].get_lines() and axes[2].get_lines()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_curves_need_scores_and_classes():
    hard = ClassificationReport.from_predictions([0, 1, 1], [0, 1, 0])
    with pytest.raises(ValueError, match=r"`report` for plot_roc: expected a report built from"):
        hard.plot_roc()
    with pytest.raises(ValueError, match=r"plot_precision_recall: .*\.from_predictions\(y_true"):
        hard.plot_precision_recall()
    negatives = ClassificationReport.from_predictions([0, 0], [0.2, 0.6])
    with pytest.raises(ValueError, match=r"`report.y_true` .* labels of both classes"):
        negatives.plot_roc()
    with pytest.raises(ValueError, match=r"at least one IDC\(\+\) label\. .*=\[0\]\."):
        negatives.plot_precision_recall()
    positives = ClassificationReport.from_predictions([1, 1], [0.2, 0.6])
    assert positives.plot_precision_recall().axes  # one class is enough for this curve


def test_normalize_choices(report):
    with pytest.raises(ValueError, match=r"`normalize` for plot_confusion_matrix: expected one"):
        report.plot_confusion_matrix(normalize="all")


@pytest.mark.parametrize("plot", [plot_roc, plot_precision_recall])
def test_further_operating_points_are_marked_where_sklearn_puts_them(report, plot):
    ax = plot(report, operating_points={"90% recall": 0.2, "strict": 0.8}).axes[0]
    lines = ax.get_lines()
    assert len(lines) == 5  # curve, chance/prevalence, the report's threshold, then the two
    for line, threshold in zip(lines[3:], (0.2, 0.8), strict=True):
        predicted = threshold <= Y_PROB
        recall = recall_score(Y_TRUE, predicted)
        if plot is plot_roc:
            expected = (1 - recall_score(Y_TRUE, predicted, pos_label=0), recall)
        else:
            expected = (recall, precision_score(Y_TRUE, predicted))
        np.testing.assert_allclose([line.get_xdata()[0], line.get_ydata()[0]], expected)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[2:] == [
        "threshold = 0.45",
        "90% recall (threshold = 0.20)",
        "strict (threshold = 0.80)",
    ]
    assert lines[3].get_marker() != lines[2].get_marker() != lines[4].get_marker()


@pytest.mark.parametrize("bad", [0.3, {"a": 1.5}, {"a": "0.3"}, {1: 0.3}, {"a": True}])
def test_operating_points_are_checked(report, bad):
    with pytest.raises(
        ValueError, match=r"Invalid `operating_points` for plot_roc: expected None"
    ):
        plot_roc(report, operating_points=bad)
