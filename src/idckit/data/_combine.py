"""Combining datasets: several trees (or datasets) as one, their pixels in one store.

:meth:`IDCPatchDataset.concat <idckit.data.IDCPatchDataset.concat>` (and ``from_directory`` with
several roots) refuses a patient in two of its parts, puts the per-patch tables end to end
(:meth:`PatchIndex.concat`), adds up the scan reports (:meth:`ScanReport.combine`) and gives the
pixels a single store, so that selections, mosaics and Keras batches read one array as before:

- parts backed by decode caches get a *combined entry*, a folder ``<names>-<hash>`` next to
  their entries (or in ``cache_dir``) holding ``images.npy`` (the parts' patches end to end,
  memory-mapped) and ``meta.json`` (the parts' entries, rows, fingerprints and build ids, and a
  record of ``images.npy`` checked as a tree's entry checks its files; removed first, written
  last). It is named after the parts' entries and rows, reused while their fingerprints match
  and ``images.npy`` passes its check, and copied again from the parts' caches (never decoded
  again) when a part changed or was rebuilt, or the copy is damaged (with a ``CacheWarning``);
- parts with in-memory pixels are concatenated in memory; parts without pixels give none.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Sequence, Set
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from idckit._errors import invalid_argument
from idckit.data._cache import (
    _COPY_BLOCK,
    CacheSpec,
    CacheWarning,
    PixelStore,
    _remove_stale,
    _temporary,
    _write_json,
)
from idckit.data._index import PatchIndex
from idckit.data._integrity import (
    _DAMAGE,
    FORMAT_VERSION,
    _check_images_header,
    _stats,
    check_file,
    damage_note,
    file_record,
)
from idckit.data._report import ScanReport

if TYPE_CHECKING:  # pragma: no cover
    from idckit.data._dataset import IDCPatchDataset
    from idckit.data._pixels import PatchPixels

#: How many colliding patient ids an error names.
_NAMED = 5


@dataclass(frozen=True, eq=False)
class CombinedSpec:
    """A combined cache entry: the parts it copies, in order, and their fingerprint."""

    entry: Path
    parts: tuple[PatchPixels, ...]
    fingerprint: str
    shape: tuple[int, int, int, int]
    reused: bool = False


def tree_roots(roots: Sequence[str | os.PathLike[str]], owner: str) -> list[str]:
    """Return the folders of ``roots`` (at least one), refusing one given twice."""
    roots = list(roots)
    if not roots:
        raise invalid_argument("root", owner, "a folder, or a non-empty sequence of folders", [])
    seen: dict[str, str] = {}
    for root in roots:
        text = os.fspath(root)
        real = os.path.realpath(text)
        if real in seen:
            raise invalid_argument(
                "root", owner, "distinct folders", [os.fspath(r) for r in roots],
                f"{seen[real]!r} and {text!r} are the same folder: pass each tree once.",
            )  # fmt: skip
        seen[real] = text
    return [os.fspath(r) for r in roots]


def concat_datasets(
    datasets: Sequence[IDCPatchDataset],
    *,
    cache_dir: str | os.PathLike[str] | None,
    owner: str,
    argument: str,
) -> tuple[PatchIndex, PatchPixels, ScanReport | None]:
    """Check and combine the index, pixels and report of ``datasets`` (see the module doc)."""
    from idckit.data._pixels import PatchPixels

    datasets = list(datasets)
    if not datasets:
        raise invalid_argument(argument, owner, "at least one dataset", datasets)
    _check_disjoint(datasets, owner, argument)
    index = PatchIndex.concat([d._index for d in datasets])
    parts = [d._pixels for d in datasets]
    lengths = [len(d) for d in datasets]
    if all(p.store is None for p in parts):
        pixels = PatchPixels()
    elif any(p.store is None for p in parts):
        raise invalid_argument(
            argument, owner, "datasets that all have pixels, or none of them",
            [p.store is not None for p in parts],
        )  # fmt: skip
    elif all(p.cache is not None for p in parts):
        spec = open_combined(parts, lengths, cache_dir, owner, argument)
        pixels = PatchPixels(PixelStore(spec.entry / "images.npy"), spec)
    else:
        images = [p.images() for p in parts]
        _patch_size({i.shape[1:] for i in images}, owner, argument)
        pixels = PatchPixels(PixelStore(array=np.concatenate(images)))
    reports = [d._report for d in datasets]
    report = None if all(r is None for r in reports) else _combined_report(datasets)
    return index, pixels, report


def _name(dataset: IDCPatchDataset, i: int) -> str:
    root = dataset._index.root
    return repr(root) if root else f"datasets[{i}]"


def _check_disjoint(datasets: Sequence[IDCPatchDataset], owner: str, argument: str) -> None:
    """Refuse a patient id found in two of ``datasets`` (naming a few, and the two parts)."""
    ids = [np.asarray(d.patient_ids, dtype=str) for d in datasets]
    for j in range(1, len(ids)):
        for i in range(j):
            common = np.intersect1d(ids[i], ids[j])
            if common.size:
                more = f" and {common.size - _NAMED} more" if common.size > _NAMED else ""
                raise invalid_argument(
                    argument, owner, "trees (or datasets) whose patient ids differ",
                    [_name(d, k).strip("'") for k, d in enumerate(datasets)],
                    f"Patients {common[:_NAMED].tolist()}{more} are in both "
                    f"{_name(datasets[i], i)} and {_name(datasets[j], j)}: rename them, or pass "
                    "each patient once.",
                )  # fmt: skip


def _combined_report(datasets: Sequence[IDCPatchDataset]) -> ScanReport:
    """Add up the reports of the distinct scans behind ``datasets``."""
    distinct: list[ScanReport] = []
    for report in (d.report for d in datasets):
        if not any(report == seen for seen in distinct):  # subsets share their tree's report
            distinct.append(report)
    return ScanReport.combine(distinct)


def _patch_size(shapes: Set[tuple[int, ...]], owner: str, argument: str) -> int:
    if len(shapes) != 1:
        rule = "datasets with patches of one size"
        raise invalid_argument(argument, owner, rule, sorted(shapes))
    return int(next(iter(shapes))[0])


# ---------------------------------------------------------------------- the combined entry
def _part_key(part: PatchPixels) -> list[str]:
    """Return the entry, selected rows (a hash), fingerprint and build of a cache-backed part."""
    spec = part.cache
    assert spec is not None  # concat_datasets checked
    rows = "all"
    if part.rows is not None:
        data = np.ascontiguousarray(part.rows, dtype=np.int64).tobytes()
        rows = hashlib.blake2b(data, digest_size=8).hexdigest()
    build = spec.build_id if isinstance(spec, CacheSpec) else ""
    return [str(spec.entry), rows, spec.fingerprint, build]


def _digest(value: object) -> str:
    text = json.dumps(value).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(text, digest_size=8).hexdigest()


def open_combined(
    parts: Sequence[PatchPixels],
    lengths: Sequence[int],
    cache_dir: str | os.PathLike[str] | None,
    owner: str,
    argument: str,
) -> CombinedSpec:
    """Reuse the combined entry of cache-backed ``parts`` when it matches, else copy it."""
    specs = [p.cache for p in parts]
    sizes = {s.shape[1:] if isinstance(s, CombinedSpec) else _size(s) for s in specs if s}
    size = _patch_size(sizes, owner, argument)
    keys = [_part_key(p) for p in parts]
    names = [s.entry.name.rsplit("-", 1)[0] for s in specs if s is not None]
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", "+".join(names))[:40]
    first = specs[0]
    assert first is not None  # concat_datasets checked
    base = Path(cache_dir) if cache_dir is not None else first.entry.parent
    entry = base / f"{name}-{_digest([FORMAT_VERSION, [k[:2] for k in keys], size])}"
    shape = (int(sum(lengths)), size, size, 3)
    fingerprint = _digest(keys)
    reused = _matches(entry, fingerprint, shape)
    spec = CombinedSpec(entry, tuple(parts), fingerprint, shape, reused)
    if not reused:
        write_combined(spec)
    return spec


def _size(spec: CacheSpec) -> tuple[int, int, int]:
    return (spec.patch_size, spec.patch_size, 3)


def _matches(entry: Path, fingerprint: str, shape: tuple[int, ...]) -> bool:
    """Whether ``entry`` is complete, whole and was copied from parts with this fingerprint."""
    if not (entry / "meta.json").is_file():
        return False
    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION or meta.get("fingerprint") != fingerprint:
            return False
        changed = check_file(entry / "images.npy", meta["files"]["images.npy"], "images.npy")
        _check_images_header(entry / "images.npy", shape)
    except _DAMAGE as err:
        warnings.warn(
            f"Copying the combined cache {entry} again: {damage_note(err)}", CacheWarning, 3
        )
        return False
    if changed:  # every block checked: remember the file's new stats
        meta["files"]["images.npy"].update(_stats(os.stat(entry / "images.npy")))
        _write_json(entry, "meta.json", meta)
    return True


def write_combined(spec: CombinedSpec, *, force: bool = False) -> None:
    """Copy the parts' patches end to end into ``spec.entry`` (decoding a part if ``force``)."""
    entry = spec.entry
    entry.mkdir(parents=True, exist_ok=True)
    _remove_stale(entry)
    (entry / "meta.json").unlink(missing_ok=True)  # incomplete until meta.json is back
    with _temporary(entry, ".npy") as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=spec.shape)
        start = 0
        for part in spec.parts:
            if force:
                part.build_cache(force=True)
            array, rows = part.opened().array, part.rows
            n = len(array) if rows is None else len(rows)
            for lo in range(0, n, _COPY_BLOCK):
                hi = min(lo + _COPY_BLOCK, n)
                block = array[lo:hi] if rows is None else array[rows[lo:hi]]
                out[start + lo : start + hi] = block
            start += n
        del out  # unmapped without msync: the page cache holds the pixels
        os.replace(tmp, entry / "images.npy")
    meta = {
        "format": FORMAT_VERSION,
        "fingerprint": spec.fingerprint,
        "n_patches": spec.shape[0],
        "parts": [_part_key(p) for p in spec.parts],
        "files": {"images.npy": file_record(entry / "images.npy")},
    }
    _write_json(entry, "meta.json", meta)
