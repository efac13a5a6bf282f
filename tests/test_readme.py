"""The README's two set-up commands stay true: CI runs the same test command."""

import re
from pathlib import Path

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
