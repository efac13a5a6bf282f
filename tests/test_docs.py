"""Checks of the documentation's machinery: docs/_ext/idckit_docs.py, the gallery, the snippets.

The Sphinx build itself (``nox -s docs``) executes the gallery; these tests keep the pieces
that build it honest and fast. They skip where the docs extra (Sphinx) is not installed.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from idckit.cli._main import SUBCOMMANDS

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"

# A skip marker, not a module-level importorskip: a session that deselects these tests (``-m
# backend`` in tests-jax and tests-torch, which do not install the docs extra) then reports
# nothing about them, while a session that selects them without Sphinx still says why they skip.
_MISSING = [name for name in ("sphinx", "docutils") if importlib.util.find_spec(name) is None]
if _MISSING:
    idckit_docs = None
    pytestmark = pytest.mark.skip(reason=f"the docs extra is not installed: no {_MISSING[0]!r}")
else:  # Sphinx is there: the extension must import, or these tests fail
    sys.path.insert(0, str(DOCS / "_ext"))
    idckit_docs = importlib.import_module("idckit_docs")


def _conf() -> dict[str, object]:
    """Execute docs/conf.py as Sphinx does and return its namespace."""
    path = DOCS / "conf.py"
    namespace: dict[str, object] = {"__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace


def _rst_problems(rst: str) -> list[str]:
    """Parse reStructuredText with docutils and return every warning or error it reports."""
    from docutils.core import publish_doctree
    from docutils.utils import Reporter

    doctree = publish_doctree(
        rst, settings_overrides={"report_level": Reporter.SEVERE_LEVEL + 1, "halt_level": 5}
    )
    return [
        node.astext()
        for node in doctree.findall()
        if node.tagname == "system_message" and node["level"] >= Reporter.WARNING_LEVEL
    ]


# ------------------------------------------------------------------ Markdown changelog
def test_markdown_inline_markup_becomes_rst():
    convert = idckit_docs.markdown_inline_to_rst
    assert convert("use `idckit index` now") == "use ``idckit index`` now"
    assert (
        convert("see [Keep a Changelog](https://k.org/)")
        == "see `Keep a Changelog <https://k.org/>`__"
    )
    assert convert("**bold** and *em*") == "**bold** and *em*"
    assert convert("`cache`s") == "``cache``\\ s"  # reST needs a separator after markup
    assert convert("n_jobs and *.png") == "n\\_jobs and \\*.png"


def test_markdown_document_converts_to_clean_rst():
    markdown = (
        "# Changelog\n\nIntro with a [link](https://x.org).\n\n## [Unreleased]\n\n### Added\n"
        "- First item, `code`, and a long line that\n  continues here.\n"
        "  - a nested item\n- Back to the top level with n_jobs and *.png\n\n"
        "## [0.1.0] - 2025-01-01\n\n- Initial.\n\n[Unreleased]: https://x.org/compare\n"
    )
    rst = idckit_docs.markdown_to_rst(markdown)
    assert "Unreleased\n----------" in rst
    assert "Added\n~~~~~" in rst
    assert "https://x.org/compare" not in rst  # link reference definitions are dropped
    assert "\n  continues here." in rst
    assert _rst_problems(rst) == []


def test_the_real_changelog_converts_without_problems():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert _rst_problems(idckit_docs.markdown_to_rst(text)) == []


# ------------------------------------------------------------------ CLI reference
def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from idckit.cli._main import build_parser

    return idckit_docs._subparsers(build_parser())


def test_every_subcommand_is_importable_so_the_cli_reference_lists_it():
    assert sorted(_subparsers()) == sorted(SUBCOMMANDS)


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_cli_reference_documents_every_option(name):
    parser = _subparsers()[name]
    rst = "\n".join(idckit_docs._parser_rst(name, parser, "-"))
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        for option in action.option_strings or [action.metavar or action.dest]:
            assert re.search(rf"^\.\. option:: {re.escape(option)}\b", rst, re.M), option
    # Sphinx-only directives become plain reST: the program line goes, options become terms.
    body = re.sub(r"^\.\. program::.*$", "", rst, flags=re.M)
    body = re.sub(r"^\.\. option:: (.*)\n\n", r"``\1``\n", body, flags=re.M)
    assert _rst_problems(body) == []


# ------------------------------------------------------------------ docstring validation
def test_examples_are_required_of_functions_and_classes_but_not_methods():
    checks = {"GL08", "PR01", "PR07", "EX01"}
    assert idckit_docs.checks_for("function", "idckit.x.f", checks) == checks
    assert idckit_docs.checks_for("class", "idckit.x.C", checks) == checks
    assert idckit_docs.checks_for("method", "idckit.x.C.fit", checks) == {"GL08", "PR07"}
    assert idckit_docs.checks_for("method", "idckit.x.C.update_state", checks) == {"GL08"}
    assert idckit_docs.checks_for("exception", "idckit.x.E", checks) == checks - {"EX01"}
    assert idckit_docs.checks_for("module", "idckit.x", checks) == set()


def test_keras_base_classes_are_shown_by_their_public_names():
    keras = pytest.importorskip("keras")
    from idckit.metrics import StreamingF1

    assert idckit_docs.public_name(StreamingF1.__bases__[0]) == "keras.metrics.Metric"
    assert idckit_docs.public_name(keras.layers.Dense.__mro__[1]) == "keras.layers.Layer"
    assert idckit_docs.public_name(StreamingF1) is None  # not a Keras class


# ------------------------------------------------------------------ gallery
def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.py"))


def _title(path: Path) -> str:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return docstring.strip().splitlines()[0]


def test_examples_are_numbered_one_to_n_in_their_titles():
    numbers = sorted(int(re.match(r"(\d+)\. ", _title(p)).group(1)) for p in _examples())
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 5


def test_only_the_real_data_example_is_left_unexecuted():
    pattern = _conf()["sphinx_gallery_conf"]["filename_pattern"]  # type: ignore[index]
    executed = {p.name for p in _examples() if re.search(pattern, os.sep + p.name)}
    assert {p.name for p in _examples()} - executed == {"real_data_recipe.py"}


def test_the_build_never_reaches_the_network():
    conf = _conf()
    assert "sphinx.ext.intersphinx" not in conf["extensions"]  # type: ignore[operator]
    assert not conf.get("intersphinx_mapping")
    gallery = conf["sphinx_gallery_conf"]
    assert not gallery.get("reference_url")  # type: ignore[union-attr]
    assert not gallery.get("jupyterlite") and not gallery.get("binder")  # type: ignore[union-attr]


def test_figure_scraper_saves_each_new_figure_once(tmp_path):
    pytest.importorskip("sphinx_gallery")
    from matplotlib.figure import Figure

    first, second = Figure(), Figure()
    first.add_subplot().set_title("first")
    paths = iter(tmp_path / f"image_{i}.png" for i in range(10))
    block_vars = {"example_globals": {"___": first, "fig": first}, "image_path_iterator": paths}
    rst = idckit_docs.figure_scraper(None, block_vars, {"src_dir": str(tmp_path)})
    assert rst.count(".. image-sg::") == 1 and (tmp_path / "image_0.png").is_file()
    block_vars["example_globals"].update(___=second)
    rst = idckit_docs.figure_scraper(None, block_vars, {"src_dir": str(tmp_path)})
    assert rst.count(".. image-sg::") == 1 and (tmp_path / "image_1.png").is_file()
    assert idckit_docs.figure_scraper(None, block_vars, {"src_dir": str(tmp_path)}) == ""


# ------------------------------------------------------------------ snippets
@pytest.mark.slow
def test_the_front_page_example_runs(tmp_path):
    text = (DOCS / "index.rst").read_text(encoding="utf-8")
    block = re.search(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text).group(1)
    code = "\n".join(line[3:] for line in block.splitlines())
    code = code.replace("epochs=8", "epochs=1")  # the same code, one epoch: it must run
    env = {**os.environ, "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "IDC(+)" in run.stdout and (tmp_path / "confusion_matrix.png").is_file()


def test_readme_example_is_the_front_page_example():
    """The README's example is the tested front-page snippet, character for character."""
    text = (DOCS / "index.rst").read_text(encoding="utf-8")
    block = re.search(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text).group(1)
    front = "\n".join(line[3:] for line in block.splitlines()).strip()
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1).strip()
    assert example == front


def _guarantee_tests() -> list[tuple[str, str]]:
    """The ``file::test`` pairs the Guarantees page names (``::test`` continues the last file)."""
    text = (DOCS / "guarantees.rst").read_text(encoding="utf-8")
    pairs, current = [], ""
    for path, name in re.findall(r"``(tests/[\w/]+\.py)?::(test_\w+)``", text):
        current = path or current
        pairs.append((current, name))
    return pairs


def test_the_guarantees_page_names_tests_that_exist():
    pairs = _guarantee_tests()
    assert len(pairs) >= 20
    for path, name in pairs:
        tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
        defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in defined, f"{path}::{name} is on the Guarantees page but not in the file"
