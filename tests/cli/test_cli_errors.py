"""Every ``idckit`` command ends a bad input or a failure in one line; only --debug shows more.

Hostile invocations of every command (missing folders, a file where a folder belongs, an empty
or damaged run directory, an unreadable tree) and internal functions monkeypatched to raise
exceptions the CLI does not expect: each ends as ``idckit <command>: error: <message>`` on one
line of stderr with no traceback, exit 2 for usage errors and 1 for any other failure; Ctrl-C
is one line and exit 130; ``--debug`` re-raises with the traceback.
"""

import io
import os
import subprocess
import sys

import pytest

from idckit.cli._main import SUBCOMMANDS, main
from idckit.data import IDCPatchDataset, ScanReport
from idckit.datasets import make_synthetic

UNEXPECTED = [
    RuntimeError("boom\nsecond line"),
    OSError(28, "No space left on device"),
    PermissionError(13, "Permission denied", "10001/0/10001_idx5_x1_y1_class0.png"),
    KeyError("fold_0"),
    AttributeError("'NoneType' object has no attribute 'shape'"),
]
COMMANDS = (
    "index", "cache", "train", "evaluate", "predict", "explain", "demo", "heatmap", "report"
)  # fmt: skip
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_synthetic(tmp_path_factory.mktemp("cli-errors") / "data", n_patients=4,
                          patches_per_patient=20, seed=0)  # fmt: skip


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IDCKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IDCKIT_DEBUG", raising=False)


def one_line(capsys, argv, command=None):
    """Run ``idckit ARGV``; return the exit status and the one line it printed on stderr."""
    capsys.readouterr()
    status = main(argv)
    err = capsys.readouterr().err
    command = command or next(a for a in argv if a in COMMANDS)
    assert "Traceback" not in err
    assert err.count("\n") == 1, err
    assert err.startswith(f"idckit {command}: error: "), err
    return status, err.strip()


def argv_of(command, path, tree, tmp_path):
    """An invocation of ``command`` whose main folder argument is ``path``."""
    run_out = ["--out", str(tmp_path / "out")]
    return {
        "index": ["index", str(path)],
        "cache": ["cache", str(path)],
        "train": ["train", str(path), *run_out, "--model", "benchmark", "--epochs", "1"],
        "evaluate": ["evaluate", str(path), str(tree)],
        "predict": ["predict", str(path), str(tree), "--out", str(tmp_path / "p.csv")],
        "explain": ["explain", str(path), str(tree), *run_out],
        "demo": ["demo", *run_out[:1], str(path)],
        "heatmap": ["heatmap", str(path), str(tree), "--out", str(tmp_path / "map.png")],
        "report": ["report", str(path), "--data", str(tree), "--out", str(tmp_path / "r.html")],
    }[command]


def test_every_command_is_covered():
    assert set(SUBCOMMANDS) == set(COMMANDS)


# --- hostile paths ------------------------------------------------------------------------------

# (command, what its folder argument is); `index` of an empty folder is a summary, not an error.
BAD_FOLDERS = [
    (command, kind)
    for command in (
        "index",
        "cache",
        "train",
        "evaluate",
        "predict",
        "explain",
        "heatmap",
        "report",
    )
    for kind in ("missing", "file", "empty_dir")
    if (command, kind) != ("index", "empty_dir")
]
# Damaged run directories for the commands that apply a finished run.
DAMAGED_RUNS = {
    "report_not_json": {"report.json": "{not json", "config.json": "{"},
    "report_a_list": {"report.json": "[]"},
    "report_without_folds": {"report.json": '{"threshold": "x"}', "config.json": "null"},
    "binary_garbage": {"report.json": "\x00\xff\xfe", "config.json": "\x00"},
}


@pytest.mark.parametrize(("command", "kind"), BAD_FOLDERS)
def test_a_bad_folder_is_one_usage_line(command, kind, tree, tmp_path, capsys):
    path = tmp_path / "target"
    if kind == "file":
        path.write_text("not a folder")
    elif kind == "empty_dir":
        path.mkdir()
    status, err = one_line(capsys, argv_of(command, path, tree, tmp_path))
    assert status == 2, err
    assert str(path) in err, err


def test_index_of_an_empty_folder_reports_no_patches(tmp_path, capsys):
    """Not an error: ``index`` summarises what a folder holds, here nothing."""
    (tmp_path / "empty").mkdir()
    assert main(["index", str(tmp_path / "empty"), "--json"]) == 0
    assert '"n_patches": 0' in capsys.readouterr().out


@pytest.mark.parametrize("command", ["evaluate", "predict", "explain", "heatmap", "report"])
@pytest.mark.parametrize("damage", sorted(DAMAGED_RUNS))
def test_a_damaged_run_directory_is_one_line(command, damage, tree, tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name, text in DAMAGED_RUNS[damage].items():
        (run_dir / name).write_text(text, encoding="latin-1")
    status, err = one_line(capsys, argv_of(command, run_dir, tree, tmp_path))
    assert status == 2, err
    assert "report.json" in err


@pytest.mark.parametrize("command", ["train", "demo"])
def test_an_output_folder_that_is_a_file_is_one_line(command, tree, tmp_path, capsys):
    out = tmp_path / "taken"
    out.write_text("a file, not a run directory")
    argv = (
        ["train", str(tree), "--out", str(out), "--folds", "2", "--epochs", "1"]
        if command == "train"
        else ["demo", "--out", str(out)]
    )
    status, err = one_line(capsys, argv)
    assert status in (1, 2) and str(out) in err


def test_a_cache_folder_that_is_a_file_is_one_line(tree, tmp_path, capsys):
    cache = tmp_path / "cache-file"
    cache.write_text("a file")
    status, err = one_line(capsys, ["cache", str(tree), "--cache-dir", str(cache)])
    assert status in (1, 2) and str(cache) in err


@pytest.mark.parametrize("command", ["index", "cache"])
def test_an_unreadable_tree_is_one_line_or_a_counted_skip(
    command, tree, tmp_path, capsys, monkeypatch
):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "10001").mkdir()
    if AS_ROOT:  # root lists any folder: refuse this one as its mode would
        import idckit.data._scan as scan_module

        real_scandir = os.scandir

        def guarded_scandir(path="."):
            if os.fspath(path) == str(locked / "10001"):
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(scan_module.os, "scandir", guarded_scandir)
    try:
        os.chmod(locked / "10001", 0)
        capsys.readouterr()
        status = main([command, str(locked)])
        err = capsys.readouterr().err
    finally:
        os.chmod(locked / "10001", 0o755)
    assert "Traceback" not in err
    assert status == 0 or (err.count("\n") == 1 and err.startswith(f"idckit {command}: "))


def test_argparse_usage_errors_exit_2_without_a_traceback(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "data", "--out", "run", "--folds", "two"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "invalid int value: 'two'" in err


# --- failures the CLI does not expect ------------------------------------------------------------


def raiser(error):
    def fail(*args, **kwargs):
        raise error

    return fail


def break_command(command, error, monkeypatch):
    """Make an internal function of ``command`` raise ``error``."""
    if command == "index":
        monkeypatch.setattr(ScanReport, "from_directory", raiser(error))
    elif command in ("cache", "train"):
        monkeypatch.setattr(IDCPatchDataset, "from_directory", raiser(error))
    elif command == "demo":
        monkeypatch.setattr("idckit.datasets.make_synthetic", raiser(error))
    else:
        from idckit.training import Run

        monkeypatch.setattr(Run, "load", raiser(error))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("error", UNEXPECTED, ids=lambda e: type(e).__name__)
def test_an_unexpected_exception_is_one_line_naming_its_type(
    command, error, tree, tmp_path, monkeypatch, capsys
):
    break_command(command, error, monkeypatch)
    status, err = one_line(capsys, argv_of(command, tree, tree, tmp_path))
    assert status == 1
    first = str(error).splitlines()[0]
    assert err == (
        f"idckit {command}: error: {type(error).__name__}: {first} "
        "(run with --debug for the traceback)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_debug_shows_the_unexpected_exception_with_its_traceback(
    command, tree, tmp_path, monkeypatch
):
    error = RuntimeError("boom")
    break_command(command, error, monkeypatch)
    with pytest.raises(RuntimeError, match=r"^boom$") as info:
        main(["--debug", *argv_of(command, tree, tree, tmp_path)])
    assert info.value is error
    assert "fail" in [frame.name for frame in info.traceback]  # where it was raised


def test_idckit_debug_environment_shows_the_traceback_too(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("IDCKIT_DEBUG", "1")
    break_command("index", KeyError("x"), monkeypatch)
    with pytest.raises(KeyError):
        main(["index", str(tree)])


@pytest.mark.parametrize("debug", [[], ["--debug"]])
@pytest.mark.parametrize("command", ["index", "evaluate"])
def test_ctrl_c_is_one_line_and_exit_130(command, debug, tree, tmp_path, monkeypatch, capsys):
    break_command(command, KeyboardInterrupt(), monkeypatch)
    capsys.readouterr()
    assert main([*debug, *argv_of(command, tree, tree, tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.endswith(f"idckit {command}: interrupted\n")
    assert ("Traceback" in err) == bool(debug)  # --debug shows where it was interrupted


def test_a_closed_stdout_pipe_ends_quietly(tree, monkeypatch, capsys):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["index", str(tree)]) == 1
    assert capsys.readouterr().err == ""


def test_the_console_entry_prints_no_traceback(tmp_path):
    """``python -m idckit`` itself, in a fresh interpreter, with an unexpected failure."""
    code = (
        "import sys; from idckit.data import ScanReport; from idckit.cli import main\n"
        "def fail(*a, **k): raise MemoryError('decoding ran out of memory')\n"
        "ScanReport.from_directory = fail\n"
        "sys.argv = ['idckit', 'index', sys.argv[1]]\n"
        "import runpy; runpy.run_module('idckit', run_name='__main__')\n"
    )
    env = {**os.environ, "IDCKIT_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("IDCKIT_DEBUG", None)
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr == (
        "idckit index: error: MemoryError: decoding ran out of memory "
        "(run with --debug for the traceback)\n"
    )


def test_a_warning_is_one_note_line_without_debug(monkeypatch, capsys):
    import warnings

    from idckit.cli import _index

    def warn(args):
        warnings.warn("cache entry X is damaged: rebuilt\nsecond line", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(_index, "run", warn)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside pytest: warnings are shown, not raised
        assert main(["index", "anything"]) == 0
    err = capsys.readouterr().err
    assert err == "idckit index: note: cache entry X is damaged: rebuilt\n"


# --- nonsense settings ---------------------------------------------------------------------------

_SIZE, _JOBS = "expected an integer >= 1", "expected None, -1 or an integer >= 1"
NONSENSE_FLAGS = [
    (["index", "--patch-size", "0"], f"`patch_size` for ScanReport.from_directory: {_SIZE}. "
     "Received: patch_size=0."),
    (["index", "--patch-size", "-50", "--verify"], f"`patch_size` for ScanReport.from_directory: "
     f"{_SIZE}. Received: patch_size=-50."),
    (["index", "--jobs", "0"], f"`n_jobs` for ScanReport.from_directory: {_JOBS}. "
     "Received: n_jobs=0."),
    (["index", "--jobs", "-2", "--verify"], f"`n_jobs` for ScanReport.from_directory: {_JOBS}. "
     "Received: n_jobs=-2."),
    (["cache", "--jobs", "0"], f"`n_jobs` for IDCPatchDataset.from_directory: {_JOBS}. "
     "Received: n_jobs=0."),
    (["cache", "--jobs", "-3"], f"`n_jobs` for IDCPatchDataset.from_directory: {_JOBS}. "
     "Received: n_jobs=-3."),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "message"), NONSENSE_FLAGS, ids=" ".join)
def test_a_nonsense_patch_size_or_jobs_is_one_usage_line(argv, message, tree, tmp_path, capsys):
    command, *flags = argv
    status, err = one_line(capsys, [command, str(tree), *flags])
    assert status == 2, err
    assert err == f"idckit {command}: error: Invalid {message}"
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(("command", "count"), [("index", '"n_patches": 80'),
                                               ("cache", '"patches": 80')])  # fmt: skip
def test_jobs_minus_one_means_all_cores(command, count, tree, capsys):
    capsys.readouterr()
    assert main([command, str(tree), "--jobs", "-1", "--json"]) == 0
    assert count in capsys.readouterr().out
