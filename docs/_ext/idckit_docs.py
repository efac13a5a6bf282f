"""Sphinx directives that generate idckit's reference pages from the code, so they cannot drift.

``.. idckit-cli::``
    The command-line reference, built from :func:`idckit.cli._main.build_parser`: one section
    per subcommand with its usage line, description and every option (flags, metavar, choices,
    default, help). A subcommand listed in ``SUBCOMMANDS`` whose module does not import is a
    build warning (an error under ``-W``) unless ``idckit_cli_strict = False``.

``.. idckit-toplevel::``
    A summary table of ``idckit.__all__``, each name linked to the page of the subpackage
    that defines it (the objects are documented once, under their subpackage).

Docstring validation (``idckit_validation_checks``)
    numpydoc's validator (:func:`numpydoc.validate.validate`) run on every object autodoc
    documents, with rules per kind of object: public functions and classes need every check;
    methods and properties need no Examples section and may leave self-explanatory parameters
    undocumented (a documented one must exist and have a description); exceptions need no
    Examples section.
    Each failure is a build warning (an error under ``-W``).

``.. idckit-markdown:: ../CHANGELOG.md``
    Includes a Markdown file written in the small subset Keep a Changelog uses (ATX headings,
    paragraphs, ``-`` bullet lists, code spans, links, bold and italics), converted to
    reStructuredText at build time, without a Markdown parser dependency.
"""

from __future__ import annotations

import argparse
import importlib
import re
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _parse_rst(directive: SphinxDirective, lines: list[str]) -> list[nodes.Node]:
    """Parse generated reStructuredText (titles allowed) in the directive's context."""
    source = directive.get_source_info()[0]
    content = StringList()
    for number, line in enumerate(lines):
        content.append(line, source, number)
    container = nodes.section()
    container.document = directive.state.document
    nested_parse_with_titles(directive.state, content, container)
    return list(container.children)


def _indent(text: str, prefix: str = "   ") -> list[str]:
    return [prefix + line if line.strip() else "" for line in text.splitlines()]


# --------------------------------------------------------------------------------------------
# idckit-cli
# --------------------------------------------------------------------------------------------
def _escape_inline(text: str) -> str:
    """Escape characters that reST would read as inline markup in free help text."""
    return re.sub(r"([\\*`|_])", r"\\\1", text)


def _option_label(action: argparse.Action) -> str:
    if action.option_strings:
        if action.nargs == 0:
            return ", ".join(action.option_strings)
        metavar = action.metavar or action.dest.upper()
        if isinstance(metavar, tuple):  # pragma: no cover - not used by idckit
            metavar = " ".join(metavar)
        return ", ".join(f"{opt} {metavar}" for opt in action.option_strings)
    return str(action.metavar or action.dest)


def _option_help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    text = action.help or ""
    if "%(" in text:
        params = {**vars(action), "prog": parser.prog}
        params = {k: getattr(v, "__name__", v) for k, v in params.items()}
        text = text % params
    text = markdown_inline_to_rst(text)
    extras = []
    if action.choices is not None and "%(choices)" not in (action.help or ""):
        extras.append("Choices: " + ", ".join(f"``{c}``" for c in action.choices) + ".")
    default = action.default
    shows_default = re.search(r"%\(default\)|\bdefault\b", action.help or "", re.IGNORECASE)
    if (
        action.option_strings
        and action.nargs != 0
        and default not in (None, argparse.SUPPRESS)
        and not shows_default
    ):
        extras.append(f"Default: ``{default}``.")
    return " ".join(part for part in (text, *extras) if part)


def _parser_rst(name: str, parser: argparse.ArgumentParser, level: str) -> list[str]:
    title = f"idckit {name}" if name else "idckit"
    lines = [title, level * len(title), ""]
    if parser.description:
        lines += [markdown_inline_to_rst(parser.description), ""]
    usage = parser.format_usage().strip()
    usage = usage[len("usage: ") :] if usage.startswith("usage: ") else usage
    lines += [".. code-block:: text", "", *_indent(usage), ""]
    positional = [a for a in parser._actions if not a.option_strings]
    optional = [
        a
        for a in parser._actions
        if a.option_strings
        and not isinstance(a, argparse._HelpAction)
        and a.help != argparse.SUPPRESS
    ]
    for heading, actions in (("Arguments", positional), ("Options", optional)):
        actions = [a for a in actions if not isinstance(a, argparse._SubParsersAction)]
        if not actions:
            continue
        lines += [f".. rubric:: {heading}", ""]
        for action in actions:
            lines += [f".. option:: {_option_label(action)}", ""]
            help_text = _option_help(action, parser)
            if help_text:
                lines += [*_indent(help_text), ""]
    if parser.epilog:
        lines += [markdown_inline_to_rst(parser.epilog), ""]
    return lines


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


class CLIDirective(SphinxDirective):
    """Document the ``idckit`` command line from its argparse parsers."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        cli = importlib.import_module("idckit.cli._main")
        parser = cli.build_parser()
        subs = _subparsers(parser)
        missing = [name for name in cli.SUBCOMMANDS if name not in subs]
        if missing:
            message = (
                "idckit-cli: subcommand(s) %s listed in idckit.cli._main.SUBCOMMANDS could not "
                "be imported, so they are missing from the CLI reference"
            )
            if self.config.idckit_cli_strict:
                logger.warning(message, ", ".join(missing), location=self.get_location())
            else:
                logger.info(message, ", ".join(missing))
        lines = [".. program:: idckit", ""]
        top = _parser_rst("", parser, "-")
        lines += top[3:]  # the page already has the title; keep usage and options
        lines += ["Subcommands: " + ", ".join(f":ref:`{n} <cli-{n}>`" for n in subs) + ".", ""]
        for name, sub in subs.items():
            lines += [f".. _cli-{name}:", "", f".. program:: idckit {name}", ""]
            lines += _parser_rst(name, sub, "-")
        return _parse_rst(self, lines)


# --------------------------------------------------------------------------------------------
# idckit-toplevel
# --------------------------------------------------------------------------------------------
class TopLevelDirective(SphinxDirective):
    """Summarise ``idckit.__all__``, linking each name to its subpackage's documentation."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        idckit = importlib.import_module("idckit")
        exports: dict[str, str] = idckit._EXPORTS
        lines = [".. autosummary::", ""]
        for name in idckit.__all__:
            module_name = exports[name]
            module = importlib.import_module(module_name)
            if name not in getattr(module, "__all__", ()):
                logger.warning(
                    "idckit-toplevel: idckit.%s comes from %s, which does not list it in "
                    "__all__, so the API reference has no page for it",
                    name,
                    module_name,
                    location=self.get_location(),
                )
            lines.append(f"   ~{module_name}.{name}")
        return _parse_rst(self, lines)


# --------------------------------------------------------------------------------------------
# idckit-markdown
# --------------------------------------------------------------------------------------------
_INLINE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?P=ticks))"
    r"|(?P<link>\[(?P<link_text>[^\]]+)\]\((?P<url>[^)\s]+)\))"
    r"|(?P<bold>\*\*(?P<bold_text>[^*]+?)\*\*)"
    r"|(?P<em>(?<![\w*])[*_](?P<em_text>[^\s*_](?:[^*_]*?[^\s*_])?)[*_](?![\w*]))"
)
_HEADING_CHARS = {1: "=", 2: "-", 3: "~", 4: "^"}


def _markup(kind: str, match: re.Match[str]) -> str:
    if kind == "code":
        return f"``{match.group('code_text').strip()}``"
    if kind == "link":
        return f"`{_escape_inline(match.group('link_text'))} <{match.group('url')}>`__"
    if kind == "bold":
        return f"**{match.group('bold_text')}**"
    return f"*{match.group('em_text')}*"


def markdown_inline_to_rst(text: str) -> str:
    """Convert Markdown inline markup (code, links, bold, italics) to reStructuredText.

    Plain text is escaped, and inline markup that touches a word character is separated
    with an escaped space, as reST requires.
    """
    out: list[str] = []
    pos = 0
    for match in _INLINE.finditer(text):
        out.append(("plain", _escape_inline(text[pos : match.start()])))
        kind = next(k for k in ("code", "link", "bold", "em") if match.group(k))
        out.append(("markup", _markup(kind, match)))
        pos = match.end()
    out.append(("plain", _escape_inline(text[pos:])))
    result = ""
    for index, (kind, piece) in enumerate(out):
        if kind == "markup":
            if result and re.match(r"[\w\\]", result[-1]):
                result += "\\ "
            result += piece
            following = out[index + 1][1] if index + 1 < len(out) else ""
            if following and re.match(r"\w", following[0]):
                result += "\\ "
        else:
            result += piece
    return result


def markdown_to_rst(markdown: str) -> str:
    """Convert the Markdown subset of a Keep a Changelog file to reStructuredText."""
    rst: list[str] = []
    list_indent: list[int] = []  # markdown indents of the open (nested) bullet lists
    for raw in markdown.splitlines():
        line = raw.rstrip()
        if re.match(r"^\[[^\]]+\]:\s*\S+", line):  # link reference definition
            continue
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        bullet = re.match(r"^(\s*)[-*+]\s+(.*)$", line)
        if heading:
            list_indent.clear()
            text = re.sub(r"\[([^\]]+)\](?!\()", r"\1", heading.group(2))
            text = markdown_inline_to_rst(text)
            rst += ["", text, _HEADING_CHARS[len(heading.group(1))] * len(text), ""]
        elif bullet:
            indent = len(bullet.group(1))
            depth = len(list_indent)
            while list_indent and indent < list_indent[-1]:
                list_indent.pop()
            if not list_indent or indent > list_indent[-1]:
                list_indent.append(indent)
            if len(list_indent) != depth:  # reST wants a blank line around nested lists
                rst.append("")
            prefix = "  " * (len(list_indent) - 1)
            rst.append(f"{prefix}- {markdown_inline_to_rst(bullet.group(2))}")
        elif not line.strip():
            rst.append("")
        elif list_indent and raw.startswith(" "):  # continuation of a bullet
            prefix = "  " * len(list_indent)
            rst.append(f"{prefix}{markdown_inline_to_rst(line.strip())}")
        else:
            if list_indent:
                list_indent.clear()
                rst.append("")
            rst.append(markdown_inline_to_rst(line.strip()))
    return "\n".join(rst).strip() + "\n"


class MarkdownDirective(SphinxDirective):
    """Include a Keep a Changelog style Markdown file, converted to reStructuredText."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Any]] = {"start-after-title": directives.flag}

    def run(self) -> list[nodes.Node]:
        relative, absolute = self.env.relfn2path(self.arguments[0])
        path = Path(absolute)
        self.env.note_dependency(relative)
        text = path.read_text(encoding="utf-8")
        if "start-after-title" in self.options:
            text = re.sub(r"\A\s*#\s+[^\n]*\n", "", text, count=1)
        return _parse_rst(self, markdown_to_rst(text).splitlines())


# --------------------------------------------------------------------------------------------
# docstring validation
# --------------------------------------------------------------------------------------------
#: Methods whose parameters Keras documents (overrides of its Layer/Metric/Model protocol).
KERAS_PROTOCOL = frozenset(
    {
        "build",
        "build_from_config",
        "call",
        "compute_output_shape",
        "from_config",
        "get_build_config",
        "get_config",
        "reset_state",
        "result",
        "update_state",
    }
)
_NOT_FOR = {
    "method": {"EX01", "PR01"},
    "property": {"EX01", "PR01", "PR02"},
    "attribute": {"EX01"},
    "exception": {"EX01"},
}


def checks_for(what: str, name: str, checks: set[str]) -> set[str]:
    """The validation codes that apply to an object autodoc documents as ``what``."""
    if what in ("module", "data"):
        return set()
    selected = set(checks) - _NOT_FOR.get(what, set())
    if what == "method" and name.rsplit(".", 1)[-1] in KERAS_PROTOCOL:
        selected -= {"PR07"}  # Keras documents its protocol methods' parameters
    return selected


def _validate_docstring(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Run numpydoc's validator on ``name`` and warn about the selected failures."""
    from numpydoc.validate import validate

    checks = checks_for(what, name, set(app.config.idckit_validation_checks))
    if not checks or any(re.search(p, name) for p in app.config.idckit_validation_exclude):
        return
    seen: set[str] = app.__dict__.setdefault("_idckit_validated", set())
    if name in seen:  # autosummary tables process the same docstrings again
        return
    seen.add(name)
    try:
        report = validate(name)
    except (ImportError, AttributeError, TypeError) as err:  # pragma: no cover - odd objects
        logger.warning("idckit: cannot validate the docstring of %s: %s", name, err)
        return
    errors = [f"  {code}: {message}" for code, message in report["errors"] if code in checks]
    if errors:
        logger.warning(
            "idckit: docstring of %s fails validation:\n%s",
            name,
            "\n".join(errors),
            type="idckit",
            subtype="docstring",
        )


# --------------------------------------------------------------------------------------------
# gallery: figures that pyplot does not know about
# --------------------------------------------------------------------------------------------
def _figure_alt_text(figure: Any) -> str:
    titles = [figure._suptitle.get_text()] if getattr(figure, "_suptitle", None) else []
    titles += [ax.get_title() for ax in figure.axes if ax.get_title()]
    return ", ".join(titles)


def figure_scraper(
    block: Any, block_vars: dict[str, Any], gallery_conf: Any, **kwargs: Any
) -> str:
    """Scrape the ``matplotlib.figure.Figure`` objects made without pyplot, for sphinx-gallery.

    idckit's plots build their figures with ``Figure()`` (no global pyplot state), so
    sphinx-gallery's matplotlib scraper, which asks pyplot for its open figures, does not see
    them. This scraper saves every figure that a code block leaves as its last expression or
    in a variable, once, in order. Figures pyplot manages are left to the matplotlib scraper.
    Jupyter shows the same figures inline, so the examples read the same there.
    """
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    example_globals = block_vars["example_globals"]
    # The figures already shown (kept alive, so that no new figure can reuse their id).
    seen: list[Any] = block_vars.setdefault("_idckit_scraped_figures", [])
    candidates = [example_globals.get("___"), *example_globals.values()]
    figures = []
    for value in candidates:
        if isinstance(value, Figure) and not any(value is done for done in seen):
            seen.append(value)
            if getattr(value.canvas, "manager", None) is None:  # not a pyplot figure
                figures.append(value)
    rst = ""
    for figure, image_path in zip(figures, block_vars["image_path_iterator"], strict=False):
        figure.savefig(image_path, **kwargs)
        rst += figure_rst([image_path], gallery_conf["src_dir"], _figure_alt_text(figure))
    return rst


# --------------------------------------------------------------------------------------------
# constants re-exported from private modules
# --------------------------------------------------------------------------------------------
def _defining_module_doc(name: str, obj: Any) -> list[str] | None:
    """The ``#:`` comment or docstring of a constant in the module that defines it.

    ``idckit.data.CRUZ_ROA_2014`` is documented where it is defined,
    ``idckit.data._splits``; autodoc only looks in ``idckit.data``, the package that
    re-exports it.
    """
    import sys

    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = name.rpartition(".")
    root = package.split(".")[0]
    for module_name, module in sorted(sys.modules.items()):
        if not (module_name == root or module_name.startswith(root + ".")):
            continue
        if getattr(module, attr, None) is not obj:
            continue
        try:
            analyzer = ModuleAnalyzer.for_module(module_name)
            analyzer.analyze()
        except Exception:  # no source (a C module, say): try the next module
            continue
        doc = analyzer.attr_docs.get(("", attr))
        if doc:
            return list(doc)
    return None


def _document_reexported_data(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Give a re-exported constant the documentation written where it is defined."""
    if what != "data":
        return
    doc = _defining_module_doc(name, obj)
    if doc is not None:
        lines[:] = doc
    elif "\n".join(lines).strip() == (type(obj).__doc__ or "").strip():
        lines[:] = []  # the docstring of the value's type says nothing about the constant


def public_name(cls: type) -> str | None:
    """The public path of a Keras class (``keras.metrics.Metric``, not ``keras.src...``)."""
    parts = cls.__module__.split(".")
    if parts[:2] != ["keras", "src"] or len(parts) < 3:
        return None
    try:
        public = importlib.import_module(f"keras.{parts[2]}")
    except ImportError:
        return None
    return (
        f"keras.{parts[2]}.{cls.__name__}" if getattr(public, cls.__name__, None) is cls else None
    )


def _clean_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: list[Any]) -> None:
    """Show "Bases:" only for real base classes, by their public names.

    ``object`` is dropped, and Keras classes are named as users import them
    (``keras.metrics.Metric`` rather than ``keras.src.metrics.metric.Metric``).
    """
    if object in bases:
        bases.remove(object)
    for index, base in enumerate(bases):
        if isinstance(base, type) and (public := public_name(base)):
            bases[index] = public


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives, the docstring validation and their options."""
    app.add_config_value("idckit_cli_strict", True, "env", types=(bool, int))
    app.add_config_value("idckit_validation_checks", set(), "env", types=(set, frozenset, list))
    app.add_config_value("idckit_validation_exclude", [], "env", types=(list, tuple))
    app.connect("autodoc-process-bases", _clean_bases)
    app.connect("autodoc-process-docstring", _document_reexported_data, priority=300)
    app.connect("autodoc-process-docstring", _validate_docstring, priority=400)
    app.add_directive("idckit-cli", CLIDirective)
    app.add_directive("idckit-toplevel", TopLevelDirective)
    app.add_directive("idckit-markdown", MarkdownDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
