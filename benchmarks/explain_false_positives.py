#!/usr/bin/env python3
"""Do the ``cpu`` recipe's false positives come from the patch itself or from its neighbours?

Reads a finished ``bench_recipe_nested.py --out DIR`` run. For every patient asked for (by
default the four with the most false positives), it draws up to ``--per-outcome`` of its
false positives, true positives and true negatives (at the run's threshold, on the recipe's
smoothed predictions), and computes the occlusion map (:func:`idckit.explain.occlusion_map`) of
each patch's 3x3 context mosaic under the ensemble of fold models that never saw the patient,
with ``window`` and ``stride`` equal to the patch size: each of the 9 predictions hides one
patch of the mosaic in white. It prints, per patient and outcome, the mean drop of P(IDC+)
(raw ensemble, before smoothing; in log-odds with ``--scale logit``) when the centre patch is
hidden, the summed drop over the 8 neighbours, and the mean drop per cell, as JSON lines.
``--figure`` draws the maps of a few false positives of the first patient.

    python benchmarks/bench_recipe_nested.py --out runs/nested       # first (about 40 min)
    python benchmarks/explain_false_positives.py --nested runs/nested  # then (about 1 min)
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
from _recipe_variant import DEFAULT_DATA


def read_nested(path: Path, dataset: Any) -> tuple[Any, Any]:
    """P(IDC+) of the recipe and the outer group of every patch, checked against ``dataset``."""
    with (path / "nested_predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    if [r["patient"] for r in rows] != [str(p) for p in dataset.patients]:
        raise SystemExit(f"{path}/nested_predictions.csv does not follow the data set's order")
    prob = np.array([float(r["prob_recipe"]) for r in rows])
    return prob, np.array([int(r["group"]) for r in rows])


def outcome_rows(labels: Any, decided: Any, mine: Any) -> dict[str, Any]:
    """Indices of a patient's false positives, true positives and true negatives."""
    return {
        "false_pos": np.flatnonzero(mine & decided & (labels == 0)),
        "true_pos": np.flatnonzero(mine & decided & (labels == 1)),
        "true_neg": np.flatnonzero(mine & ~decided & (labels == 0)),
    }


def cell_drops(models: list[Any], mosaics: Any, patch: int, scale: str) -> Any:
    """Mean drop of the ensemble's P(IDC+) when each patch of the mosaics is hidden."""
    from idckit.explain import occlusion_map

    maps = occlusion_map(models, mosaics, window=patch, stride=patch, scale=scale)
    side = mosaics.shape[1] // patch
    return maps.reshape(len(mosaics), side, patch, side, patch).mean(axis=(2, 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nested", type=Path, required=True, help="bench_recipe_nested.py --out")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="tree of patches")
    parser.add_argument("--patients", nargs="*", help="default: the 4 with most false positives")
    parser.add_argument("--per-outcome", type=int, default=150, help="patches drawn per outcome")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scale", choices=["probability", "logit"], default="probability", help="of the drops"
    )
    parser.add_argument("--figure", type=Path, help="PNG of 6 false positives' maps")
    args = parser.parse_args()

    from idckit.data import IDCPatchDataset
    from idckit.explain import occlusion_map, plot_occlusion
    from idckit.training import KFoldTrainer

    dataset = IDCPatchDataset.from_directory(args.data, progress=False)
    prob, group = read_nested(args.nested, dataset)
    trainers = {g: KFoldTrainer.from_run_dir(args.nested / f"outer_{g}") for g in set(group)}
    decided = prob >= np.array([trainers[g].threshold for g in group])
    labels, patients = dataset.labels, dataset.patients
    if not args.patients:
        false_pos = patients[decided & (labels == 0)]
        ids, counts = np.unique(false_pos, return_counts=True)
        args.patients = [str(p) for p in ids[np.argsort(-counts, kind="stable")][:4]]
    rng = np.random.default_rng(args.seed)
    for patient in args.patients:
        mine = patients == patient
        trainer = trainers[int(group[mine][0])]
        context, patch = trainer.context, dataset.load_images([0]).shape[1]
        for outcome, found in outcome_rows(labels, decided, mine).items():
            if len(found) == 0:
                continue
            rows = np.sort(rng.choice(found, min(args.per_outcome, len(found)), replace=False))
            mosaics = dataset.load_images(rows, context=context)
            cells = cell_drops(trainer.fold_models(), mosaics, patch, args.scale)
            centre = cells[:, context, context]
            print(json.dumps({
                "patient": patient, "outcome": outcome, "patches": int(mine.sum()),
                "count": len(found), "drawn": len(rows),
                "mean_prob_smoothed": round(float(prob[rows].mean()), 3),
                "drop_centre": round(float(centre.mean()), 3),
                "drop_neighbours": round(float((cells.sum(axis=(1, 2)) - centre).mean()), 3),
                "drop_per_cell": np.round(cells.mean(axis=0), 3).tolist(),
            }), flush=True)  # fmt: skip
            if args.figure and outcome == "false_pos" and patient == args.patients[0]:
                shown = mosaics[:6]
                maps = occlusion_map(trainer.fold_models(), shown, scale=args.scale)
                titles = [f"P(IDC+) {prob[r]:.2f}" for r in rows[:6]]
                figure = plot_occlusion(
                    shown, maps, titles=titles, context=context, scale=args.scale
                )
                figure.savefig(args.figure, dpi=100)


if __name__ == "__main__":
    main()
