"""The status words the toolkit writes, and the mark each one is shown with.

A learner should see at a glance which check failed, which trial was infeasible and what a
decision was: in a notebook, in a static render (GitHub, nbviewer), printed in black and
white and as a colour-blind reader. Each known word is therefore shown as a symbol and the
word (``✓ pass``, ``⚠ warn``, ``✗ fail``, ``○ skip``); HTML adds a colour as a second cue
(:data:`COLORS`: the green, orange and vermillion of the Okabe-Ito colour-blind-safe
palette, darkened to read as text on white and on a dark theme). Only the display changes:
tables and records keep the plain words that code compares (``status == "pass"``).
Pure Python: importing this imports nothing else.
"""
from __future__ import annotations

GOOD, WARN, BAD, NEUTRAL = "good", "warn", "bad", "neutral"
MARKS = {GOOD: "\u2713", WARN: "\u26a0", BAD: "\u2717", NEUTRAL: "\u25cb"}
"""✓ good, ⚠ worth a look, ✗ bad, ○ not judged (skipped, not run)."""
COLORS = {GOOD: "#008060", WARN: "#b36b00", BAD: "#c43c00", NEUTRAL: "#707070"}

TONES = {
    # audit checks (insight.audit.CHECK_STATUSES)
    "pass": GOOD, "warn": WARN, "fail": BAD, "skip": NEUTRAL,
    # trials (rules.FINISHED_STATUSES, and unfinished ones); runs of a batch
    "completed": GOOD, "feasible": GOOD, "infeasible": BAD, "failed": BAD,
    "running": NEUTRAL, "not run": NEUTRAL, "interrupted": WARN,
    # boundary check (insight.boundaries)
    "ok": GOOD, "expand": WARN, "instability": WARN, "at bound": NEUTRAL,
    "not checked": NEUTRAL,
    # batch size scan
    "measured": GOOD, "out of memory": BAD,
    # adoption decisions (decisions.RECOMMENDATIONS; "inconclusive: <what to do>" counts
    # as "inconclusive")
    "adopt": GOOD, "keep baseline": BAD, "reject": BAD, "inconclusive": WARN,
}
"""Every status word the toolkit writes, with its tone (tests/test_tables.py checks that
each vocabulary of the package is here)."""

STATUS_COLUMNS = ("status", "recommendation", "decision", "verdict")
"""Table columns whose words are statuses: each known word is marked."""
FLAG_COLUMNS = {"unstable": BAD, "flagged": WARN}
"""Yes/no columns where ``True`` is the finding (an unstable run, a flagged curve): a
``True`` is marked with the tone given, a ``False`` is left plain."""


def tone(word) -> str | None:
    """The tone of a status word (:data:`TONES`), or None for any other value. A word
    followed by a colon and advice ("inconclusive: run more seeds") has the tone of the
    part before the colon."""
    if not isinstance(word, str):
        return None
    key = word.strip().lower()
    return TONES.get(key) or TONES.get(key.split(":", 1)[0].strip())


def mark(word) -> str:
    """``word`` with the symbol of its tone in front ("✓ pass"); any other value as text."""
    found = tone(word)
    return f"{MARKS[found]} {word}" if found else ("" if word is None else str(word))


def color(word) -> str | None:
    """The colour of a status word's tone (HTML), or None."""
    found = tone(word)
    return COLORS[found] if found else None
