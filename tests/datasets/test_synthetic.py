import hashlib
import inspect
import json
import re

import cv2
import numpy as np
import pytest
from sklearn.feature_selection import f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from idckit.datasets import make_synthetic
from idckit.datasets._synthetic import MARKER_NAME

NAME = re.compile(r"(?P<p>\d+)/(?P<c>[01])/(?P=p)_idx5_x(?P<x>\d+)_y(?P<y>\d+)_class(?P=c)\.png")
SMALL = {"n_patients": 6, "patches_per_patient": 40, "edge_patches": 5}


def scan(root):
    rows = []
    for path in sorted(root.rglob("*.png")):
        match = NAME.fullmatch(path.relative_to(root).as_posix())
        assert match, path
        rows.append((match["p"], int(match["x"]), int(match["y"]), int(match["c"]), path))
    return rows


def digests(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("syn") / "idc", **SMALL)


def test_layout_matches_the_real_data_set(small_tree):
    rows = scan(small_tree)
    marker = json.loads((small_tree / MARKER_NAME).read_text())
    assert len(rows) == marker["n_patches"]
    assert {r[0] for r in rows} == {p.name for p in small_tree.iterdir() if p.is_dir()}
    assert len({r[0] for r in rows}) == SMALL["n_patients"]
    assert all(r[1] % 50 == 1 and r[2] % 50 == 1 for r in rows)  # real coordinates: 50k + 1
    assert len({r[:3] for r in rows}) == len(rows)  # one patch per patient position
    assert all(8863 <= int(r[0]) <= 16896 for r in rows)
    assert sorted(p.name for p in small_tree.iterdir() if not p.is_dir()) == [MARKER_NAME]


def test_patches_are_rgb_uint8_and_edge_patches_are_smaller(small_tree):
    shapes = []
    for *_, path in scan(small_tree):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
        shapes.append(image.shape[:2])
    small = [s for s in shapes if s != (50, 50)]
    assert len(small) == SMALL["edge_patches"]
    assert all(min(s) >= 8 and max(s) == 50 for s in small)


def test_images_look_like_h_and_e(small_tree):
    rows = scan(small_tree)
    pixels = {0: [], 1: []}
    for _, _, _, label, path in rows:
        pixels[label].append(cv2.imread(str(path))[:, :, ::-1].reshape(-1, 3))
    neg, pos = (np.concatenate(pixels[c]).astype(float) for c in (0, 1))
    red, green, blue = neg.mean(axis=0)
    assert green < red and green < blue  # pink/purple, never green
    assert (pos.mean(axis=1) < 120).mean() > 2 * (neg.mean(axis=1) < 120).mean()  # nuclei


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.28, 0.5])
def test_positive_fraction_is_met_and_varies_by_patient(tmp_path, fraction):
    root = make_synthetic(
        tmp_path / "t",
        n_patients=8,
        patches_per_patient=20,
        positive_fraction=fraction,
        edge_patches=0,
    )
    rows = scan(root)
    labels = np.array([r[3] for r in rows])
    assert abs(labels.mean() - fraction) <= 1 / len(labels)
    per_patient = [np.mean([r[3] for r in rows if r[0] == p]) for p in {r[0] for r in rows}]
    if fraction > 0:
        assert min(per_patient) == 0.0 and np.std(per_patient) > fraction / 4


def test_same_seed_is_byte_identical_and_seed_matters(tmp_path):
    first = digests(make_synthetic(tmp_path / "a", **SMALL, seed=3))
    assert first == digests(make_synthetic(tmp_path / "b", **SMALL, seed=3))
    other = digests(make_synthetic(tmp_path / "c", **SMALL, seed=4))
    assert first.keys() != other.keys()


def test_patients_have_their_own_stain(small_tree):
    rows = [r for r in scan(small_tree) if r[3] == 0]
    means = np.array([cv2.imread(str(r[4]))[:, :, ::-1].reshape(-1, 3).mean(0) for r in rows])
    _, p_values = f_classif(means, [r[0] for r in rows])
    assert p_values.min() < 1e-6  # colour depends on the patient, not only on the label


def test_a_linear_model_on_colour_features_learns_it(tmp_path):
    root = make_synthetic(tmp_path / "t", n_patients=12, patches_per_patient=60, edge_patches=0)
    rows = scan(root)
    features = []
    for *_, path in rows:
        rgb = cv2.imread(str(path))[:, :, ::-1].reshape(-1, 3).astype(float)
        gray = rgb.mean(axis=1)
        features.append([*rgb.mean(0), *rgb.std(0), (gray < 120).mean(), (gray > 220).mean()])
    labels = np.array([r[3] for r in rows])
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    groups = [r[0] for r in rows]
    predicted = cross_val_predict(
        model, np.array(features), labels, groups=groups, cv=GroupKFold(3)
    )
    all_positive = f1_score(labels, np.ones_like(labels))
    assert f1_score(labels, predicted) > all_positive + 0.15


@pytest.mark.slow
def test_a_tiny_cnn_learns_it_well_above_chance(tmp_path):
    keras = pytest.importorskip("keras")
    root = make_synthetic(tmp_path / "t", n_patients=10, patches_per_patient=100, edge_patches=0)
    rows = [r for r in scan(root)]
    images = np.stack([cv2.imread(str(r[4]))[:, :, ::-1] for r in rows])
    labels = np.array([r[3] for r in rows])
    patients = np.array([r[0] for r in rows])
    test = np.isin(patients, np.unique(patients)[::4])
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((50, 50, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy")
    train_labels = labels[~test]
    weights = {0: 1.0, 1: float((train_labels == 0).sum() / (train_labels == 1).sum())}
    model.fit(
        images[~test], train_labels, epochs=10, batch_size=32, verbose=0, class_weight=weights
    )
    predicted = (model.predict(images[test], verbose=0)[:, 0] > 0.5).astype(int)
    assert f1_score(labels[test], predicted) > 0.7


def test_refuses_a_non_empty_directory_without_overwrite(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=r"missing or empty directory.*overwrite=True"):
        make_synthetic(tmp_path, **SMALL)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_overwrite_replaces_its_own_tree_only(tmp_path):
    root = make_synthetic(tmp_path / "t", **SMALL, seed=1)
    before = digests(root)
    make_synthetic(root, **SMALL, seed=2, overwrite=True)
    assert digests(root) == digests(make_synthetic(tmp_path / "ref", **SMALL, seed=2))
    assert digests(root) != before
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.csv").write_text("1,2")
    with pytest.raises(ValueError, match="only replaces its own trees"):
        make_synthetic(foreign, **SMALL, overwrite=True)
    assert (foreign / "data.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign", "ref", "t"]  # no leftovers


def test_an_existing_empty_directory_is_fine(tmp_path):
    assert make_synthetic(tmp_path, **SMALL) == tmp_path
    assert (tmp_path / MARKER_NAME).is_file()


def test_root_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"Invalid `root`.*It is a file"):
        make_synthetic(tmp_path / "file", **SMALL)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_patients": 1}, r"Invalid `n_patients`.*integer >= 2"),
        ({"n_patients": 2.5}, r"Invalid `n_patients`"),
        ({"patches_per_patient": 3}, r"Invalid `patches_per_patient`.*>= 4"),
        ({"positive_fraction": 0.6}, r"Invalid `positive_fraction`.*\[0, 0.5\]"),
        ({"positive_fraction": "0.2"}, r"Invalid `positive_fraction`"),
        ({"edge_patches": -1}, r"Invalid `edge_patches`"),
        ({"edge_patches": 10_000}, r"Invalid `edge_patches`.*half the number of patches"),
        ({"seed": -1}, r"Invalid `seed`"),
        ({"seed": True}, r"Invalid `seed`"),
    ],
)
def test_invalid_arguments_are_clear_errors(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic(tmp_path / "t", **kwargs)
    assert not (tmp_path / "t").exists()


def test_default_tree_size_suits_the_demo():
    defaults = {k: v.default for k, v in inspect.signature(make_synthetic).parameters.items()}
    assert 2_000 <= defaults["n_patients"] * defaults["patches_per_patient"] <= 4_000
    assert defaults["n_patients"] >= 12 and defaults["positive_fraction"] == 0.28


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    import idckit.datasets._synthetic as synthetic

    monkeypatch.setattr(synthetic.cv2, "imwrite", lambda *args: False)
    with pytest.raises(OSError, match="Could not write"):
        make_synthetic(tmp_path / "t", **SMALL)
    assert list(tmp_path.iterdir()) == []
