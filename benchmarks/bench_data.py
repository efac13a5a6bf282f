#!/usr/bin/env python3
"""Data-layer benchmark: idckit's index + decode + cache against ../shared/bench, in one run.

Builds (or reuses) a Kaggle-layout tree of N patches with ``make_scaled_tree.py --link`` in a
work folder outside the repository, then measures side by side:

- ``decode_limit.py``: the machine's PNG-decode limit (bytes read beforehand, all cores);
- ``seed_style_load.py``: the original notebook's one-file-at-a-time loading;
- idckit cold ``from_directory`` (walk + index + parallel decode + cache), in a fresh process;
- idckit warm reopen (walk + fingerprint + read the index), in a fresh process;
- the Keras feed's batch rate from the cache (``__getitem__`` over one epoch);
- peak RSS of indexing alone (walk + parse + duplicates), in a fresh process.

    python benchmarks/bench_data.py                  # 277,524 patches (several minutes)
    python benchmarks/bench_data.py --patches 30000  # a quick run

Each measurement runs in its own process, one after another, so they do not compete.
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

HERE = Path(__file__).resolve().parent
SHARED_BENCH = Path(os.environ.get("IDCKIT_SHARED_BENCH", HERE.parents[1] / "shared" / "bench"))

_COLD = """
import json, sys, time
from idckit.data import IDCPatchDataset
t0 = time.perf_counter()
ds = IDCPatchDataset.from_directory(sys.argv[1], cache_dir=sys.argv[2], progress=False)
dt = time.perf_counter() - t0
print(json.dumps({"n": len(ds), "seconds": dt, "padded": ds.report.padded}))
"""

_WARM_AND_FEED = """
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
from idckit.data import IDCPatchDataset
from idckit.data._dataset import cache_status
t0 = time.perf_counter()
ds = IDCPatchDataset.from_directory(sys.argv[1], cache_dir=sys.argv[2], progress=False)
warm = time.perf_counter() - t0
assert cache_status(ds)[1], "the cache was not reused"
out = {"n": len(ds), "warm_seconds": warm}
for augment in (False, True):
    feed = ds.to_keras(batch_size=int(sys.argv[3]), augment=augment, seed=0)  # imports Keras
    feed[0]
    t0 = time.perf_counter()
    n = sum(len(feed[i][1]) for i in range(len(feed)))
    out["feed_augment" if augment else "feed"] = n / (time.perf_counter() - t0)
print(json.dumps(out))
"""

_INDEX_RSS = """
import json, resource, sys, time
from idckit.data._records import DEFAULT_PATTERN
from idckit.data._scan import parse_listing, walk_tree
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
base = rss()
t0 = time.perf_counter()
listing = walk_tree(sys.argv[1])
fingerprint = listing.fingerprint()
result = parse_listing(listing, DEFAULT_PATTERN, "skip")
dt = time.perf_counter() - t0
print(json.dumps({"n": len(result), "seconds": dt, "base_mb": base, "peak_mb": rss()}))
"""


def _python(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rate_of(script: str, tree: Path) -> float:
    out = subprocess.run(
        [sys.executable, str(SHARED_BENCH / script), str(tree)],
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"([0-9.]+) images/s", out.stdout)
    if match is None:
        raise RuntimeError(f"{script} printed no rate: {out.stdout!r}")
    return float(match.group(1))


def make_tree(workdir: Path, patches: int) -> Path:
    tree = workdir / f"tree-{patches}"
    done = workdir / f"tree-{patches}.complete"
    if not done.exists():
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(SHARED_BENCH / "make_scaled_tree.py"), str(tree),
             "--patches", str(patches), "--link"],
            check=True, capture_output=True,
        )  # fmt: skip
        done.touch()
    return tree


def run(patches: int, workdir: Path, batch_size: int, baselines: bool) -> dict[str, float]:
    tree = make_tree(workdir, patches)
    cache = workdir / "cache"
    results: dict[str, float] = {"patches": patches, "cpus": os.cpu_count() or 1}
    if baselines:
        results["decode_limit"] = _rate_of("decode_limit.py", tree)  # also warms the page cache
        results["seed_style"] = _rate_of("seed_style_load.py", tree)
    shutil.rmtree(cache, ignore_errors=True)
    cold = _python(_COLD, str(tree), str(cache))
    results["cold_seconds"] = cold["seconds"]
    results["cold_rate"] = cold["n"] / cold["seconds"]
    results["padded"] = cold["padded"]
    warm = _python(_WARM_AND_FEED, str(tree), str(cache), str(batch_size))
    results["warm_seconds"] = warm["warm_seconds"]
    results["feed_rate"] = warm["feed"]
    results["feed_rate_augment"] = warm["feed_augment"]
    rss = _python(_INDEX_RSS, str(tree))
    results["index_seconds"] = rss["seconds"]
    results["index_peak_mb"] = rss["peak_mb"]
    results["index_rss_increase_mb"] = rss["peak_mb"] - rss["base_mb"]
    return results


def table(r: dict[str, float], batch_size: int) -> str:
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
            "indexing only (walk+parse)",
            f"{r['index_seconds']:.2f} s, peak RSS {r['index_peak_mb']:.0f} MB",
            f"+{r['index_rss_increase_mb']:.0f} MB over the imports (goal <= 300 MB)",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
             for row in rows]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=277_524)
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "idckit-bench"
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip decode_limit.py and seed_style_load.py"
    )
    parser.add_argument("--json", action="store_true", help="also print the raw numbers")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = run(args.patches, args.workdir, args.batch_size, not args.no_baselines)
    print(table(results, args.batch_size))
    print(f"(whole benchmark: {time.perf_counter() - start:.0f} s)")
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
