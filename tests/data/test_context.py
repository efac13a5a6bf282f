"""Neighbourhood context: neighbour tables (against a loop), mosaics, dataset and feed views."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.data import IDCPatchDataset, gather_mosaics, neighbour_indices


def _loop_neighbours(patients, x, y, radius, step):
    """Reference: for every patch and offset, the first patch of that patient in that cell."""
    cells = [(p, xi // step, yi // step) for p, xi, yi in zip(patients, x, y, strict=True)]
    out = []
    for p, gx, gy in cells:
        row = []
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                hits = [j for j, c in enumerate(cells) if c == (p, gx + dx, gy + dy)]
                row.append(hits[0] if hits else -1)
        out.append(row)
    return np.array(out, dtype=np.intp).reshape(len(cells), (2 * radius + 1) ** 2)


patches = st.lists(
    st.tuples(st.sampled_from(["a", "b", "10253"]), st.integers(0, 5), st.integers(0, 5)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(patches, st.integers(0, 2), st.sampled_from([1, 50]))
def test_neighbour_indices_match_a_loop(cells, radius, step):
    patients = [c[0] for c in cells]
    x = [c[1] * step + (step // 2) for c in cells]  # positions anywhere inside their cell
    y = [c[2] * step for c in cells]
    got = neighbour_indices(patients, x, y, radius=radius, step=step)
    np.testing.assert_array_equal(got, _loop_neighbours(patients, x, y, radius, step))


def test_centre_column_is_the_patch_itself_when_cells_are_unique():
    x, y = np.meshgrid(np.arange(4) * 50 + 1, np.arange(3) * 50 + 1)  # the real files' +1 offset
    table = neighbour_indices(["p"] * 12, x.ravel(), y.ravel(), radius=1)
    np.testing.assert_array_equal(table[:, 4], np.arange(12))
    assert (table >= 0).sum() == 4 * 4 + 6 * 6 + 2 * 9  # corners, edges, interior


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="context"):
        neighbour_indices(["a"], [0], [0], radius=4)
    with pytest.raises(ValueError, match="step"):
        neighbour_indices(["a"], [0], [0], step=0)
    with pytest.raises(ValueError, match="square"):
        gather_mosaics(np.zeros((2, 5, 5, 3), np.uint8), np.zeros((1, 3), np.intp))


def _numbered(n, side=4):
    """Patch i is filled with the value i (so mosaics show which patch went where)."""
    return np.broadcast_to(np.arange(n, dtype=np.uint8)[:, None, None, None], (n, side, side, 3))


def test_gather_mosaics_places_tiles_row_major_and_fills_white():
    pixels = _numbered(9)
    mosaic = gather_mosaics(pixels, np.array([[0, 1, 2, 3, 4, 5, -1, 7, 8]]))
    assert mosaic.shape == (1, 12, 12, 3) and mosaic.dtype == np.uint8
    tiles = mosaic[0, ::4, ::4, 0]  # one pixel per tile
    np.testing.assert_array_equal(tiles, [[0, 1, 2], [3, 4, 5], [255, 7, 8]])
    assert (mosaic[0, 8:12, 0:4] == 255).all()


@pytest.fixture
def grid_dataset():
    """Two patients on a 3x3 grid each (x to the right, y down), patch i filled with i."""
    gx, gy = np.meshgrid(np.arange(3), np.arange(3))
    x = np.tile(gx.ravel() * 50, 2)
    y = np.tile(gy.ravel() * 50, 2)
    patients = ["p"] * 9 + ["q"] * 9
    labels = np.arange(18) % 2
    return IDCPatchDataset(labels, patients, x=x, y=y, images=np.array(_numbered(18, 50)))


def test_dataset_mosaic_centres_on_the_patch_with_x_to_the_right(grid_dataset):
    mosaic = grid_dataset.load_images([4], context=1)[0]  # p's centre patch
    assert mosaic.shape == (150, 150, 3)
    np.testing.assert_array_equal(mosaic[::50, ::50, 0], np.arange(9).reshape(3, 3))
    corner = grid_dataset.load_images([9], context=1)[0]  # q's top-left: only 4 neighbours
    np.testing.assert_array_equal(
        corner[::50, ::50, 0], [[255, 255, 255], [255, 9, 10], [255, 12, 13]]
    )


def test_subsets_look_up_neighbours_within_the_selection(grid_dataset):
    q = grid_dataset.subset("q")
    np.testing.assert_array_equal(
        q.load_images([4], context=1), grid_dataset.load_images([13], context=1)
    )
    some = grid_dataset.take([0, 1, 3])  # p's top-left 2x2 block minus its centre (4)
    tiles = some.load_images([0], context=1)[0, ::50, ::50, 0]
    np.testing.assert_array_equal(tiles, [[255, 255, 255], [255, 0, 1], [255, 3, 255]])
    assert some.neighbours(1).shape == (3, 9)


def test_radius_zero_is_the_patch_alone(grid_dataset):
    np.testing.assert_array_equal(
        grid_dataset.load_images([2, 5], context=0), grid_dataset.load_images([2, 5])
    )


def test_bad_context_is_a_clear_error(grid_dataset):
    for bad in (-1, 4, 1.5, True, "1"):
        with pytest.raises(ValueError, match="context"):
            grid_dataset.load_images([0], context=bad)


def test_feed_gives_the_same_mosaics_as_load_images(grid_dataset):
    pytest.importorskip("keras")
    feed = grid_dataset.subset(["q", "p"]).to_keras(batch_size=5, shuffle=False, context=1)
    images = np.concatenate([feed[i][0] for i in range(len(feed))])
    np.testing.assert_array_equal(images, grid_dataset.load_images(np.arange(18), context=1))
    shuffled = grid_dataset.to_keras(batch_size=18, shuffle=True, augment=True, seed=0, context=2)
    batch, labels = shuffled[0]
    assert batch.shape == (18, 250, 250, 3) and labels.shape == (18,)
    # flips and rotations keep the centre patch at the centre: its value matches its label
    centre = batch[:, 125, 125, 0].astype(int)
    np.testing.assert_array_equal(centre % 2, labels)
