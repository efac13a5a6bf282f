"""One patch as a record, and the file-name pattern that describes it.

The Kaggle IDC data set names every patch ``<patient>_idx5_x<X>_y<Y>_class<C>.png``. The
pattern is a regular expression with named groups ``patient``, ``x``, ``y`` and (optionally)
``label``, so other histopathology projects can describe their own naming.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import NamedTuple

from idckit._errors import invalid_argument

DEFAULT_PATTERN: re.Pattern[str] = re.compile(
    r"(?P<patient>\d+)_idx5_x(?P<x>\d+)_y(?P<y>\d+)_class(?P<label>[01])\.png"
)
"""File names of the Kaggle IDC patches: ``<patient>_idx5_x<X>_y<Y>_class<C>.png``."""

#: Extensions of files that are images; every other file in the tree is ignored.
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})

_REQUIRED_GROUPS = ("patient", "x", "y")
_EXPECTED = "'<patient>/<0|1>/<patient>_idx5_x<X>_y<Y>_class<C>.png'"


class ParsedName(NamedTuple):
    """The fields parsed from one file name; ``label`` is None when the name has none."""

    patient: str
    x: int
    y: int
    label: int | None


@dataclass(frozen=True)
class PatchRecord:
    """One patch: where it is and what its name says.

    Parameters
    ----------
    path
        The file's path.
    patient
        The patient id.
    x, y
        The patch's position in the patient's slide, in pixels.
    label
        0 for IDC(-), 1 for IDC(+).

    Examples
    --------
    >>> rec = PatchRecord.from_path("data/10253/1/10253_idx5_x501_y351_class1.png")
    >>> rec.patient, rec.x, rec.y, rec.label
    ('10253', 501, 351, 1)
    """

    path: str
    patient: str
    x: int
    y: int
    label: int

    @classmethod
    def from_path(
        cls, path: str | os.PathLike[str], pattern: str | re.Pattern[str] = DEFAULT_PATTERN
    ) -> PatchRecord:
        """Parse a patch's path; the label in the name must agree with a ``0``/``1`` folder.

        Parameters
        ----------
        path
            The file's path, e.g. ``'data/10253/1/10253_idx5_x501_y351_class1.png'``.
        pattern
            The file-name pattern (see :data:`DEFAULT_PATTERN`).

        Returns
        -------
        PatchRecord
            The record.

        Raises
        ------
        ValueError
            When the name does not match the pattern, or its label disagrees with its class
            folder.

        Examples
        --------
        >>> PatchRecord.from_path("9036/0/9036_idx5_x1051_y2401_class0.png").label
        0
        """
        text = os.fspath(path)
        compiled = compile_pattern(pattern)
        parsed = parse_name(os.path.basename(text), compiled)
        label = None if parsed is None else resolve_label(parsed.label, _folder_of(text))[1]
        if parsed is None or label is None:
            raise invalid_argument(
                "path",
                "PatchRecord.from_path",
                f"a file named like {_EXPECTED} (pattern {compiled.pattern!r}) whose label "
                "agrees with its class folder",
                text,
            )
        return cls(text, parsed.patient, parsed.x, parsed.y, label)


def compile_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    r"""Compile ``pattern`` and check that it has the named groups a patch name needs.

    Parameters
    ----------
    pattern
        A regular expression (string or compiled) with named groups ``patient``, ``x``,
        ``y`` and optionally ``label``; it must match the whole file name.

    Returns
    -------
    re.Pattern
        The compiled pattern.

    Examples
    --------
    >>> compile_pattern(r"(?P<patient>\w+)-(?P<x>\d+)-(?P<y>\d+)\.png").groupindex["x"]
    2
    """
    if isinstance(pattern, str):
        try:
            pattern = re.compile(pattern)
        except re.error as err:
            raise invalid_argument(
                "pattern", "IDCPatchDataset", "a valid regular expression", pattern, str(err)
            ) from None
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        raise invalid_argument(
            "pattern", "IDCPatchDataset", "a str or compiled str regex", pattern
        )
    missing = [g for g in _REQUIRED_GROUPS if g not in pattern.groupindex]
    if missing:
        raise invalid_argument(
            "pattern",
            "IDCPatchDataset",
            "a regex with named groups 'patient', 'x', 'y' (and optionally 'label')",
            pattern.pattern,
            f"Missing: {', '.join(missing)}.",
        )
    return pattern


def parse_name(name: str, pattern: re.Pattern[str] = DEFAULT_PATTERN) -> ParsedName | None:
    """Parse one file name; None when it does not match ``pattern`` as a whole.

    Parameters
    ----------
    name
        A file name without its folder.
    pattern
        A compiled pattern from :func:`compile_pattern`.

    Returns
    -------
    ParsedName or None
        The patient, x, y and label (None when the pattern has no ``label`` group).

    Examples
    --------
    >>> parse_name("8863_idx5_x51_y1251_class0.png")
    ParsedName(patient='8863', x=51, y=1251, label=0)
    >>> parse_name("notes.png") is None
    True
    """
    match = pattern.fullmatch(name)
    if match is None:
        return None
    groups = match.groupdict()
    try:
        x, y = int(groups["x"]), int(groups["y"])
        raw_label = groups.get("label")
        label = None if raw_label is None else int(raw_label)
    except (TypeError, ValueError):
        return None
    patient = groups["patient"]
    if not patient:
        return None
    return ParsedName(patient, x, y, label)


def resolve_label(name_label: int | None, folder: str) -> tuple[str | None, int | None]:
    """Return ``(None, label)`` from a name's label and class folder, or ``(reason, None)``.

    A folder named ``0`` or ``1`` is a class folder: a label in the name must agree with it
    (else the reason is ``"label_mismatch"``). A name without a label takes the class
    folder's; without either the reason is ``"no_label"``.

    Examples
    --------
    >>> resolve_label(1, "1"), resolve_label(None, "0"), resolve_label(1, "0")
    ((None, 1), (None, 0), ('label_mismatch', None))
    """
    folder_label = int(folder) if folder in ("0", "1") else None
    if name_label is None:
        return (None, folder_label) if folder_label is not None else ("no_label", None)
    if folder_label is not None and folder_label != name_label:
        return "label_mismatch", None
    return None, name_label


def _folder_of(path: str) -> str:
    return os.path.basename(os.path.dirname(path))
