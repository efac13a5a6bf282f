"""write_run_report and ``idckit report`` on a real (tiny) finished run."""

from __future__ import annotations

import base64
import re

import pytest

from idckit.cli._main import main
from idckit.datasets import make_synthetic
from idckit.models import build_benchmark_cnn
from idckit.training import KFoldTrainer, Run, TrainingConfig, write_run_report


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    from idckit.data import IDCPatchDataset

    base = tmp_path_factory.mktemp("report")
    root = make_synthetic(base / "train", n_patients=6, patches_per_patient=12, seed=0)
    held_out = make_synthetic(base / "test", n_patients=4, patches_per_patient=12, seed=5)
    dataset = IDCPatchDataset.from_directory(root, cache_dir=base / "cache", progress=False)
    config = TrainingConfig(n_splits=2, epochs=2, batch_size=16, seed=0)
    KFoldTrainer(build_benchmark_cnn, config, out_dir=base / "run", verbose=0).fit(dataset)
    test = IDCPatchDataset.from_directory(held_out, cache_dir=base / "cache", progress=False)
    return base / "run", held_out, test


def _images(page: str) -> list[bytes]:
    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    return [base64.b64decode(s, validate=True) for s in sources]


@pytest.mark.slow
def test_report_of_a_run_with_held_out_data(finished, tmp_path):
    run_dir, _, test = finished
    run = Run.load(run_dir)
    path = write_run_report(run, tmp_path / "report.html", datasets=test, max_heatmaps=2)
    page = path.read_text(encoding="utf-8")
    for anchor in ("config", "folds", "evaluation-1", "evaluation-2"):
        assert f'<section id="{anchor}">' in page
    assert re.search(r"Out-of-fold predictions \(72 patches, 6 patients\)", page)
    assert re.search(r"Held-out data \(\d+ patches, 4 patients\)", page)
    assert page.count("learning curves of fold") == 2
    assert page.count("heat map of patient") == 2
    assert "left out (max_heatmaps=2)" in page
    assert f"{run.threshold:.4f}" in page  # the run's operating point, tabled
    assert f"{run.recall_threshold:.4f}" in page  # and the 90%-recall one
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in _images(page))
    assert len(_images(page)) == 2 + 4 + 4 + 2


@pytest.mark.slow
def test_idckit_report_command(finished, tmp_path, capsys):
    run_dir, held_out, _ = finished
    out = tmp_path / "cli" / "report.html"
    status = main(["report", str(run_dir), "--data", str(held_out), "--out", str(out),
                   "--max-heatmaps", "1"])  # fmt: skip
    assert status == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip() == f"run report written to {out}"
    page = out.read_text(encoding="utf-8")
    assert page.count("heat map of patient") == 1 and "Held-out data: test" in page


def test_idckit_report_refuses_a_missing_run_in_one_line(tmp_path, capsys):
    status = main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "r.html")])
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1
    assert err.startswith("idckit report: error: Invalid `run_dir` for Run")
    assert not (tmp_path / "r.html").exists()


def test_write_run_report_checks_its_arguments(finished, tmp_path):
    run = Run.load(finished[0])
    with pytest.raises(ValueError, match=r"`max_heatmaps` for write_run_report: expected an"):
        write_run_report(run, tmp_path / "r.html", max_heatmaps=-1)
    with pytest.raises(ValueError, match=r"`datasets` for write_run_report: expected None, an"):
        write_run_report(run, tmp_path / "r.html", datasets=[1])
    with pytest.raises(ValueError, match=r"`run` for write_run_report: expected a finished"):
        write_run_report("runs/x", tmp_path / "r.html")
