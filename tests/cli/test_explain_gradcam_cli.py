"""``idckit explain --method gradcam`` on a tiny run of the cpu recipe (two streams, context 1)."""

import contextlib
import io
import re

import pytest
from PIL import Image

from idckit.cli._main import main


@pytest.fixture(scope="module")
def context_run(tmp_path_factory):
    """A 2-fold, 1-epoch run of the default recipe (the context model) and held-out patients."""
    from idckit.datasets import make_synthetic

    base = tmp_path_factory.mktemp("gradcam-cli")
    data = make_synthetic(
        base / "data", n_patients=6, patches_per_patient=16, edge_patches=4, seed=1
    )
    make_synthetic(base / "test", n_patients=2, patches_per_patient=12, edge_patches=2, seed=2)
    argv = ["train", str(data), "--out", str(base / "run"), "--folds", "2", "--epochs", "1",
            "--batch-size", "16", "--seed", "4", "--cache-dir", str(base / "cache")]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    return base


def _explain(base, *flags):
    return ["explain", str(base / "run"), str(base / "test"), "--cache-dir", str(base / "cache"),
            *flags]  # fmt: skip


@pytest.mark.slow
def test_gradcam_writes_one_figure_per_group_over_the_mosaics(context_run, capsys):
    out = context_run / "gradcam"
    assert main(_explain(context_run, "--out", str(out), "--method", "gradcam",
                         "--per-group", "2")) == 0  # fmt: skip
    stdout = capsys.readouterr().out
    written = sorted(p.name for p in out.glob("*.png"))
    assert written and set(written) <= {
        "gradcam_false_positives.png", "gradcam_false_negatives.png", "gradcam_true_positives.png",
    }  # fmt: skip
    assert all(f"wrote {out / name}:" in stdout for name in written)
    assert re.search(r": [12] of \d+ (false positives|false negatives|true positives)", stdout)
    assert (
        "Grad-CAM maps of the fold models' log-odds of IDC(+) at layer 'block4_1_relu'" in stdout
    )
    with Image.open(out / written[0]) as image:  # a real figure: two rows of panels
        assert image.size[0] > 200 and image.size[1] > 200
    assert not list(out.glob("occlusion_*.png"))


@pytest.mark.slow
def test_gradcam_of_another_layer_and_the_default_method_is_still_occlusion(context_run, capsys):
    out = context_run / "context-stream"
    flags = ["--out", str(out), "--method", "gradcam", "--target-layer", "context_block4_1_relu",
             "--per-group", "1"]  # fmt: skip
    assert main(_explain(context_run, *flags)) == 0
    assert "at layer 'context_block4_1_relu'" in capsys.readouterr().out
    assert list(out.glob("gradcam_*.png"))
    plain = context_run / "plain"
    flags = ["--out", str(plain), "--per-group", "1", "--window", "50", "--stride", "50"]
    assert main(_explain(context_run, *flags)) == 0
    assert "maps of the fold models' mean P(IDC+)" in capsys.readouterr().out
    assert list(plain.glob("occlusion_*.png")) and not list(plain.glob("gradcam_*.png"))


@pytest.mark.slow
def test_gradcam_flag_errors_are_one_line(context_run, capsys):
    out = str(context_run / "bad")
    assert main(_explain(context_run, "--out", out, "--method", "gradcam",
                         "--target-layer", "nope")) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Invalid `target_layer` for grad_cam" in err
    assert "'nope'" in err and "The default for this model is 'block4_1_relu'" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--method", "gradcam", "--window", "10"], "--window applies to --method occlusion"),
        (["--method", "gradcam", "--scale", "logit"], "--scale applies to --method occlusion"),
        (["--target-layer", "conv"], "--target-layer applies to --method gradcam, not occlusion"),
    ],
)
def test_flags_of_the_other_method_are_refused_before_any_work(tmp_path, capsys, flags, message):
    argv = ["explain", str(tmp_path / "no-run"), str(tmp_path / "no-data"), "--out",
            str(tmp_path / "out"), *flags]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "out").exists()


def test_the_method_flag_takes_only_the_two_methods(capsys):
    with pytest.raises(SystemExit):
        main(["explain", "run", "data", "--out", "out", "--method", "saliency"])
    assert "invalid choice: 'saliency'" in capsys.readouterr().err
