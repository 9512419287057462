"""HTML reports from Jinja2 templates (``playbook_kit/reporting/templates/``), escaped throughout.

Every HTML page or fragment the package writes (the journal's report, the audit, a
DataFrame in a notebook: :mod:`playbook_kit.reporting.tables`) is a template rendered here. A status
word goes through the ``status`` filter, which marks it ("✓ pass",
:mod:`playbook_kit.core.statuses`), and ``status_color``. Autoescaping is on for every
template, so any text that comes from the user or a study (goals, notes, study names, reasons) is escaped unless it went
through the ``markdown_inline`` filter, which renders Markdown with
markdown-it-py with raw HTML turned off (a ``<script>`` in a note stays text) and unsafe
link schemes (``javascript:``) refused.
"""
from __future__ import annotations

import base64
import functools
import io
import json

import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

from ..core.rules import fmt
from ..core.statuses import color, mark


def _line_break(self, tokens, idx, options, env) -> str:
    return "<br>"


@functools.lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """CommonMark without raw HTML; a line break in the text is a ``<br>``."""
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "xhtmlOut": False,
                                   "linkify": False})
    md.add_render_rule("softbreak", _line_break)
    md.add_render_rule("hardbreak", _line_break)
    return md


def markdown_inline(text) -> Markup:
    """User text as inline Markdown (emphasis, code, links; line breaks kept)."""
    return Markup(_markdown().renderInline(str(text or "")))


def number(value, digits: int = 6) -> str:
    """A number as short text (:func:`~playbook_kit.core.rules.fmt`, ``digits`` significant);
    nothing for None; other values as JSON or text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return fmt(value, digits)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def status_color(word) -> str:
    """The CSS colour of a status word (:func:`playbook_kit.core.statuses.color`), else
    ``inherit``: a second cue after the mark, inline so that a notebook keeps it."""
    return color(word) or "inherit"


def figure_png(figure) -> bytes:
    """A matplotlib Figure as the PNG that reports embed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def png_base64(figure) -> str:
    """PNG bytes, or a matplotlib Figure, as base64 text for a data URI."""
    data = figure if isinstance(figure, bytes) else figure_png(figure)
    return base64.b64encode(data).decode("ascii")


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The templates' environment: autoescaped, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("playbook_kit.reporting", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",),
                                            default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True)
    env.filters.update(markdown_inline=markdown_inline, number=number,
                       png_base64=png_base64, status=mark,
                       status_color=status_color)
    return env


def render(template: str, **context) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)
