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
    r"(?P<patient>[0-9]+)_idx5_x(?P<x>[0-9]+)_y(?P<y>[0-9]+)_class(?P<label>[01])\.png"
)
"""File names of the Kaggle IDC patches: ``<patient>_idx5_x<X>_y<Y>_class<C>.png``.

Digits are ASCII ``0-9`` only (``\\d`` would take Arabic-Indic and other Unicode digits)."""

#: The largest coordinate a name may give (the index stores coordinates as ``int64``).
MAX_COORDINATE = 2**63 - 1

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
            When the name does not match the pattern (digits other than ASCII ``0-9``, a
            coordinate above :data:`MAX_COORDINATE`), its label disagrees with its class
            folder, or its patient with its numeric patient folder.

        Examples
        --------
        >>> PatchRecord.from_path("9036/0/9036_idx5_x1051_y2401_class0.png").label
        0
        """
        text = os.fspath(path)
        compiled = compile_pattern(pattern)
        parsed = parse_name(os.path.basename(text), compiled)
        label = None if parsed is None else resolve_label(parsed.label, _folder_of(text))[1]
        folder = os.path.dirname(text)
        if parsed is not None and patient_folder_problem(
            parsed.patient, os.path.basename(folder), _folder_of(folder)
        ):
            label = None
        if parsed is None or label is None:
            raise invalid_argument(
                "path",
                "PatchRecord.from_path",
                f"a file named like {_EXPECTED} (pattern {compiled.pattern!r}) whose label "
                "agrees with its class folder and whose patient agrees with its patient folder",
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
        The patient, x, y and label (None when the pattern has no ``label`` group); None
        also for digits other than ASCII ``0-9`` and coordinates above
        :data:`MAX_COORDINATE` (see :func:`parse_or_reason`).

    Examples
    --------
    >>> parse_name("8863_idx5_x51_y1251_class0.png")
    ParsedName(patient='8863', x=51, y=1251, label=0)
    >>> parse_name("notes.png") is None
    True
    """
    parsed = parse_or_reason(name, pattern)
    return parsed if isinstance(parsed, ParsedName) else None


def parse_or_reason(name: str, pattern: re.Pattern[str] = DEFAULT_PATTERN) -> ParsedName | str:
    r"""Parse one file name, or say why it cannot be used (a key of ``SKIP_REASONS``).

    ``x``, ``y`` and ``label`` must be ASCII digits (``int`` would also take ``"\u0661"``,
    ``"1_0"`` or ``" 7"``); a coordinate above :data:`MAX_COORDINATE` is ``"bad_coordinate"``,
    any other failure ``"bad_name"``. The patient id is what the pattern's ``patient`` group
    takes (ASCII digits for :data:`DEFAULT_PATTERN`).

    Examples
    --------
    >>> parse_or_reason("8863_idx5_x51_y1251_class0.png").x
    51
    >>> parse_or_reason("8863_idx5_x" + "9" * 20 + "_y1_class0.png")
    'bad_coordinate'
    >>> parse_or_reason("8863_idx5_x\u0661_y1_class0.png")
    'bad_name'
    """
    match = pattern.fullmatch(name)
    if match is None:
        return "bad_name"
    groups = match.groupdict()
    raw_label = groups.get("label")
    numbers = [groups["x"], groups["y"]] + ([] if raw_label is None else [raw_label])
    if not all(isinstance(t, str) and t.isascii() and t.isdigit() for t in numbers):
        return "bad_name"
    x, y = int(groups["x"]), int(groups["y"])
    if x > MAX_COORDINATE or y > MAX_COORDINATE:
        return "bad_coordinate"
    patient = groups["patient"]
    if not patient:
        return "bad_name"
    return ParsedName(patient, x, y, None if raw_label is None else int(raw_label))


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


def patient_folder_problem(patient: str, class_folder: str, patient_folder: str) -> str | None:
    """Return ``"patient_mismatch"`` when a file's patient folder names another patient.

    Checked in the Kaggle layout only: a numeric folder above a ``0``/``1`` class folder is
    the patient's (``<patient>/<0|1>/<name>``), and a numeric patient id in the name must
    equal it. Other layouts (``train/0/``, ``case7/1/``) are not checked.

    Examples
    --------
    >>> patient_folder_problem("10253", "1", "10253") is None
    True
    >>> patient_folder_problem("10254", "1", "10253")
    'patient_mismatch'
    >>> patient_folder_problem("10254", "1", "train") is None
    True
    """
    numeric = patient_folder.isascii() and patient_folder.isdigit()
    if class_folder in ("0", "1") and numeric and patient.isascii() and patient.isdigit():
        return None if patient == patient_folder else "patient_mismatch"
    return None


def _folder_of(path: str) -> str:
    return os.path.basename(os.path.dirname(path))
