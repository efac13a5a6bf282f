"""
6. Slide heat maps and region agreement per patient
===================================================

Pathologists look at slides, not 50x50 squares. Every patch lies on its slide's 50-pixel grid,
so a model's P(IDC+) can be drawn over the tissue itself, next to the region that was
annotated, and the two regions compared patient by patient: Dice and IoU of the predicted IDC
region against the annotated one, the region-level view behind the IDC detection maps of
Cruz-Roa et al. (2014). A small model trained in seconds on a synthetic data set shows how.
"""

# %%
# A quick run and patients it never saw
# --------------------------------------
# :func:`~idckit.datasets.make_synthetic` clusters each patient's IDC(+) patches around a
# tumour centre, as on a real slide. A two-fold run of the benchmark CNN, a few epochs,
# is enough to see the maps; the three held-out patients are the ones drawn.
import tempfile
from pathlib import Path

import numpy as np

import idckit
from idckit.reporting import plot_slide_heatmap, region_agreement

work = Path(tempfile.mkdtemp(prefix="idckit-heatmap-"))
root = idckit.make_synthetic(work / "data", n_patients=9, patches_per_patient=80, seed=3)
ds = idckit.IDCPatchDataset.from_directory(root, cache_dir=work / "cache", progress=False)
train, test = ds.train_test_split(test_size=3, seed=0)

config = idckit.TrainingConfig(n_splits=2, epochs=4, batch_size=32, seed=0)
trainer = idckit.KFoldTrainer(idckit.build_benchmark_cnn, config, out_dir=work / "run", verbose=0)
trainer.fit(train)
run = trainer.run_  # later: idckit.Run.load(work / "run")
prob = run.predict_proba(test)
print(f"{len(test)} held-out patches of {len(test.patient_ids)} patients; "
      f"threshold {run.threshold:.3f}")  # fmt: skip

# %%
# Region agreement per patient
# ----------------------------
# :func:`~idckit.reporting.region_agreement` thresholds each patient's P(IDC+) map and
# compares it with the annotation on the patch grid: Dice and IoU of the two regions, the
# annotated and predicted IDC area fractions, and the patch-level F1(+). A patient with no
# IDC(+) annotated and none predicted has no region to match: its Dice and IoU are NaN, and the
# summary leaves it out (and counts it). ``idckit evaluate RUN DATA --per-patient table.csv``
# writes the same table.
agreement = region_agreement(
    test.patients, test.x, test.y, test.labels, prob, threshold=run.threshold
)
for row in agreement.to_rows():
    print(
        f"patient {row['patient']}: {row['n_patches']} patches, annotated IDC "
        f"{row['annotated_fraction']:.0%}, predicted {row['predicted_fraction']:.0%}, "
        f"Dice {row['dice']:.2f}, IoU {row['iou']:.2f}, F1(+) {row['f1_pos']:.2f}"
    )
print(agreement.summary_line())

# %%
# The heat map
# ------------
# :func:`~idckit.reporting.plot_slide_heatmap` blends P(IDC+) over the patient's tissue
# mosaic and outlines the annotated IDC(+) region in red; with ``threshold``, the region the
# model calls IDC(+) is outlined dashed, and the title gives the Dice of the two. Here the
# held-out patient with the lowest Dice, where the model and the annotation disagree most.
# ``idckit heatmap RUN DATA/<patient> --out map.png`` draws the same from the command line.
worst = agreement.worst(k=1).patients[0]
plot_slide_heatmap(test, worst, prob, threshold=run.threshold)

# %%
# The patient with the highest Dice, without a threshold: only the annotation is outlined,
# and ``alpha`` sets how much of the tissue shows through the colours.
best = agreement.patients[int(np.nanargmax(agreement.dice))]
plot_slide_heatmap(test, best, prob, alpha=0.35)
