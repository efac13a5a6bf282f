"""What a scan of a patch tree found: counts, duplicates, padded patches and skipped files."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from idckit._errors import check_choice, check_positive_int

#: Reasons a file is skipped, with what each means (the keys of ``ScanReport.skipped``).
SKIP_REASONS: dict[str, str] = {
    "bad_name": "an image whose name does not match the file-name pattern",
    "bad_coordinate": "a coordinate in the name is too large (above 2**63 - 1)",
    "broken_link": "a symbolic link with a patch name whose target is missing",
    "label_mismatch": "the label in the name disagrees with the class folder",
    "no_label": "neither the name nor a 0/1 class folder gives a label",
    "patient_mismatch": "the patient in the name disagrees with the patient folder",
    "oversize": "larger than the patch size",
    "undecodable": "not a readable image (corrupt, truncated, empty, not an image, or not a "
    "PNG behind a .png name)",
    "unreadable": "the file could not be read (permissions, I/O error)",
}

#: How many skipped files and duplicates a report lists by name (the counts are exact).
MAX_LISTED = 1000


class PatchError(ValueError):
    """A patch that cannot be used, raised when ``on_error="raise"``.

    Parameters
    ----------
    path
        The file.
    reason
        One of the keys of :data:`SKIP_REASONS`.
    detail
        Optional extra information (e.g. the image's size).

    Examples
    --------
    >>> err = PatchError("a/1/x.png", "oversize", "64x64")
    >>> err.reason
    'oversize'
    """

    def __init__(self, path: str, reason: str, detail: str = "") -> None:
        self.path = path
        self.reason = reason
        self.detail = detail
        what = SKIP_REASONS.get(reason, reason)
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"Cannot use patch '{path}': {reason}: {what}{extra}. Pass on_error='skip' to skip "
            "such files and count them in `report.skipped`."
        )


@dataclass(frozen=True)
class ScanReport:
    """The outcome of scanning a tree of patches.

    Parameters
    ----------
    root
        The scanned folder.
    n_files
        Image files seen (kept, duplicate and skipped ones).
    n_patches
        Patches kept.
    n_patients
        Patients among the kept patches.
    class_counts
        Kept patches per label, ``{0: n, 1: n}``.
    padded
        Kept patches smaller than the patch size (padded or resized when decoded).
    duplicates
        Files dropped because the same (patient, x, y, label) was already kept, e.g. the
        nested ``IDC_regular_ps50_idx5/`` copy of the Kaggle archive.
    skipped
        Files skipped, per reason (see :data:`SKIP_REASONS`).
    skipped_files
        ``(path, reason)`` of skipped files, in scan order (the first :data:`MAX_LISTED`).
    duplicate_files
        Paths of dropped duplicates (the first :data:`MAX_LISTED`).
    ignored
        Files ignored without counting as problems: hidden, AppleDouble ``._*``,
        ``__MACOSX/`` and non-image files.
    symlink_loops
        Symbolic links to folders already visited, not followed.
    verified
        True when every kept patch was decoded (``padded`` then comes from the pixels);
        False when sizes come from PNG headers only.

    Examples
    --------
    >>> report = ScanReport(root="data", n_files=3, n_patches=2, n_patients=1,
    ...                     class_counts={0: 1, 1: 1}, skipped={"label_mismatch": 1})
    >>> report.n_skipped
    1
    >>> report.to_dict()["class_counts"]
    {'0': 1, '1': 1}
    """

    root: str
    n_files: int
    n_patches: int
    n_patients: int
    class_counts: Mapping[int, int]
    padded: int = 0
    duplicates: int = 0
    skipped: Mapping[str, int] = field(default_factory=dict)
    skipped_files: tuple[tuple[str, str], ...] = ()
    duplicate_files: tuple[str, ...] = ()
    ignored: int = 0
    symlink_loops: int = 0
    verified: bool = False

    @classmethod
    def from_directory(
        cls,
        root: str | os.PathLike[str],
        *,
        pattern: str | re.Pattern[str] | None = None,
        patch_size: int = 50,
        verify: bool = False,
        on_error: Literal["skip", "raise"] = "skip",
        n_jobs: int | None = None,
        progress: bool = False,
    ) -> ScanReport:
        """Index a tree and check every patch's size, without decoding it into the cache.

        What ``idckit index`` prints. Sizes come from the PNG headers, or from decoding every
        patch when ``verify`` is True (which also finds corrupt files).

        Parameters
        ----------
        root, pattern, patch_size, on_error, n_jobs, progress
            As for :meth:`~idckit.data.IDCPatchDataset.from_directory`; ``pattern`` None is
            :data:`~idckit.data.DEFAULT_PATTERN`.
        verify
            Decode every patch (with ``n_jobs`` threads) instead of reading its header.

        Raises
        ------
        ValueError
            For a ``patch_size`` that is not an integer >= 1, an ``on_error`` other than
            ``"skip"`` or ``"raise"``, an ``n_jobs`` other than None, -1 or an integer >= 1,
            or a ``root`` that is not a folder.

        Examples
        --------
        >>> import tempfile
        >>> from idckit.datasets import make_synthetic
        >>> root = make_synthetic(tempfile.mkdtemp(), n_patients=3, patches_per_patient=20)
        >>> ScanReport.from_directory(root).n_patches
        60
        """
        from idckit.data._decode import default_jobs
        from idckit.data._records import DEFAULT_PATTERN, compile_pattern
        from idckit.data._scan import check_jobs, scan_tree

        owner = "ScanReport.from_directory"
        patch_size = check_positive_int("patch_size", owner, patch_size)
        check_choice("on_error", owner, on_error, ("skip", "raise"))
        n_jobs = check_jobs(owner, n_jobs)
        return scan_tree(
            root, pattern=compile_pattern(DEFAULT_PATTERN if pattern is None else pattern),
            patch_size=patch_size, verify=verify, on_error=on_error, n_jobs=default_jobs(n_jobs),
            progress=progress,
        )  # fmt: skip

    @classmethod
    def combine(cls, reports: Sequence[ScanReport]) -> ScanReport:
        """Add up the reports of several trees scanned apart, as for one dataset of them all.

        Counts are summed (patients too: a patient is in one tree only, see
        :meth:`~idckit.data.IDCPatchDataset.concat`), the listed files are joined (up to
        :data:`MAX_LISTED`), ``root`` joins the roots with :data:`os.pathsep`, and ``verified``
        holds when it holds for every report. One report comes back unchanged.

        Examples
        --------
        >>> a = ScanReport("a", 3, 2, 1, {0: 1, 1: 1}, skipped={"bad_name": 1})
        >>> b = ScanReport("b", 4, 4, 2, {0: 3, 1: 1}, skipped={"oversize": 1})
        >>> both = ScanReport.combine([a, b])
        >>> both.n_files, both.n_patients, dict(both.class_counts), both.n_skipped
        (7, 3, {0: 4, 1: 2}, 2)
        """
        if not reports:
            raise ValueError("ScanReport.combine needs at least one report")
        if len(reports) == 1:
            return reports[0]
        skipped: Counter[str] = Counter()
        counts: Counter[int] = Counter({0: 0, 1: 0})
        for report in reports:
            skipped.update(report.skipped)
            counts.update(report.class_counts)
        return cls(
            root=os.pathsep.join(r.root for r in reports),
            n_files=sum(r.n_files for r in reports),
            n_patches=sum(r.n_patches for r in reports),
            n_patients=sum(r.n_patients for r in reports),
            padded=sum(r.padded for r in reports),
            duplicates=sum(r.duplicates for r in reports),
            class_counts=dict(sorted(counts.items())),
            skipped=dict(sorted(skipped.items())),
            skipped_files=tuple(f for r in reports for f in r.skipped_files)[:MAX_LISTED],
            duplicate_files=tuple(f for r in reports for f in r.duplicate_files)[:MAX_LISTED],
            ignored=sum(r.ignored for r in reports),
            symlink_loops=sum(r.symlink_loops for r in reports),
            verified=all(r.verified for r in reports),
        )

    @property
    def n_skipped(self) -> int:
        """The number of skipped files, all reasons together."""
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary (label keys become strings, tuples lists).

        Examples
        --------
        >>> ScanReport("d", 1, 1, 1, {0: 1, 1: 0}).to_dict()["n_patches"]
        1
        """
        data = asdict(self)
        data["class_counts"] = {str(k): int(v) for k, v in self.class_counts.items()}
        data["skipped"] = dict(self.skipped)
        data["skipped_files"] = [list(item) for item in self.skipped_files]
        data["duplicate_files"] = list(self.duplicate_files)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanReport:
        """Rebuild a report from :meth:`to_dict`'s output (``TypeError`` if it is none).

        Examples
        --------
        >>> r = ScanReport("d", 2, 1, 1, {0: 1, 1: 0}, skipped={"bad_name": 1})
        >>> ScanReport.from_dict(r.to_dict()) == r
        True
        """
        values = dict(data)
        values["class_counts"] = {int(k): int(v) for k, v in data["class_counts"].items()}
        values["skipped"] = {str(k): int(v) for k, v in data.get("skipped", {}).items()}
        values["skipped_files"] = tuple((str(p), str(r)) for p, r in data.get("skipped_files", ()))
        values["duplicate_files"] = tuple(str(p) for p in data.get("duplicate_files", ()))
        report = cls(**values)
        counts = [report.n_files, report.n_patches, report.n_patients, report.padded]
        counts += [report.duplicates, report.ignored, report.symlink_loops]
        if not all(type(v) is int and v >= 0 for v in counts) or not isinstance(report.root, str):
            raise TypeError(f"not a ScanReport's dictionary: {dict(data)!r:.200}")
        if not isinstance(report.verified, bool):
            raise TypeError(f"not a ScanReport's dictionary: {dict(data)!r:.200}")
        return report

    def summary(self) -> str:
        """Return a short human-readable summary, one fact per line.

        Examples
        --------
        >>> print(ScanReport("d", 2, 2, 1, {0: 1, 1: 1}).summary().splitlines()[0])
        2 patches from 1 patients under 'd'
        """
        counts = ", ".join(f"class {k}: {v}" for k, v in sorted(self.class_counts.items()))
        how = "decoded" if self.verified else "from PNG headers"
        lines = [
            f"{self.n_patches} patches from {self.n_patients} patients under '{self.root}'",
            f"  {counts}",
            f"  smaller than the patch size (padded): {self.padded} ({how})",
            f"  duplicates dropped: {self.duplicates}",
            f"  skipped: {self.n_skipped}"
            + "".join(f"; {k}: {v}" for k, v in sorted(self.skipped.items())),
            f"  ignored (hidden, __MACOSX, ._*, non-image): {self.ignored}; "
            f"symlink loops not followed: {self.symlink_loops}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()
