"""The file-name parser: hypothesis round trips, custom patterns, class-folder agreement."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idckit.data import DEFAULT_PATTERN, PatchRecord
from idckit.data._records import compile_pattern, parse_name, resolve_label

patients = st.from_regex(r"[0-9]{1,8}", fullmatch=True)
coords = st.integers(0, 10**7)
labels = st.sampled_from([0, 1])


@given(patients, coords, coords, labels)
def test_default_names_round_trip(patient, x, y, label):
    parsed = parse_name(f"{patient}_idx5_x{x}_y{y}_class{label}.png")
    assert parsed == (patient, x, y, label)


@given(patients, coords, coords, labels)
def test_record_from_path_agrees_with_its_class_folder(patient, x, y, label):
    path = f"root/{patient}/{label}/{patient}_idx5_x{x}_y{y}_class{label}.png"
    record = PatchRecord.from_path(path)
    assert (record.path, record.patient, record.x, record.y, record.label) == (
        path,
        patient,
        x,
        y,
        label,
    )


@given(patients, coords, coords, labels)
def test_a_label_that_disagrees_with_the_class_folder_is_refused(patient, x, y, label):
    path = f"{patient}/{1 - label}/{patient}_idx5_x{x}_y{y}_class{label}.png"
    with pytest.raises(ValueError, match=r"Invalid `path` for PatchRecord\.from_path"):
        PatchRecord.from_path(path)


@given(st.text(max_size=40))
def test_arbitrary_text_parses_only_when_the_pattern_matches_it_whole(text):
    parsed = parse_name(text)
    assert (parsed is None) == (DEFAULT_PATTERN.fullmatch(text) is None)


@given(patients, coords, coords, labels, st.sampled_from(["", ".bak", "~", " "]))
def test_suffixes_and_prefixes_do_not_match(patient, x, y, label, extra):
    name = f"{patient}_idx5_x{x}_y{y}_class{label}.png"
    if extra:
        assert parse_name(name + extra) is None
        assert parse_name(extra + "." + name) is None
    else:
        assert parse_name(name) is not None


@pytest.mark.parametrize(
    "bad",
    [
        "10253_idx5_x501_y351_class2.png",
        "10253_idx5_x501_y351_class1.jpg",
        "10253_idx5_xA_y351_class1.png",
        "_idx5_x501_y351_class1.png",
        "thumbnail.png",
    ],
)
def test_names_that_are_not_patches(bad):
    assert parse_name(bad) is None


def test_custom_pattern_without_label_takes_the_class_folder():
    pattern = compile_pattern(r"(?P<patient>[a-z]+)-r(?P<y>\d+)-c(?P<x>\d+)\.tif")
    assert parse_name("case-r3-c7.tif", pattern) == ("case", 7, 3, None)
    record = PatchRecord.from_path("slides/1/case-r3-c7.tif", pattern)
    assert (record.patient, record.x, record.y, record.label) == ("case", 7, 3, 1)


@pytest.mark.parametrize(
    ("name_label", "folder", "expected"),
    [
        (0, "0", (None, 0)),
        (1, "1", (None, 1)),
        (1, "0", ("label_mismatch", None)),
        (None, "1", (None, 1)),
        (None, "x", ("no_label", None)),
        (1, "x", (None, 1)),
    ],
)
def test_resolve_label(name_label, folder, expected):
    assert resolve_label(name_label, folder) == expected


def test_pattern_missing_a_group_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Invalid `pattern`.*Missing: x, y"):
        compile_pattern(r"(?P<patient>\d+)\.png")


def test_pattern_that_is_no_regex_is_a_clear_error():
    with pytest.raises(ValueError, match="expected a valid regular expression"):
        compile_pattern("(?P<patient>")


def test_compiled_patterns_are_accepted_as_is():
    assert compile_pattern(DEFAULT_PATTERN) is DEFAULT_PATTERN
    assert isinstance(compile_pattern(DEFAULT_PATTERN.pattern), re.Pattern)
