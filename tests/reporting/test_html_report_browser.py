"""The run report in a real headless browser (Debian's ``chromium``): loads, no errors, no broken
images, and a screenshot a person would recognise. Skips only where chromium is not installed.

The browser runs with the network cut off (every host name resolves to nothing), so an image or
style sheet fetched from anywhere but the file itself would break and be counted. A probe
script is injected into a copy of the page only (the report itself carries no JavaScript):
it records ``console.error`` calls and failed loads from the first byte, and after the
``load`` event writes the number of images, of broken images (``naturalWidth == 0``) and the
errors into the DOM that ``--dump-dom`` prints.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from idckit.data import IDCPatchDataset
from idckit.reporting import ReportEvaluation, RunReport

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium is not installed (Debian: apt-get install chromium; .ci/run does)",
    ),
]

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)  # fmt: skip
PROBE = """<script>
window.__idckitErrors = [];
(function () {
  var original = console.error;
  console.error = function () {
    window.__idckitErrors.push(Array.prototype.join.call(arguments, " "));
    return original.apply(console, arguments);
  };
  window.addEventListener("error", function (event) {
    var target = event.target;
    window.__idckitErrors.push(target && target.tagName ? target.tagName + " failed to load: "
      + String(target.src || target.href).slice(0, 60) : String(event.message));
  }, true);
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var broken = images.filter(function (i) { return !i.complete || i.naturalWidth === 0; });
    var out = document.createElement("pre");
    out.id = "idckit-browser-check";
    out.textContent = JSON.stringify({images: images.length, broken: broken.length,
                                      errors: window.__idckitErrors});
    document.body.appendChild(out);
  });
})();
</script>"""
CHECK = re.compile(r'<pre id="idckit-browser-check">(.*?)</pre>', re.S)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def load_in_browser(page: Path, tmp_path: Path) -> tuple[dict[str, object], list[str]]:
    """Load a probed copy of ``page``; return the probe's findings and chromium's console lines."""
    html = page.read_text(encoding="utf-8")
    probed = tmp_path / f"probed-{page.name}"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    done = _chromium(
        tmp_path / "profile-dom", "--virtual-time-budget=10000", "--enable-logging=stderr",
        "--v=0", "--dump-dom", probed.as_uri(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = CHECK.search(done.stdout)
    assert found, "the probe did not run: " + done.stdout[-500:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return json.loads(found.group(1)), console


def screenshot(page: Path, out: Path, tmp_path: Path) -> np.ndarray:
    """Save a 1280x4000 screenshot of ``page`` to ``out``; return its pixels."""
    done = _chromium(
        tmp_path / "profile-shot", "--window-size=1280,4000", f"--screenshot={out}",
        page.as_uri(),
    )  # fmt: skip
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    png = out.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(matplotlib.image.imread(io.BytesIO(png), format="png"))


def _report() -> RunReport:
    rng = np.random.default_rng(1)
    n = 60
    patients = np.repeat(["201", "202", "203"], n // 3)
    x = np.tile(np.arange(20) % 5 * 50 + 1, 3)
    y = np.tile(np.arange(20) // 5 * 50 + 1, 3)
    labels = (np.tile(np.arange(20) % 5, 3) < 2).astype(int)
    prob = np.clip(0.6 * labels + 0.5 * rng.random(n), 0, 1)
    images = rng.integers(100, 255, size=(n, 50, 50, 3), dtype=np.uint8)
    dataset = IDCPatchDataset(labels, patients, images=images, x=x, y=y)
    points = {
        "run": {"threshold": 0.5, "recall": 0.9, "specificity": 0.8},
        "recall_target": {"threshold": 0.4, "recall": 0.95, "specificity": 0.7},
    }
    held_out = ReportEvaluation.from_predictions(
        "Held-out data", labels, prob, threshold=0.5, operating_points=points, dataset=dataset,
        max_heatmaps=2,
    )  # fmt: skip
    fold = {"fold": 1, "best_epoch": 2, "epochs_run": 3, "n_train": 30, "n_val": 30,
            "seconds": 2.0, "metrics": {"f1_pos": 0.8}}  # fmt: skip
    history = {"loss": [0.7, 0.5, 0.45], "val_loss": [0.72, 0.6, 0.62]}
    config = {"model": {"name": "<img src=x onerror=console.error('xss')>"}, "epochs": 3}
    return RunReport("Browser check", config, (fold,), {1: history}, (held_out,))


def test_the_report_loads_cleanly_and_looks_like_a_page(tmp_path):
    page = _report().save(tmp_path / "report.html")
    found, console = load_in_browser(page, tmp_path)
    assert found == {"images": 7, "broken": 0, "errors": []}
    assert console == []  # chromium logged no console message either
    pixels = screenshot(page, tmp_path / "report.png", tmp_path)
    assert pixels.shape[:2] == (4000, 1280)
    rgb = pixels[..., :3]
    assert float(rgb.std()) > 0.05  # text and figures, not a blank page
    assert float((rgb.min(axis=-1) < 0.5).mean()) > 0.01  # a fair amount of dark ink


def test_the_probe_sees_broken_images_and_console_errors(tmp_path):
    # The check above could not pass by accident: a page with what it looks for fails it.
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>'
        '<img src="data:image/png;base64,AAAA" alt="bad"><img src="https://example.com/a.png"'
        ' alt="remote"><script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    found, console = load_in_browser(page, tmp_path)
    assert found["images"] == 2 and found["broken"] == 2
    errors = found["errors"]
    assert isinstance(errors, list) and "boom" in errors
    assert sum("IMG failed to load" in str(e) for e in errors) == 2
    assert any("boom" in line for line in console)
