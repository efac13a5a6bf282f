"""Stain normalisation: Macenko and Reinhard, as scikit-learn-style ``fit``/``transform``.

NumPy (and OpenCV for CIELAB) only. ``fit`` learns a reference from some patches; ``transform``
maps other patches onto it, one estimate per group of patches (a patient, say) or per patch.
A unit (group or patch) with fewer than :data:`MIN_TISSUE_PIXELS` tissue pixels, or whose
stains cannot be told apart, is returned unchanged: background stays background.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from typing_extensions import Self

from idckit._errors import invalid_argument
from idckit.data._augment import _OD_OF_UINT8

#: A unit with fewer tissue pixels than this is left unchanged (and ``fit`` refuses it).
MIN_TISSUE_PIXELS = 32
# At most this many tissue pixels (drawn with _SEED) estimate one unit's statistics.
_MAX_PIXELS = 100_000
_SEED = 0
# Two estimated stains closer than this angle (degrees) cannot be unmixed.
_MIN_ANGLE = 3.0
# A stain whose maximum concentration is below this cannot be rescaled.
_MIN_CONCENTRATION = 1e-3
# Images per vectorised chunk.
_CHUNK = 256

Floats = npt.NDArray[np.float64]
Images = npt.NDArray[np.uint8]


class NotFittedError(ValueError, AttributeError):
    """A normaliser's ``transform`` was called before ``fit`` (as scikit-learn's error).

    Examples
    --------
    >>> try:
    ...     MacenkoNormalizer().transform(np.zeros((1, 4, 4, 3), np.uint8))
    ... except NotFittedError as error:
    ...     print(str(error).split(":")[0])
    MacenkoNormalizer is not fitted
    """


def rgb_to_od(images: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Optical density ``-log((v + 1) / 256)`` of RGB values ``v`` in [0, 255].

    The convention of :class:`~idckit.data.Augmentation`'s stain jitter, so that augmentation
    and normalisation agree. :func:`od_to_rgb` inverts it.

    Parameters
    ----------
    images
        Any array of ``uint8`` values, or of numbers in [0, 255].

    Returns
    -------
    numpy.ndarray
        ``float32`` of the same shape, in [0, log(256)].

    Examples
    --------
    >>> od = rgb_to_od(np.array([255, 127, 0], np.uint8))
    >>> od.dtype, bool(od[0] == 0), round(float(od[2]), 3)
    (dtype('float32'), True, 5.545)
    >>> od_to_rgb(rgb_to_od(np.arange(256, dtype=np.uint8))).tolist() == list(range(256))
    True
    """
    array = np.asarray(images)
    if array.dtype == np.uint8:
        return np.take(_OD_OF_UINT8, array)
    _check_values(array, "rgb_to_od")
    return (-np.log((array.astype(np.float64) + 1.0) / 256.0)).astype(np.float32)


def od_to_rgb(od: npt.ArrayLike) -> Images:
    """RGB ``256 exp(-od) - 1``, rounded and clipped to ``uint8`` (the inverse of rgb_to_od).

    Parameters
    ----------
    od
        Optical densities, any shape.

    Returns
    -------
    numpy.ndarray
        ``uint8`` values of the same shape.

    Examples
    --------
    >>> od_to_rgb(np.array([0.0, 10.0, -1.0])).tolist()
    [255, 0, 255]
    """
    rgb = np.exp(-np.asarray(od, dtype=np.float64)) * 256.0 - 1.0
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _check_values(array: npt.NDArray[Any], owner: str, name: str = "images") -> None:
    """Raise the standard error unless ``array`` holds real numbers in [0, 255]."""
    if array.dtype.kind not in "uif":
        shown = f"array of dtype {array.dtype}"
        raise invalid_argument(name, owner, "uint8 RGB or numbers in [0, 255]", shown)
    if array.size and not 0 <= array.min() <= array.max() <= 255:  # NaN fails too
        shown = f"values from {array.min()} to {array.max()}"
        raise invalid_argument(name, owner, "uint8 RGB or numbers in [0, 255]", shown)


def _as_batch(images: npt.ArrayLike, owner: str) -> tuple[Images, bool]:
    """``images`` as a ``uint8`` batch ``(N, H, W, 3)`` (floats rounded), and whether it was one.

    Raises the standard error for another shape or values outside [0, 255].
    """
    array = np.asarray(images)
    single = array.ndim == 3
    if array.ndim not in (3, 4) or array.shape[-1] != 3 or 0 in array.shape[-3:-1]:
        rule = "RGB images (N, H, W, 3) or one image (H, W, 3)"
        raise invalid_argument("images", owner, rule, f"array of shape {array.shape}")
    _check_values(array, owner)
    batch = array[None] if single else array
    if batch.dtype != np.uint8:
        batch = np.rint(batch).astype(np.uint8)
    return np.ascontiguousarray(batch), single


def _units(groups: Any, n: int, owner: str) -> list[npt.NDArray[np.intp]]:
    """Return each group's image indices, groups in sorted order (one per image for None)."""
    if groups is None:
        return list(np.arange(n)[:, None])
    labels = np.asarray(groups)
    if labels.ndim != 1 or len(labels) != n:
        rule = f"one label per image: a 1-D array of length {n}"
        raise invalid_argument("groups", owner, rule, f"array of shape {labels.shape}")
    _, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1)


def _tissue(pixels: Images, beta: float) -> npt.NDArray[np.bool_]:
    """Pixels ``(..., 3)`` whose optical density is at least ``beta`` in every channel."""
    top = math.floor(256.0 * math.exp(-beta) - 1.0 + 1e-9)  # OD >= beta <=> v <= top
    planes = [pixels[..., c] <= top for c in range(3)]
    return planes[0] & planes[1] & planes[2]


def _sample(pixels: Images, beta: float) -> tuple[Images, npt.NDArray[np.bool_]]:
    """Return a unit's pixels ``(P, 3)`` as a stack ``(1, p, 3)`` of <= _MAX_PIXELS tissue ones."""
    tissue = pixels[_tissue(pixels, beta)]
    if len(tissue) > _MAX_PIXELS:
        keep = np.random.default_rng(_SEED).choice(len(tissue), _MAX_PIXELS, replace=False)
        tissue = tissue[np.sort(keep)]
    return tissue[None], np.ones((1, len(tissue)), bool)


def _masked_percentile(values: Floats, mask: npt.NDArray[np.bool_], q: float) -> Floats:
    """Percentile ``q`` (linear, as ``np.percentile``) of each row's masked values (last axis).

    Only the order statistics up to the percentile are sorted, after a partition, so the
    extreme percentiles the methods use cost about one pass. Rows without a value give 0.
    """
    top = q > 50  # then count from the top: sort the largest values, descending
    share = (100.0 - q if top else q) / 100.0
    size, n = values.shape[-1], np.broadcast_to(mask, values.shape).sum(axis=-1)
    k = min(size - 1, math.ceil(share * (size - 1)) + 1)
    filled = np.where(mask, values, -np.inf if top else np.inf)
    if top:
        ends = np.partition(filled, size - 1 - k, axis=-1)[..., size - 1 - k :]
        ends = -np.sort(-ends, axis=-1)
    else:
        ends = np.sort(np.partition(filled, k, axis=-1)[..., : k + 1], axis=-1)
    position = share * np.maximum(n - 1, 0)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, np.maximum(n - 1, 0))
    a, b = (np.take_along_axis(ends, i[..., None], -1)[..., 0] for i in (low, high))
    a, b = np.where(n > 0, a, 0.0), np.where(n > 0, b, 0.0)  # not the fill's infinities
    return np.where(high > low, a + (b - a) * (position - low), a)


def _stack_stats(
    planes: Floats, mask: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], Floats, Floats]:
    """Each row's masked pixel count ``(G,)``, mean ``(G, 3)`` and covariance ``(G, 3, 3)``.

    ``planes`` holds the channels as rows ``(G, 3, P)`` (NumPy is slow on a last axis of 3).
    """
    count = mask.sum(axis=1)
    safe = np.maximum(count, 1)[:, None]
    masked = planes * mask[:, None, :]
    mean = masked.sum(axis=2) / safe
    moments = masked @ masked.transpose(0, 2, 1) / safe[:, :, None]
    return count, mean, moments - mean[:, :, None] * mean[:, None, :]


def _planes(stack: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Return a stack ``(G, P, 3)`` as channel planes ``(G, 3, P)``."""
    return np.ascontiguousarray(stack.transpose(0, 2, 1))


# Optical density of every uint8 value, in float64 for the statistics.
_OD64 = -np.log((np.arange(256) + 1.0) / 256.0)


def _macenko_stack(
    stack: Images, mask: npt.NDArray[np.bool_], alpha: float, percentile: float
) -> tuple[Floats, Floats, npt.NDArray[np.bool_]]:
    """Each row's stain matrix ``(G, 2, 3)``, maximum concentrations ``(G, 2)`` and validity.

    Macenko et al. (2009): the plane of the two largest principal axes of the tissue pixels'
    optical densities; the stains are the directions at the ``alpha`` and ``100 - alpha``
    percentiles of the pixels' angles in that plane, haematoxylin first (the larger red OD,
    as staintools and torchstain order them); concentrations by least squares.
    """
    od = np.take(_OD64, _planes(stack))
    count, _, cov = _stack_stats(od, mask)
    plane = np.linalg.eigh(cov)[1][:, :, [2, 1]]  # (G, 3, 2): the two largest axes
    # Eigenvectors have no sign: the principal axis points into the positive OD octant (else
    # the angles wrap around +-pi), the second one towards its largest component.
    rows = np.arange(len(plane))
    plane[:, :, 0] *= np.where(plane[:, :, 0].sum(axis=1) < 0, -1.0, 1.0)[:, None]
    peak = plane[rows, np.abs(plane[:, :, 1]).argmax(axis=1), 1]
    plane[:, :, 1] *= np.where(peak < 0, -1.0, 1.0)[:, None]
    projected = plane.transpose(0, 2, 1) @ od
    angle = np.arctan2(projected[:, 1], projected[:, 0])
    ends = [_masked_percentile(angle, mask, q) for q in (alpha, 100.0 - alpha)]
    v1, v2 = (np.einsum("gij,gj->gi", plane, np.stack([np.cos(a), np.sin(a)], -1)) for a in ends)
    h_first = (v1[:, 0] >= v2[:, 0])[:, None]
    stains = np.stack([np.where(h_first, v1, v2), np.where(h_first, v2, v1)], axis=1)
    stains /= np.maximum(np.linalg.norm(stains, axis=2, keepdims=True), 1e-12)
    concentrations = np.linalg.pinv(stains).transpose(0, 2, 1) @ od  # (G, 2, P)
    top = _masked_percentile(concentrations, mask[:, None, :], percentile)
    cosine = np.abs((stains[:, 0] * stains[:, 1]).sum(axis=1))
    ok = (count >= MIN_TISSUE_PIXELS) & (cosine <= math.cos(math.radians(_MIN_ANGLE)))
    ok &= (top > _MIN_CONCENTRATION).all(axis=1) & np.isfinite(stains).all(axis=(1, 2))
    return stains, top, ok


def _lab(stack: Images) -> Floats:
    """CIELAB of ``uint8`` RGB ``(G, P, 3)`` as OpenCV scales it for ``uint8`` (0-255)."""
    import cv2

    return np.asarray(cv2.cvtColor(stack, cv2.COLOR_RGB2LAB), dtype=np.float64)


def _reinhard_stack(
    stack: Images, mask: npt.NDArray[np.bool_]
) -> tuple[Floats, Floats, npt.NDArray[np.bool_]]:
    """Each row's LAB mean ``(G, 3)``, standard deviation ``(G, 3)`` and validity."""
    count, mean, cov = _stack_stats(_planes(_lab(stack)), mask)
    std = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0.0))
    return mean, std, count >= MIN_TISSUE_PIXELS


class _Normalizer:
    """What both normalisers share: validation, grouping, fitting, serialising."""

    _method: str
    _fitted: ClassVar[dict[str, tuple[int, ...]]]  # fitted attribute -> shape

    def get_params(self, deep: bool = True) -> dict[str, float]:
        """Return the constructor's arguments (``deep`` as scikit-learn's; nothing is nested)."""
        return dict(self._params)

    @property
    def is_fitted(self) -> bool:
        """True once :meth:`fit` (or :func:`normalizer_from_dict`) has set the reference."""
        return all(hasattr(self, name) for name in self._fitted)

    def fit(self, images: npt.ArrayLike) -> Self:
        """Learn the reference from ``images`` ``(N, H, W, 3)`` (their tissue pixels pooled).

        Returns ``self``. Raises ``ValueError`` when the images hold fewer than
        :data:`MIN_TISSUE_PIXELS` tissue pixels, or (Macenko) a single stain.
        """
        owner = f"{type(self).__name__}.fit"
        batch, _ = _as_batch(images, owner)
        stack, mask = _sample(batch.reshape(-1, 3), self._params["beta"])
        if stack.shape[1] < MIN_TISSUE_PIXELS:
            rule = f"images with at least {MIN_TISSUE_PIXELS} tissue pixels (OD >= beta in RGB)"
            shown = f"{len(batch)} image(s) with {stack.shape[1]} tissue pixels"
            raise invalid_argument("images", owner, rule, shown, "Fit on patches of tissue.")
        for name, value in zip(self._fitted, self._estimate(stack, mask, owner), strict=True):
            setattr(self, name, value[0])
        return self

    def transform(self, images: npt.ArrayLike, groups: npt.ArrayLike | None = None) -> Images:
        """Normalise ``images`` ``(N, H, W, 3)`` (or one ``(H, W, 3)``) to the reference.

        Parameters
        ----------
        images
            ``uint8`` RGB, or numbers in [0, 255] (rounded first).
        groups
            One label per image (patient ids, say): each group's statistics are estimated from
            its pooled tissue pixels. None: each image on its own.

        Returns
        -------
        numpy.ndarray
            ``uint8`` of the shape of ``images``.
        """
        owner = f"{type(self).__name__}.transform"
        if not self.is_fitted:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted: call fit(reference_images) first."
            )
        batch, single = _as_batch(images, owner)
        out = self._apply(batch, self._maps(batch, groups, owner))
        result: Images = out[0] if single else out
        return result

    def fit_transform(self, images: npt.ArrayLike, groups: npt.ArrayLike | None = None) -> Images:
        """``fit(images)``, then ``transform(images, groups)``."""
        return self.fit(images).transform(images, groups)

    def _maps(self, batch: Images, groups: Any, owner: str) -> Floats:
        """Each image's colour map (its unit's), the identity for a unit left unchanged."""
        n, pixels = len(batch), batch.shape[1] * batch.shape[2]
        if groups is None and pixels <= _MAX_PIXELS:  # vectorised, one image per row
            flat = batch.reshape(n, pixels, 3)
            parts = [flat[i : i + _CHUNK] for i in range(0, n, _CHUNK)]
            return np.concatenate([self._unit_maps(p, _tissue(p, self._beta)) for p in parts])
        maps = np.empty((n, *self._identity.shape))
        for index in _units(groups, n, owner):
            stack, mask = _sample(batch[index].reshape(-1, 3), self._beta)
            enough = stack.shape[1] >= MIN_TISSUE_PIXELS
            maps[index] = self._unit_maps(stack, mask)[0] if enough else self._identity
        return maps

    @property
    def _beta(self) -> float:
        return self._params["beta"]

    def to_dict(self) -> dict[str, Any]:
        """Return the method, parameters and fitted reference as a JSON-ready dict.

        :func:`normalizer_from_dict` rebuilds the normaliser from it.
        """
        fitted = {k: getattr(self, k).tolist() for k in self._fitted} if self.is_fitted else None
        return {"method": self._method, "params": self.get_params(), "fitted": fitted}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self) or not isinstance(other, _Normalizer):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({params})"

    # Set by the subclasses.
    _params: dict[str, float]
    _identity: Floats

    def _estimate(self, stack: Images, mask: npt.NDArray[np.bool_], owner: str) -> list[Floats]:
        raise NotImplementedError  # pragma: no cover

    def _unit_maps(self, stack: Images, mask: npt.NDArray[np.bool_]) -> Floats:
        raise NotImplementedError  # pragma: no cover

    def _apply(self, batch: Images, maps: Floats) -> Images:
        raise NotImplementedError  # pragma: no cover


def _check_number(
    name: str, owner: str, value: Any, low: float, high: float, closed: bool = False
) -> float:
    """``value`` as a float, or the standard error unless it is a real number in the range."""
    real = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
    if not (real and math.isfinite(value) and low <= value <= high and (closed or value < high)):
        rule = f"a number in [{low:g}, {high:g}{']' if closed else ')'}"
        raise invalid_argument(name, owner, rule, value)
    return float(value)


class MacenkoNormalizer(_Normalizer):
    """Stain normalisation by Macenko et al. (2009), as a ``fit``/``transform`` object.

    ``fit`` estimates the reference's haematoxylin and eosin optical-density vectors (unit
    rows, H first) and each stain's ``max_percentile``-th percentile concentration from the
    tissue pixels (optical density at least ``beta`` in every channel) of the reference
    images, pooled (at most 100,000 of them, drawn with a fixed seed). ``transform`` does the
    same per group (or image), unmixes every pixel by least squares, rescales each stain's
    concentrations to the reference's and mixes them with the reference's stains. A unit with
    fewer than :data:`MIN_TISSUE_PIXELS` tissue pixels, two stains less than 3 degrees apart
    or a stain without concentration (one colour, say) is left unchanged.

    Parameters
    ----------
    alpha
        Percentile of the angles (in the plane of the two main axes) at which the stains lie:
        ``alpha`` and ``100 - alpha``, in [0, 50).
    beta
        Optical density below which a channel counts as background, in [0, 5).
    max_percentile
        Percentile of each stain's concentrations used as its maximum, in [50, 100].

    Attributes
    ----------
    stain_matrix_
        The reference stains ``(2, 3)``: unit OD rows, haematoxylin then eosin.
    max_concentrations_
        The reference's maximum concentrations ``(2,)``.

    References
    ----------
    M. Macenko et al., "A method for normalizing histology slides for quantitative
    analysis", IEEE ISBI 2009, pp. 1107-1110, doi:10.1109/ISBI.2009.5193250.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> stains = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11]])
    >>> stains /= np.linalg.norm(stains, axis=1, keepdims=True)
    >>> def stained(scale):  # Beer-Lambert: OD = concentrations @ stains
    ...     mix = rng.uniform(0, 1, (2, 50, 50, 1))
    ...     amount = rng.uniform(0.5, 3.0, (2, 50, 50, 1)) * scale
    ...     return od_to_rgb(np.concatenate([mix, 1 - mix], axis=-1) * amount @ stains)
    >>> normalizer = MacenkoNormalizer().fit(stained(1.0))
    >>> angles = np.degrees(np.arccos((normalizer.stain_matrix_ * stains).sum(axis=1)))
    >>> bool(angles.max() < 2)  # H and E recovered, in that order
    True
    >>> out = normalizer.transform(stained(0.5), groups=["a", "b"])
    >>> out.dtype, out.shape
    (dtype('uint8'), (2, 50, 50, 3))
    """

    _method = "macenko"
    _fitted: ClassVar = {"stain_matrix_": (2, 3), "max_concentrations_": (2,)}
    _identity = np.eye(3)

    def __init__(self, alpha: float = 1.0, beta: float = 0.15, max_percentile: float = 99.0):
        owner = "MacenkoNormalizer"
        self._params = {
            "alpha": _check_number("alpha", owner, alpha, 0.0, 50.0),
            "beta": _check_number("beta", owner, beta, 0.0, 5.0),
            "max_percentile": _check_number(
                "max_percentile", owner, max_percentile, 50, 100, True
            ),
        }

    def _stack(
        self, stack: Images, mask: npt.NDArray[np.bool_]
    ) -> tuple[Floats, Floats, npt.NDArray[np.bool_]]:
        return _macenko_stack(stack, mask, self._params["alpha"], self._params["max_percentile"])

    def _estimate(self, stack: Images, mask: npt.NDArray[np.bool_], owner: str) -> list[Floats]:
        stains, top, ok = self._stack(stack, mask)
        if not ok[0]:
            rule = "images that show two distinct stains (haematoxylin and eosin)"
            shown = f"stains {stains[0].round(3).tolist()}"
            raise invalid_argument("images", owner, rule, shown, "Fit on stained tissue.")
        return [stains, top]

    def _unit_maps(self, stack: Images, mask: npt.NDArray[np.bool_]) -> Floats:
        """Per row the 3x3 OD map: unmix, rescale to the reference's maxima, remix."""
        stains, top, ok = self._stack(stack, mask)
        scale = self.max_concentrations_ / np.where(ok[:, None], top, 1.0)
        maps: Floats = np.linalg.pinv(stains) @ (scale[:, :, None] * self.stain_matrix_)
        maps[~ok] = self._identity
        return maps

    def _apply(self, batch: Images, maps: Floats) -> Images:
        """Every image's OD times its map, back to RGB (float32, in chunks of channel planes)."""
        n = len(batch)
        flat, out = batch.reshape(n, -1, 3), np.empty_like(batch)
        for start in range(0, n, _CHUNK):
            chunk = slice(start, start + _CHUNK)
            planes = np.take(_OD_OF_UINT8, np.ascontiguousarray(flat[chunk].transpose(0, 2, 1)))
            rgb = np.matmul(maps[chunk].transpose(0, 2, 1).astype(np.float32), planes)
            np.exp(np.negative(rgb, out=rgb), out=rgb)  # 256 exp(-od) - 1, in place
            rgb *= 256.0
            rgb -= 1.0
            np.clip(np.rint(rgb, out=rgb), 0.0, 255.0, out=rgb)
            out.reshape(n, -1, 3)[chunk] = rgb.astype(np.uint8).transpose(0, 2, 1)
        return out

    stain_matrix_: Floats
    max_concentrations_: Floats


class ReinhardNormalizer(_Normalizer):
    """Colour transfer by Reinhard et al. (2001): match each channel's CIELAB mean and std.

    ``fit`` stores the mean and standard deviation of each CIELAB channel (OpenCV's ``uint8``
    scaling) over the reference's tissue pixels (optical density at least ``beta`` in every
    channel; ``beta=0`` takes every pixel, as the original method); ``transform`` maps each
    group's (or image's) channels affinely onto them. With ``groups=None`` it standardises
    each patch, with patient ids each patient. A unit with fewer than
    :data:`MIN_TISSUE_PIXELS` tissue pixels is left unchanged; a channel without spread is
    only shifted. Reinhard et al. used Ruderman's l-alpha-beta space; CIELAB is the usual
    substitute.

    Parameters
    ----------
    beta
        Optical density below which a channel counts as background, in [0, 5).

    Attributes
    ----------
    mean_, std_
        The reference's CIELAB means and standard deviations ``(3,)``.

    References
    ----------
    E. Reinhard, M. Adhikhmin, B. Gooch and P. Shirley, "Color transfer between images",
    IEEE Computer Graphics and Applications 21(5), 2001, pp. 34-41, doi:10.1109/38.946629.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.integers(80, 200, (4, 50, 50, 3), dtype=np.uint8)
    >>> normalizer = ReinhardNormalizer().fit(reference)
    >>> source = reference // 2 + 60
    >>> out = normalizer.transform(source)
    >>> bool(abs(out.mean() - reference.mean()) < abs(source.mean() - reference.mean()))
    True
    """

    _method = "reinhard"
    _fitted: ClassVar = {"mean_": (3,), "std_": (3,)}
    _identity = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])

    def __init__(self, beta: float = 0.15):
        self._params = {"beta": _check_number("beta", "ReinhardNormalizer", beta, 0.0, 5.0)}

    def _estimate(self, stack: Images, mask: npt.NDArray[np.bool_], owner: str) -> list[Floats]:
        mean, std, _ = _reinhard_stack(stack, mask)
        return [mean, std]

    def _unit_maps(self, stack: Images, mask: npt.NDArray[np.bool_]) -> Floats:
        """Per row the LAB scale and offset (rows ``(G, 2, 3)``)."""
        mean, std, ok = _reinhard_stack(stack, mask)
        scale = np.where(std > 1e-6, self.std_ / np.maximum(std, 1e-6), 1.0)
        maps = np.stack([scale, self.mean_ - mean * scale], axis=1)
        maps[~ok] = self._identity
        return maps

    def _apply(self, batch: Images, maps: Floats) -> Images:
        """Scale and shift every image's LAB by its map (where it is not the identity)."""
        import cv2

        n = len(batch)
        flat, out = batch.reshape(n, -1, 3), np.array(batch, dtype=np.uint8)
        changed = np.flatnonzero((maps != self._identity).any(axis=(1, 2)))
        for start in range(0, len(changed), _CHUNK):
            index = changed[start : start + _CHUNK]
            lab = cv2.cvtColor(np.ascontiguousarray(flat[index]), cv2.COLOR_RGB2LAB)
            m = maps[index].astype(np.float32)
            moved = np.clip(np.rint(lab * m[:, :1] + m[:, 1:]), 0, 255).astype(np.uint8)
            out.reshape(n, -1, 3)[index] = cv2.cvtColor(moved, cv2.COLOR_LAB2RGB)
        return out

    mean_: Floats
    std_: Floats


_CLASSES: dict[str, type[_Normalizer]] = {
    "macenko": MacenkoNormalizer,
    "reinhard": ReinhardNormalizer,
}


def normalizer_from_dict(data: dict[str, Any]) -> MacenkoNormalizer | ReinhardNormalizer:
    """Rebuild a normaliser from :meth:`MacenkoNormalizer.to_dict` / ``ReinhardNormalizer``'s.

    Parameters
    ----------
    data
        What ``to_dict()`` returned (after a JSON round trip too).

    Returns
    -------
    MacenkoNormalizer or ReinhardNormalizer
        The normaliser, fitted when ``data`` holds fitted statistics.

    Examples
    --------
    >>> import json
    >>> normalizer = ReinhardNormalizer().fit(np.full((1, 8, 8, 3), 120, np.uint8))
    >>> normalizer_from_dict(json.loads(json.dumps(normalizer.to_dict()))) == normalizer
    True
    """
    owner = "normalizer_from_dict"
    ok = isinstance(data, dict) and data.get("method") in _CLASSES and "params" in data
    if not ok:
        rule = "a dict from to_dict() with 'method' 'macenko' or 'reinhard' and 'params'"
        raise invalid_argument("data", owner, rule, data)
    normalizer: Any = _CLASSES[data["method"]](**data["params"])
    fitted = data.get("fitted") or {}
    for name, shape in normalizer._fitted.items() if fitted else ():
        value = np.asarray(fitted.get(name), dtype=np.float64)
        if value.shape != shape or not np.isfinite(value).all():
            rule = f"fitted[{name!r}]: finite numbers of shape {shape}"
            raise invalid_argument("data", owner, rule, fitted.get(name))
        setattr(normalizer, name, value)
    result: MacenkoNormalizer | ReinhardNormalizer = normalizer
    return result
