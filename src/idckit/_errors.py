"""One template for errors people can act on, and the validators every package shares.

Every message names the argument, states the rule, echoes what was received and, when there is
one, adds the remedy: ``Invalid `threshold` for StreamingF1: expected a float in (0, 1).
Received: threshold=1.`` (see STYLE.md, "Errors people can act on").

The validators here are the ones more than one package needs (``data``, ``models``,
``explain``, ``training``, ``cli``), with the limits they check, so that no package reaches
into another's private modules for them. This module imports nothing but the standard library.
"""

from __future__ import annotations

import numbers
from typing import Any


def invalid_argument(
    name: str, owner: str, rule: str, received: Any, remedy: str | None = None
) -> ValueError:
    """Build the standard ``ValueError`` for a bad argument.

    Parameters
    ----------
    name
        The argument's name, e.g. ``"threshold"``.
    owner
        The class or function that received it, e.g. ``"StreamingF1"``.
    rule
        What was expected, e.g. ``"a float in (0, 1]"``.
    received
        The value received; it is echoed with ``repr``.
    remedy
        Optional advice appended to the message.

    Returns
    -------
    ValueError
        The exception, ready to ``raise``.

    Examples
    --------
    >>> str(invalid_argument("threshold", "StreamingF1", "a float in (0, 1)", 1))
    'Invalid `threshold` for StreamingF1: expected a float in (0, 1). Received: threshold=1.'
    """
    message = f"Invalid `{name}` for {owner}: expected {rule}. Received: {name}={received!r}."
    if remedy:
        message += f" {remedy}"
    return ValueError(message)


def check_choice(name: str, owner: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise the standard error unless ``value`` is one of ``choices``.

    Examples
    --------
    >>> check_choice("on_error", "IDCPatchDataset", "skip", ("skip", "raise"))
    """
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise invalid_argument(name, owner, f"one of {allowed}", value)


def check_positive_int(name: str, owner: str, value: Any, rule: str = "an integer >= 1") -> int:
    """Return ``value`` as an int, or raise the standard error unless it is an integer >= 1.

    Booleans are refused, although Python counts them as integers.

    Examples
    --------
    >>> check_positive_int("batch_size", "predict_proba", 32)
    32
    >>> check_positive_int("batch_size", "predict_proba", True)
    Traceback (most recent call last):
    ...
    ValueError: Invalid `batch_size` for predict_proba: expected an integer >= 1. Received: ...
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise invalid_argument(name, owner, rule, value)
    return int(value)


def check_fraction(name: str, owner: str, value: Any) -> float:
    """Return ``value`` as a float, or raise the standard error unless it lies in [0, 1).

    For rates such as dropout and label smoothing. Booleans are refused.

    Examples
    --------
    >>> check_fraction("dropout", "HeadConfig", 0.25)
    0.25
    >>> check_fraction("dropout", "HeadConfig", 1)
    Traceback (most recent call last):
    ...
    ValueError: Invalid `dropout` for HeadConfig: expected a float in [0, 1). Received: dropout=1.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= float(value) < 1:
        raise invalid_argument(name, owner, "a float in [0, 1)", value)
    return float(value)


#: The largest context radius accepted (radius 3 is a 7x7 mosaic of patches).
MAX_CONTEXT = 3
#: Pixel value of a missing neighbour in a context mosaic: the white of a slide's background.
FILL_VALUE = 255


def check_context(value: Any, owner: str) -> int:
    """Return ``value`` as a context radius (an int from 0 to :data:`MAX_CONTEXT`).

    Examples
    --------
    >>> check_context(1, "KFoldTrainer")
    1
    >>> check_context(4, "KFoldTrainer")
    Traceback (most recent call last):
    ...
    ValueError: Invalid `context` for KFoldTrainer: expected an int from 0 (no context) to 3. ...
    """
    valid = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not valid or not 0 <= int(value) <= MAX_CONTEXT:
        raise invalid_argument(
            "context", owner, f"an int from 0 (no context) to {MAX_CONTEXT}", value
        )
    return int(value)
