"""
8. Grad-CAM and occlusion: two views of what drives a call
==========================================================

Train the benchmark CNN on synthetic patches for a few seconds, then ask what in a patch it
reads as IDC(+) in two ways: Grad-CAM, from the gradient of the class score at the last
convolutional layer (one backward pass), and occlusion, from the drop in P(IDC+) when each
region is hidden (one prediction per hidden square). Runs on a CPU in about half a minute.
"""

# %%
# A quickly trained model
# -----------------------
# :func:`~idckit.models.build_benchmark_cnn` (one convolution, then ``Flatten``) with 8
# filters, trained with plain ``model.fit`` on the patches of 9 synthetic patients (for a real
# model, use :class:`~idckit.training.KFoldTrainer` and explain a finished run's fold models).
import tempfile
from pathlib import Path

import keras
import numpy as np

import idckit
from idckit.explain import (
    find_target_layer,
    grad_cam,
    occlusion_map,
    plot_grad_cam,
    plot_occlusion,
)
from idckit.inference import predict_proba
from idckit.models import build_benchmark_cnn, loss_for_model

work = Path(tempfile.mkdtemp(prefix="idckit-gradcam-"))
root = idckit.make_synthetic(work / "data", n_patients=12, patches_per_patient=50, seed=0)
ds = idckit.IDCPatchDataset.from_directory(root, cache_dir=work / "cache", progress=False)
train, test = ds.train_test_split(test_size=0.25, seed=0)

keras.utils.set_random_seed(0)
model = build_benchmark_cnn(filters=8)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss_for_model(model))
model.fit(np.asarray(train.images), train.labels, epochs=8, batch_size=32, verbose=0)
prob = predict_proba(model, test.images)
accuracy = np.mean((prob >= 0.5) == test.labels)
print(f"held-out accuracy {accuracy:.2f} on {len(test)} patches")

# %%
# Grad-CAM
# --------
# :func:`~idckit.explain.grad_cam` explains the layer :func:`~idckit.explain.find_target_layer`
# picks, the last feature map before global pooling or ``Flatten`` (here the one convolution,
# 48x48). Each map is scaled to its own peak: bright where the evidence for IDC(+) is strongest
# in that patch, dark where there is none. The map has the layer's grid, fine here (48x48:
# single nuclei stand out) and coarse on deeper networks (6x6 for the last block of
# :func:`~idckit.models.build_idc_cnn`). On a network that flattens its feature map, as this
# one does, each channel's weight averages gradients that differ from place to place: the map
# shows where the channels that speak for IDC(+) respond, not each position's own weight.
print("target layer:", find_target_layer(model))
order = np.argsort(-prob)
shown = np.concatenate([order[:3], order[test.labels[order] == 0][:2]])
patches = test.load_images(shown)
titles = [f"P(IDC+) {prob[i]:.2f}, label {test.labels[i]}" for i in shown]
cams = grad_cam(model, patches)
plot_grad_cam(patches, cams, titles=titles)

# %%
# Occlusion, for comparison
# -------------------------
# :func:`~idckit.explain.occlusion_map` asks a different question: how much P(IDC+) is lost
# (here in log-odds) when a 10x10 square is replaced by background white. Regions that both
# methods mark are the model's evidence by two measures; Grad-CAM shows only evidence *for*
# the class, occlusion also shows regions that speak against it (blue), and costs one
# prediction per square (81 per patch here) where Grad-CAM costs one backward pass.
maps = occlusion_map(model, patches, scale="logit")
plot_occlusion(patches, maps, titles=titles, scale="logit")

# %%
# How far do the two agree? The rank correlation of the two maps per patch, over the pixels
# (1: the same ordering of regions, 0: unrelated).


def rank_correlation(a, b):
    ra, rb = (np.argsort(np.argsort(m.ravel())) for m in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1]) if a.std() and b.std() else 0.0


print([round(rank_correlation(c, m), 2) for c, m in zip(cams, maps, strict=True)])

# %%
# From the command line, ``idckit explain RUN_DIR DATA_DIR --out DIR --method gradcam`` draws
# the Grad-CAM maps of a finished run's surest false positives, false negatives and true
# positives (see :ref:`explain`).
