"""JSON descriptions of a run's settings, for ``config.json`` and the resume check."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any


def json_safe(obj: Any) -> Any:
    """``obj`` after a JSON round trip; values JSON cannot hold become their ``repr``.

    Examples
    --------
    >>> json_safe({"a": (1, 2), "b": {3}})
    {'a': [1, 2], 'b': '{3}'}
    """
    return json.loads(json.dumps(obj, default=repr))


def describe_callable(obj: Any) -> Any:
    """Describe a builder, optimizer factory or splitter as JSON-ready data.

    ``functools.partial`` objects show their function, arguments and keywords; functions and
    classes their qualified name; other objects their ``repr`` (scikit-learn splitters print
    their parameters).

    Examples
    --------
    >>> import functools
    >>> describe_callable(functools.partial(max, 1, key=abs))
    {'function': 'builtins.max', 'args': [1], 'kwargs': {'key': 'builtins.abs'}}
    """
    if isinstance(obj, functools.partial):
        return {
            "function": describe_callable(obj.func),
            "args": [describe_callable(a) for a in obj.args],
            "kwargs": {k: describe_callable(v) for k, v in obj.keywords.items()},
        }
    if hasattr(obj, "__qualname__") and hasattr(obj, "__module__"):
        return f"{obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, Mapping):
        return {str(k): describe_callable(v) for k, v in obj.items()}
    if isinstance(obj, str | int | float | bool | type(None) | list | tuple):
        return json_safe(obj)
    return repr(obj)


def dataset_fingerprint(dataset: Any) -> dict[str, Any]:
    """Patches, patients, class counts and a hash of the patient ids of ``dataset``.

    Examples
    --------
    >>> class Tiny:
    ...     patient_ids = ("a", "b")
    ...     def __len__(self): return 3
    ...     def class_counts(self): return {0: 2, 1: 1}
    >>> dataset_fingerprint(Tiny())["class_counts"]
    {'0': 2, '1': 1}
    """
    patients = [str(p) for p in dataset.patient_ids]
    digest = hashlib.sha256("\n".join(patients).encode()).hexdigest()[:16]
    return {
        "n_patches": len(dataset),
        "n_patients": len(patients),
        "class_counts": {str(k): int(v) for k, v in dataset.class_counts().items()},
        "patients_sha256": digest,
    }
