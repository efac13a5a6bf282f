"""The README stays true: its two set-up commands (CI runs the test one) and its example."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _setup_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Set up and run.*?```bash\n(.*?)```", readme, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.strip().splitlines()]


def test_readme_has_exactly_two_setup_commands_demo_then_tests():
    demo, tests = _setup_commands()
    assert demo.endswith("idckit demo")
    assert tests.endswith("nox")


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci_lines[-1].strip() == _setup_commands()[1]


def _example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"## Example\n\n```python\n(.*?)```", readme, re.S).group(1)


@pytest.mark.slow
def test_the_readme_example_runs_as_written(tmp_path):
    env = {**os.environ, "IDCKIT_CACHE_DIR": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", _example()], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"^mean ", done.stdout, re.M)  # print(result): the fold table
    assert "threshold" in done.stdout and "IDC(+)" in done.stdout  # and the report
    assert (tmp_path / "confusion_matrix.png").stat().st_size > 0
