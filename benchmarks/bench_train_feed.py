#!/usr/bin/env python3
"""Training throughput of the ``seed`` recipe's VGG19 and the share of time spent on input.

Trains ``build_transfer_model("vgg19", weights=None)`` (the capstone head, 50x50 input) for a
fixed number of steps on idckit's Keras feed and reports images per second, with and without
mixed precision, and the share of the training time spent inside the feed's ``__getitem__``
(gathering, augmenting and handing over a batch). That share is an upper bound on the input
wait per step: the time Keras would wait if it never fetched the next batch ahead.

    KERAS_BACKEND=jax python benchmarks/bench_train_feed.py             # synthetic patches
    KERAS_BACKEND=jax python benchmarks/bench_train_feed.py --data DIR  # a real tree
    python benchmarks/bench_train_feed.py --steps 5 --precisions float32  # a CPU smoke run

Goal (issue 4): input wait under 5% of each step on a GPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any


def timed(feed: Any) -> Any:
    """Wrap a ``PyDataset`` in one that adds up the seconds spent in ``__getitem__``."""
    import keras

    class TimedFeed(keras.utils.PyDataset):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
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


def measure(dataset: Any, precision: str, steps: int, batch_size: int) -> dict[str, Any]:
    import keras

    from idckit.models import build_transfer_model, loss_for_model, precision_policy

    with precision_policy(precision):
        model = build_transfer_model("vgg19", weights=None)
    model.compile(optimizer=keras.optimizers.SGD(1e-4, momentum=0.2), loss=loss_for_model(model))
    feed = timed(dataset.to_keras(batch_size=batch_size, augment=True, seed=0))
    model.fit(feed, epochs=1, steps_per_epoch=min(len(feed), 3), verbose=0)  # compile, warm up
    feed.seconds = 0.0
    t0 = time.perf_counter()
    model.fit(feed, epochs=1, steps_per_epoch=steps, verbose=0)
    seconds = time.perf_counter() - t0
    return {
        "backend": keras.backend.backend(),
        "precision": precision,
        "steps": steps,
        "batch_size": batch_size,
        "images_per_s": round(steps * batch_size / seconds, 1),
        "input_share": round(feed.seconds / seconds, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a patch tree (default: a synthetic one)")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--precisions", default="float32,mixed_float16")
    args = parser.parse_args()

    from idckit.data import IDCPatchDataset
    from idckit.datasets import make_synthetic

    with tempfile.TemporaryDirectory() as work:
        root = Path(args.data) if args.data else make_synthetic(Path(work) / "data", seed=0)
        dataset = IDCPatchDataset.from_directory(root, cache_dir=Path(work) / "cache")
        for precision in args.precisions.split(","):
            print(json.dumps(measure(dataset, precision, args.steps, args.batch_size)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
