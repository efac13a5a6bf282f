"""
5. Reusing the pieces in another histopathology project
=======================================================

Nothing in idckit is tied to the IDC data set's file names or to its models. This example
plays a different project, tumour tiles from two hospitals with their own naming and folder
layout, and reuses idckit's dataset, patient-level K-fold trainer and report with its own
Keras model.
"""

# %%
# Another project's tiles
# -----------------------
# Say the project stores tiles by hospital and case, without class folders, and writes the
# position and the label into the file name::
#
#     tiles/hospital-a/case-8863/case-8863_row0150_col0300_tumour1.png
#
# We make such a tree from idckit's synthetic patches (any PNG tiles would do).
import shutil
import tempfile
from pathlib import Path

import keras

import idckit
from idckit.data import PatchRecord
from idckit.models import ImagePreprocessing
from idckit.reporting import ClassificationReport

work = Path(tempfile.mkdtemp(prefix="idckit-reuse-"))
source = idckit.make_synthetic(work / "synthetic", n_patients=10, patches_per_patient=40, seed=2)

tiles = work / "tiles"
for png in sorted(source.glob("*/*/*.png")):
    rec = PatchRecord.from_path(png)
    hospital = "hospital-a" if int(rec.patient) % 2 else "hospital-b"
    name = f"case-{rec.patient}_row{rec.y:04d}_col{rec.x:04d}_tumour{rec.label}.png"
    target = tiles / hospital / f"case-{rec.patient}" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, target)

print(*sorted(str(p.relative_to(tiles)) for p in tiles.glob("*/*/*.png"))[:3], sep="\n")

# %%
# Describe the naming with a pattern
# ----------------------------------
# The pattern is a regular expression with the named groups ``patient``, ``x``, ``y`` and
# ``label``, matched against each file name. Folders can be laid out in any way: the tree is
# walked recursively, and a label folder (``0``/``1``) is only needed when the name carries
# no label.
pattern = r"case-(?P<patient>\d+)_row(?P<y>\d+)_col(?P<x>\d+)_tumour(?P<label>[01])\.png"
ds = idckit.IDCPatchDataset.from_directory(
    tiles, pattern=pattern, cache_dir=work / "cache", progress=False
)
print(ds)
print("first patch:", ds.record(0))

# %%
# Tiles that already sit in memory (from a slide tiler, say) need no files at all:
# ``IDCPatchDataset(labels, patients, images=...)`` takes the arrays directly.
in_memory = idckit.IDCPatchDataset(ds.labels, ds.patients, images=ds.images)
print(in_memory)

# %%
# Your own model
# --------------
# :class:`~idckit.training.KFoldTrainer` takes any callable that returns a new Keras model.
# Follow idckit's input contract, raw 0-255 pixels in, so start the model with an
# :class:`~idckit.models.ImagePreprocessing` layer; end it with a softmax ``Dense`` layer and
# leave it uncompiled, and the trainer derives the loss from it and compiles it with the F1,
# precision, recall and accuracy metrics it tracks.


def build_small_cnn() -> keras.Model:
    inputs = keras.Input((50, 50, 3))
    x = ImagePreprocessing("unit")(inputs)
    for filters in (16, 32):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


train, test = ds.train_test_split(test_size=0.25, seed=0)
config = idckit.TrainingConfig(
    n_splits=3,
    epochs=8,
    batch_size=32,
    optimizer={"class_name": "Adam", "config": {"learning_rate": 1e-3}},
    seed=0,
)
trainer = idckit.KFoldTrainer(build_small_cnn, config, out_dir=work / "run", verbose=0)
result = trainer.fit(train)
print(result.to_table())

# %%
# The report, in the project's own words
# --------------------------------------
# :class:`~idckit.reporting.ClassificationReport` scores any predictions, with the project's
# class names, here on the held-out cases (no case is on both sides):
assert not set(train.patient_ids) & set(test.patient_ids)
run = trainer.run_  # the finished run: its fold models predict as an ensemble
predictions = run.predictions(test)
report = ClassificationReport.from_predictions(
    predictions.labels,
    predictions.prob_idc,
    threshold=run.threshold,
    target_names=("normal", "tumour"),
)
print(report)

# %%
report.plot_confusion_matrix()
