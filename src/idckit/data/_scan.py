"""Walk a tree of patches robustly, and turn the file names into an index of arrays.

The walk ignores hidden files, AppleDouble ``._*`` files, ``__MACOSX/`` folders and non-image
files, and never follows a symbolic link into a folder it has already visited (so symlink loops
end); a link with an image name whose target is missing is a skipped file (``broken_link``).
The index drops files whose names do not parse, whose label disagrees with the class folder or
whose patient disagrees with the patient folder, and keeps one copy of each (patient, x, y,
label): the Kaggle archive carries the whole tree twice (``IDC_regular_ps50_idx5/`` inside it).
"""

from __future__ import annotations

import hashlib
import numbers
import operator
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from idckit._errors import check_positive_int, invalid_argument
from idckit.data._decode import PADDED, REASONS, decode_files, header_status
from idckit.data._records import (
    _EXPECTED,
    IMAGE_EXTENSIONS,
    ParsedName,
    parse_or_reason,
    patient_folder_problem,
    resolve_label,
)
from idckit.data._report import MAX_LISTED, PatchError, ScanReport

OnError = Literal["skip", "raise"]
_name = operator.attrgetter("name")
_IGNORED_DIRS = frozenset({"__MACOSX"})
_SUFFIXES = tuple(sorted(IMAGE_EXTENSIONS))


@dataclass
class TreeListing:
    """The image files under ``root`` (root-relative, in sorted walk order) and their stats.

    ``stats`` holds one row per file: size, modification time, status-change time (ns) and
    inode. The status-change time cannot be set back by a user, so a file rewritten with its
    size and modification time restored still changes the fingerprint.
    """

    root: str
    relpaths: list[str]
    stats: npt.NDArray[np.int64]
    ignored: int = 0
    symlink_loops: int = 0
    unreadable_dirs: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)

    @property
    def sizes(self) -> npt.NDArray[np.int64]:
        """Each file's size in bytes."""
        return self.stats[:, 0]

    @property
    def mtimes(self) -> npt.NDArray[np.int64]:
        """Each file's modification time in nanoseconds."""
        return self.stats[:, 1]

    def fingerprint(self) -> str:
        """Hash every image file's path and stats, the broken links and unreadable folders."""
        digest = hashlib.blake2b(digest_size=16)
        for names in (self.relpaths, self.broken_links, self.unreadable_dirs):
            digest.update(f"{len(names)}\n".encode())
            digest.update("\n".join(names).encode("utf-8", "surrogateescape"))
        digest.update(np.ascontiguousarray(self.stats, dtype=np.int64).tobytes())
        return digest.hexdigest()


def check_root(root: str | os.PathLike[str], owner: str) -> str:
    """Return ``root`` as an absolute path, or raise the standard error if it is no folder."""
    text = os.fspath(root)
    if not os.path.isdir(text):
        raise invalid_argument(
            "root",
            owner,
            "an existing folder of patches",
            text,
            f"Expected files like {_EXPECTED}.",
        )
    return os.path.abspath(text)


def walk_tree(root: str, *, progress: bool = False) -> TreeListing:
    """List the image files under ``root`` (see the module docstring for what is skipped)."""
    relpaths: list[str] = []
    stats: list[tuple[int, int, int, int]] = []
    broken: list[str] = []
    counts = {"ignored": 0, "loops": 0}
    unreadable: list[str] = []
    root_stat = os.stat(root)
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: list[tuple[str, str]] = [(root, "")]
    with tqdm(desc="scanning", unit=" files", disable=not progress, leave=False) as bar:
        while stack:
            folder, rel = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=_name)
            except OSError:
                unreadable.append(rel or ".")
                continue
            before = len(relpaths)
            found = (relpaths, stats, broken)
            subdirs = _list_folder(entries, rel, visited, counts, found)
            stack.extend(reversed(subdirs))
            bar.update(len(relpaths) - before)
    return TreeListing(
        root,
        relpaths,
        np.asarray(stats, dtype=np.int64).reshape(-1, 4),
        counts["ignored"],
        counts["loops"],
        unreadable,
        broken,
    )


def _list_folder(
    entries: list[os.DirEntry[str]],
    rel: str,
    visited: set[tuple[int, int]],
    counts: dict[str, int],
    found: tuple[list[str], list[tuple[int, int, int, int]], list[str]],
) -> list[tuple[str, str]]:
    """Append one folder's image files (and broken links); return its subfolders to visit."""
    relpaths, stats, broken = found
    prefix = rel + os.sep if rel else ""
    subdirs: list[tuple[str, str]] = []
    for entry in entries:
        name = entry.name
        try:
            if name[0] == "." or name in _IGNORED_DIRS:
                pass  # hidden, AppleDouble ._* or __MACOSX: ignored
            elif _is_image_name(name) and entry.is_file():
                st = entry.stat()
                relpaths.append(prefix + name)
                stats.append((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
                continue
            elif entry.is_dir():
                st = entry.stat()
                if (st.st_dev, st.st_ino) in visited:
                    counts["loops"] += 1
                else:
                    visited.add((st.st_dev, st.st_ino))
                    subdirs.append((entry.path, prefix + name))
                continue
            elif _is_image_name(name) and entry.is_symlink():  # its target is missing
                broken.append(prefix + name)
                continue
        except OSError:  # a broken link, or a file removed meanwhile
            pass
        counts["ignored"] += 1
    return subdirs


def _is_image_name(name: str) -> bool:
    return name.endswith(_SUFFIXES) or name[name.rfind(".") :].lower() in IMAGE_EXTENSIONS


@dataclass
class ScanResult:
    """The index of one tree: per-patch arrays plus what was skipped or dropped."""

    root: str
    relpaths: npt.NDArray[np.str_]
    patients: npt.NDArray[np.str_]
    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    labels: npt.NDArray[np.int64]
    n_files: int = 0
    ignored: int = 0
    symlink_loops: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_files: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0
    duplicate_files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, keep: npt.NDArray[np.bool_]) -> ScanResult:
        """Return the same result restricted to the patches where ``keep`` is True."""
        return replace(
            self,
            relpaths=self.relpaths[keep],
            patients=self.patients[keep],
            x=self.x[keep],
            y=self.y[keep],
            labels=self.labels[keep],
            skipped=Counter(self.skipped),
            skipped_files=list(self.skipped_files),
        )

    def drop_failed(
        self, reasons: list[str | None], details: list[str], on_error: OnError
    ) -> ScanResult:
        """Skip the patches whose check failed (``reasons[i]`` not None), or raise."""
        failed = [i for i, r in enumerate(reasons) if r is not None]
        if not failed:
            return self
        if on_error == "raise":
            i = failed[0]
            raise PatchError(self.abspath(i), str(reasons[i]), details[i])
        result = self.select(np.asarray([r is None for r in reasons], dtype=bool))
        for i in failed:
            result.note_skip(self.abspath(i), str(reasons[i]))
        return result

    def note_skip(self, path: str, reason: str) -> None:
        """Count one skipped file (and list it while the list is short)."""
        self.skipped[reason] += 1
        if len(self.skipped_files) < MAX_LISTED:
            self.skipped_files.append((path, reason))

    def abspath(self, i: int) -> str:
        """Return the absolute path of patch ``i``."""
        return os.path.join(self.root, str(self.relpaths[i]))

    def report(self, *, padded: int, verified: bool) -> ScanReport:
        """Return the :class:`ScanReport` of this result."""
        values, counts = np.unique(self.labels, return_counts=True)
        class_counts = {0: 0, 1: 0} | {int(v): int(c) for v, c in zip(values, counts, strict=True)}
        return ScanReport(
            root=self.root,
            n_files=self.n_files,
            n_patches=len(self),
            n_patients=len(np.unique(self.patients)),
            class_counts=class_counts,
            padded=padded,
            duplicates=self.duplicates,
            skipped=dict(sorted(self.skipped.items())),
            skipped_files=tuple(self.skipped_files),
            duplicate_files=tuple(self.duplicate_files),
            ignored=self.ignored,
            symlink_loops=self.symlink_loops,
            verified=verified,
        )


def parse_listing(listing: TreeListing, pattern: re.Pattern[str], on_error: OnError) -> ScanResult:
    """Parse every file name of ``listing`` and drop duplicates (see the module docstring)."""
    keep: list[int] = []
    fields: list[tuple[str, int, int, int]] = []
    no_str, no_int = np.zeros(0, dtype="<U1"), np.zeros(0, dtype=np.int64)
    result = ScanResult(listing.root, no_str, no_str, no_int, no_int, no_int)
    result.n_files = len(listing.relpaths) + len(listing.broken_links)
    result.ignored, result.symlink_loops = listing.ignored, listing.symlink_loops
    for rel in listing.unreadable_dirs:
        _problem(result, os.path.join(listing.root, rel), "unreadable", on_error)
    for i, rel in enumerate(listing.relpaths):
        parsed = _parse(rel, pattern)
        if not isinstance(parsed, ParsedName):
            _problem(result, os.path.join(listing.root, rel), parsed, on_error)
            continue
        keep.append(i)
        fields.append((parsed.patient, parsed.x, parsed.y, int(parsed.label or 0)))
    for rel in listing.broken_links:
        _problem(result, os.path.join(listing.root, rel), "broken_link", on_error)
    if fields:
        patients, xs, ys, labels = zip(*fields, strict=True)
        result.relpaths = np.asarray([listing.relpaths[i] for i in keep], dtype=str)
        result.patients = np.asarray(patients, dtype=str)
        result.x = np.asarray(xs, dtype=np.int64)
        result.y = np.asarray(ys, dtype=np.int64)
        result.labels = np.asarray(labels, dtype=np.int64)
    return _drop_duplicates(result)


def _parse(rel: str, pattern: re.Pattern[str]) -> ParsedName | str:
    """Parse a root-relative path: its name, class folder and patient folder (or a reason)."""
    parts = rel.split(os.sep)
    parsed = parse_or_reason(parts[-1], pattern)
    if isinstance(parsed, str):
        return parsed
    folders = ["", "", *parts[:-1]]
    reason, label = resolve_label(parsed.label, folders[-1])
    if reason is None and len(parts) >= 3:
        reason = patient_folder_problem(parsed.patient, folders[-1], folders[-2])
    return parsed._replace(label=label) if reason is None else reason


def _problem(result: ScanResult, path: str, reason: str, on_error: OnError) -> None:
    if on_error == "raise":
        raise PatchError(path, reason)
    result.note_skip(path, reason)


def _drop_duplicates(result: ScanResult) -> ScanResult:
    """Keep the first of each (patient, x, y, label): the shallowest path, then sorted order."""
    n = len(result)
    if n < 2:
        return result
    _, codes = np.unique(result.patients, return_inverse=True)
    depth = np.char.count(result.relpaths, os.sep)
    order = np.lexsort((np.arange(n), depth, result.labels, result.y, result.x, codes))
    keys = np.stack([codes[order], result.x[order], result.y[order], result.labels[order]])
    repeat = np.zeros(n, dtype=bool)
    repeat[1:] = np.all(keys[:, 1:] == keys[:, :-1], axis=0)
    duplicate = np.empty(n, dtype=bool)
    duplicate[order] = repeat
    if not duplicate.any():
        return result
    dup_idx = np.flatnonzero(duplicate)
    kept = result.select(~duplicate)
    kept.duplicates = result.duplicates + len(dup_idx)
    kept.duplicate_files = list(result.duplicate_files) + [
        result.abspath(int(i)) for i in dup_idx[: max(0, MAX_LISTED - len(result.duplicate_files))]
    ]
    return kept


def check_jobs(owner: str, n_jobs: Any) -> int | None:
    """Return ``n_jobs`` (None, -1 or an integer >= 1), or raise the standard error.

    None and -1 both mean every usable core (see ``default_jobs``); booleans are refused.

    Examples
    --------
    >>> check_jobs("ScanReport.from_directory", -1), check_jobs("ScanReport.from_directory", 4)
    (-1, 4)
    >>> check_jobs("ScanReport.from_directory", 0)
    Traceback (most recent call last):
    ...
    ValueError: Invalid `n_jobs` for ScanReport.from_directory: expected None, -1
    or an integer >= 1. Received: n_jobs=0.
    """
    if n_jobs is None:
        return None
    if isinstance(n_jobs, numbers.Integral) and not isinstance(n_jobs, bool) and n_jobs == -1:
        return -1
    return check_positive_int("n_jobs", owner, n_jobs, "None, -1 or an integer >= 1")


def scan_tree(
    root: str | os.PathLike[str],
    *,
    pattern: re.Pattern[str],
    patch_size: int = 50,
    verify: bool = False,
    on_error: OnError = "skip",
    n_jobs: int = 1,
    progress: bool = False,
) -> ScanReport:
    """Index a tree and check every kept patch's size, without writing a cache.

    Sizes come from PNG headers (the IHDR chunk), or from decoding every patch when
    ``verify`` is True (which also finds corrupt files). Used by ``idckit index``.
    """
    abs_root = check_root(root, "scan_tree")
    result = parse_listing(walk_tree(abs_root, progress=progress), pattern, on_error)
    paths = [result.abspath(i) for i in range(len(result))]
    if verify:
        codes, details = decode_files(
            paths, None, patch_size=patch_size, pad_mode="constant", n_jobs=n_jobs,
            progress=progress, stop_on_error=on_error == "raise",
        )  # fmt: skip
        statuses = codes.tolist()
    else:
        checked = [
            header_status(p, patch_size)
            for p in tqdm(paths, desc="reading headers", unit=" files", disable=not progress)
        ]
        statuses = [s for s, _ in checked]
        details = [d for _, d in checked]
    reasons = [REASONS.get(int(s)) for s in statuses]
    padded = sum(1 for s in statuses if s == PADDED)
    return result.drop_failed(reasons, details, on_error).report(padded=padded, verified=verify)
