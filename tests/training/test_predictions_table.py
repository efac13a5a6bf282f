import csv

import numpy as np
import pytest

from idckit.training import Predictions


def _preds(labels=True):
    return Predictions(
        paths=["/d/a.png", "/d/b,c.png"],
        patients=["8863", "8864"],
        x=np.array([1, 51]),
        y=np.array([101, 1]),
        labels=np.array([0, 1]) if labels else None,
        prob_idc=np.array([0.125, 0.875]),
    )


def test_csv_columns_and_round_trip(tmp_path):
    path = _preds().to_csv(tmp_path / "p.csv")
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["path", "patient", "x", "y", "label", "prob_idc"]
    assert rows[2] == ["/d/b,c.png", "8864", "51", "1", "1", "0.875"]
    back = Predictions.from_csv(path)
    assert list(back.paths) == ["/d/a.png", "/d/b,c.png"]
    np.testing.assert_array_equal(back.labels, [0, 1])
    np.testing.assert_allclose(back.prob_idc, [0.125, 0.875])


def test_unknown_labels_drop_the_label_column(tmp_path):
    path = _preds(labels=False).to_csv(tmp_path / "p.csv")
    assert path.read_text().splitlines()[0] == "path,patient,x,y,prob_idc"
    assert Predictions.from_csv(path).labels is None


def test_concatenate_and_threshold():
    both = Predictions.concatenate([_preds(), _preds()])
    assert len(both) == 4
    assert both.predicted_labels(0.5).tolist() == [0, 1, 0, 1]
    assert both.predicted_labels(0.1).tolist() == [1, 1, 1, 1]


def test_columns_must_have_one_value_per_patch():
    with pytest.raises(ValueError, match="one value per patch"):
        Predictions(["a"], ["p"], np.zeros(1), np.zeros(1), None, np.array([0.1, 0.2]))
