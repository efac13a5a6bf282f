"""A small, deterministic, learnable synthetic IDC data set in the real on-disk layout.

Patches are painted with a Beer-Lambert stain model: an eosin-pink stroma texture, white fat or
lumen, and hematoxylin-purple nuclei drawn as small dark blobs. IDC(+) patches hold more,
larger, darker and crowded nuclei in nests; IDC(-) patches hold sparse, elongated stromal nuclei
(and sometimes a cluster of small round lymphocytes, a hard negative). Every patient gets its own
stain vectors and intensity, so patient-level splits matter as they do on real slides.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from idckit._errors import invalid_argument

PATCH_SIZE = 50
MARKER_NAME = ".idckit-synthetic.json"
_OWNER = "make_synthetic"
_ARGUMENTS = ("n_patients", "patches_per_patient", "positive_fraction", "edge_patches", "seed")
_PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, 1]
# Optical-density stain vectors (R, G, B), close to Ruifrok & Johnston (2001).
_HEMATOXYLIN = np.array([0.60, 0.74, 0.30])
_EOSIN = np.array([0.13, 0.86, 0.48])
_GRID = np.arange(PATCH_SIZE, dtype=np.float64) + 0.5


@dataclass(frozen=True)
class _Stain:
    """One patient's staining: stain vectors, concentration scale and white level."""

    hematoxylin: np.ndarray
    eosin: np.ndarray
    scale: float
    white: float


def make_synthetic(
    root: os.PathLike[str] | str,
    *,
    n_patients: int = 20,
    patches_per_patient: int = 150,
    positive_fraction: float = 0.28,
    edge_patches: int = 24,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic IDC patch tree in the layout of the real data set.

    Files are ``<root>/<patient>/<0|1>/<patient>_idx5_x<X>_y<Y>_class<C>.png`` with numeric
    patient ids and coordinates ``50 * k + 1`` as in the real data. Patches are H&E-like RGB
    textures; IDC(+) patches carry denser, larger, darker and crowded nuclei, so a small CNN
    (or even a linear model on colour statistics) learns them well above chance. Each patient
    has its own stain colours, patch count (about ``patches_per_patient``) and IDC(+) fraction
    (from none to twice ``positive_fraction``), and ``edge_patches`` patches are cropped below
    50x50 like the real slide-border patches. The output is byte-identical for the same
    arguments; the default tree (about 3,000 patches) is written in a couple of seconds.

    Parameters
    ----------
    root
        Directory to create. It must not exist or be empty, unless ``overwrite``.
    n_patients
        Number of patients (at least 2).
    patches_per_patient
        Mean number of patches per patient (at least 4).
    positive_fraction
        Overall fraction of IDC(+) patches, in [0, 0.5]; the realised fraction is within a
        few patches of it.
    edge_patches
        Number of patches smaller than 50x50 (at most the number of patches).
    seed
        Seed of the generator; the same seed gives byte-identical files.
    overwrite
        Replace ``root`` if it holds an earlier ``make_synthetic`` tree. Directories that
        ``make_synthetic`` did not write are never deleted.

    Returns
    -------
    pathlib.Path
        ``root``, ready for ``IDCPatchDataset.from_directory``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = make_synthetic(pathlib.Path(tempfile.mkdtemp()) / "idc", n_patients=3,
    ...                       patches_per_patient=10, edge_patches=1)
    >>> len(list(root.glob("*/*/*.png")))
    30
    """
    _check_arguments(n_patients, patches_per_patient, positive_fraction, edge_patches, seed)
    root = Path(root)
    _check_target(root, overwrite)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        _write_tree(
            staging, n_patients, patches_per_patient, positive_fraction, edge_patches, seed
        )
        _install(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def _check_arguments(
    n_patients: int,
    patches_per_patient: int,
    positive_fraction: float,
    edge_patches: int,
    seed: int,
) -> None:
    """Validate the generator's arguments with actionable messages."""
    for name, value, low in (
        ("n_patients", n_patients, 2),
        ("patches_per_patient", patches_per_patient, 4),
    ):
        if not _is_int(value) or value < low:
            raise invalid_argument(name, _OWNER, f"an integer >= {low}", value)
    real = isinstance(positive_fraction, numbers.Real) and not isinstance(positive_fraction, bool)
    if not real or not 0.0 <= float(positive_fraction) <= 0.5:
        raise invalid_argument(
            "positive_fraction", _OWNER, "a float in [0, 0.5]", positive_fraction
        )
    if not _is_int(seed) or seed < 0:
        raise invalid_argument("seed", _OWNER, "a non-negative integer", seed)
    if not _is_int(edge_patches) or not 0 <= edge_patches <= n_patients * patches_per_patient // 2:
        rule = "an integer between 0 and half the number of patches"
        raise invalid_argument("edge_patches", _OWNER, rule, edge_patches)


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_target(root: Path, overwrite: bool) -> None:
    """Refuse to write into a non-empty directory, or to delete one we did not write."""
    if root.exists() and not root.is_dir():
        raise invalid_argument("root", _OWNER, "a directory path", str(root), "It is a file.")
    if not root.is_dir() or not any(root.iterdir()):
        return
    if not overwrite:
        remedy = (
            "Pass overwrite=True to replace an earlier synthetic tree, or choose another path."
        )
        raise invalid_argument("root", _OWNER, "a missing or empty directory", str(root), remedy)
    if not (root / MARKER_NAME).is_file():
        rule = f"a directory written by make_synthetic (holding {MARKER_NAME})"
        remedy = "make_synthetic only replaces its own trees; remove it yourself."
        raise invalid_argument("root", _OWNER, rule, str(root), remedy)


def _install(staging: Path, root: Path) -> None:
    """Move the finished tree into place, replacing an earlier synthetic tree atomically."""
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    if not root.exists():
        os.replace(staging, root)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
    os.replace(root, trash / "tree")
    os.replace(staging, root)
    shutil.rmtree(trash, ignore_errors=True)


def _write_tree(
    root: Path,
    n_patients: int,
    patches_per_patient: int,
    positive_fraction: float,
    edge_patches: int,
    seed: int,
) -> None:
    """Generate every patient and write the PNG files plus the marker file."""
    sequence = np.random.SeedSequence(seed)
    plan_rng, *patient_seeds = (np.random.default_rng(s) for s in sequence.spawn(n_patients + 1))
    patients = _patient_ids(plan_rng, n_patients)
    counts = _patch_counts(plan_rng, n_patients, patches_per_patient)
    positives = _positive_counts(plan_rng, counts, positive_fraction)
    edges = np.zeros(int(counts.sum()), dtype=bool)
    edges[plan_rng.choice(edges.size, size=edge_patches, replace=False)] = True
    starts = np.concatenate([[0], np.cumsum(counts)])
    jobs = [
        (root, patient, rng, int(count), int(n_pos), edges[start : start + count])
        for patient, count, n_pos, rng, start in zip(
            patients, counts, positives, patient_seeds, starts[:-1], strict=True
        )
    ]
    # Patients are independent (own generator), so threads keep the output deterministic;
    # numpy and cv2.imwrite release the GIL.
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(lambda job: _write_patient(*job), jobs))
    arguments = [n_patients, patches_per_patient, float(positive_fraction), edge_patches, seed]
    marker = dict(zip(_ARGUMENTS, arguments, strict=True))
    marker.update(n_patches=int(counts.sum()), n_positive=int(positives.sum()))
    (root / MARKER_NAME).write_text(json.dumps(marker, indent=2, sort_keys=True) + "\n")


def _patient_ids(rng: np.random.Generator, n_patients: int) -> list[str]:
    """Distinct numeric patient ids in the range of the real ones (8863-16896)."""
    ids = rng.choice(np.arange(8863, 16897), size=n_patients, replace=False)
    return [str(i) for i in np.sort(ids)]


def _patch_counts(rng: np.random.Generator, n_patients: int, mean: int) -> np.ndarray:
    """Patches per patient, spread over [0.6, 1.4] x mean (mean preserved)."""
    spread = rng.permutation(np.linspace(0.6, 1.4, n_patients))
    out: np.ndarray = np.maximum(np.rint(spread * mean).astype(np.int64), 4)
    return out


def _positive_counts(
    rng: np.random.Generator, counts: np.ndarray, positive_fraction: float
) -> np.ndarray:
    """IDC(+) patches per patient: fractions from 0 to 2x the target, summing to the target."""
    weights = rng.permutation(np.linspace(0.0, 2.0, counts.size)) * counts
    target = round(positive_fraction * float(counts.sum()))
    if weights.sum() == 0 or target == 0:
        return np.zeros_like(counts)
    ideal = weights * target / weights.sum()
    result: np.ndarray = np.minimum(np.floor(ideal).astype(np.int64), counts)
    order = np.argsort(-(ideal - result), kind="stable")
    for i in order:  # largest remainders first; a handful of iterations at most
        if result.sum() >= target:
            break
        if result[i] < counts[i]:
            result[i] += 1
    return result


def _write_patient(
    root: Path, patient: str, rng: np.random.Generator, count: int, n_pos: int, edges: np.ndarray
) -> None:
    """Render one patient's patches and write them under ``root/patient/<label>/``."""
    xs, ys, labels = _layout(rng, count, n_pos)
    stain = _patient_stain(rng)
    images = _render(rng, labels, stain)
    for label in np.unique(labels):
        (root / patient / str(label)).mkdir(parents=True)
    for image, x, y, label, edge in zip(images, xs, ys, labels, edges, strict=True):
        if edge:
            image = _crop_edge(rng, image)
        name = f"{patient}_idx5_x{x}_y{y}_class{label}.png"
        path = root / patient / str(label) / name
        if not cv2.imwrite(str(path), image[:, :, ::-1], _PNG_PARAMS):
            raise OSError(f"Could not write {path}")


def _layout(rng: np.random.Generator, count: int, n_pos: int) -> tuple[np.ndarray, ...]:
    """Slide coordinates with the IDC(+) patches clustered around a tumour centre."""
    side = math.ceil(math.sqrt(count * 1.6))
    cells = rng.choice(side * side, size=count, replace=False)
    rows, cols = np.divmod(cells, side)
    centre = rng.uniform(0, side, size=2)
    distance = np.hypot(rows - centre[0], cols - centre[1]) + rng.normal(0, side * 0.15, count)
    labels = np.zeros(count, dtype=np.int64)
    labels[np.argsort(distance, kind="stable")[:n_pos]] = 1
    return cols * PATCH_SIZE + 1, rows * PATCH_SIZE + 1, labels


def _patient_stain(rng: np.random.Generator) -> _Stain:
    """Per-patient stain colours and intensity (slide-to-slide variation)."""

    def jitter(vector: np.ndarray) -> np.ndarray:
        moved = np.clip(vector + rng.normal(0, 0.06, 3), 0.02, None)
        out: np.ndarray = moved / np.linalg.norm(moved)
        return out

    return _Stain(
        hematoxylin=jitter(_HEMATOXYLIN),
        eosin=jitter(_EOSIN),
        scale=float(rng.lognormal(0.0, 0.25)),
        white=float(rng.uniform(232, 252)),
    )


def _crop_edge(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Keep the top or left part of a patch, like the real slide-border patches."""
    keep = int(rng.integers(8, PATCH_SIZE))
    return image[:keep] if rng.random() < 0.5 else image[:, :keep]


def _render(rng: np.random.Generator, labels: np.ndarray, stain: _Stain) -> np.ndarray:
    """Paint ``len(labels)`` RGB uint8 patches for one patient."""
    n = labels.size
    positive = labels == 1
    tissue = _tissue_mask(rng, positive)
    stroma = 0.55 * _smooth_noise(rng, n, (6, 6)) + 0.45 * _fibres(rng, n)
    nuclei = _nuclei(rng, positive)
    cytoplasm = np.where(positive, rng.uniform(0.10, 0.35, n), rng.uniform(0.03, 0.25, n))
    cytoplasm = cytoplasm.astype(np.float32)
    eosin = (0.35 + 0.45 * stroma) * tissue * (1.0 - 0.6 * nuclei)
    hema = cytoplasm[:, None, None] * tissue * stroma + 1.7 * nuclei
    eosin_od = (stain.scale * stain.eosin).astype(np.float32)
    hema_od = (stain.scale * stain.hematoxylin).astype(np.float32)
    density = eosin[..., None] * eosin_od + hema[..., None] * hema_od
    noise = rng.standard_normal(density.shape, dtype=np.float32) * np.float32(3.0)
    rgb = np.float32(stain.white) * np.exp(-density) + noise
    out: np.ndarray = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return out


def _upsample_matrix(cells: int) -> np.ndarray:
    """Linear interpolation from ``cells`` control points to the 50 pixel centres."""
    points = np.linspace(0.0, PATCH_SIZE, cells)
    weights = [np.interp(_GRID, points, np.eye(cells)[i]) for i in range(cells)]
    return np.stack(weights, axis=1).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, n: int, cells: tuple[int, int]) -> np.ndarray:
    """Smooth random fields in [0, 1], shape ``(n, 50, 50)``."""
    rows, cols = _upsample_matrix(cells[0]), _upsample_matrix(cells[1])
    coarse = rng.random((n, *cells), dtype=np.float32)
    field = np.einsum("yi,bij->byj", rows, coarse)
    out: np.ndarray = np.einsum("byj,xj->byx", field, cols)
    return out


def _fibres(rng: np.random.Generator, n: int) -> np.ndarray:
    """Streaky collagen texture, horizontal or vertical at random."""
    streaks = _smooth_noise(rng, n, (3, 22))
    vertical = rng.random(n) < 0.5
    streaks[vertical] = streaks[vertical].transpose(0, 2, 1)
    return streaks


def _tissue_mask(rng: np.random.Generator, positive: np.ndarray) -> np.ndarray:
    """1 on tissue, 0 on white fat/lumen; IDC(-) patches hold more white space."""
    n = positive.size
    white_share = np.where(positive, rng.uniform(0.0, 0.35, n), rng.uniform(0.0, 0.6, n))
    field = _smooth_noise(rng, n, (5, 5))
    ranked = np.sort(field.reshape(n, -1), axis=1)
    position = np.minimum((white_share * ranked.shape[1]).astype(np.int64), ranked.shape[1] - 1)
    threshold = ranked[np.arange(n), position]
    out: np.ndarray = 1.0 / (1.0 + np.exp(-(field - threshold[:, None, None]) * 40.0))
    return out


def _nuclei(rng: np.random.Generator, positive: np.ndarray) -> np.ndarray:
    """Nuclear hematoxylin in [0, 1]: blobs whose number, size and clustering follow the label."""
    n = positive.size
    lymphocytes = ~positive & (rng.random(n) < 0.25)
    mean_count = np.where(positive, rng.uniform(8, 34, n), rng.uniform(2, 18, n))
    mean_count[lymphocytes] = rng.uniform(12, 34, int(lymphocytes.sum()))
    counts = rng.poisson(mean_count)
    k = max(int(counts.max()), 1)
    active = np.arange(k)[None, :] < counts[:, None]
    centres = _nucleus_centres(rng, positive | lymphocytes, k)
    sizes = _nucleus_sizes(rng, positive, lymphocytes, k)
    strength = np.where(positive, rng.uniform(2.0, 3.5, n), rng.uniform(1.8, 3.2, n))
    amplitude = (active * strength[:, None]).astype(np.float32)
    grid = _GRID.astype(np.float32)[None, None, :]
    offsets = ((grid - centres[..., :, None]) / sizes[..., :, None]).astype(np.float32)
    gy, gx = (
        np.exp(np.float32(-0.5) * offsets[..., 0, :] ** 2),
        np.exp(np.float32(-0.5) * offsets[..., 1, :] ** 2),
    )
    total = np.einsum("bky,bkx->byx", gy * amplitude[..., None], gx)
    out: np.ndarray = 1.0 - np.exp(-total)
    return out


def _nucleus_centres(rng: np.random.Generator, clustered: np.ndarray, k: int) -> np.ndarray:
    """``(n, k, 2)`` centres: uniform, or around 1-3 nests for crowded patches."""
    n = clustered.size
    uniform = rng.uniform(0, PATCH_SIZE, (n, k, 2))
    nests = rng.uniform(8, PATCH_SIZE - 8, (n, 3, 2))
    which = rng.integers(0, rng.integers(1, 4, n)[:, None], (n, k))
    spread = rng.uniform(6, 13, n)[:, None, None]
    nested = np.take_along_axis(nests, which[..., None], axis=1)
    nested = nested + rng.normal(0, 1, (n, k, 2)) * spread
    return np.where(clustered[:, None, None], nested, uniform)


def _nucleus_sizes(
    rng: np.random.Generator, positive: np.ndarray, lymphocytes: np.ndarray, k: int
) -> np.ndarray:
    """``(n, k, 2)`` blob radii (y, x): large round tumour nuclei, thin stromal ones."""
    n = positive.size
    tumour = rng.uniform(1.5, 2.6, (n, k, 1)) * rng.uniform(0.8, 1.25, (n, k, 2))
    stromal = np.concatenate(
        [rng.uniform(0.7, 1.2, (n, k, 1)), rng.uniform(1.8, 3.2, (n, k, 1))], axis=2
    )
    flip = rng.random((n, k, 1)) < 0.5
    stromal = np.where(flip, stromal[..., ::-1], stromal)
    small_round = rng.uniform(1.0, 1.4, (n, k, 1)) * np.ones((1, 1, 2))
    sizes = np.where(positive[:, None, None], tumour, stromal)
    return np.where(lymphocytes[:, None, None], small_round, sizes)
