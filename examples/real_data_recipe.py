"""
3. The real data set: Cruz-Roa split and the ``cpu`` recipe
===========================================================

Download the Breast Histopathology Images data set, split it as Cruz-Roa et al. (2014) did,
cross-validate the ``cpu`` recipe on the training and validation patients and score it on the
49 test patients, the protocol of the published results (see :ref:`dataset`).

.. note::

   This example is shown but **not executed** when the documentation is built: it downloads
   1.6 GB and trains on every patch of 113 patients, far more than the 27,865 patches on which
   the ``cpu`` recipe trains in about 18 minutes on a 2-core CPU. Run it yourself with
   ``python real_data_recipe.py``, on a GPU if you have one.
"""

# %%
# Download and index
# ------------------
# :func:`~idckit.datasets.fetch_idc` downloads the archive its authors publish (with a
# progress bar), extracts it safely and returns the folder of patient folders. A second call
# finds the extraction and returns at once. To use Kaggle's copy instead, download it with the
# Kaggle CLI and pass ``url=Path("breast-histopathology-images.zip").resolve().as_uri()``:
# the nested duplicate copy that archive carries is detected and counted once.
#
# The first :meth:`~idckit.data.IDCPatchDataset.from_directory` decodes all 277,524 patches
# into the decode cache (a few minutes); later runs reuse it at once.
from pathlib import Path

import idckit

root = idckit.fetch_idc(Path("data") / "idc")
ds = idckit.IDCPatchDataset.from_directory(root)
print(ds)
print(ds.report)  # duplicates, padded edge patches, skipped files

# %%
# The Cruz-Roa et al. 2014 split
# ------------------------------
# 84 training, 29 validation and 49 test patients, the lists both published studies used.
# The K-fold cross-validation below does its own validation, so the training and validation
# patients are pooled for it; the test patients are kept for the end.
parts = ds.named_split("cruz-roa-2014")
for name, part in parts.items():
    print(f"{name:>10}: {len(part.patient_ids):3d} patients, {len(part):6d} patches")

development = ds.subset(parts["train"].patient_ids + parts["validation"].patient_ids)
test = parts["test"]

# %%
# Cross-validate the ``cpu`` recipe
# ---------------------------------
# The ``cpu`` recipe is the model and training settings idckit found best for a small CPU
# (see :ref:`bench-model`): a model name plus a :class:`~idckit.training.TrainingConfig`
# (``idckit.get_recipe("cpu").config``). The run directory makes the run resumable: if it is
# interrupted, run the same code again with ``resume=True`` and finished folds are not
# retrained. To change a setting, change the recipe first:
# ``KFoldTrainer.from_recipe(idckit.get_recipe("cpu").replace(epochs=20), ...)``.
trainer = idckit.KFoldTrainer.from_recipe("cpu", out_dir="runs/cpu", resume=True)
result = trainer.fit(development)
print(result)

# %%
# Score the test patients
# -----------------------
# The finished run, ``trainer.run_`` (later: ``idckit.Run.load("runs/cpu")``), predicts with
# the fold models as an ensemble (each patch seen with its neighbourhood, then spatially
# smoothed), at the run's threshold (for ``cpu``: the best balanced accuracy out of fold), on
# 49 patients none of them saw. Compare F1(+) and balanced accuracy with the published
# 0.718 / 0.842 (Cruz-Roa et al. 2014) and 0.765 / 0.847 (Janowczyk & Madabhushi 2016).
report = trainer.run_.evaluate(test, out_dir="runs/cpu/test")
print(report)
report.plot_confusion_matrix()

# %%
# The same from the command line
# ------------------------------
# The command line works on folders. Give the development and the test patients a folder each
# (symbolic links to the patient folders will do) and run (see :ref:`cli`)::
#
#     idckit train DEV_DIR --recipe cpu --out runs/cpu
#     idckit evaluate runs/cpu TEST_DIR --json --out runs/cpu/test

# %%
# Slides: where the model agrees with the annotation
# --------------------------------------------------
# Pathologists judge regions, not squares. :func:`~idckit.reporting.region_agreement` compares,
# patient by patient, the region the run calls IDC(+) (at its threshold) with the annotated
# one on the 50-pixel grid: Dice, IoU, the areas, and patch F1(+). The worst patients come
# first; :func:`~idckit.reporting.plot_slide_heatmap` lays P(IDC+) over one patient's tissue
# with both regions outlined.
from idckit.reporting import plot_slide_heatmap, region_agreement

prob = trainer.run_.predict_proba(test)
agreement = region_agreement(
    test.patients, test.x, test.y, test.labels, prob, threshold=trainer.run_.threshold
)
print(agreement.summary_line())
for row in agreement.worst(5).to_rows():
    print(row)
worst = agreement.worst(1).to_rows()[0]["patient"]
plot_slide_heatmap(test, worst, prob, threshold=trainer.run_.threshold)

# %%
# One file for a colleague
# ------------------------
# :func:`~idckit.training.write_run_report` (``idckit report runs/cpu --data TEST_DIR --out
# report.html``) writes the run as one self-contained HTML page: settings, folds and learning
# curves, the out-of-fold and held-out reports with their operating points, the per-patient
# table worst first, and the heat maps of the worst patients.
from idckit.training import write_run_report

write_run_report(trainer.run_, "runs/cpu/report.html", datasets={"test": test})
