"""
2. The capstone study, end to end
=================================

idckit grew out of a capstone study on this data set. It explored the data, compared a
deliberately weak benchmark CNN with VGG19 transfer learning, trained both with K-fold
cross-validation and class weights, plotted learning curves per fold and ended with a
classification report and a confusion matrix on held-out data. This example walks the same
path with idckit, and fixes what the study got wrong: folds and test set are split by
*patient*, and F1 is computed over whole epochs, not averaged over batches.

To run in about a minute on a CPU while this documentation is built, it uses a small
synthetic data set, two folds, a few epochs, and VGG19 **without ImageNet weights**
(``weights=None``: the build machine is offline) trained for a single epoch. See the end for
the real settings.
"""

# %%
# Exploring the data
# ------------------
# The real data set is imbalanced: 72% of the patches are IDC(-). The synthetic one follows
# it, and, like real slides, the share of IDC(+) patches varies a lot between patients.
import functools
import tempfile
from pathlib import Path

import idckit
from idckit.models import build_transfer_model

work = Path(tempfile.mkdtemp(prefix="idckit-capstone-"))
root = idckit.make_synthetic(work / "data", n_patients=10, patches_per_patient=30, seed=1)
ds = idckit.IDCPatchDataset.from_directory(root, cache_dir=work / "cache", progress=False)
print(ds)
ds.plot_class_balance()

# %%
# A grid of random patches of each class, as the study showed them. IDC(+) patches hold
# more, larger and darker nuclei.
ds.plot_samples(n_per_class=16, seed=0)

# %%
# Held-out test patients
# ----------------------
# The study split its test set by patch, so patches of a test patient's slide were also in
# training. Here the test patients are never seen during training or model selection.
train, test = ds.train_test_split(test_size=0.25, seed=0)
print(f"train: {len(train.patient_ids)} patients, test: {len(test.patient_ids)} patients")
print("class weights on the training patients:", train.class_weights("balanced"))

# %%
# Two models, the same folds
# --------------------------
# Both models take raw ``uint8`` patches and normalise them inside themselves, so the trainer
# treats them alike. ``class_weight="balanced"`` (the default) is computed on each fold's
# training patients only. The settings are one :class:`~idckit.training.TrainingConfig`;
# ``replace`` makes a checked copy with other epochs. The same ``seed`` gives both models the
# same patient folds.
config = idckit.TrainingConfig(n_splits=2, batch_size=32, class_weight="balanced", seed=0)

benchmark = idckit.KFoldTrainer(
    idckit.build_benchmark_cnn,
    config.replace(epochs=8),
    out_dir=work / "benchmark",
    verbose=0,
)
benchmark_result = benchmark.fit(train)

vgg19 = idckit.KFoldTrainer(
    functools.partial(build_transfer_model, "vgg19", weights=None, freeze=6),
    config.replace(epochs=1),
    out_dir=work / "vgg19",
    verbose=0,
)
vgg19_result = vgg19.fit(train)

for name, result in (("benchmark CNN", benchmark_result), ("VGG19", vgg19_result)):
    summary = result.summary()
    print(
        f"{name:>13}: validation F1(+) {summary['f1_pos']['mean']:.3f} "
        f"+- {summary['f1_pos']['std']:.3f}, balanced accuracy "
        f"{summary['balanced_accuracy']['mean']:.3f}"
    )

# %%
# Do not read the VGG19 figures as a verdict on transfer learning. Twenty million weights
# starting from random values cannot learn from a few hundred patches in one epoch, and a
# network that has learned nothing yet predicts one class for everything (an F1(+) of 0 when
# that class is IDC(-)). The study's VGG19 started from ImageNet weights; see the end.
#
# Learning curves
# ---------------
# Every fold writes its history to ``fold_<k>/history.csv`` (and a ``learning_curves.png``).
# :func:`~idckit.reporting.plot_learning_curves` draws loss, F1(+), precision, recall and
# accuracy for training and validation, as the study did per fold.
idckit.plot_learning_curves(benchmark_result.run_dir / "fold_1" / "history.csv", title="Fold 1")

# %%
# Per-fold results of the benchmark CNN, with their mean and standard deviation:
print(benchmark_result.to_table())

# %%
# The test report
# ---------------
# The finished run, ``benchmark.run_`` (a :class:`~idckit.training.Run`), lets the fold models
# vote as an ensemble (mean probability) at the threshold chosen on the out-of-fold
# predictions. These are the numbers to quote: patients the models never saw.
report = benchmark.run_.evaluate(test)
print(report)

# %%
report.plot_confusion_matrix()

# %%
# With ImageNet weights
# ---------------------
# Transfer learning only pays off with pretrained weights. On a machine with internet access
# (the weights are downloaded once by Keras and cached in ``~/.keras/models``)::
#
#     build = functools.partial(build_transfer_model, "vgg19", weights="imagenet", freeze=6)
#
# or, on an offline machine, save the backbone's weights elsewhere and pass the file::
#
#     keras.applications.VGG19(include_top=False, weights="imagenet",
#                              input_shape=(50, 50, 3)).save_weights("vgg19.weights.h5")
#     build = functools.partial(build_transfer_model, "vgg19", weights="vgg19.weights.h5")
#
# The study's full settings (VGG19 with ImageNet weights, first 6 layers frozen, 7 folds of
# 15 epochs, batch 50, SGD with learning rate 1e-4 and momentum 0.2, class weights) are the
# ``seed`` recipe, meant for a GPU::
#
#     trainer = idckit.KFoldTrainer.from_recipe("seed", out_dir="runs/seed")
#
# or ``idckit train DATA_DIR --recipe seed --out runs/seed`` from the command line.
