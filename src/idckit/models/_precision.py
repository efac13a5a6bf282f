"""Mixed precision without global side effects: a policy scope that restores what it changed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Literal

import keras

from idckit._errors import check_choice, invalid_argument

MixedPolicy = Literal["mixed_float16", "mixed_bfloat16"]
_POLICIES = ("mixed_float16", "mixed_bfloat16", "float32", "bfloat16", "float16")


@contextmanager
def precision_policy(policy: str = "mixed_float16") -> Iterator[None]:
    """Set Keras's global dtype policy inside a ``with`` block, then restore the previous one.

    Layers created inside the block take ``policy``; the policy in force before the block is
    restored on exit, even after an exception. Keras compiles a ``"mixed_float16"`` model with
    loss scaling automatically (``model.compile(auto_scale_loss=True)``, its default).

    Parameters
    ----------
    policy
        ``"mixed_float16"`` (GPUs with float16 tensor cores), ``"mixed_bfloat16"`` (TPUs, recent
        GPUs and CPUs), or a plain ``"float32"``, ``"float16"``, ``"bfloat16"``.

    Examples
    --------
    >>> import keras
    >>> with precision_policy("mixed_bfloat16"):
    ...     layer = keras.layers.Dense(2)
    >>> layer.compute_dtype, layer.variable_dtype
    ('bfloat16', 'float32')
    >>> keras.config.dtype_policy().name
    'float32'
    """
    check_choice("policy", "precision_policy", policy, _POLICIES)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def policy_scope(mixed_precision: bool | str, owner: str) -> AbstractContextManager[None]:
    """Return the scope a builder runs in: ``False`` -> none, ``True`` -> mixed_float16."""
    if mixed_precision is False:
        return nullcontext()
    if mixed_precision is True:
        return precision_policy("mixed_float16")
    if mixed_precision in ("mixed_float16", "mixed_bfloat16"):
        return precision_policy(mixed_precision)
    raise invalid_argument(
        "mixed_precision",
        owner,
        "False, True, 'mixed_float16' or 'mixed_bfloat16'",
        mixed_precision,
    )
