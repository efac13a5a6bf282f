"""``idckit demo``: the main job end to end on the embedded synthetic data set, in minutes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from idckit.cli._runs import one_line_errors


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` sub-parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="synthetic data -> K-fold training -> held-out evaluation (a few minutes on a CPU)",
        description="Write the synthetic data set, hold out a quarter of its patients, "
        "cross-validate the benchmark CNN on the rest (patient-grouped folds), choose the "
        "threshold on out-of-fold predictions and evaluate the fold ensemble on the held-out "
        "patients. Rerunning with the same --out reuses the data and the finished run.",
    )
    parser.add_argument(
        "--out", default="idckit-demo", metavar="DIR", help="default: ./idckit-demo"
    )
    parser.add_argument("--folds", type=int, default=3, metavar="K", help="default: 3")
    parser.add_argument("--epochs", type=int, default=4, metavar="N", help="default: 4")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="default: 0")
    return parser


def _data(out: Path, seed: int) -> Path:
    from idckit.datasets import make_synthetic

    root = out / "data"
    if root.is_dir() and any(root.iterdir()):
        print(f"synthetic data: reusing {root}")
        return root
    started = time.perf_counter()
    make_synthetic(root, seed=seed)
    print(f"synthetic data: wrote {root} in {time.perf_counter() - started:.1f}s")
    return root


def run(args: argparse.Namespace) -> int:
    """Run the demo and print where every output is."""
    out = Path(args.out)
    with one_line_errors():
        from idckit.data import IDCPatchDataset
        from idckit.training import KFoldTrainer, TrainingConfig, model_builder

        config = TrainingConfig(
            n_splits=args.folds, epochs=args.epochs, batch_size=64, seed=args.seed
        )  # checked before any work: a bad --folds or --epochs is one line

        dataset = IDCPatchDataset.from_directory(_data(out, args.seed), cache_dir=out / "cache")
        train, test = dataset.train_test_split(0.25, seed=args.seed)
        print(
            f"patients: {len(train.patient_ids)} for cross-validation ({len(train)} patches), "
            f"{len(test.patient_ids)} held out ({len(test)} patches)"
        )
        trainer = KFoldTrainer(
            model_builder("benchmark"),
            config,
            out_dir=out / "run",
            resume=True,
            model_config={"name": "benchmark", "kwargs": {}},
        )
        print(trainer.fit(train))
        report = trainer.run_.evaluate(test, out_dir=out / "evaluation")
    print(
        f"\nheld-out patients, fold ensemble at threshold {trainer.run_.threshold:.4f}:\n{report}"
    )
    print(f"\nrun (models, splits, per-fold learning curves, summary): {out / 'run'}")
    print(f"held-out report, confusion matrix, ROC/PR curves, patient maps: {out / 'evaluation'}")
    return 0
