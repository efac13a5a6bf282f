"""plot_patient_map: every patch drawn at its place, labels and outcomes in the right cells."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.data import IDCPatchDataset
from idckit.reporting import plot_patient_map
from idckit.reporting._patient_map import patch_grid

STEP = 4


def _dataset(cells, labels, patient="p", seed=0, other_patient_too=True):
    """Patches of ``patient`` at grid ``cells`` (row, col), plus one of another patient."""
    cells = list(cells) + ([(0, 0)] if other_patient_too else [])
    n = len(cells)
    images = np.random.default_rng(seed).integers(0, 255, (n, STEP, STEP, 3), dtype=np.uint8)
    patients = [patient] * len(labels) + (["other"] if other_patient_too else [])
    labels = list(labels) + ([1] if other_patient_too else [])
    x = [1 + STEP * c for _, c in cells]  # offsets as in the data set's names (x1, y1, ...)
    y = [1 + STEP * r for r, _ in cells]
    return IDCPatchDataset(labels, patients, images=images, x=x, y=y)


@settings(max_examples=25, deadline=None)
@given(st.sets(st.tuples(st.integers(0, 5), st.integers(0, 6)), min_size=1, max_size=20))
def test_every_patch_is_drawn_at_its_place_and_the_rest_is_blank(cells):
    cells = sorted(cells)
    ds = _dataset(cells, [i % 2 for i in range(len(cells))])
    fig = plot_patient_map(ds, "p")
    tissue = fig.axes[0].images[0].get_array()
    top, left = min(r for r, _ in cells), min(c for _, c in cells)
    placed = np.zeros(tissue.shape[:2], bool)
    for (r, c), image in zip(cells, ds.images, strict=False):
        rows = slice((r - top) * STEP, (r - top + 1) * STEP)
        cols = slice((c - left) * STEP, (c - left + 1) * STEP)
        np.testing.assert_array_equal(tissue[rows, cols], image)
        placed[rows, cols] = True
    assert (tissue[~placed] == 255).all()
    labels = fig.axes[1].images[0].get_array()
    for (r, c), label in zip(cells, ds.labels, strict=False):
        assert labels[r - top, c - left] == label
    assert labels.mask.sum() == labels.size - len(cells)


def test_probabilities_and_outcomes_fill_the_patients_cells():
    cells = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1)]
    labels = [1, 1, 0, 0, 1]
    ds = _dataset(cells, labels)
    prob = np.array([0.9, 0.2, 0.7, 0.1, 0.5, 0.99])  # the last is the other patient's
    fig = plot_patient_map(ds, "p", prob, threshold=0.5)
    assert len(fig.axes) == 5  # four panels and the colour bar
    drawn = fig.axes[2].images[0].get_array()
    outcome = fig.axes[3].images[0].get_array()
    expected_outcome = {(0, 0): 3, (0, 1): 2, (1, 0): 1, (1, 1): 0, (2, 1): 3}  # TP FN FP TN TP
    for (r, c), p in zip(cells, prob, strict=False):
        assert drawn[r, c] == p
        assert outcome[r, c] == expected_outcome[r, c]
    assert drawn.mask[2, 0] and outcome.mask[2, 0]  # no patch there
    assert fig.axes[3].get_title() == "At threshold 0.50: FP 1, FN 1"
    assert fig.axes[2].collections  # the annotated IDC(+) region is outlined


def test_patch_grid_of_the_data_sets_positions():
    rows, cols, shape = patch_grid([1001, 1051, 1101, 1001], [501, 501, 551, 651], 50)
    assert rows.tolist() == [0, 0, 1, 3] and cols.tolist() == [0, 1, 2, 0] and shape == (4, 3)


def test_bad_arguments_are_clear_errors():
    ds = _dataset([(0, 0), (0, 1)], [0, 1])
    with pytest.raises(ValueError, match=r"Invalid `patient` for plot_patient_map"):
        plot_patient_map(ds, "nobody")
    with pytest.raises(ValueError, match=r"Invalid `prob_idc` for plot_patient_map.*\(3,\)"):
        plot_patient_map(ds, "p", [0.5, 0.5])
    for bad in (0, 1.0, True, "0.5"):
        with pytest.raises(ValueError, match=r"Invalid `threshold` for plot_patient_map"):
            plot_patient_map(ds, "p", threshold=bad)


def legend_texts(ax):
    legend = ax.get_legend()
    assert legend is not None, f"panel {ax.get_title()!r} has no legend"
    return [text.get_text() for text in legend.get_texts()]


def test_every_panel_has_its_colour_key():
    cells = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 1)]
    ds = _dataset(cells, [1, 1, 0, 0, 1])
    prob = np.array([0.9, 0.2, 0.7, 0.1, 0.5, 0.99])
    fig = plot_patient_map(ds, "p", prob, threshold=0.5)
    tissue, annotation, probability, errors = fig.axes[:4]
    assert legend_texts(tissue) == ["no patch"]
    assert tissue.get_legend().get_title().get_text() == f"5 patches of {STEP}x{STEP} px"
    assert legend_texts(annotation) == ["IDC(-) (2)", "IDC(+) (3)", "no patch"]
    assert legend_texts(probability) == ["annotated IDC(+) (outline)", "no patch"]
    assert probability.images[0].colorbar is not None
    assert probability.images[0].colorbar.ax is fig.axes[4]
    assert legend_texts(errors) == [
        "true positive (2)", "false positive (1)", "false negative (1)", "true negative (1)",
        "no patch",
    ]  # fmt: skip


def test_error_legend_colours_match_the_cells():
    ds = _dataset([(0, 0), (0, 1), (1, 0), (1, 1)], [1, 1, 0, 0])
    fig = plot_patient_map(ds, "p", [0.9, 0.2, 0.7, 0.1, 0.5], threshold=0.5)
    errors = fig.axes[3]
    image = errors.images[0]
    colour_of = {
        text.get_text().split(" (")[0]: tuple(handle.get_facecolor())
        for text, handle in zip(
            errors.get_legend().get_texts(), errors.get_legend().legend_handles, strict=True
        )
    }
    drawn = image.to_rgba(image.get_array())
    expected = {(0, 0): "true positive", (0, 1): "false negative", (1, 0): "false positive",
                (1, 1): "true negative"}  # fmt: skip
    for (r, c), outcome in expected.items():
        np.testing.assert_allclose(drawn[r, c], colour_of[outcome])


def test_outline_follows_the_annotated_cells_edges():
    ds = _dataset([(0, 0), (0, 1), (1, 0)], [1, 0, 0], other_patient_too=False)
    fig = plot_patient_map(ds, "p", [0.9, 0.2, 0.7])
    (outline,) = fig.axes[2].collections
    segments = {tuple(map(tuple, np.round(s, 6))) for s in outline.get_segments()}
    assert segments == {  # the four sides of cell (0, 0), centred on (0, 0)
        ((-0.5, -0.5), (0.5, -0.5)), ((-0.5, 0.5), (0.5, 0.5)),
        ((-0.5, -0.5), (-0.5, 0.5)), ((0.5, -0.5), (0.5, 0.5)),
    }  # fmt: skip
    healthy = _dataset([(0, 0), (0, 1)], [0, 0], other_patient_too=False)
    probability = plot_patient_map(healthy, "p", [0.1, 0.6]).axes[2]
    assert not probability.collections
    assert legend_texts(probability) == ["no patch"]  # no outline to explain
