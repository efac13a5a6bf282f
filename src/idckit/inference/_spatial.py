"""SpatialSmoothing: the settings of spatial smoothing, as a small frozen record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import invalid_argument
from idckit.inference._smoothing import check_smoothing, smooth_probabilities


@dataclass(frozen=True)
class SpatialSmoothing:
    """Settings of :func:`~idckit.inference.smooth_probabilities`, for trainers and recipes.

    Parameters
    ----------
    alpha
        Weight of the neighbour mean, in [0, 1].
    radius
        Neighbourhood radius in grid cells (1: the 8 surrounding patches).
    step
        Grid step in pixels (the patch size).

    Examples
    --------
    >>> smoothing = SpatialSmoothing(alpha=0.5)
    >>> smoothing.to_dict()
    {'alpha': 0.5, 'radius': 1, 'step': 50}
    >>> smoothing.apply([1.0, 0.0], ["a", "a"], [0, 50], [0, 0]).tolist()
    [0.5, 0.5]
    >>> SpatialSmoothing.coerce({"alpha": 0.5}) == smoothing
    True
    """

    alpha: float = 0.7
    radius: int = 1
    step: int = 50

    def __post_init__(self) -> None:
        check_smoothing(self.alpha, self.radius, self.step, "SpatialSmoothing")
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "radius", int(self.radius))
        object.__setattr__(self, "step", int(self.step))

    def apply(
        self, prob: npt.ArrayLike, patients: npt.ArrayLike, x: npt.ArrayLike, y: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """Smooth ``prob`` with these settings (see :func:`smooth_probabilities`)."""
        return smooth_probabilities(
            prob, patients, x, y, alpha=self.alpha, radius=self.radius, step=self.step
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def coerce(
        cls, value: SpatialSmoothing | Mapping[str, Any] | None, owner: str = "SpatialSmoothing"
    ) -> SpatialSmoothing | None:
        """Return ``value`` as settings: a ``SpatialSmoothing``, a dict of its fields, or None.

        Examples
        --------
        >>> SpatialSmoothing.coerce(None) is None
        True
        """
        if value is None or isinstance(value, SpatialSmoothing):
            return value
        if isinstance(value, Mapping) and set(value) <= {"alpha", "radius", "step"}:
            return cls(**value)
        raise invalid_argument(
            "smoothing", owner, "None, a SpatialSmoothing or a dict with alpha, radius, step",
            value,
        )  # fmt: skip
