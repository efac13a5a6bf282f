"""Walk a tree of patches robustly, and turn the file names into an index of arrays.

The walk ignores hidden files, AppleDouble ``._*`` files, ``__MACOSX/`` folders and non-image
files, and never follows a symbolic link into a folder it has already visited (so symlink loops
end). The index drops files whose names do not parse or whose label disagrees with the class
folder, and keeps one copy of each (patient, x, y, label): the Kaggle archive carries the whole
tree twice (``IDC_regular_ps50_idx5/`` inside it).
"""

from __future__ import annotations

import hashlib
import operator
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from idckit._errors import invalid_argument
from idckit.data._decode import PADDED, REASONS, decode_files, header_status
from idckit.data._records import _EXPECTED, IMAGE_EXTENSIONS, parse_name, resolve_label
from idckit.data._report import MAX_LISTED, PatchError, ScanReport

OnError = Literal["skip", "raise"]
_name = operator.attrgetter("name")
_IGNORED_DIRS = frozenset({"__MACOSX"})
_SUFFIXES = tuple(sorted(IMAGE_EXTENSIONS))


@dataclass
class TreeListing:
    """The image files under ``root`` (root-relative, in sorted walk order) and their stats."""

    root: str
    relpaths: list[str]
    sizes: npt.NDArray[np.int64]
    mtimes: npt.NDArray[np.int64]
    ignored: int = 0
    symlink_loops: int = 0
    unreadable_dirs: list[str] = field(default_factory=list)

    def fingerprint(self) -> str:
        """Hash every image file's path, size and modification time."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(str(len(self.relpaths)).encode())
        digest.update("\n".join(self.relpaths).encode("utf-8", "surrogateescape"))
        digest.update(self.sizes.tobytes())
        digest.update(self.mtimes.tobytes())
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
    sizes: list[int] = []
    mtimes: list[int] = []
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
            subdirs = _list_folder(entries, rel, visited, counts, relpaths, sizes, mtimes)
            stack.extend(reversed(subdirs))
            bar.update(len(relpaths) - before)
    return TreeListing(
        root,
        relpaths,
        np.asarray(sizes, dtype=np.int64),
        np.asarray(mtimes, dtype=np.int64),
        counts["ignored"],
        counts["loops"],
        unreadable,
    )


def _list_folder(
    entries: list[os.DirEntry[str]],
    rel: str,
    visited: set[tuple[int, int]],
    counts: dict[str, int],
    relpaths: list[str],
    sizes: list[int],
    mtimes: list[int],
) -> list[tuple[str, str]]:
    """Append one folder's image files; return its subfolders to visit."""
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
                sizes.append(st.st_size)
                mtimes.append(st.st_mtime_ns)
                continue
            elif entry.is_dir():
                st = entry.stat()
                if (st.st_dev, st.st_ino) in visited:
                    counts["loops"] += 1
                else:
                    visited.add((st.st_dev, st.st_ino))
                    subdirs.append((entry.path, prefix + name))
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
    result.n_files = len(listing.relpaths)
    result.ignored, result.symlink_loops = listing.ignored, listing.symlink_loops
    for rel in listing.unreadable_dirs:
        _problem(result, os.path.join(listing.root, rel), "unreadable", on_error)
    for i, rel in enumerate(listing.relpaths):
        folder_path, _, name = rel.rpartition(os.sep)
        parsed = parse_name(name, pattern)
        reason, label = (
            ("bad_name", None)
            if parsed is None
            else resolve_label(parsed.label, folder_path.rpartition(os.sep)[2])
        )
        if parsed is None or label is None:
            _problem(result, os.path.join(listing.root, rel), reason or "bad_name", on_error)
            continue
        keep.append(i)
        fields.append((parsed.patient, parsed.x, parsed.y, label))
    if fields:
        patients, xs, ys, labels = zip(*fields, strict=True)
        result.relpaths = np.asarray([listing.relpaths[i] for i in keep], dtype=str)
        result.patients = np.asarray(patients, dtype=str)
        result.x = np.asarray(xs, dtype=np.int64)
        result.y = np.asarray(ys, dtype=np.int64)
        result.labels = np.asarray(labels, dtype=np.int64)
    return _drop_duplicates(result)


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
