"""plot_slide_heatmap and region_agreement: the heat map's parts, Dice and IoU as scikit-learn."""

import csv
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from sklearn.metrics import f1_score, jaccard_score

from idckit.data import IDCPatchDataset
from idckit.reporting import RegionAgreement, plot_slide_heatmap, region_agreement
from idckit.reporting._agreement import COLUMNS

STEP = 4


def _dataset(cells, labels, patient="p", other_patient_too=True):
    """Patches of ``patient`` at grid ``cells`` (row, col), plus one of another patient."""
    cells = list(cells) + ([(0, 0)] if other_patient_too else [])
    images = np.random.default_rng(0).integers(0, 255, (len(cells), STEP, STEP, 3), np.uint8)
    patients = [patient] * len(labels) + (["other"] if other_patient_too else [])
    labels = list(labels) + ([1] if other_patient_too else [])
    x = [1 + STEP * c for _, c in cells]
    y = [1 + STEP * r for r, _ in cells]
    return IDCPatchDataset(labels, patients, images=images, x=x, y=y)


def _segments(collection):
    return {tuple(map(tuple, np.round(s, 6))) for s in collection.get_segments()}


def _legend(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


CELL_00 = {  # the four sides of cell (0, 0), centred on (0, 0)
    ((-0.5, -0.5), (0.5, -0.5)), ((-0.5, 0.5), (0.5, 0.5)),
    ((-0.5, -0.5), (-0.5, 0.5)), ((0.5, -0.5), (0.5, 0.5)),
}  # fmt: skip


# ------------------------------------------------------------------ the heat map
def test_heatmap_draws_tissue_probability_colour_bar_and_annotated_outline():
    cells, labels = [(0, 0), (0, 1), (1, 0), (2, 2)], [1, 0, 0, 0]
    ds = _dataset(cells, labels)
    prob = np.array([0.9, 0.2, 0.7, 0.4, 0.99])  # the last is the other patient's
    fig = plot_slide_heatmap(ds, "p", prob, alpha=0.3)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # the map and its colour bar
    ax, bar = fig.axes
    assert bar.get_ylabel() == "P(IDC+)"
    tissue, overlay = ax.images
    extent = [-0.5, 2.5, 2.5, -0.5]  # 3 x 3 cells, cell (r, c) centred on (c, r)
    assert tissue.get_extent() == extent and overlay.get_extent() == extent
    assert tissue.get_array().shape == (3 * STEP, 3 * STEP, 3)
    drawn = overlay.get_array()
    for (r, c), p in zip(cells, prob, strict=False):
        assert drawn[r, c] == p
    assert drawn.mask.sum() == 9 - len(cells)  # cells without a patch show the white tissue
    assert overlay.get_alpha() == 0.3 and overlay.get_cmap().name == "viridis"
    (outline,) = ax.collections
    assert _segments(outline) == CELL_00
    assert _legend(ax) == ["annotated IDC(+) (1 patch)", "no patch"]
    assert ax.get_title() == "Patient p: P(IDC+) over the tissue"


def test_threshold_outlines_the_predicted_region_and_titles_the_dice():
    cells, labels = [(0, 0), (0, 1), (1, 0), (1, 1)], [1, 1, 0, 0]
    ds = _dataset(cells, labels, other_patient_too=False)
    fig = plot_slide_heatmap(ds, "p", [0.9, 0.3, 0.6, 0.1], threshold=0.5)
    ax = fig.axes[0]
    annotated, predicted = ax.collections
    assert annotated.get_edgecolor()[0].tolist() == [1.0, 0.0, 0.0, 1.0]  # red
    assert predicted.get_edgecolor()[0].tolist() == [0.0, 0.0, 0.0, 1.0]  # black, dashed
    assert predicted.get_linestyle()[0][1] is not None
    assert _segments(predicted) == {  # cells (0, 0) and (1, 0): a 1 x 2 column
        ((-0.5, -0.5), (0.5, -0.5)), ((-0.5, 1.5), (0.5, 1.5)),
        ((-0.5, -0.5), (-0.5, 0.5)), ((-0.5, 0.5), (-0.5, 1.5)),
        ((0.5, -0.5), (0.5, 0.5)), ((0.5, 0.5), (0.5, 1.5)),
    }  # fmt: skip
    assert _legend(ax) == [
        "annotated IDC(+) (2 patches)", "predicted IDC(+) at 0.50 (2 patches)", "no patch"
    ]  # fmt: skip
    assert ax.get_title().endswith("\nDice 0.50 at threshold 0.50")  # 2 * 1 / (2 + 2)


def test_without_any_idc_no_outline_is_drawn_and_the_dice_is_undefined():
    ds = _dataset([(0, 0), (0, 1)], [0, 0], other_patient_too=False)
    ax = plot_slide_heatmap(ds, "p", [0.1, 0.2], threshold=0.5).axes[0]
    assert not ax.collections
    assert _legend(ax)[:2] == ["annotated IDC(+) (0 patches)", "predicted IDC(+) at 0.50 (0 "
                               "patches)"]  # fmt: skip
    assert "Dice undefined" in ax.get_title()


def test_heatmap_draws_into_given_axes():
    ds = _dataset([(0, 0)], [1])
    figure = Figure()
    left, right = figure.subplots(1, 2)
    assert plot_slide_heatmap(ds, "p", [0.5, 0.5], ax=right) is figure
    assert not left.images and len(right.images) == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patient": "nobody"}, "Invalid `patient` for plot_slide_heatmap"),
        ({"prob_idc": [0.5]}, r"Invalid `prob_idc`.*\(2,\)"),
        ({"prob_idc": [0.5, 1.5]}, r"Invalid `prob_idc`.*\[0, 1\]"),
        ({"prob_idc": [0.5, float("nan")]}, r"Invalid `prob_idc`.*\[0, 1\]"),
        ({"threshold": 0.0}, r"Invalid `threshold`.*\(0, 1\]"),
        ({"threshold": 1.5}, r"Invalid `threshold`.*\(0, 1\]"),
        ({"threshold": True}, "Invalid `threshold`"),
        ({"alpha": 2}, r"Invalid `alpha`.*\[0, 1\]"),
    ],
)
def test_heatmap_errors(kwargs, match):
    ds = _dataset([(0, 0)], [1])
    arguments = {"patient": "p", "prob_idc": [0.5, 0.5], **kwargs}
    with pytest.raises(ValueError, match=match):
        plot_slide_heatmap(ds, arguments.pop("patient"), arguments.pop("prob_idc"), **arguments)


# ------------------------------------------------------------------ region agreement
grids = st.integers(1, 6).flatmap(
    lambda n: st.tuples(
        st.lists(st.booleans(), min_size=n * n, max_size=n * n),  # which cells hold a patch
        st.lists(st.integers(0, 1), min_size=n * n, max_size=n * n),
        st.lists(st.floats(0, 1), min_size=n * n, max_size=n * n),
        st.just(n),
    )
)


@settings(max_examples=60, deadline=None)
@given(grids, st.floats(0.05, 1.0))
def test_dice_and_iou_of_the_masks_are_sklearns_f1_and_jaccard_on_the_cells(grid, threshold):
    present, labels, prob, n = grid
    keep = np.flatnonzero(present) if any(present) else np.array([0])
    rows, cols = np.divmod(keep, n)
    y_true, y_prob = np.asarray(labels)[keep], np.asarray(prob)[keep]
    agreement = region_agreement(
        ["p"] * len(keep), 1 + 50 * cols, 1 + 50 * rows, y_true, y_prob, threshold=threshold
    )
    y_pred = (y_prob >= threshold).astype(int)
    if y_true.any() or y_pred.any():
        assert agreement.dice[0] == pytest.approx(f1_score(y_true, y_pred))
        assert agreement.iou[0] == pytest.approx(jaccard_score(y_true, y_pred))
    else:  # nothing annotated, nothing predicted: undefined
        assert math.isnan(agreement.dice[0]) and math.isnan(agreement.iou[0])
    assert agreement.f1_pos[0] == pytest.approx(f1_score(y_true, y_pred, zero_division=0))
    assert agreement.annotated_fraction[0] == pytest.approx(y_true.mean())
    assert agreement.predicted_fraction[0] == pytest.approx(y_pred.mean())
    assert agreement.n_patches[0] == len(keep) and agreement.n_idc[0] == y_true.sum()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abcd"), st.integers(0, 1), st.floats(0, 1)),
                min_size=1, max_size=40), st.randoms(use_true_random=False))  # fmt: skip
def test_every_patient_is_scored_on_its_own_patches_in_any_order(patches, random):
    random.shuffle(patches)
    patients = [p for p, _, _ in patches]
    labels = np.array([label for _, label, _ in patches])
    prob = np.array([q for _, _, q in patches])
    x = np.arange(len(patches)) * 50 + 1  # one cell per patch
    agreement = region_agreement(patients, x, np.ones_like(x), labels, prob, threshold=0.5)
    assert agreement.patients == tuple(sorted(set(patients)))
    for k, patient in enumerate(agreement.patients):
        mine = np.asarray(patients) == patient
        y_true, y_pred = labels[mine], (prob[mine] >= 0.5).astype(int)
        assert agreement.f1_pos[k] == pytest.approx(f1_score(y_true, y_pred, zero_division=0))
        if y_true.any() or y_pred.any():
            assert agreement.dice[k] == pytest.approx(f1_score(y_true, y_pred))
            assert agreement.iou[k] == pytest.approx(jaccard_score(y_true, y_pred))


def test_empty_cases_nan_when_nothing_to_match_zero_when_one_side_is_empty():
    agreement = region_agreement(
        ["none", "none", "missed", "missed", "invented"], [1, 51, 1, 51, 1], [1] * 5,
        [0, 0, 1, 1, 0], [0.1, 0.2, 0.1, 0.2, 0.9], threshold=0.5,
    )  # fmt: skip
    assert agreement.patients == ("invented", "missed", "none")
    np.testing.assert_array_equal(agreement.dice, [0.0, 0.0, np.nan])
    np.testing.assert_array_equal(agreement.iou, [0.0, 0.0, np.nan])
    np.testing.assert_array_equal(agreement.f1_pos, [0.0, 0.0, 0.0])  # scikit-learn's rule
    summary = agreement.summary()
    assert summary["n_undefined"] == 1 and summary["n_patients"] == 3
    assert summary["dice_median"] == 0.0 and summary["iou_mean"] == 0.0


def test_summary_skips_undefined_patients_and_is_nan_when_all_are():
    dice = [0.2, np.nan, 0.4, 0.6, 0.8]
    agreement = RegionAgreement(
        patients=tuple("abcde"), n_patches=[1] * 5, n_idc=[1] * 5, annotated_fraction=[1.0] * 5,
        predicted_fraction=[1.0] * 5, dice=dice, iou=dice, f1_pos=[0.0] * 5, threshold=0.5,
    )  # fmt: skip
    summary = agreement.summary()
    defined = [0.2, 0.4, 0.6, 0.8]
    assert summary["dice_median"] == pytest.approx(np.median(defined))
    assert summary["dice_q1"] == pytest.approx(np.percentile(defined, 25))
    assert summary["dice_q3"] == pytest.approx(np.percentile(defined, 75))
    assert summary["iou_mean"] == pytest.approx(0.5)
    assert summary["n_undefined"] == 1
    none = region_agreement(["a"], [1], [1], [0], [0.1], threshold=0.5).summary()
    assert math.isnan(none["dice_median"]) and none["n_undefined"] == 1
    assert (
        "median nan" in region_agreement(["a"], [1], [1], [0], [0.1], threshold=0.5).summary_line()
    )


def test_dice_is_on_cells_where_two_patches_share_one_the_later_counts():
    # two patches at one position: the cell's label and call are the later patch's
    agreement = region_agreement(["p"] * 3, [1, 1, 51], [1, 1, 1], [0, 1, 1], [0.9, 0.9, 0.1],
                                 threshold=0.5)  # fmt: skip
    assert agreement.dice[0] == pytest.approx(2 * 1 / (2 + 1))  # cells: (1, 1) and (1, 0)
    assert agreement.n_patches[0] == 3


def test_csv_round_trip_and_rows(tmp_path):
    agreement = region_agreement(
        ["8", "8", "7", "9"], [1, 51, 1, 1], [1, 1, 1, 1], [1, 0, 1, 0], [0.8, 0.6, 0.3, 0.1],
        threshold=0.5,
    )  # fmt: skip
    path = agreement.to_csv(tmp_path / "per_patient.csv")
    text = path.read_text()
    assert text.splitlines()[0] == (
        "patient,n_patches,n_idc,annotated_fraction,predicted_fraction,dice,iou,f1_pos"
    )
    with path.open(newline="") as stream:
        read = list(csv.DictReader(stream))
    rows = agreement.to_rows()
    assert [row["patient"] for row in read] == ["7", "8", "9"] == list(agreement.patients)
    for got, expected in zip(read, rows, strict=True):
        assert list(got) == list(COLUMNS) == list(expected)
        assert int(got["n_patches"]) == expected["n_patches"]
        for name in COLUMNS[3:]:
            assert float(got[name]) == expected[name] or (
                math.isnan(float(got[name])) and math.isnan(expected[name])
            )
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_worst_sorts_by_dice_ascending_with_undefined_last():
    dice = [0.9, np.nan, 0.1, 0.5, 0.1]
    agreement = RegionAgreement(
        patients=tuple("abcde"), n_patches=[1, 2, 3, 4, 5], n_idc=[0] * 5,
        annotated_fraction=[0.0] * 5, predicted_fraction=[0.0] * 5, dice=dice, iou=dice,
        f1_pos=[0.0] * 5, threshold=0.5,
    )  # fmt: skip
    worst = agreement.worst(k=3)
    assert isinstance(worst, RegionAgreement) and len(worst) == 3
    assert worst.patients == ("c", "e", "d")  # ties keep the patients' order
    assert worst.n_patches.tolist() == [3, 5, 4]
    assert agreement.worst(k=None).patients == ("c", "e", "d", "a", "b")
    assert agreement.worst(k=10).patients == ("c", "e", "d", "a", "b")
    with pytest.raises(ValueError, match=r"Invalid `k` for RegionAgreement.worst"):
        agreement.worst(k=0)


def test_columns_are_read_only_and_checked():
    agreement = region_agreement(["a"], [1], [1], [1], [0.9], threshold=0.5)
    with pytest.raises(ValueError, match="read-only"):
        agreement.dice[0] = 0.0
    with pytest.raises(ValueError, match=r"Invalid `dice` for RegionAgreement.*\(1,\)"):
        RegionAgreement(patients=("a",), n_patches=[1], n_idc=[1], annotated_fraction=[1.0],
                        predicted_fraction=[1.0], dice=[1.0, 1.0], iou=[1.0], f1_pos=[1.0],
                        threshold=0.5)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": [0, 2]}, r"Invalid `labels` for region_agreement"),
        ({"prob_idc": [0.5]}, r"Invalid `prob_idc`.*one entry per label"),
        ({"prob_idc": [0.5, 1.2]}, r"Invalid `prob_idc`.*\[0, 1\]"),
        ({"x": [1]}, r"Invalid `x` for region_agreement.*\(2,\)"),
        ({"y": [1.5, 2.0]}, r"Invalid `y`.*integer pixel positions"),
        ({"patients": ["a"]}, r"Invalid `patients`"),
        ({"threshold": 0.0}, r"Invalid `threshold`.*\(0, 1\]"),
        ({"step": 0}, r"Invalid `step`"),
    ],
)
def test_region_agreement_errors(kwargs, match):
    arguments = {"patients": ["a", "a"], "x": [1, 51], "y": [1, 1], "labels": [0, 1],
                 "prob_idc": [0.2, 0.8], "threshold": 0.5, **kwargs}  # fmt: skip
    with pytest.raises(ValueError, match=match):
        region_agreement(**arguments)


def test_heatmap_dice_is_the_region_agreement_dice():
    cells = [(r, c) for r in range(3) for c in range(3)]
    labels = [1, 1, 0, 1, 0, 0, 0, 0, 1]
    prob = [0.9, 0.2, 0.6, 0.7, 0.1, 0.8, 0.3, 0.2, 0.95]
    ds = _dataset(cells, labels, other_patient_too=False)
    title = plot_slide_heatmap(ds, "p", prob, threshold=0.5).axes[0].get_title()
    dice = region_agreement(ds.patients, ds.x, ds.y, ds.labels, prob, threshold=0.5,
                            step=STEP).dice[0]  # fmt: skip
    assert title.endswith(f"Dice {dice:.2f} at threshold 0.50")
