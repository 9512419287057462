"""Tables a learner reads whole: in JupyterLab, in a static render and in a terminal.

The toolkit teaches through the words in its tables: the boundary check's reason, the
audit's reason and action, the instability probe's verdict. pandas cuts every text cell at
50 characters (``display.max_colwidth``), so those sentences ended in "..." in every
executed notebook. :func:`install`, which :func:`playbook_kit.setup` calls, changes how
DataFrames *display* for the rest of the process, once for every table the package
returns or a user builds; the DataFrames themselves stay plain and unchanged:

* pandas' ``display.max_colwidth`` becomes ``None``: ``print(frame)``, ``repr`` and
  ``to_string`` show every text whole. In a terminal pandas fits a frame to the window by
  leaving columns out ("..."), which with whole text would leave out nearly every column
  but the longest: there ``display.max_columns`` goes from 0 (fit the window) to 20,
  pandas' own value outside a terminal, so a wide frame prints in blocks of columns;
* where IPython displays values (Jupyter, papermill, nbval, the IPython terminal) a
  DataFrame is shown by :func:`to_html` (text/html) and :func:`to_text` (text/plain):
  text left-aligned and wrapped, statuses marked (:mod:`playbook_kit.core.statuses`:
  "✓ pass", "⚠ warn", "✗ fail").

:func:`to_html` writes every cell's style inline: a notebook opened from disk is
untrusted, and JupyterLab then drops ``<style>`` blocks but keeps inline styles (text
alignment, wrapping, colour); nbconvert and nbviewer keep both. JupyterLab's own CSS
right-aligns every cell, which makes a wrapped sentence hard to read. Where a renderer
strips styles altogether (GitHub), the text is still whole and the marks still show.
:func:`uninstall` (or ``setup(tables=False)``) restores pandas' display.
"""
from __future__ import annotations

import math
import numbers
import sys
import textwrap

import numpy as np
import pandas as pd
from markupsafe import Markup

from ..core import statuses
from ..core.validation import not_allowed, shown_as
from .rendering import render

WRAP_AT = 40
"""Text longer than this many characters wraps in HTML, in a column at least
:data:`MIN_TEXT_EM` and at most :data:`MAX_TEXT_EM` wide (toolkit's choice: a column that
never gets narrower than a few words, lines no longer than a comfortable ~80 characters)."""
MIN_TEXT_EM, MAX_TEXT_EM = 16, 40
MIN_TEXT_WIDTH = 24
"""Plain text: a wrapped text column is never narrower than this many characters."""
ELLIPSIS = "\u2026"
"""The cell shown for rows left out of a long table (pandas' ``display.max_rows``)."""

TERMINAL_MAX_COLUMNS = 20
"""``display.max_columns`` where pandas would fit frames to a terminal (0) instead."""

_STATE: dict = {"installed": False, "options": {}, "printers": {}}


# ------------------------------------------------------------------------------ cells
def cell_text(value) -> str:
    """A value as a table shows it: a float to 6 significant digits (a whole one as
    "2.0", as pandas shows it), text whole."""
    if value is None:
        return "None"
    if value is pd.NA:
        return "<NA>"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return "NaN"
        text = f"{number:.6g}"
        return text if any(c in text for c in ".ein") else text + ".0"   # 2.0, not 2
    return str(value)


def _kind(column: list, name: str) -> str:
    """How a column reads, from the values shown: "status" (known status words), "flag"
    (True marks a finding), "text" (left-aligned, wraps) or "number" (right-aligned)."""
    values = [v for v in column if not _missing(v)]
    key = name.strip().lower()
    if key in statuses.STATUS_COLUMNS and any(statuses.tone(v) for v in values):
        return "status"
    if key in statuses.FLAG_COLUMNS and values and all(
            isinstance(v, (bool, np.bool_)) for v in values):
        return "flag"
    if any(not isinstance(v, numbers.Number) for v in values):
        return "text"
    return "number"


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _label(value) -> str:
    """A column or index label; the levels of a MultiIndex label joined by " / "."""
    if isinstance(value, tuple):
        return " / ".join(cell_text(v) for v in value)
    return "" if value is None else cell_text(value)


def _cell(value, kind: str, column: str) -> dict:
    text, tone = cell_text(value), None
    if kind == "status":
        tone = statuses.tone(value)
        text = statuses.mark(value) if tone else text
    elif kind == "flag" and not _missing(value) and bool(value):
        tone = statuses.FLAG_COLUMNS[column.strip().lower()]
        text = f"{statuses.MARKS[tone]} {text}"
    return {"text": text, "kind": kind, "tone": tone}


def layout(frame: pd.DataFrame, index: bool = True) -> dict:
    """What :func:`to_html` and :func:`to_text` draw: ``header`` and ``rows`` of cells
    (dicts with ``text``, ``kind``, ``tone``), the index first when ``index``, and a
    ``footer`` ("80 rows × 3 columns") when rows were left out. A frame longer than
    pandas' ``display.max_rows`` shows its first and last ``display.min_rows // 2`` rows
    around a row of "…", as pandas does; columns are never left out."""
    if not isinstance(frame, pd.DataFrame):
        raise not_allowed("frame", shown_as(type(frame).__name__), "pass a pandas DataFrame")
    n_rows = len(frame)
    max_rows = pd.get_option("display.max_rows")
    positions: list = list(range(n_rows))
    if max_rows and n_rows > max_rows:
        half = max(pd.get_option("display.min_rows") or max_rows, 2) // 2
        positions = [*range(half), None, *range(n_rows - half, n_rows)]
    names = [_label(c) for c in frame.columns]
    shown = [p for p in positions if p is not None]
    kinds = [_kind([frame.iat[p, j] for p in shown], names[j]) for j in range(frame.shape[1])]
    index_name = " / ".join(_label(n) for n in frame.index.names if n is not None)
    header = ([{"text": index_name, "kind": "index", "tone": None}] if index else []) + [
        {"text": name, "kind": kind, "tone": None} for name, kind in zip(names, kinds)]
    rows = []
    for position in positions:
        if position is None:
            rows.append([{"text": ELLIPSIS, "kind": cell["kind"], "tone": None}
                         for cell in header])
            continue
        row = [{"text": _label(frame.index[position]), "kind": "index", "tone": None}] \
            if index else []
        row += [_cell(frame.iat[position, j], kinds[j], names[j])
                for j in range(frame.shape[1])]
        rows.append(row)
    footer = (f"{n_rows} rows \u00d7 {frame.shape[1]} columns"
              if len(positions) < n_rows else "")
    return {"header": header, "rows": rows, "footer": footer}


# ------------------------------------------------------------------------------ HTML
def _style(cell: dict, header: bool = False) -> str:
    """The inline style of one cell (the only styles an untrusted notebook keeps)."""
    kind = cell["kind"]
    parts = ["text-align:" + ("left" if kind in ("text", "status", "flag") else "right")]
    if not header:
        parts.append("vertical-align:top")
    if kind in ("status", "flag") and cell["tone"]:
        parts += ["white-space:nowrap", "font-weight:bold",
                  f"color:{statuses.COLORS[cell['tone']]}"]
    return ";".join(parts)


def _keep_mark(cell: dict) -> str:
    """A marked cell's text with a no-break space after the mark, so that the mark stays
    with its word where a renderer strips the ``nowrap`` style (GitHub)."""
    return cell["text"].replace(" ", "\u00a0", 1) if cell["tone"] else cell["text"]


def _wraps(cell: dict) -> bool:
    return cell["kind"] == "text" and len(cell["text"]) > WRAP_AT


def to_html(frame: pd.DataFrame, index: bool = True) -> str:
    """``frame`` as an HTML table whose text is whole: text cells left-aligned, long ones
    wrapped in a column :data:`MIN_TEXT_EM` to :data:`MAX_TEXT_EM` wide (``white-space:
    pre-wrap``, so a line break in the text stays one), statuses marked and coloured;
    every style inline, every value escaped (the ``table.html`` template)."""
    table = layout(frame, index)
    wrap = (f"min-width:{MIN_TEXT_EM}em;max-width:{MAX_TEXT_EM}em;white-space:pre-wrap;"
            "overflow-wrap:anywhere")
    header = [{**cell, "style": _style(cell, header=True)} for cell in table["header"]]
    rows = [[{**cell, "tag": "th" if cell["kind"] == "index" else "td",
              "style": _style(cell), "wrap": wrap if _wraps(cell) else "",
              "text": _keep_mark(cell)} for cell in row] for row in table["rows"]]
    return render("table.html", header=header, rows=rows, footer=table["footer"],
                  break_after_underscore=Markup("_<wbr>"))


# ------------------------------------------------------------------------ plain text
def to_text(frame: pd.DataFrame, index: bool = True, width: int | None = None) -> str:
    """``frame`` as plain text whose text is whole: when the table is wider than
    ``width`` (default pandas' ``display.width``, 80), its widest text columns wrap,
    never narrower than :data:`MIN_TEXT_WIDTH`, and a blank line separates rows that span
    several lines. Numbers are right-aligned, text left-aligned, statuses marked."""
    table = layout(frame, index)
    width = width or pd.get_option("display.width") or 80
    grid = [table["header"], *table["rows"]]
    widths = [max(len(row[j]["text"]) for row in grid) for j in range(len(grid[0]))]
    wrappable = [j for j, cell in enumerate(table["header"]) if cell["kind"] == "text"]
    while sum(widths) + 2 * (len(widths) - 1) > width:
        candidates = [j for j in wrappable if widths[j] > MIN_TEXT_WIDTH]
        if not candidates:
            break
        widest = max(candidates, key=lambda j: widths[j])
        excess = sum(widths) + 2 * (len(widths) - 1) - width
        widths[widest] = max(MIN_TEXT_WIDTH, widths[widest] - excess)
    blocks = [_text_row(row, widths) for row in grid]
    spaced = any(len(block) > 1 for block in blocks[1:])
    lines = blocks[0][:]
    for block in blocks[1:]:
        lines += ([""] if spaced else []) + block
    if table["footer"]:
        lines += ["", f"[{table['footer']}]"]
    return "\n".join(lines)


def _text_row(row: list[dict], widths: list[int]) -> list[str]:
    """One row as lines: each cell wrapped to its column's width and aligned."""
    columns = []
    for cell, width in zip(row, widths):
        if cell["kind"] == "text" and len(cell["text"]) > width:
            columns.append(textwrap.wrap(cell["text"], width, break_on_hyphens=False)
                           or [""])
        else:
            columns.append([cell["text"]])
    height = max(len(lines) for lines in columns)
    out = []
    for i in range(height):
        parts = []
        for cell, width, lines in zip(row, widths, columns):
            text = lines[i] if i < len(lines) else ""
            left = cell["kind"] in ("text", "status", "flag")
            parts.append(text.ljust(width) if left else text.rjust(width))
        out.append("  ".join(parts).rstrip())
    return out


# --------------------------------------------------------------------------- install
def _shell():
    """The running IPython shell, or None (IPython is never imported here)."""
    if "IPython" not in sys.modules:
        return None
    return sys.modules["IPython"].get_ipython()


def _pretty(frame, printer, cycle) -> None:
    printer.text(to_text(frame))


def install() -> None:
    """Show every DataFrame's text whole from now on (see the module's docstring); safe
    to call any number of times."""
    if not _STATE["installed"]:
        _STATE["options"] = {name: pd.get_option(name) for name in
                             ("display.max_colwidth", "display.max_columns")}
    pd.set_option("display.max_colwidth", None)
    if pd.get_option("display.max_columns") == 0:
        pd.set_option("display.max_columns", TERMINAL_MAX_COLUMNS)
    _STATE["installed"] = True
    shell = _shell()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    for mime, printer in (("text/html", to_html), ("text/plain", _pretty)):
        previous = formatters[mime].for_type(pd.DataFrame, printer)
        if previous not in (to_html, _pretty):
            _STATE["printers"][mime] = previous


def uninstall() -> None:
    """Give pandas' display back as :func:`install` found it."""
    if _STATE["installed"]:
        for name, value in _STATE["options"].items():
            pd.set_option(name, value)
        _STATE["installed"] = False
    shell = _shell()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    for mime, printer in (("text/html", to_html), ("text/plain", _pretty)):
        if formatters[mime].type_printers.get(pd.DataFrame) is printer:
            formatters[mime].pop(pd.DataFrame)
            previous = _STATE["printers"].pop(mime, None)
            if previous is not None:
                formatters[mime].for_type(pd.DataFrame, previous)


def installed() -> bool:
    """Whether :func:`install` is in effect."""
    return _STATE["installed"]
