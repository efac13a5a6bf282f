"""The pieces of a self-contained HTML page: escaped text, tables, PNG figures as data URIs.

Nothing here reaches the network or needs JavaScript: every image is a ``data:image/png``
URI and the style sheet is inline. Every text that reaches the page goes through
:func:`html.escape` (run directories, configs and patient folders can hold anything).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

#: Resolution of the embedded figures (dots per inch): sharp on screen, small files.
DPI = 90

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 1.5em; color: #1d1d1f; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #d0d7de; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-top: 1.4em; }
nav ul { columns: 2; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f4f6; }
td.text, th.text { text-align: left; }
tr.summary td { font-weight: 600; background: #fafafa; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.9em; }
figure { display: inline-block; margin: 0.5em 1em 0.5em 0; vertical-align: top; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
.note { color: #555; font-style: italic; }
"""


def escape(value: object) -> str:
    """Return ``value`` as text safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def png_bytes(figure: Figure, dpi: int = DPI) -> bytes:
    """Render ``figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def image(png: bytes, alt: str, caption: str | None = None) -> str:
    """Return a ``<figure>`` holding ``png`` as a base64 data URI, with ``alt`` text."""
    data = base64.b64encode(png).decode("ascii")
    text = f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'
    if caption:
        text += f"<figcaption>{escape(caption)}</figcaption>"
    return f"<figure>{text}</figure>"


def number(value: Any, digits: int = 4) -> str:
    """Format a cell: integers as they are, floats to ``digits`` decimals, NaN/None as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"
    return escape(value)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    text_columns: int = 1,
    summary_rows: Iterable[Sequence[Any]] = (),
    digits: int = 4,
    css_class: str = "",
) -> str:
    """Return an HTML table; the first ``text_columns`` cells of a row are left-aligned text."""

    def cells(row: Sequence[Any], tag: str) -> str:
        out = []
        for k, value in enumerate(row):
            kind = ' class="text"' if k < text_columns else ""
            content = escape(value) if k < text_columns else number(value, digits)
            out.append(f"<{tag}{kind}>{content}</{tag}>")
        return "".join(out)

    head = cells(columns, "th")
    body = [f"<tr>{cells(row, 'td')}</tr>" for row in rows]
    body += [f'<tr class="summary">{cells(row, "td")}</tr>' for row in summary_rows]
    klass = f' class="{escape(css_class)}"' if css_class else ""
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Return ``(dotted key, value as text)`` pairs of nested mappings (lists as JSON).

    Examples
    --------
    >>> flatten({"model": {"name": "cpu"}, "epochs": 3, "tags": [1, 2]})
    [('model.name', 'cpu'), ('epochs', '3'), ('tags', '[1, 2]')]
    """
    if isinstance(data, Mapping):
        if not data and prefix:
            return [(prefix, "{}")]
        pairs: list[tuple[str, str]] = []
        for key, value in data.items():
            pairs += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return pairs
    if isinstance(data, str):
        return [(prefix, data)]
    try:
        text = json.dumps(data, default=str)
    except (TypeError, ValueError):  # pragma: no cover - default=str serialises anything
        text = repr(data)
    return [(prefix, text)]


def section(anchor: str, title: str, body: str, level: int = 2) -> str:
    """Return a ``<section>`` with an id, a heading and ``body`` (already HTML)."""
    return f'<section id="{escape(anchor)}"><h{level}>{escape(title)}</h{level}>{body}</section>'


def paragraph(text: str, *, note: bool = False) -> str:
    """Return an escaped paragraph (in the muted ``note`` style when asked)."""
    klass = ' class="note"' if note else ""
    return f"<p{klass}>{escape(text)}</p>"


def preformatted(text: str) -> str:
    """Return escaped text in a ``<pre>`` block."""
    return f"<pre>{escape(text)}</pre>"


def page(title: str, body: str) -> str:
    """Return the whole document: doctype, UTF-8, viewport, inline style, ``body``."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def write_text_atomically(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
