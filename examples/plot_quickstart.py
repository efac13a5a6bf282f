"""
1. Quickstart: patient-level cross-validation in a minute
=========================================================

Make a small synthetic data set, cross-validate the benchmark CNN with three folds split by
patient, score the fold models on patients they never saw, and see what in a patch drives
their calls. Everything runs on a CPU in about a minute.
"""

# %%
# A data set to play with
# -----------------------
# :func:`~idckit.datasets.make_synthetic` writes patches in the exact layout of the real
# data set, ``<patient>/<0|1>/<patient>_idx5_x<X>_y<Y>_class<C>.png``, with H&E-like colours,
# a stain colour per patient and a few edge patches smaller than 50x50.
# :meth:`~idckit.data.IDCPatchDataset.from_directory` indexes the tree and decodes it once
# into a cache.
import tempfile
from pathlib import Path

import numpy as np

import idckit
from idckit.explain import occlusion_map, plot_occlusion
from idckit.reporting import plot_patient_map

work = Path(tempfile.mkdtemp(prefix="idckit-quickstart-"))
root = idckit.make_synthetic(work / "data", n_patients=12, patches_per_patient=50, seed=0)
ds = idckit.IDCPatchDataset.from_directory(root, cache_dir=work / "cache", progress=False)
print(ds)
print("patches per class:", ds.class_counts())

# %%
# Hold out test patients
# ----------------------
# The split is by patient: no patient has patches on both sides. The test patients are
# kept aside until the very end.
train, test = ds.train_test_split(test_size=0.25, seed=0)
print(f"train: {len(train)} patches of {len(train.patient_ids)} patients")
print(f"test:  {len(test)} patches of {len(test.patient_ids)} patients")

# %%
# Three-fold cross-validation by patient
# --------------------------------------
# :class:`~idckit.training.KFoldTrainer` takes a model builder (here the capstone's
# one-convolution benchmark CNN), splits the training *patients* into stratified folds, trains
# a fresh model per fold with class weights computed on that fold's training patients, keeps
# the epoch with the best validation F1(+), and chooses a decision threshold on the
# out-of-fold predictions. Its settings are one :class:`~idckit.training.TrainingConfig`,
# checked when it is made. Everything the trainer writes goes to ``out_dir``.
config = idckit.TrainingConfig(n_splits=3, epochs=8, batch_size=32, seed=0)
trainer = idckit.KFoldTrainer(idckit.build_benchmark_cnn, config, out_dir=work / "run", verbose=0)
result = trainer.fit(train)
print(result.to_table())
print(f"threshold chosen on the out-of-fold predictions: {result.threshold:.3f}")

# %%
# Score unseen patients
# ---------------------
# ``fit`` leaves the finished run in ``trainer.run_``, a :class:`~idckit.training.Run` (later,
# ``idckit.Run.load(work / "run")`` gives the same). :meth:`~idckit.training.Run.evaluate`
# averages the fold models' probabilities and returns a
# :class:`~idckit.reporting.ClassificationReport` at the chosen threshold.
run = trainer.run_
report = run.evaluate(test)
print(report)

# %%
report.plot_confusion_matrix()

# %%
# Where on the slide are the errors?
# ----------------------------------
# :func:`~idckit.reporting.plot_patient_map` puts one patient's patches back on their slide
# grid: the tissue, the annotation, the ensemble's P(IDC+) and each patch's outcome at the
# threshold (false positives orange, false negatives blue).
predictions = run.predictions(test)
plot_patient_map(test, test.patient_ids[0], predictions.prob_idc, threshold=run.threshold)

# %%
# What in a patch drives the decision?
# ------------------------------------
# :func:`~idckit.explain.occlusion_map` hides one square of a patch at a time (in the white of
# the slide's background) and records how much P(IDC+) drops: red regions speak for IDC(+),
# blue ones against it. Given the fold models, it maps their ensemble. Here, for the three
# test patches the ensemble is surest are IDC(+), and the two IDC(-) patches it rates highest.
order = np.argsort(-predictions.prob_idc)
negatives = order[predictions.labels[order] == 0]
shown = np.concatenate([order[:3], negatives[:2]])
patches = test.load_images(shown)
maps = occlusion_map(run.fold_models(), patches)
titles = [f"P(IDC+) {predictions.prob_idc[i]:.2f}, label {predictions.labels[i]}" for i in shown]
plot_occlusion(patches, maps, titles=titles)

# %%
# The command line does the same in one line: ``idckit demo`` (see :ref:`cli`).
