#!/usr/bin/env python3
"""GPU training throughput of the ``seed`` recipe's VGG19 and its steps' wait for input.

Trains ``build_transfer_model("vgg19", weights=None)`` (the capstone head, 50x50 input, SGD;
batch 50 by default, as the recipe) on idckit's Keras feed with flips/rotations, done either by
the feed on the host (``augment=True``) or by a ``RandomDihedral`` layer in front of the model
on the device, and, side by side in the same process, on a feed that hands over one ready-made
batch (no gathering, no host augmentation: the floor). For each precision and augmentation it
reports images per second on both and

* ``input_wait``: ``1 - t_ready / t_feed``, the share of the training time that the idckit feed
  adds over the ready-made batches, i.e. the time each step waits for its input;
* ``getitem_share``: the share of the training time spent inside the feed's ``__getitem__``
  (an upper bound on the wait).

The model is compiled once per precision, augmentation and batch size; an untimed pass on the
feed then warms the process up, and every feed first trains 3 untimed steps, so compilation and
warm-up are outside every timing. Then the feeds take turns on the model ``--repeats`` times
(ready-made, then the idckit feed), so that the machine's
drifts hit them alike; images per second and the input wait come from the median times, and
``input_wait_range`` gives the lowest and highest wait of the turns. At batch 50 a step takes
2-3 ms on an H200, and single runs of the same configuration differed by up to 25 points of
input wait, hence the turns. ``--steps-per-execution`` compiles with Keras's
``steps_per_execution`` (several training steps per call from the fit loop).
``images_per_s_ready_made_copies`` trains on a fresh copy of the ready-made batch every step
(new host memory, no other work), and ``batch_ms_alone`` is the feed's time per batch on its
own, outside training.

    KERAS_BACKEND=jax python benchmarks/bench_train_feed.py --out feed.json  # synthetic patches
    KERAS_BACKEND=jax python benchmarks/bench_train_feed.py --data DIR --out feed.json
    python benchmarks/bench_train_feed.py --images 300 --precisions float32 --augment device \\
        --repeats 1 --out smoke.json                       # a CPU smoke run

Prints one JSON line per configuration and writes them all, with the device, to ``--out``.
Takes a few minutes on one GPU per command of the benchmarks page (each configuration
compiles once, then trains ``--images`` images 2 x ``--repeats`` + 2 times); the CPU smoke run
takes a few minutes too (VGG19 on 300 images).

Goal (issue 4): input wait under 5% of each step on a GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def timed(feed: Any) -> Any:
    """Wrap a ``PyDataset`` in one that adds up the seconds spent in ``__getitem__``."""
    import keras

    class TimedFeed(keras.utils.PyDataset):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(workers=feed.workers)
            self.seconds = 0.0

        def __len__(self) -> int:
            return len(feed)

        def __getitem__(self, index: int) -> Any:
            t0 = time.perf_counter()
            try:
                return feed[index]
            finally:
                self.seconds += time.perf_counter() - t0

        def on_epoch_end(self) -> None:
            feed.on_epoch_end()

    return TimedFeed()


def ready_made(feed: Any, copy: bool = False) -> Any:
    """A ``PyDataset`` as long as ``feed`` that hands over its first batch every time.

    With ``copy``, a fresh copy of it every time (new host memory for each step, no other work).
    """
    import keras

    first = feed[0]

    class ReadyFeed(keras.utils.PyDataset):  # type: ignore[misc]
        def __len__(self) -> int:
            return len(feed)

        def __getitem__(self, index: int) -> Any:
            return tuple(part.copy() for part in first) if copy else first

    return ReadyFeed()


def train_seconds(model: Any, feed: Any, steps: int) -> float:
    t0 = time.perf_counter()
    model.fit(feed, epochs=1, steps_per_epoch=steps, verbose=0)
    return time.perf_counter() - t0


def feed_ms_alone(feed: Any, batches: int = 50) -> float:
    """Milliseconds per batch of ``feed`` on its own, outside any training."""
    t0 = time.perf_counter()
    for index in range(min(batches, len(feed))):
        feed[index]
    return 1e3 * (time.perf_counter() - t0) / min(batches, len(feed))


def build(precision: str, augment: str, steps_per_execution: int = 1) -> Any:
    """The seed recipe's VGG19, compiled; ``augment="device"`` puts RandomDihedral in front."""
    import keras

    from idckit.models import (
        RandomDihedral,
        build_transfer_model,
        loss_for_model,
        precision_policy,
    )

    with precision_policy(precision):
        model = build_transfer_model("vgg19", weights=None)
        if augment == "device":
            model = keras.Sequential([keras.Input((50, 50, 3)), RandomDihedral(seed=0), model])
    model.compile(
        optimizer=keras.optimizers.SGD(1e-4, momentum=0.2),
        loss=loss_for_model(model),
        steps_per_execution=steps_per_execution,
    )
    return model


def measure(
    dataset: Any,
    precision: str,
    augment: str,
    images: int,
    batch_size: int,
    steps_per_execution: int = 1,
    repeats: int = 5,
) -> list[dict[str, Any]]:
    import keras

    per_call = steps_per_execution
    steps = images // batch_size // per_call * per_call  # whole calls only
    warm_up = per_call * -(-3 // per_call)  # at least 3 steps, whole calls
    model = build(precision, augment, per_call)

    def feed() -> Any:
        return dataset.to_keras(batch_size=batch_size, augment=augment == "host", seed=0)

    ready = ready_made(feed())
    train_seconds(model, ready, warm_up)  # compile
    # The first run of the process on fresh batches is slow for a while (several seconds on
    # an H200 with JAX, far beyond its first steps): warm that up with an untimed pass.
    train_seconds(model, feed(), steps)
    idc_feed = timed(feed())
    train_seconds(model, idc_feed, warm_up)  # warm up with this feed
    idc_feed.seconds = 0.0
    floors: list[float] = []
    seconds_each: list[float] = []
    for _ in range(repeats):  # take turns, so that drifts of the machine hit both alike
        floors.append(train_seconds(model, ready, steps))
        seconds_each.append(train_seconds(model, idc_feed, steps))
    floor = statistics.median(floors)
    copied = train_seconds(model, ready_made(feed(), copy=True), steps)
    alone = feed_ms_alone(feed())
    seconds = statistics.median(seconds_each)
    waits = [max(0.0, 1 - f / s) for f, s in zip(floors, seconds_each, strict=True)]
    getitem = idc_feed.seconds / repeats
    return [{
        "backend": keras.backend.backend(),
        "precision": precision,
        "augment": augment,
        "batch_size": batch_size,
        "steps_per_execution": per_call,
        "steps": steps,
        "repeats": repeats,
        "images_per_s": round(steps * batch_size / seconds, 1),
        "images_per_s_ready_made": round(steps * batch_size / floor, 1),
        "images_per_s_ready_made_copies": round(steps * batch_size / copied, 1),
        "input_wait": round(max(0.0, 1 - floor / seconds), 4),
        "input_wait_range": [round(min(waits), 4), round(max(waits), 4)],
        "getitem_share": round(getitem / seconds, 4),
        "step_ms_ready_made": round(1e3 * floor / steps, 3),
        "batch_ms_alone": round(alone, 3),
    }]  # fmt: skip


def device_name() -> str:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    if keras.backend.backend() == "torch":
        import torch

        return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    return platform.processor() or "cpu"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", help="a patch tree (default: a synthetic one, in a temp dir)")
    parser.add_argument("--out", type=Path, required=True, help="write the JSON result here")
    parser.add_argument("--images", type=int, default=12800, help="images per timed run")
    parser.add_argument("--batch-sizes", default="50", help="comma-separated (the seed's: 50)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each feed")
    parser.add_argument(
        "--steps-per-execution", default="1", help="comma-separated Keras steps_per_execution"
    )
    parser.add_argument("--precisions", default="float32,mixed_float16,mixed_bfloat16")
    parser.add_argument(
        "--augment", default="host,device",
        help="host: the feed flips/rotates (augment=True); device: a RandomDihedral layer does",
    )  # fmt: skip
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    per_call = [int(k) for k in args.steps_per_execution.split(",")]

    from idckit.data import IDCPatchDataset
    from idckit.datasets import make_synthetic

    result: dict[str, Any] = {"benchmark": "bench_train_feed", "command": sys.argv[1:],
                              "device": device_name(), "rows": []}  # fmt: skip
    print(json.dumps({"device": result["device"]}))
    needed = args.images + max(batch_sizes)
    with tempfile.TemporaryDirectory() as work:
        if args.data:
            root = Path(args.data)
        else:  # enough patches for the timed runs
            per_patient = 300
            root = make_synthetic(
                Path(work) / "data", n_patients=max(2, -(-needed // per_patient)),
                patches_per_patient=per_patient, seed=0,
            )  # fmt: skip
        dataset = IDCPatchDataset.from_directory(root, cache_dir=Path(work) / "cache")
        if len(dataset) < needed:
            parser.error(f"{len(dataset)} patches are too few for --images {args.images}")
        for batch_size in batch_sizes:
            for precision in args.precisions.split(","):
                for augment in args.augment.split(","):
                    for k in per_call:
                        rows = measure(
                            dataset, precision, augment, args.images, batch_size, k,
                            args.repeats,
                        )  # fmt: skip
                        for row in rows:
                            print(json.dumps(row), flush=True)
                        result["rows"] += rows
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
