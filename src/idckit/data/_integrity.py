"""What makes a decode cache entry trusted: the checks a reopen runs before reusing it.

An entry (see :mod:`idckit.data._cache`) is reused only when every one of these holds, in
this order (:func:`load_entry`):

1. ``meta.json`` exists. A build removes it first and writes it last, so an entry without it
   was never finished, and a kill between the build's file moves leaves nothing to trust.
2. ``meta.json`` is of this :data:`FORMAT_VERSION` and carries the tree's current
   fingerprint; an entry of another format or tree state is *stale* and rebuilt silently.
   Every field has its type, and ``n_patches`` is not negative.
3. ``index.npz`` and ``images.npy`` each match their record in ``meta.json``
   (:func:`file_record`): the same size and number of blocks, and the same BLAKE2b digest
   for each checked 1 MiB block (:func:`check_file`). A file whose stats (size, inode, mtime,
   ctime) differ from its record was written since the build, so every block is checked;
   otherwise the first, the last and random ones, :data:`_SAMPLED_BLOCKS` in all.
4. ``index.npz`` holds exactly the per-patch arrays, each of its dtype and of length
   ``n_patches``, labels 0 or 1 only, and the build id of ``meta.json`` (pixels and index of
   two builds are never paired).
5. ``images.npy``'s header says ``uint8``, C order, ``(n_patches, P, P, 3)``, and the file
   holds exactly that many bytes after it.
6. ``meta.json`` agrees with itself and the tree: its report's patch count, its report's root
   and its own root, and its patch size.

Anything reading a damaged entry raises (:data:`_DAMAGE`) means "not trusted". This module
only reads and checks: it writes nothing and warns nothing. Its callers (``_cache`` for a
tree's entry, ``_combine`` for a combined one) turn a failure into one ``CacheWarning`` line
and a rebuild, and record a file's new stats once all its blocks passed.

Examples
--------
>>> import tempfile
>>> path = Path(tempfile.mkdtemp()) / "images.npy"
>>> _ = path.write_bytes(bytes(3 * _BLOCK_BYTES - 1))
>>> record = file_record(path)
>>> record["size"], len(record["blocks"])
(3145727, 3)
>>> check_file(path, record, "images.npy")  # stats unchanged: a sample of blocks, all equal
False
>>> with open(path, "r+b") as fh:
...     _ = fh.write(b"x")
>>> check_file(path, record, "images.npy")
Traceback (most recent call last):
...
idckit.data._integrity._UntrustedError: images.npy differs from its build (block 0 of 3)
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from idckit.data._report import ScanReport
from idckit.data._scan import ScanResult

#: The layout of an entry; one of another format is stale (rebuilt without a warning).
FORMAT_VERSION = 2
#: Cache files are checked in blocks of this many bytes, each with its own digest.
_BLOCK_BYTES = 1 << 20
#: Blocks checked on a reopen of a file whose stats match its record (all when fewer).
_SAMPLED_BLOCKS = 16
_STAT_KEYS = ("size", "ino", "mtime_ns", "ctime_ns")
_INDEX_KEYS = ("relpaths", "patients", "x", "y", "labels", "padded", "build_id")
#: The files of an entry that ``meta.json`` records (:func:`file_record`).
_FILES = ("index.npz", "images.npy")
_META_TYPES: dict[str, type | tuple[type, ...]] = {
    "format": int, "fingerprint": str, "build_id": str, "root": str, "n_patches": int,
    "patch_size": int, "report": dict, "files": dict,
}  # fmt: skip


class _UntrustedError(Exception):
    """Why a cache entry cannot be trusted (one line)."""


class _StaleError(Exception):
    """A complete entry of another format or another state of the tree (rebuilt silently)."""


#: What reading a damaged entry may raise: each means "do not trust it".
_DAMAGE = (
    _UntrustedError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError,
    EOFError, ArithmeticError, RecursionError, zipfile.BadZipFile,
)  # fmt: skip


def load_entry(
    entry: Path, fingerprint: str, patch_size: int, root: str
) -> tuple[ScanResult, ScanReport, dict[str, Any], bool] | None:
    """Read ``entry`` if it is whole and current: its index, report and ``meta.json``.

    Returns
    -------
    tuple or None
        ``(result, report, meta, changed)``, where ``changed`` says that a file's stats
        differ from its record (all its blocks were checked, and passed); None when there is
        no complete entry or it is of another format or tree state.

    Raises
    ------
    Exception
        One of :data:`_DAMAGE` when a check fails (``_UntrustedError`` names it).
    """
    if not (entry / "meta.json").is_file():
        return None  # never built, or a build that did not finish
    try:
        meta = _read_meta(entry / "meta.json", fingerprint)
    except _StaleError:
        return None
    n = meta["n_patches"]
    changed = [check_file(entry / name, meta["files"].get(name), name) for name in _FILES]
    arrays = _read_index(entry / "index.npz", n, meta["build_id"])
    _check_images_header(entry / "images.npy", (n, patch_size, patch_size, 3))
    report = ScanReport.from_dict(meta["report"])
    if (report.n_patches, report.root, meta["root"], meta["patch_size"]) != (
        n, root, root, patch_size,
    ):  # fmt: skip
        raise _UntrustedError("meta.json disagrees with itself or the tree")
    result = ScanResult(
        meta["root"], arrays["relpaths"], arrays["patients"], arrays["x"], arrays["y"],
        arrays["labels"],
    )  # fmt: skip
    return result, report, meta, any(changed)


def damage_note(err: BaseException) -> str:
    """Say in one short line why an entry is not trusted."""
    text = str(err) if isinstance(err, _UntrustedError) else repr(err)
    return (text.splitlines() or [type(err).__name__])[0][:200]


def _read_meta(path: Path, fingerprint: str) -> dict[str, Any]:
    """Read ``meta.json``: ``_StaleError`` for another format or tree, else check its schema."""
    meta = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(meta, dict):
        raise _UntrustedError("meta.json is not a JSON object")
    other = meta.get("format") != FORMAT_VERSION or meta.get("fingerprint") != fingerprint
    if other and isinstance(meta.get("format"), int) and isinstance(meta.get("fingerprint"), str):
        raise _StaleError
    for key, kind in _META_TYPES.items():
        value = meta.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _UntrustedError(f"meta.json: {key!r} is missing or of the wrong type")
    if meta["n_patches"] < 0:
        raise _UntrustedError("meta.json: 'n_patches' is negative")
    return meta


def _read_index(path: Path, n: int, build_id: str) -> dict[str, npt.NDArray[Any]]:
    """Read ``index.npz`` and check every array's presence, dtype and length, and the build id."""
    with np.load(path, allow_pickle=False) as index:
        if sorted(index.files) != sorted(_INDEX_KEYS):
            raise _UntrustedError(f"index.npz holds {sorted(index.files)}")
        arrays = {key: index[key] for key in index.files}
    if str(arrays.pop("build_id")) != build_id:
        raise _UntrustedError("index.npz is of another build than meta.json")
    kinds = {"relpaths": "U", "patients": "U", "x": "i", "y": "i", "labels": "i", "padded": "b"}
    for key, kind in kinds.items():
        value = arrays[key]
        if value.dtype.kind != kind or value.shape != (n,):
            raise _UntrustedError(f"index.npz: {key!r} is {value.dtype} of shape {value.shape}")
    if not np.isin(arrays["labels"], (0, 1)).all():
        raise _UntrustedError("index.npz: labels other than 0 and 1")
    for key in ("x", "y", "labels"):
        arrays[key] = arrays[key].astype(np.int64, copy=False)
    return arrays


def _check_images_header(path: Path, shape: tuple[int, ...]) -> None:
    """Check ``images.npy``'s header (uint8, C order, ``shape``) against the file's size."""
    found, fortran, dtype, offset = _npy_header(path)
    if found != shape or fortran or dtype != np.uint8:
        raise _UntrustedError(f"images.npy holds {dtype} of shape {found}, expected uint8 {shape}")
    size = path.stat().st_size
    if size != offset + int(np.prod(shape)):
        raise _UntrustedError(
            f"images.npy has {size} bytes, expected {offset + int(np.prod(shape))}"
        )


def _npy_header(path: Path) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """Read a ``.npy`` header (shape, Fortran order, dtype, data offset) without the data."""
    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise _UntrustedError(f"{path.name} is .npy version {version}")
        return tuple(int(s) for s in shape), bool(fortran), dtype, fh.tell()


def file_record(path: Path) -> dict[str, Any]:
    """Return what :func:`check_file` checks ``path`` against: its stats and block digests."""
    st = os.stat(path)
    blocks = _digests(path, range(-(-st.st_size // _BLOCK_BYTES)))
    return {**_stats(st), "blocks": blocks}


def check_file(path: Path, record: Any, name: str) -> bool:
    """Check ``path`` against its :func:`file_record`; return True when its stats changed.

    A file whose stats (size, inode, mtime, ctime) match has :data:`_SAMPLED_BLOCKS` blocks
    checked (the first, the last and random ones); a changed one has every block checked.
    Raises ``_UntrustedError`` on a difference.
    """
    if not isinstance(record, dict) or not isinstance(record.get("blocks"), list):
        raise _UntrustedError(f"meta.json has no record of {name}")
    st = os.stat(path)
    blocks = record["blocks"]
    if st.st_size != record.get("size") or len(blocks) != -(-st.st_size // _BLOCK_BYTES):
        raise _UntrustedError(f"{name} has {st.st_size} bytes, expected {record.get('size')}")
    changed = _stats(st) != {key: record.get(key) for key in _STAT_KEYS}
    which: Sequence[int] = range(len(blocks))
    if not changed and len(blocks) > _SAMPLED_BLOCKS:
        middle = np.random.default_rng().choice(len(blocks) - 2, _SAMPLED_BLOCKS - 2, False)
        which = [0, len(blocks) - 1, *(int(i) + 1 for i in middle)]
    for i, digest in zip(which, _digests(path, which), strict=True):
        if digest != blocks[i]:
            raise _UntrustedError(f"{name} differs from its build (block {i} of {len(blocks)})")
    return changed


def _stats(st: os.stat_result) -> dict[str, int]:
    """Return the stats a record keeps (:data:`_STAT_KEYS`) of ``st``."""
    return dict(
        zip(_STAT_KEYS, (st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns), strict=True)
    )


def _digests(path: Path, blocks: Sequence[int]) -> list[str]:
    """Return the BLAKE2b digest (hex) of each of ``blocks`` of ``path``."""
    out = []
    with open(path, "rb") as fh:
        for i in blocks:
            fh.seek(i * _BLOCK_BYTES)
            out.append(hashlib.blake2b(fh.read(_BLOCK_BYTES), digest_size=16).hexdigest())
    return out
