import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from idckit.data._eda import plot_class_balance, plot_patch_grid


@pytest.fixture
def patches():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 40 + [1] * 12)
    images = np.zeros((labels.size, 50, 50, 3), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(labels.size)  # tag every patch with its index
    patients = rng.choice(["p1", "p2", "p3", "p4"], size=labels.size)
    return images, labels, patients


def drawn_indices(ax):
    return [int(image.get_array()[0, 0, 0]) for image in ax.images]


def test_class_balance_pie_counts_and_title():
    labels = np.array([0] * 30 + [1] * 10)
    fig = plot_class_balance(labels)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "Class balance (40 patches)"
    texts = [t.get_text() for t in ax.texts]
    assert "IDC(-)\n30" in texts and "IDC(+)\n10" in texts
    assert "75.0%" in texts and "25.0%" in texts
    assert len(ax.patches) == 2  # two wedges


def test_class_balance_with_patients_adds_the_per_patient_histogram():
    labels = np.array([1, 1, 0, 0, 0, 0, 1, 0])
    patients = np.array(["a", "a", "b", "b", "c", "c", "c", "c"])  # fractions 1, 0, 0.25
    fig = plot_class_balance(labels, patients, target_names=("benign", "IDC"))
    pie, hist = fig.axes
    assert hist.get_title() == "IDC fraction per patient (3 patients)"
    heights = [bar.get_height() for bar in hist.patches]
    assert len(heights) == 10 and sum(heights) == 3
    assert heights[0] == 1 and heights[2] == 1 and heights[-1] == 1  # 0, 0.25, 1.0
    assert "benign\n5" in [t.get_text() for t in pie.texts]


def test_class_balance_draws_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    assert plot_class_balance([0, 1, 1], ax=ax) is fig
    assert ax.get_title() == "Class balance (3 patches)"


def test_class_balance_with_given_axes_draws_only_the_pie():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_class_balance([0, 1, 1], ["a", "b", "b"], ax=ax) is fig
    assert len(fig.axes) == 1 and len(ax.patches) == 2


def test_class_balance_draws_into_subfigure_axes():
    fig = Figure()
    ax = fig.subfigures(1, 2)[1].add_subplot()
    assert plot_class_balance([0, 1], ax=ax) is fig


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([0, 2],), {}, r"Invalid `labels`.*only 0 and 1"),
        (([],), {}, r"Invalid `labels`.*non-empty"),
        (([0, 1], ["a"]), {}, r"Invalid `patients`.*one id per patch"),
        (([0, 1],), {"target_names": ("a",)}, r"Invalid `target_names`"),
    ],
)
def test_class_balance_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_class_balance(*args, **kwargs)


def test_patch_grid_draws_n_per_class_of_each_class(patches):
    images, labels, _ = patches
    fig = plot_patch_grid(images, labels, n_per_class=9, seed=1)
    assert len(fig.subfigs) == 2
    titles = [sub.get_suptitle() for sub in fig.subfigs]
    assert titles == ["IDC(-): 9 of 40 patches", "IDC(+): 9 of 12 patches"]
    for label, sub in enumerate(fig.subfigs):
        assert len(sub.axes) == 9  # 3 x 3
        drawn = [i for ax in sub.axes for i in drawn_indices(ax)]
        assert len(drawn) == len(set(drawn)) == 9
        assert all(labels[i] == label for i in drawn)
        assert all(not ax.axison for ax in sub.axes)


def test_patch_grid_default_is_two_5x5_grids(patches):
    images, labels, _ = patches
    fig = plot_patch_grid(images, labels)
    assert [len(sub.axes) for sub in fig.subfigs] == [25, 25]
    assert [sum(len(ax.images) for ax in sub.axes) for sub in fig.subfigs] == [25, 12]
    assert fig.subfigs[1].get_suptitle() == "IDC(+): 12 of 12 patches"


def test_patch_grid_is_deterministic_by_seed(patches):
    images, labels, _ = patches

    def picks(seed):
        fig = plot_patch_grid(images, labels, n_per_class=4, seed=seed)
        return [drawn_indices(ax) for ax in fig.axes]

    assert picks(0) == picks(0)
    assert picks(0) != picks(5)


def test_patch_grid_accepts_float_images_and_shows_them_as_uint8():
    images = np.full((2, 50, 50, 3), 254.6)
    fig = plot_patch_grid(images, [0, 1], n_per_class=1)
    shown = fig.axes[0].images[0].get_array()
    assert shown.dtype == np.uint8 and shown.max() == 255


def test_patch_grid_with_an_empty_class_draws_an_empty_panel():
    fig = plot_patch_grid(np.zeros((3, 50, 50, 3), np.uint8), [0, 0, 0], n_per_class=4)
    assert fig.subfigs[1].get_suptitle() == "IDC(+): 0 of 0 patches"
    assert sum(len(ax.images) for ax in fig.subfigs[1].axes) == 0


@pytest.mark.parametrize(
    ("images", "labels", "kwargs", "match"),
    [
        (np.zeros((2, 50, 50)), [0, 1], {}, r"Invalid `images`.*\(2, H, W, 3\)"),
        (np.zeros((3, 50, 50, 3)), [0, 1], {}, r"Invalid `images`"),
        (np.zeros((2, 50, 50, 3)), [0, 1], {"n_per_class": 0}, r"Invalid `n_per_class`"),
        (np.zeros((2, 50, 50, 3)), [0, 1], {"n_per_class": 2.0}, r"Invalid `n_per_class`"),
        (np.zeros((2, 50, 50, 3)), [0, 3], {}, r"Invalid `labels`"),
    ],
)
def test_patch_grid_errors(images, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_patch_grid(images, labels, **kwargs)
