"""
7. A run report: one HTML file that shows a run
===============================================

A run directory holds everything a run produced, spread over many files. To show a run to a
colleague (a pathologist, a reviewer), :func:`~idckit.training.write_run_report` (or
``idckit report RUN_DIR --data DIR --out report.html``) writes it as one self-contained HTML
file: the settings, per-fold metrics and learning curves, the out-of-fold and held-out
classification reports with their confusion matrices, ROC and precision-recall curves (both
operating points marked), the per-patient Dice table worst first and the slide heat maps of the
worst patients. Images are embedded, nothing is fetched and no JavaScript is needed: the file
opens offline in any browser and can be mailed as it is.

This example trains a deliberately tiny run (2 folds, 3 epochs) so that it builds in seconds;
the numbers are those of an undertrained model.
"""

# %%
# A tiny run and held-out patients
# --------------------------------
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import idckit
from idckit.reporting import ClassificationReport, plot_learning_curves, plot_roc
from idckit.training import Run, write_run_report

work = Path(tempfile.mkdtemp(prefix="idckit-report-"))
root = idckit.make_synthetic(work / "data", n_patients=10, patches_per_patient=24, seed=0)
ds = idckit.IDCPatchDataset.from_directory(root, cache_dir=work / "cache", progress=False)
train, test = ds.train_test_split(test_size=0.3, seed=0)

config = idckit.TrainingConfig(n_splits=2, epochs=3, batch_size=16, seed=0)
trainer = idckit.KFoldTrainer(idckit.build_benchmark_cnn, config, out_dir=work / "run", verbose=0)
trainer.fit(train)

# %%
# Write the report
# ----------------
# ``datasets`` adds a section per held-out data set (here the test patients), with the slide
# heat maps of at most ``max_heatmaps`` patients, those with the lowest Dice first.
run = Run.load(work / "run")
path = write_run_report(run, work / "report.html", datasets={"Test patients": test})
print(f"{path.name}: {path.stat().st_size / 1e6:.1f} MB, self-contained")


# %%
# What is in it: its section and sub-section headings, read back from the file.
class Headings(HTMLParser):
    def __init__(self):
        super().__init__()
        self.level, self.found = None, []

    def handle_starttag(self, tag, attrs):
        self.level = tag if tag in ("h2", "h3") else self.level

    def handle_endtag(self, tag):
        self.level = None if tag == self.level else self.level

    def handle_data(self, data):
        if self.level:
            self.found.append(("  " if self.level == "h3" else "") + data)


headings = Headings()
headings.feed(path.read_text(encoding="utf-8"))
print("\n".join(headings.found))

# %%
# Two of its figures
# ------------------
# Each fold's learning curves, with the epoch whose weights were kept marked ...
fold = run.result.folds[0]
plot_learning_curves(
    work / "run" / "fold_1" / "history.csv", title="Fold 1", best_epoch=fold.best_epoch
)

# %%
# ... and the ROC curve of the out-of-fold predictions with both operating points: the run's
# threshold and the one that reaches 90% recall(+) out of fold.
oof = run.result.oof
report = ClassificationReport.from_predictions(oof.labels, oof.prob_idc, threshold=run.threshold)
plot_roc(report, operating_points={"90% recall target": run.recall_threshold})
