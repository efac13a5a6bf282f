"""The on-disk decode cache: one ``uint8`` ``.npy`` of patches plus its index, no pickle.

An entry is a folder under the cache directory, named after the tree and the decode settings:

- ``images.npy``: ``(N, P, P, 3)`` ``uint8``, opened memory-mapped;
- ``index.npz``: the per-patch arrays (relative paths, patients, x, y, labels, padded);
- ``meta.json``: the tree's fingerprint (every image file's path, size, mtime, ctime and
  inode), the settings, the scan report and a record of each other file (its size, inode,
  mtime, ctime and a BLAKE2b digest of every 1 MiB block). A build removes it first and writes
  it last, so an entry without it is incomplete, and a kill between the file moves leaves no
  entry to trust.

A reopen walks the tree, hashes the stats and, when the fingerprint matches, checks the entry
instead of parsing names or decoding anything: :mod:`idckit.data._integrity` says what makes
an entry trusted (``meta.json``'s schema, each file's block digests, ``index.npz``'s arrays,
``images.npy``'s header against its size). An entry that fails any check is rebuilt with a
:class:`CacheWarning`; the cost on a warm reopen is reading about 16 MiB.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit._errors import check_choice, check_positive_int, invalid_argument
from idckit.data._decode import PAD_MODES, PADDED, REASONS, PadMode, decode_files, default_jobs
from idckit.data._integrity import (
    _DAMAGE,
    _FILES,
    FORMAT_VERSION,
    _stats,
    damage_note,
    file_record,
    load_entry,
)
from idckit.data._records import _EXPECTED
from idckit.data._report import PatchError, ScanReport
from idckit.data._scan import (
    OnError,
    ScanResult,
    check_jobs,
    check_root,
    parse_listing,
    walk_tree,
)

_COPY_BLOCK = 4096


class CacheWarning(UserWarning):
    """A decode cache entry that could not be proven whole and current, so it is rebuilt.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("cache entry X is damaged: rebuilt", CacheWarning)
    >>> caught[0].category.__name__
    'CacheWarning'
    """


def default_cache_dir() -> Path:
    """Where caches go by default: ``$IDCKIT_CACHE_DIR``, else the user's cache folder.

    The user's cache folder is ``$XDG_CACHE_HOME/idckit`` or ``~/.cache/idckit``.

    Examples
    --------
    >>> where = default_cache_dir()
    >>> str(where) == os.environ.get("IDCKIT_CACHE_DIR") or where.name == "idckit"
    True
    """
    if os.environ.get("IDCKIT_CACHE_DIR"):
        return Path(os.environ["IDCKIT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "idckit"


def entry_dir(
    cache_dir: str | os.PathLike[str] | None,
    root: str,
    pattern: re.Pattern[str],
    patch_size: int,
    pad_mode: PadMode,
) -> Path:
    """Return the cache folder of one tree decoded with one set of settings."""
    key = json.dumps([FORMAT_VERSION, root, pattern.pattern, pattern.flags, patch_size, pad_mode])
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.basename(root.rstrip(os.sep)) or "root")
    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base / f"{name[:40]}-{digest}"


@dataclass(frozen=True)
class CacheSpec:
    """How a dataset's pixels were (and can again be) decoded into its cache entry."""

    entry: Path
    result: ScanResult
    fingerprint: str
    patch_size: int
    pad_mode: PadMode
    n_jobs: int | None
    progress: bool
    reused: bool = False
    build_id: str = ""


def build_id_of(entry: Path) -> str:
    """Return the build id in ``entry``'s ``meta.json`` ("" when it cannot be read)."""
    try:
        value = json.loads((entry / "meta.json").read_text(encoding="utf-8"))["build_id"]
    except _DAMAGE:
        return ""
    return value if isinstance(value, str) else ""


def open_tree(
    root: str | os.PathLike[str],
    *,
    pattern: re.Pattern[str],
    patch_size: int,
    pad_mode: PadMode,
    on_error: OnError,
    cache_dir: str | os.PathLike[str] | None,
    n_jobs: int | None,
    progress: bool,
) -> tuple[ScanResult, ScanReport, CacheSpec]:
    """Walk ``root``; reuse its cache entry when the fingerprint matches, else build it."""
    owner = "IDCPatchDataset.from_directory"
    patch_size, n_jobs = _check_settings(owner, patch_size, pad_mode, on_error, n_jobs)
    abs_root = check_root(root, owner)
    listing = walk_tree(abs_root, progress=progress)
    fingerprint = listing.fingerprint()
    entry = entry_dir(cache_dir, abs_root, pattern, patch_size, pad_mode)
    cached = _reuse_entry(entry, fingerprint, patch_size, abs_root)
    build_id = ""
    if cached is not None:
        result, report, build_id = cached
        if on_error == "raise" and report.skipped_files:
            raise PatchError(*report.skipped_files[0])
    else:
        result = parse_listing(listing, pattern, on_error)
        if len(result) == 0:
            raise invalid_argument(
                "root",
                owner,
                f"a folder with patches whose names match {pattern.pattern!r}",
                os.fspath(root),
                f"No patches found: expected files like {_EXPECTED}.",
            )
    del listing
    spec = CacheSpec(
        entry, result, fingerprint, patch_size, pad_mode, n_jobs, progress, cached is not None,
        build_id,
    )  # fmt: skip
    if cached is None:
        result, report = rebuild(spec, on_error)
        spec = replace(spec, build_id=build_id_of(entry))
    if len(result) == 0:
        raise _nothing_kept(owner, root, report, patch_size)
    return result, report, spec


def _reuse_entry(
    entry: Path, fingerprint: str, patch_size: int, root: str
) -> tuple[ScanResult, ScanReport, str] | None:
    """Return the cached index, report and build id if ``entry`` is whole and current.

    None when there is no complete entry, when it is of another format or tree state, or
    when a check of :func:`~idckit.data._integrity.load_entry` fails (then with a
    :class:`CacheWarning` naming the first failure). When a file whose stats changed passed
    the check of every block, its new stats are recorded, so the next reopen samples again.
    """
    try:
        loaded = load_entry(entry, fingerprint, patch_size, root)
    except _DAMAGE as err:
        warnings.warn(f"Rebuilding the decode cache {entry}: {damage_note(err)}", CacheWarning, 3)
        return None
    if loaded is None:
        return None
    result, report, meta, changed = loaded
    if changed:  # every block checked: remember the files' new stats
        for name in _FILES:
            meta["files"][name].update(_stats(os.stat(entry / name)))
        _write_json(entry, "meta.json", meta)
    return result, report, meta["build_id"]


def _nothing_kept(
    owner: str, root: str | os.PathLike[str], report: ScanReport, patch_size: int
) -> ValueError:
    """Build the error for a tree whose patches were all skipped (``report`` counts why)."""
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items()))
    hint = f"Every patch was skipped ({reasons})."
    if report.skipped.get("oversize"):
        hint += (
            f" Patches larger than patch_size={patch_size} are skipped: pass a patch_size at "
            "least as large as the patches, or pad_mode='resize' to scale them."
        )
    expected = "a folder with patches that decode"
    return invalid_argument("root", owner, expected, os.fspath(root), hint)


def rebuild(spec: CacheSpec, on_error: OnError) -> tuple[ScanResult, ScanReport]:
    """Decode the patches of ``spec`` into its cache entry again."""
    return build_entry(
        spec.entry,
        spec.result,
        spec.fingerprint,
        patch_size=spec.patch_size,
        pad_mode=spec.pad_mode,
        on_error=on_error,
        n_jobs=default_jobs(spec.n_jobs),
        progress=spec.progress,
    )


def _check_settings(
    owner: str, patch_size: int, pad_mode: str, on_error: str, n_jobs: int | None
) -> tuple[int, int | None]:
    """Refuse bad settings with the standard error; return ``patch_size`` and ``n_jobs``."""
    size = check_positive_int("patch_size", owner, patch_size)
    check_choice("pad_mode", owner, pad_mode, PAD_MODES)
    check_choice("on_error", owner, on_error, ("skip", "raise"))
    return size, check_jobs(owner, n_jobs)


class PixelStore:
    """The pixels of a dataset: a cache file opened memory-mapped on first use, or an array.

    Pickling a store backed by a file carries the path only, not the pixels.
    """

    def __init__(self, path: Path | None = None, array: npt.NDArray[np.uint8] | None = None):
        self.path = path
        self._array = array

    @property
    def array(self) -> npt.NDArray[np.uint8]:
        """The ``(N, P, P, 3)`` array (read-only when memory-mapped)."""
        if self._array is None:
            if self.path is None:  # pragma: no cover - constructed with one or the other
                raise RuntimeError("PixelStore has neither a file nor an array")
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    def exists(self) -> bool:
        """Whether the pixels are available without rebuilding."""
        return self._array is not None or (self.path is not None and self.path.is_file())

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self.path is not None:
            state["_array"] = None
        return state


def _write_json(entry: Path, name: str, value: dict[str, Any]) -> None:
    """Write ``entry / name`` atomically (temporary file, then ``os.replace``)."""
    with _temporary(entry, ".json") as tmp:
        tmp.write_text(json.dumps(value), encoding="utf-8")
        os.replace(tmp, entry / name)


def build_entry(
    entry: Path,
    result: ScanResult,
    fingerprint: str,
    *,
    patch_size: int,
    pad_mode: PadMode,
    on_error: OnError,
    n_jobs: int,
    progress: bool,
) -> tuple[ScanResult, ScanReport]:
    """Decode every patch of ``result`` into a new cache entry; return the final index/report.

    Patches that fail to decode are skipped (``on_error="skip"``) or raise ``PatchError``.
    """
    entry.mkdir(parents=True, exist_ok=True)
    (entry / "meta.json").unlink(missing_ok=True)  # incomplete until meta.json is back
    _remove_stale(entry)
    for derived in entry.glob("normalized-*.npy"):  # stain-normalised copies of old pixels
        derived.unlink(missing_ok=True)
    start = time.perf_counter()
    paths = [result.abspath(i) for i in range(len(result))]
    shape = (len(paths), patch_size, patch_size, 3)
    with _temporary(entry, ".npy") as tmp:
        pixels = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
        statuses, details = decode_files(
            paths,
            pixels.view(np.ndarray),
            patch_size=patch_size,
            pad_mode=pad_mode,
            n_jobs=n_jobs,
            progress=progress,
            stop_on_error=on_error == "raise",
        )
        del paths, pixels  # unmapped without msync: the page cache holds the pixels
        reasons = [REASONS.get(int(s)) for s in statuses]
        keep = statuses <= PADDED
        padded = statuses[keep] == PADDED
        result = result.drop_failed(reasons, details, on_error)
        report = result.report(padded=int(padded.sum()), verified=True)
        final = tmp if keep.all() else _compacted(entry, tmp, np.flatnonzero(keep))
        try:
            _write_entry(
                entry, final, result, padded, report, fingerprint,
                patch_size=patch_size, seconds=time.perf_counter() - start,
            )  # fmt: skip
        finally:
            final.unlink(missing_ok=True)  # moved into place unless writing failed
    return result, report


def _write_entry(
    entry: Path,
    images_tmp: Path,
    result: ScanResult,
    padded: npt.NDArray[np.bool_],
    report: ScanReport,
    fingerprint: str,
    *,
    patch_size: int,
    seconds: float,
) -> None:
    """Move the pixels and the index into place, then write ``meta.json`` (the commit)."""
    build_id = uuid.uuid4().hex
    with _temporary(entry, ".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(
                fh,
                relpaths=result.relpaths,
                patients=result.patients,
                x=result.x,
                y=result.y,
                labels=result.labels,
                padded=padded,
                build_id=np.asarray(build_id),
            )
        os.replace(images_tmp, entry / "images.npy")
        os.replace(tmp, entry / "index.npz")
    meta = {
        "format": FORMAT_VERSION,
        "fingerprint": fingerprint,
        "build_id": build_id,
        "root": result.root,
        "n_patches": len(result),
        "patch_size": patch_size,
        "seconds": round(seconds, 3),
        "report": report.to_dict(),
        "files": {name: file_record(entry / name) for name in _FILES},
    }
    _write_json(entry, "meta.json", meta)


def _compacted(entry: Path, source: Path, keep: npt.NDArray[np.intp]) -> Path:
    """Copy the rows ``keep`` of ``source`` into a new ``.npy`` (failed rows are dropped)."""
    old = np.load(source, mmap_mode="r")
    name = _new_temporary(entry, ".npy")
    new = np.lib.format.open_memmap(
        name, mode="w+", dtype=np.uint8, shape=(len(keep), *old.shape[1:])
    )
    for lo in range(0, len(keep), _COPY_BLOCK):
        new[lo : lo + _COPY_BLOCK] = old[keep[lo : lo + _COPY_BLOCK]]
    del new, old
    return Path(name)


@contextmanager
def _temporary(folder: Path, suffix: str) -> Iterator[Path]:
    """Yield a temporary file name in ``folder``; remove it afterwards unless moved."""
    path = _new_temporary(folder, suffix)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _new_temporary(folder: Path, suffix: str) -> Path:
    """Create an empty temporary file named after this process (see :func:`_remove_stale`)."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=f"{os.getpid()}-", suffix=".tmp" + suffix)
    os.close(fd)
    return Path(name)


def _remove_stale(folder: Path) -> None:
    """Remove temporary files left by builds whose process is gone (killed mid-build)."""
    for path in folder.glob("*-*.tmp*"):
        pid = path.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else (or not checkable here)
        return True
    return True
