#!/usr/bin/env python3
"""Data-layer benchmark: idckit's index + decode + cache against ../shared/bench, in one run.

Builds (or reuses) a Kaggle-layout tree of ``--patches`` patches from the real patches in DATA
with ``make_scaled_tree.py --link`` (hard links) in ``--workdir``, then measures side by side:

- ``decode_limit.py``: the machine's PNG-decode limit (bytes read beforehand, all cores);
- ``seed_style_load.py``: the original notebook's one-file-at-a-time loading;
- idckit cold ``IDCPatchDataset.from_directory`` (walk + index + parallel decode + cache);
- idckit warm reopen (``idckit cache``: walk + fingerprint + read the index; checks reuse);
- the Keras feed's batch rate from the cache (``to_keras``, ``__getitem__`` over one epoch),
  without and with augmentation;
- time and peak RSS of indexing alone (``idckit index``: walk + parse + duplicates + PNG
  headers), above the interpreter and idckit's imports.

Each measurement runs in its own process, one after another, so they do not compete. The
scripts of ../shared/bench come from ``--shared-bench DIR`` or $IDCKIT_SHARED_BENCH.

    python benchmarks/bench_data.py ../shared/data/idc-train --shared-bench ../shared/bench \\
        --out data.json                                    # 277,524 patches
    python benchmarks/bench_data.py DATA --shared-bench DIR --patches 30000 --out quick.json

Takes several minutes at 277,524 patches on a 2-core CPU (about 30 s per contender once the
tree exists; building the tree of hard links the first time takes a few minutes more), under
a minute at 30,000.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_COLD = """
import json, sys, time
from idckit.data import IDCPatchDataset
t0 = time.perf_counter()
ds = IDCPatchDataset.from_directory(sys.argv[1], cache_dir=sys.argv[2], progress=False)
dt = time.perf_counter() - t0
print(json.dumps({"n": len(ds), "seconds": dt, "padded": ds.report.padded}))
"""

_FEED = """
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from idckit.data import IDCPatchDataset
ds = IDCPatchDataset.from_directory(sys.argv[1], cache_dir=sys.argv[2], progress=False)
out = {"n": len(ds)}
for augment in (False, True):
    feed = ds.to_keras(batch_size=int(sys.argv[3]), augment=augment, seed=0)  # imports Keras
    feed[0]
    t0 = time.perf_counter()
    n = sum(len(feed[i][1]) for i in range(len(feed)))
    out["feed_augment" if augment else "feed"] = n / (time.perf_counter() - t0)
print(json.dumps(out))
"""

_INDEX_RSS = """
import contextlib, io, json, resource, sys, time
from idckit.data import IDCPatchDataset  # imports what indexing uses, before the base RSS
from idckit.cli import main
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
base = rss()
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()) as text:
    status = main(["index", sys.argv[1], "--json"])
dt = time.perf_counter() - t0
assert status == 0, text.getvalue()
n = json.loads(text.getvalue())["n_patches"]
print(json.dumps({"n": n, "seconds": dt, "base_mb": base, "peak_mb": rss()}))
"""


def _python(*args: str) -> dict[str, Any]:
    """Run ``python ARGS`` (code or a module) and read the JSON object it prints last."""
    out = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _rate_of(shared_bench: Path, script: str, tree: Path) -> float:
    out = subprocess.run(
        [sys.executable, str(shared_bench / script), str(tree)],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"([0-9.]+) images/s", out.stdout)
    if match is None:
        raise RuntimeError(f"{script} printed no rate: {out.stdout!r}")
    return float(match.group(1))


def make_tree(shared_bench: Path, source: Path, workdir: Path, patches: int) -> Path:
    """The scaled tree of ``patches`` hard links to ``source``'s patches (built once)."""
    tree = workdir / f"tree-{patches}"
    done = workdir / f"tree-{patches}.complete"
    if not done.exists() or done.read_text() != str(source.resolve()):
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(shared_bench / "make_scaled_tree.py"), str(tree),
             "--patches", str(patches), "--source", str(source), "--link"],
            check=True, capture_output=True,
        )  # fmt: skip
        done.write_text(str(source.resolve()))
    return tree


def run(
    source: Path, shared_bench: Path, patches: int, workdir: Path, batch_size: int,
    baselines: bool,
) -> dict[str, Any]:  # fmt: skip
    tree = make_tree(shared_bench, source, workdir, patches)
    cache = workdir / "cache"
    results: dict[str, Any] = {"patches": patches, "cpus": os.cpu_count() or 1}
    if baselines:  # decode_limit.py also warms the page cache
        results["decode_limit"] = _rate_of(shared_bench, "decode_limit.py", tree)
        results["seed_style"] = _rate_of(shared_bench, "seed_style_load.py", tree)
    shutil.rmtree(cache, ignore_errors=True)
    cold = _python("-c", _COLD, str(tree), str(cache))
    results["cold_seconds"] = cold["seconds"]
    results["cold_rate"] = cold["n"] / cold["seconds"]
    results["padded"] = cold["padded"]
    warm = _python("-m", "idckit", "cache", str(tree), "--cache-dir", str(cache), "--json")
    if not warm["reused"]:
        raise RuntimeError(f"the warm reopen did not reuse the cache: {warm}")
    results["warm_seconds"] = warm["seconds"]
    feed = _python("-c", _FEED, str(tree), str(cache), str(batch_size))
    results["feed_rate"] = feed["feed"]
    results["feed_rate_augment"] = feed["feed_augment"]
    rss = _python("-c", _INDEX_RSS, str(tree))
    results["index_seconds"] = rss["seconds"]
    results["index_peak_mb"] = rss["peak_mb"]
    results["index_rss_increase_mb"] = rss["peak_mb"] - rss["base_mb"]
    return results


def table(r: dict[str, Any], batch_size: int) -> str:
    rows = [("patches", f"{int(r['patches']):,} on {int(r['cpus'])} CPUs", "")]
    if "decode_limit" in r:
        rows += [
            ("decode_limit.py", f"{r['decode_limit']:,.0f} images/s", "reference"),
            ("seed_style_load.py", f"{r['seed_style']:,.0f} images/s", "reference"),
        ]
    cold = f"{r['cold_rate']:,.0f} images/s ({r['cold_seconds']:.1f} s)"
    ratio = (
        f"{r['cold_rate'] / r['decode_limit']:.2f}x decode limit (goal >= 0.8x), "
        f"{r['cold_rate'] / r['seed_style']:.1f}x seed style"
        if "decode_limit" in r
        else ""
    )
    rows += [
        ("idckit cold index+decode+cache", cold, ratio),
        ("idckit warm reopen", f"{r['warm_seconds']:.2f} s", "goal < 2 s at 277,524"),
        (f"feed, batch {batch_size}", f"{r['feed_rate']:,.0f} patches/s", "goal >= 100,000"),
        (f"feed + augment, batch {batch_size}", f"{r['feed_rate_augment']:,.0f} patches/s", ""),
        (
            "indexing only (idckit index)",
            f"{r['index_seconds']:.2f} s, peak RSS {r['index_peak_mb']:.0f} MB",
            f"+{r['index_rss_increase_mb']:.0f} MB over the imports (goal <= 300 MB)",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in rows]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data", type=Path, help="tree of real patches to scale up")
    parser.add_argument("--out", type=Path, required=True, help="write the JSON result here")
    parser.add_argument(
        "--shared-bench", type=Path, default=os.environ.get("IDCKIT_SHARED_BENCH"),
        help="folder of decode_limit.py, seed_style_load.py and make_scaled_tree.py "
        "(default: $IDCKIT_SHARED_BENCH; required without it)",
    )  # fmt: skip
    parser.add_argument("--patches", type=int, default=277_524, help="(default 277,524)")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "idckit-bench",
        help="where the scaled tree and its cache go (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=256, help="of the feed (default 256)")
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip decode_limit.py and seed_style_load.py"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.shared_bench is None:
        parser.error("--shared-bench DIR (or $IDCKIT_SHARED_BENCH) is required")
    if not (args.shared_bench / "make_scaled_tree.py").is_file():
        parser.error(f"--shared-bench {args.shared_bench} holds no make_scaled_tree.py")
    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = run(
        args.data, args.shared_bench, args.patches, args.workdir, args.batch_size,
        not args.no_baselines,
    )  # fmt: skip
    print(table(results, args.batch_size))
    results["total_seconds"] = time.perf_counter() - start
    results = {"benchmark": "bench_data", "command": ["bench_data.py", *(argv or sys.argv[1:])],
               "data": str(args.data), **results}  # fmt: skip
    text = json.dumps(results, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
