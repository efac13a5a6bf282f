"""Augmentation: random dihedral transforms and colour/stain jitter of uint8 batches.

NumPy only (no Keras): :class:`~idckit.data._feed.PatchFeed` applies it to every training
batch, and ``KFoldTrainer`` records it in ``config.json`` through :meth:`Augmentation.describe`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument

#: Stain vectors (rows: haematoxylin, eosin, DAB) in optical density, from Ruifrok & Johnston
#: (2001), "Quantification of histochemical staining by color deconvolution"; as in skimage.
RGB_FROM_HED = np.array(
    [[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], dtype=np.float64
)
RGB_FROM_HED /= np.linalg.norm(RGB_FROM_HED, axis=1, keepdims=True)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED)

# Optical density -log((v + 1) / 256) of every uint8 value v, looked up instead of a log.
_OD_OF_UINT8 = (-np.log((np.arange(256) + 1.0) / 256.0)).astype(np.float32)

# Each field: the largest value allowed, and whether it is excluded.
_LIMITS = {
    "hed": (1.0, True),
    "hed_shift": (1.0, False),
    "brightness": (255.0, False),
    "contrast": (1.0, True),
    "saturation": (1.0, False),
}


#: The fields that are each a step's strength (0: the step is off).
_STRENGTHS = ("hed", "brightness", "contrast", "saturation")


def augment_batch(
    images: npt.NDArray[np.uint8], rng: np.random.Generator
) -> npt.NDArray[np.uint8]:
    """Apply one random symmetry of the square (flips and 90-degree rotations) per patch.

    Vectorised: each pixel is viewed as one opaque item (so the copies move whole pixels),
    and the batch is split into the 8 groups of patches that share a transform.

    Parameters
    ----------
    images
        A batch, ``(B, H, W, C)`` with ``H == W``.
    rng
        The random generator that draws the transforms.

    Returns
    -------
    numpy.ndarray
        A new batch; every patch holds the same pixels as before, moved.

    Examples
    --------
    >>> batch = np.arange(2 * 2 * 2 * 1, dtype=np.uint8).reshape(2, 2, 2, 1)
    >>> out = augment_batch(batch, np.random.default_rng(0))
    >>> sorted(out[0].ravel().tolist()) == sorted(batch[0].ravel().tolist())
    True
    """
    batch = np.ascontiguousarray(images)
    kind = rng.integers(0, 8, size=len(batch))
    if batch.dtype == np.uint8 and batch.ndim == 4 and batch.shape[-1] in (1, 3, 4):
        return _dihedral_opencv(batch, kind)
    pixel = np.dtype((np.void, batch.shape[-1] * batch.itemsize))
    items = batch.view(pixel).reshape(batch.shape[:-1])
    out = np.empty_like(items)
    for k in range(8):  # bit 2: transpose, bit 0: flip rows, bit 1: flip columns
        sel = np.flatnonzero(kind == k)
        if sel.size:
            group = items[sel]
            group = group.transpose(0, 2, 1) if k & 4 else group
            group = group[:, ::-1] if k & 1 else group
            out[sel] = group[:, :, ::-1] if k & 2 else group
    return out.view(batch.dtype).reshape(batch.shape)


# cv2.flip codes: 0 flips the rows (upside down), 1 the columns (left-right), -1 both.
_FLIP_CODE = {1: 0, 2: 1, 3: -1}


def _dihedral_opencv(
    batch: npt.NDArray[np.uint8], kind: npt.NDArray[np.integer[Any]]
) -> npt.NDArray[np.uint8]:
    """:func:`augment_batch`'s transforms, one OpenCV call per patch (several times faster)."""
    import cv2

    out = np.empty_like(batch)
    for image, target, k in zip(batch, out, kind.tolist(), strict=True):
        source = cv2.transpose(image) if k & 4 else image
        flipped = cv2.flip(source, _FLIP_CODE[k & 3]) if k & 3 else source
        target[...] = flipped.reshape(target.shape)  # cv2 drops a channel axis of 1
    return out


def hed_jitter(
    images: npt.NDArray[np.uint8],
    rng: np.random.Generator,
    strength: float,
    shift: float | None = None,
) -> npt.NDArray[np.float32]:
    """Jitter each patch's haematoxylin, eosin and DAB concentrations (Tellez et al., 2018).

    RGB is turned into optical density ``-log((v + 1) / 256)``, unmixed into the three stains
    with the Ruifrok-Johnston matrix; each stain of each patch is multiplied by
    ``U(1 - s, 1 + s)`` and shifted by ``U(-t, t)``; then mixed back to RGB.

    Parameters
    ----------
    images
        A ``uint8`` batch ``(B, H, W, 3)``.
    rng
        Draws ``B x 3`` factors, then ``B x 3`` shifts.
    strength
        ``s`` above, in [0, 1).
    shift
        ``t`` above, in optical-density units; None: ``s / 5``.

    Returns
    -------
    numpy.ndarray
        The jittered batch as ``float32`` in [0, 255] (not rounded).

    Examples
    --------
    >>> grey = np.full((1, 2, 2, 3), 128, np.uint8)
    >>> float(abs(hed_jitter(grey, np.random.default_rng(0), 0.0) - 128).max()) < 1e-3
    True
    """
    jittered = _hed_planes(_to_planes(images), rng, strength, shift)
    out: npt.NDArray[np.float32] = jittered.transpose(0, 2, 1).reshape(images.shape)
    return out


def _to_planes(images: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``(B, H, W, C)`` as contiguous channel planes ``(B, C, H * W)``.

    NumPy is slow on a last axis of length 3 (reductions and broadcasts over it); on planes
    every per-patch operation runs over ``H * W`` contiguous values.
    """
    n, channels = len(images), images.shape[-1]
    return np.ascontiguousarray(images.reshape(n, -1, channels).transpose(0, 2, 1))


def _hed_planes(
    planes: npt.NDArray[np.uint8],
    rng: np.random.Generator,
    strength: float,
    shift_bound: float | None = None,
) -> npt.NDArray[np.float32]:
    """:func:`hed_jitter` on channel planes ``(B, 3, P)``; returns ``float32`` planes."""
    n = len(planes)
    scale = rng.uniform(1 - strength, 1 + strength, (n, 3))
    if shift_bound is None:  # the default: a fifth of the strength, drawn as before
        shift = rng.uniform(-strength, strength, (n, 1, 3)) * 0.2
    else:
        shift = rng.uniform(-shift_bound, shift_bound, (n, 1, 3))
    # Per patch, OD -> HED -> scale -> OD is one 3x3 matrix, and the shift one OD offset.
    mix = (HED_FROM_RGB[None] * scale[:, None, :]) @ RGB_FROM_HED
    offset = shift @ RGB_FROM_HED
    od: npt.NDArray[np.float32] = np.take(_OD_OF_UINT8, planes)
    od = np.matmul(mix.transpose(0, 2, 1).astype(np.float32), od)
    od += offset.transpose(0, 2, 1).astype(np.float32)
    np.negative(od, out=od)
    np.exp(od, out=od)
    od *= 256.0
    od -= 1.0
    np.clip(od, 0.0, 255.0, out=od)
    return od


@dataclass(frozen=True)
class Augmentation:
    """Random training augmentation of uint8 patches, for :meth:`IDCPatchDataset.to_keras`.

    Applied per patch, in this order: a random symmetry of the square, HED stain jitter,
    saturation, contrast, brightness; the result is rounded and clipped to ``uint8``. A step
    whose strength is 0 is skipped (and draws nothing), so ``Augmentation()`` gives exactly
    the batches of ``augment=True``.

    Parameters
    ----------
    dihedral
        A random flip/90-degree rotation (one of the 8 symmetries of the square).
    hed
        HED stain jitter strength ``s`` in [0, 1): every stain's optical density is
        multiplied by ``U(1 - s, 1 + s)`` and shifted by ``U(-t, t)``.
    hed_shift
        ``t``, the bound of the stain shift in optical-density units, in [0, 1]; None:
        ``s / 5``. Tellez et al. (2019) draw both from the same range: their "HED-light" is
        ``hed=0.05, hed_shift=0.05`` and "HED-strong" ``hed=0.2, hed_shift=0.2``
        (:meth:`hed_strong`).
    brightness
        Added to every pixel, ``U(-b, b)`` in 0-255 units, ``b`` in [0, 255].
    contrast
        Distance to the patch's mean scaled by ``U(1 - c, 1 + c)``, ``c`` in [0, 1).
    saturation
        Distance of each pixel to its grey (channel mean) scaled by ``U(1 - s, 1 + s)``,
        ``s`` in [0, 1].

    Examples
    --------
    >>> aug = Augmentation(hed=0.05, brightness=10)
    >>> batch = np.full((4, 50, 50, 3), 200, np.uint8)
    >>> out = aug.apply(batch, np.random.default_rng(0))
    >>> out.dtype, out.shape
    (dtype('uint8'), (4, 50, 50, 3))
    >>> Augmentation.coerce(aug.to_dict()) == aug
    True
    """

    dihedral: bool = True
    hed: float = 0.0
    hed_shift: float | None = None
    brightness: float = 0.0
    contrast: float = 0.0
    saturation: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.dihedral, bool | np.bool_):
            raise invalid_argument("dihedral", "Augmentation", "True or False", self.dihedral)
        object.__setattr__(self, "dihedral", bool(self.dihedral))
        for name in _STRENGTHS:
            object.__setattr__(self, name, _checked_strength(name, getattr(self, name)))
        if self.hed_shift is not None:
            object.__setattr__(self, "hed_shift", _checked_strength("hed_shift", self.hed_shift))

    @classmethod
    def hed_strong(cls) -> Augmentation:
        """Tellez et al. (2019)'s "HED-strong" stain jitter with flips and rotations.

        Stain concentrations scaled by ``U(0.8, 1.2)`` and shifted by ``U(-0.2, 0.2)``
        (Tellez, Litjens et al., "Quantifying the effects of data augmentation and stain color
        normalization in convolutional neural networks for computational pathology", Medical
        Image Analysis 58, 2019).

        Examples
        --------
        >>> Augmentation.hed_strong().hed, Augmentation.hed_strong().hed_shift
        (0.2, 0.2)
        """
        return cls(hed=0.2, hed_shift=0.2)

    @property
    def is_identity(self) -> bool:
        """True when every step is off (:meth:`apply` then returns the batch unchanged)."""
        return not self.dihedral and not any(getattr(self, name) for name in _STRENGTHS)

    def apply(
        self, images: npt.NDArray[np.uint8], rng: np.random.Generator
    ) -> npt.NDArray[np.uint8]:
        """Augment a ``uint8`` batch ``(B, H, W, 3)`` with random draws from ``rng``.

        The draws, in order: the dihedral transforms (as :func:`augment_batch`), then for each
        step whose strength is not 0, its per-patch factors.

        Examples
        --------
        >>> batch = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3)
        >>> same = Augmentation(dihedral=False).apply(batch, np.random.default_rng(0))
        >>> bool((same == batch).all())
        True
        """
        out = augment_batch(images, rng) if self.dihedral else np.array(images)
        if not (self.hed or self.saturation or self.contrast or self.brightness):
            return out
        planes = _to_planes(out)
        if self.hed:
            x = _hed_planes(planes, rng, self.hed, self.hed_shift)
        else:
            x = planes.astype(np.float32)
        x = self._tone(x, rng)
        np.rint(x, out=x)
        np.clip(x, 0.0, 255.0, out=x)
        result: npt.NDArray[np.uint8] = x.astype(np.uint8).transpose(0, 2, 1)
        return result.reshape(out.shape)

    def _tone(
        self, x: npt.NDArray[np.float32], rng: np.random.Generator
    ) -> npt.NDArray[np.float32]:
        """Saturation, contrast and brightness of float planes ``(B, 3, P)``, as one affine map.

        Saturation ``s`` (around each pixel's grey ``g``), then contrast ``c`` (around the
        patch mean ``m``, which saturation does not move), then brightness ``b``: together
        ``c s x + c (1 - s) g + (1 - c) m + b``.
        """
        n, f32 = len(x), np.float32
        sat = _factors(rng, n, self.saturation) if self.saturation else None
        con = _factors(rng, n, self.contrast) if self.contrast else np.ones((n, 1, 1))
        shift = np.zeros((n, 1, 1))
        if self.contrast:
            shift = (1 - con) * x.mean(axis=(1, 2), keepdims=True)
        if self.brightness:
            shift = shift + rng.uniform(-self.brightness, self.brightness, (n, 1, 1))
        if sat is None:
            x *= con.astype(f32)
            x += shift.astype(f32)
            return x
        grey = x.sum(axis=1, keepdims=True)  # 3 g: fast on planes, unlike a mean over RGB
        grey *= (con * (1 - sat) / 3).astype(f32)
        grey += shift.astype(f32)
        x *= (con * sat).astype(f32)
        x += grey
        return x

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict (:meth:`coerce` turns it back).

        ``hed_shift`` is left out when None, as runs recorded augmentation before it existed.
        """
        data = asdict(self)
        if data["hed_shift"] is None:
            del data["hed_shift"]
        return data

    @classmethod
    def coerce(
        cls, value: bool | Augmentation | Mapping[str, Any] | None, owner: str = "Augmentation"
    ) -> Augmentation | None:
        """Return ``value`` as an Augmentation, or None for no augmentation.

        ``False``/None: none; ``True``: ``Augmentation()`` (dihedral only); an Augmentation as
        it is; a dict of its fields (as :meth:`to_dict` and ``config.json`` hold them).

        Examples
        --------
        >>> Augmentation.coerce(True) == Augmentation()
        True
        >>> Augmentation.coerce(False) is None
        True
        """
        if value is None or isinstance(value, cls):
            return value
        if isinstance(value, bool | np.bool_):
            return cls() if value else None
        if isinstance(value, Mapping) and set(value) <= {f.name for f in fields(cls)}:
            return cls(**value)
        raise invalid_argument(
            "augment", owner, "True, False, an Augmentation or a dict of its fields", value
        )

    @classmethod
    def describe(cls, value: bool | Augmentation | Mapping[str, Any] | None) -> Any:
        """Describe ``value`` for ``config.json``: equal settings give equal descriptions.

        ``False`` when nothing changes a patch, ``True`` for dihedral only (as runs recorded
        ``augment=True`` before :class:`Augmentation` existed), else :meth:`to_dict`.

        Examples
        --------
        >>> Augmentation.describe(Augmentation()), Augmentation.describe(None)
        (True, False)
        >>> Augmentation.describe(Augmentation(dihedral=False, brightness=5))["brightness"]
        5.0
        """
        augmentation = cls.coerce(value)
        if augmentation is None or augmentation.is_identity:
            return False
        return True if augmentation == cls() else augmentation.to_dict()


def _checked_strength(name: str, value: Any) -> float:
    """``value`` as a float, or the standard error unless it is a number within its limits."""
    top, open_top = _LIMITS[name]
    number = isinstance(value, int | float | np.integer | np.floating)
    number = number and not isinstance(value, bool | np.bool_) and math.isfinite(value)
    if not (number and 0 <= value <= top and not (open_top and value == top)):
        rule = f"a number in [0, {top:g}{')' if open_top else ']'}"
        raise invalid_argument(name, "Augmentation", rule, value)
    return float(value)


def _factors(rng: np.random.Generator, n: int, strength: float) -> npt.NDArray[np.float64]:
    """Per-patch factors ``U(1 - strength, 1 + strength)``, shaped to broadcast on planes."""
    return rng.uniform(1 - strength, 1 + strength, (n, 1, 1))
