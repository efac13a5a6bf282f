"""smooth_probabilities against a plain loop, hypothesis properties, argument errors."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from idckit.inference import SpatialSmoothing, smooth_probabilities


def loop_smoothing(prob, patients, x, y, alpha=0.7, radius=1, step=50):
    """The definition, one patch at a time: mean of the same patient's cells within radius."""
    out = []
    for i in range(len(prob)):
        neighbours = [
            prob[j]
            for j in range(len(prob))
            if j != i
            and patients[j] == patients[i]
            and abs(x[j] // step - x[i] // step) <= radius
            and abs(y[j] // step - y[i] // step) <= radius
        ]
        out.append((1 - alpha) * prob[i] + alpha * np.mean(neighbours) if neighbours else prob[i])
    return np.array(out, dtype=np.float64)


@st.composite
def patches(draw, max_size=40):
    n = draw(st.integers(0, max_size))
    n_patients = draw(st.integers(1, 4))
    cells = st.integers(0, 5)
    prob = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)), dtype=np.float64)
    patients = np.array([f"p{draw(st.integers(0, n_patients - 1))}" for _ in range(n)])
    x = np.array([draw(cells) * 50 + 1 for _ in range(n)], dtype=np.int64)
    y = np.array([draw(cells) * 50 + 1 for _ in range(n)], dtype=np.int64)
    return prob, patients, x, y


alphas = st.floats(0, 1)
radii = st.integers(1, 3)


def test_docstring_example_and_a_hand_computed_case():
    out = smooth_probabilities([1.0, 0.0, 0.0], ["a", "a", "b"], [1, 51, 1], [1, 1, 1], alpha=0.5)
    np.testing.assert_allclose(out, [0.5, 0.5, 0.0])
    # a 3x3 block: the centre sees 8 neighbours, a corner 3 (radius 1) or 8 (radius 2)
    x, y = np.meshgrid(np.arange(3) * 50, np.arange(3) * 50)
    prob = np.zeros(9)
    prob[4] = 0.9  # the centre
    out = smooth_probabilities(prob, ["p"] * 9, x.ravel(), y.ravel(), alpha=0.5, radius=1)
    assert out[4] == pytest.approx(0.45) and out[0] == pytest.approx(0.5 * 0.9 / 3)
    far = smooth_probabilities(prob, ["p"] * 9, x.ravel(), y.ravel(), alpha=0.5, radius=2)
    assert far[0] == pytest.approx(0.5 * 0.9 / 8)


@settings(max_examples=60, deadline=None)
@given(patches(), alphas, radii, st.sampled_from([50, 25, 100]))
def test_equals_the_loop_definition(data, alpha, radius, step):
    prob, patients, x, y = data
    got = smooth_probabilities(prob, patients, x, y, alpha=alpha, radius=radius, step=step)
    want = loop_smoothing(prob, patients, x, y, alpha, radius, step)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_equals_the_loop_on_a_larger_slide_like_sample():
    rng = np.random.default_rng(0)
    n = 600
    patients = rng.choice(["8863", "10253", "12930"], n)
    x, y = rng.integers(0, 12, n) * 50 + 1, rng.integers(0, 12, n) * 50 + 1
    prob = rng.random(n)
    got = smooth_probabilities(prob, patients, x, y, alpha=0.7, radius=2)
    np.testing.assert_allclose(got, loop_smoothing(prob, patients, x, y, 0.7, 2), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(patches(), alphas, radii)
def test_output_is_a_probability(data, alpha, radius):
    prob, patients, x, y = data
    out = smooth_probabilities(prob, patients, x, y, alpha=alpha, radius=radius)
    assert out.shape == prob.shape and out.dtype == np.float64
    assert np.all((out >= 0) & (out <= 1))


@settings(max_examples=40, deadline=None)
@given(patches(), radii)
def test_alpha_zero_is_the_identity(data, radius):
    prob, patients, x, y = data
    out = smooth_probabilities(prob, patients, x, y, alpha=0.0, radius=radius)
    np.testing.assert_array_equal(out, prob)
    assert out is not prob


@settings(max_examples=60, deadline=None)
@given(patches(), alphas, radii, st.randoms(use_true_random=False))
def test_patients_never_influence_each_other(data, alpha, radius, rnd):
    prob, patients, x, y = data
    if len(prob) == 0:
        return
    mine = patients == patients[0]
    other_prob = prob.copy()
    others = np.flatnonzero(~mine)
    other_prob[others] = [rnd.random() for _ in others]  # other patients' values change...
    other_patients = np.where(mine, patients, np.char.add("zz", patients))  # ...and names
    a = smooth_probabilities(prob, patients, x, y, alpha=alpha, radius=radius)
    b = smooth_probabilities(other_prob, other_patients, x, y, alpha=alpha, radius=radius)
    np.testing.assert_allclose(a[mine], b[mine], rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(patches(), alphas, radii)
def test_patches_without_neighbours_are_unchanged(data, alpha, radius):
    prob, patients, x, y = data
    out = smooth_probabilities(prob, patients, x, y, alpha=alpha, radius=radius)
    gx, gy = x // 50, y // 50
    for i in range(len(prob)):
        near = (patients == patients[i]) & (np.abs(gx - gx[i]) <= radius)
        near &= np.abs(gy - gy[i]) <= radius
        if near.sum() == 1:  # only itself
            assert out[i] == prob[i]


@settings(max_examples=60, deadline=None)
@given(patches(), alphas, radii, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(data, alpha, radius, rnd):
    prob, patients, x, y = data
    order = list(range(len(prob)))
    rnd.shuffle(order)
    out = smooth_probabilities(prob, patients, x, y, alpha=alpha, radius=radius)
    shuffled = smooth_probabilities(
        prob[order], patients[order], x[order], y[order], alpha=alpha, radius=radius
    )
    np.testing.assert_allclose(shuffled, out[order], rtol=0, atol=1e-12)


def test_numeric_patient_ids_and_float_integral_coordinates():
    out = smooth_probabilities([1.0, 0.0], [7, 7], [0.0, 50.0], [0, 0], alpha=0.5)
    np.testing.assert_allclose(out, [0.5, 0.5])


def test_empty_input():
    assert smooth_probabilities([], [], [], []).shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 1.5}, r"Invalid `alpha` for smooth_probabilities: expected a float in \["),
        ({"alpha": -0.1}, r"`alpha`.*Received: alpha=-0.1"),
        ({"alpha": float("nan")}, r"`alpha`"),
        ({"alpha": True}, r"`alpha`"),
        ({"radius": 0}, r"Invalid `radius`.*an integer >= 1. Received: radius=0"),
        ({"radius": 1.5}, r"`radius`"),
        ({"step": 0}, r"Invalid `step`.*an integer >= 1"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        smooth_probabilities([0.5], ["a"], [0], [0], **kwargs)


def test_bad_arrays_are_clear_errors():
    with pytest.raises(ValueError, match=r"Invalid `x`.*a 1-D array of length 2, like `prob`"):
        smooth_probabilities([0.5, 0.5], ["a", "a"], [0], [0, 0])
    with pytest.raises(ValueError, match=r"Invalid `patients`.*of length 2"):
        smooth_probabilities([0.5, 0.5], ["a"], [0, 0], [0, 0])
    with pytest.raises(ValueError, match=r"Invalid `prob`.*a 1-D array"):
        smooth_probabilities([[0.5]], ["a"], [0], [0])
    with pytest.raises(ValueError, match=r"Invalid `prob`.*probabilities in \[0, 1\]"):
        smooth_probabilities([1.5, np.nan], ["a", "a"], [0, 0], [0, 0])
    with pytest.raises(ValueError, match=r"Invalid `y`.*integer pixel coordinates"):
        smooth_probabilities([0.5], ["a"], [0], [0.5])


def test_spatial_smoothing_record():
    smoothing = SpatialSmoothing(alpha=0.5, radius=2)
    assert smoothing.to_dict() == {"alpha": 0.5, "radius": 2, "step": 50}
    assert SpatialSmoothing.coerce(smoothing.to_dict()) == smoothing
    assert SpatialSmoothing.coerce(smoothing) is smoothing
    assert SpatialSmoothing.coerce(None) is None
    prob, patients, x, y = [0.2, 0.8, 0.4], ["a", "a", "a"], [0, 50, 150], [0, 0, 0]
    np.testing.assert_array_equal(
        smoothing.apply(prob, patients, x, y),
        smooth_probabilities(prob, patients, x, y, alpha=0.5, radius=2),
    )
    with pytest.raises(ValueError, match=r"Invalid `alpha` for SpatialSmoothing"):
        SpatialSmoothing(alpha=2)
    with pytest.raises(ValueError, match=r"Invalid `smoothing` for Owner: expected None, a"):
        SpatialSmoothing.coerce({"alpha": 0.5, "size": 3}, "Owner")
    with pytest.raises(ValueError, match=r"Invalid `smoothing`"):
        SpatialSmoothing.coerce(0.5)  # type: ignore[arg-type]


def test_smoothing_imports_no_deep_learning_framework():
    code = (
        "import sys; from idckit.inference import smooth_probabilities, SpatialSmoothing;"
        "smooth_probabilities([0.5], ['a'], [0], [0]);"
        "print(any(m in sys.modules for m in ('keras', 'tensorflow', 'jax')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
