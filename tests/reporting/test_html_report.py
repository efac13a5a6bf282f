"""The run report's HTML as a browser reads it: sections, embedded PNGs, no network, escaping."""

from __future__ import annotations

import base64
import io
import math
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pytest

from idckit.data import IDCPatchDataset
from idckit.reporting import (
    ReportEvaluation,
    RunReport,
    plot_precision_recall,
    plot_roc,
    region_agreement,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/x.png">'
THRESHOLD = 0.5


class Page(HTMLParser):
    """Collect what a browser would act on: tags, attributes, section ids, tables."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []
        self.sections: list[str] = []
        self.headings: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.text: list[str] = []
        self._heading: list[str] | None = None
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        self.attrs += [(tag, name, value or "") for name, value in attrs]
        if tag == "section":
            self.sections.append(attributes.get("id", ""))
        if tag in ("h1", "h2", "h3"):
            self._heading = []
        if tag == "table":
            self._table = attributes.get("class") or f"table-{len(self.tables)}"
            self.tables[self._table] = []
        if tag == "tr" and self._table is not None:
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        if tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        for part in (self._heading, self._cell):
            if part is not None:
                part.append(data)


def _dataset() -> tuple[IDCPatchDataset, np.ndarray]:
    """Four patients on 4x5 grids; the model is good on some and bad on others."""
    rng = np.random.default_rng(0)
    patients, xs, ys, labels, prob = [], [], [], [], []
    quality = {"101": 0.95, "102": 0.2, "103": 0.6, "104": None}  # 104: no IDC anywhere
    for patient, skill in quality.items():
        for row in range(4):
            for col in range(5):
                label = int(col < 2) if skill is not None else 0
                good = skill is not None and rng.random() < skill
                p = (0.8 if label else 0.2) if good or skill is None else (0.3 if label else 0.7)
                if skill is None:
                    p = 0.1
                patients.append(patient)
                xs.append(50 * col + 1)
                ys.append(50 * row + 1)
                labels.append(label)
                prob.append(p)
    images = rng.integers(120, 255, size=(len(labels), 50, 50, 3), dtype=np.uint8)
    dataset = IDCPatchDataset(labels, patients, images=images, x=xs, y=ys)
    return dataset, np.asarray(prob)


@pytest.fixture(scope="module")
def dataset_and_prob():
    return _dataset()


@pytest.fixture(scope="module")
def held_out(dataset_and_prob):
    dataset, prob = dataset_and_prob
    points = {
        "run": {"threshold": THRESHOLD, "recall": 0.8, "specificity": 0.7},
        "recall_target": {"threshold": 0.25, "recall": 0.9, "specificity": 0.5},
    }
    return ReportEvaluation.from_predictions(
        "Held-out data", dataset.labels, prob, threshold=THRESHOLD, operating_points=points,
        dataset=dataset, max_heatmaps=2,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(dataset_and_prob, held_out):
    dataset, prob = dataset_and_prob
    oof = ReportEvaluation.from_predictions(
        "Out-of-fold predictions", dataset.labels, prob, threshold=THRESHOLD,
        patients=dataset.patients, x=dataset.x, y=dataset.y,
    )  # fmt: skip
    folds = tuple(
        {"fold": k, "best_epoch": 2, "epochs_run": 3, "n_train": 40, "n_val": 40,
         "seconds": 1.5, "metrics": {"f1_pos": 0.7 + k / 100, "roc_auc": math.nan}}
        for k in (1, 2)
    )  # fmt: skip
    history = {"loss": [0.7, 0.5, 0.45], "val_loss": [0.72, 0.6, 0.62], "f1": [0.4, 0.6, 0.7]}
    config = {"model": {"name": HOSTILE, "kwargs": {}}, "epochs": 3, HOSTILE: [1, 2]}
    return RunReport(
        "A run <b>report</b>", config, folds, {1: history, 2: history}, (oof, held_out),
        notes=("threshold 0.5000 (fixed)",),
    )  # fmt: skip


@pytest.fixture(scope="module")
def html(report):
    return report.to_html()


@pytest.fixture(scope="module")
def page(html):
    parsed = Page()
    parsed.feed(html)
    parsed.close()
    return parsed


def test_every_section_is_present(page):
    assert page.sections == ["config", "folds", "evaluation-1", "evaluation-2"]
    assert page.headings[0] == "A run <b>report</b>"  # the title's markup is text
    for heading in (
        "Configuration", "Cross-validation folds", "Learning curves", "Out-of-fold predictions",
        "Held-out data", "Classification report", "Operating points",
        "Confusion matrix, ROC and precision-recall curves", "Per patient, worst Dice first",
        "Slide heat maps, worst Dice first",
    ):  # fmt: skip
        assert heading in page.headings, heading
    assert page.headings.count("Classification report") == 2
    assert page.headings.count("Per patient, worst Dice first") == 2  # OOF positions too
    assert page.headings.count("Slide heat maps, worst Dice first") == 1  # needs the pixels


def test_every_image_is_an_embedded_png_that_decodes(page):
    sources = [value for tag, name, value in page.attrs if tag == "img" and name == "src"]
    # 2 learning curves; per evaluation: confusion, ROC, PR, Dice histogram; 2 heat maps
    assert len(sources) == 2 + 2 * 4 + 2
    for source in sources:
        head, _, data = source.partition(",")
        assert head == "data:image/png;base64"
        png = base64.b64decode(data, validate=True)
        assert png.startswith(PNG_SIGNATURE)
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert pixels.ndim == 3 and min(pixels.shape[:2]) > 50
        assert float(pixels.std()) > 0  # not a blank image
    alts = [value for tag, name, value in page.attrs if tag == "img" and name == "alt"]
    assert len(alts) == len(sources) and all(alts)


def test_nothing_is_fetched_and_nothing_runs(page, html):
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    for tag, name, value in page.attrs:
        if name in ("src", "href"):
            assert value.startswith(("data:image/png;base64,", "#")), (tag, name, value[:60])
        assert not name.startswith("on"), (tag, name)  # no event handlers
    # the only URL in the file is the hostile config value, escaped into text
    text = html.replace("src=&quot;https://evil.example/x.png&quot;", "")
    assert "http://" not in text and "https://" not in text and "url(" not in text


def test_hostile_config_text_is_escaped(page, html):
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    config = page.tables["config"]
    assert config[0] == ["setting", "value"]
    settings = dict(config[1:])
    assert settings["model.name"] == HOSTILE  # shown as text, exactly
    assert settings[HOSTILE] == "[1, 2]"
    assert settings["epochs"] == "3"


def test_folds_table_with_mean_and_std(page):
    rows = page.tables["folds"]
    assert rows[0][:2] == ["fold", "best_epoch"] and rows[0][-2:] == ["f1_pos", "roc_auc"]
    assert [r[0] for r in rows[1:]] == ["1", "2", "mean", "std"]
    assert rows[3][-2:] == ["0.7150", "n/a"]  # NaN metrics are n/a, not "nan"


def test_patient_table_is_sorted_worst_first(page, dataset_and_prob):
    dataset, prob = dataset_and_prob
    rows = page.tables["patients"]
    assert rows[0] == [
        "patient", "n_patches", "n_idc", "annotated_fraction", "predicted_fraction", "dice",
        "iou", "f1_pos",
    ]  # fmt: skip
    shown = [(r[0], float("nan") if r[5] == "n/a" else float(r[5])) for r in rows[1:]]
    agreement = region_agreement(
        dataset.patients, dataset.x, dataset.y, dataset.labels, prob, threshold=THRESHOLD
    )
    expected = {r["patient"]: r["dice"] for r in agreement.to_rows()}
    assert {p for p, _ in shown} == set(expected)
    dice = [d for _, d in shown]
    defined = [d for d in dice if not math.isnan(d)]
    assert defined == sorted(defined) and len(defined) == 3
    assert math.isnan(dice[-1]) and shown[-1][0] == "104"  # undefined Dice last
    assert shown[0][0] == "102"  # the patient the model gets most wrong comes first
    for patient, value in shown[:-1]:
        assert value == pytest.approx(expected[patient], abs=5e-4)


def test_heat_maps_are_capped_worst_first_and_the_cap_is_said(page, held_out):
    assert [p for p, _ in held_out.heatmaps] == ["102", "103"]
    assert held_out.heatmaps_omitted == 2
    captions = [t for t in page.text if t.startswith("Patient ")]
    assert captions == ["Patient 102", "Patient 103"]
    text = " ".join(page.text)
    assert "Heat maps of the 2 patients with the lowest Dice, of 4" in text
    assert "left out (max_heatmaps=2)" in text


def test_operating_points_are_tabled_and_marked(page, held_out):
    rows = page.tables["operating-points"]
    assert rows == [
        ["operating point", "threshold", "recall(+)", "specificity"],
        ["the run's threshold", "0.5000", "0.8000", "0.7000"],
        ["90% recall(+) out of fold", "0.2500", "0.9000", "0.5000"],
    ]
    markers = {"90% recall target": 0.25}
    for plot in (plot_roc, plot_precision_recall):
        labels = [
            t.get_text()
            for t in plot(held_out.report, operating_points=markers).axes[0].get_legend().texts
        ]
        assert labels[-2:] == ["threshold = 0.50", "90% recall target (threshold = 0.25)"]


def test_save_writes_the_page_atomically(report, html, tmp_path):
    path = report.save(tmp_path / "nested" / "report.html")
    assert path == tmp_path / "nested" / "report.html"
    assert path.read_text(encoding="utf-8") == html
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]


def test_a_damaged_history_is_a_note_not_a_failure(tmp_path):
    bad = tmp_path / "history.csv"
    bad.write_text("epoch,loss\n0,oops\n", encoding="utf-8")
    fold = {"fold": 1, "best_epoch": 1, "epochs_run": 1, "n_train": 1, "n_val": 1,
            "seconds": 0.0, "metrics": {}}  # fmt: skip
    page = RunReport("run", {}, (fold,), {1: bad}).to_html()
    assert "Fold 1: learning curves not drawn (Invalid `metrics` for plot_learning_curves" in page
    assert "No config recorded." in page


def test_max_heatmaps_is_checked(dataset_and_prob):
    dataset, prob = dataset_and_prob
    with pytest.raises(ValueError, match=r"Invalid `max_heatmaps` .* an integer >= 0\. Rece"):
        ReportEvaluation.from_predictions(
            "x", dataset.labels, prob, threshold=0.5, dataset=dataset, max_heatmaps=-1
        )


def test_no_heat_maps_when_capped_at_zero(dataset_and_prob):
    dataset, prob = dataset_and_prob
    evaluation = ReportEvaluation.from_predictions(
        "x", dataset.labels, prob, threshold=0.5, dataset=dataset, max_heatmaps=0
    )
    assert evaluation.heatmaps == () and evaluation.heatmaps_omitted == 4
    page = RunReport("run", evaluations=(evaluation,)).to_html()
    assert "<img" in page and "heat map of patient" not in page
    assert "Heat maps of the 0 patients with the lowest Dice, of 4" in page
