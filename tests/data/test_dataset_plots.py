"""The EDA methods delegate to idckit.data's plotting functions and return figures."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from idckit.data import IDCPatchDataset


def test_plot_class_balance_returns_a_figure(hostile, cache_dir):
    ds = IDCPatchDataset.from_directory(hostile["root"], cache_dir=cache_dir, progress=False)
    fig = ds.plot_class_balance()
    assert isinstance(fig, Figure)
    titles = " ".join(ax.get_title() for ax in fig.axes)
    assert f"{len(ds):,} patches" in titles and f"{len(ds.patient_ids):,} patients" in titles


def test_plot_samples_draws_from_each_class(hostile, cache_dir):
    ds = IDCPatchDataset.from_directory(hostile["root"], cache_dir=cache_dir, progress=False)
    fig = ds.plot_samples(n_per_class=4, seed=1)
    assert isinstance(fig, Figure)
    shown = [im.get_array() for ax in fig.axes for im in ax.images]
    assert len(shown) == 8
    cached = {ds.images[i].tobytes() for i in range(len(ds))}
    assert all(np.asarray(a).astype(np.uint8).tobytes() in cached for a in shown)
    sub = ds.subset(["10003"])
    assert isinstance(sub.plot_samples(n_per_class=1), Figure)


def test_contiguous_subsets_are_views_of_the_cache(hostile, cache_dir):
    ds = IDCPatchDataset.from_directory(hostile["root"], cache_dir=cache_dir, progress=False)
    sub = ds.subset(["10002"])
    assert np.shares_memory(sub.images, ds.images)
    np.testing.assert_array_equal(sub.images, ds.images[ds.patients == "10002"])
    scattered = ds.take([0, 2])
    assert not np.shares_memory(scattered.images, ds.images)
