"""The tuning journal: an append-only, human-readable record of every round.

The playbook's incremental tuning (section 3) is a loop of *rounds*: one narrowly
scoped goal, the scientific / nuisance / fixed hyperparameters of its studies, what was
learned, and whether the change was adopted as the new baseline (section 5). Section 7
asks for an experiment-tracking sheet ("untracked experiments might as well not exist").
:class:`Journal` keeps both in one YAML file in the project's work folder.

* :mod:`.chain`: the file format, its hash chain, reading and the atomic append;
* :mod:`.entries`: what a round and a final evaluation hold, validated on the way in;
* :mod:`.reports`: the tracking sheet, the Markdown report and the HTML page.

A damaged or hand-edited file (truncated, broken YAML, not UTF-8, a broken chain)
raises :class:`JournalError` (a ``ValueError``) whose one-line message names the file,
the line, what is wrong and what to do.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Mapping

# _dump_entry, _entry_hash and _HEADER_COMMENT stay reachable here, as in the single
# module this package replaced (tests write entries with them).
from .chain import HEADER_COMMENT as _HEADER_COMMENT  # noqa: F401
from .chain import (DEFAULT_FILENAME, SCHEMA_VERSION, JournalError, _dump_entry,  # noqa: F401
                    _entry_hash, atomic_append, chain, decode, encode, load_text, read)
from .entries import (STUDY_KEYS, decision_method, default_caveat, final_evaluation_body,
                      round_body, stored_problem, study_record)
from .reports import TRACKING_COLUMNS, html_report, markdown_report, tracking_sheet, write_text

__all__ = ["Journal", "JournalError", "study_record", "default_caveat", "decision_method",
           "SCHEMA_VERSION", "DEFAULT_FILENAME", "TRACKING_COLUMNS", "STUDY_KEYS"]


class Journal:
    """The tuning journal of one project: rounds, decisions, the final evaluation.

    ``path`` is the journal file, or a folder (the project's work folder) holding
    ``journal.yaml``: an existing folder, or a path that does not exist and has no
    file suffix. The file is created by the first write. Every read verifies the
    whole hash chain.

    Args:
        path: the journal file, or the work folder that holds (or will hold)
            ``journal.yaml``.
        title: the journal's title in its reports; None: the folder's name.

    Raises:
        ValueError: an empty ``path`` or ``title``.
        JournalError: the file exists but is damaged, edited by hand or not a journal
            (a ``ValueError``; the message names the line and what to do).

    Example::

        journal = pk.Journal("work", title="digits: tuning journal")
        journal.add_round("does a deeper model help?", scientific=["depth"],
                          decision=decision, studies=[pk.study_record(study, "notebook 01")])
        journal.to_html("work/journal.html")
    """

    def __init__(self, path, title: str | None = None):
        if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
            raise ValueError(f"path={path!r}: must be the journal file or the project's "
                             "work folder")
        if title is not None and (not isinstance(title, str) or not title.strip()):
            raise ValueError(f"title={title!r}: must be a non-empty string or None")
        p = Path(path)
        folder = p.is_dir() or (not p.exists() and not p.suffix)
        self.path = p / DEFAULT_FILENAME if folder else p
        self.title = title
        self._entries: list[dict] = []
        self._bytes = b""
        self.reload()

    # -- reading
    def reload(self) -> "Journal":
        """Re-read and verify the file (e.g. after another notebook appended to it)."""
        data = read(self.path)
        self._entries = self._parse(data)
        self._bytes = data
        if self._entries and self.title is None:
            self.title = self._entries[0].get("title")
        return self

    def _parse(self, data: bytes) -> list[dict]:
        label = self.path.name
        return load_text(decode(data, label), label, check=stored_problem)

    @property
    def entries(self) -> list[dict]:
        """All entries (header first), as copies."""
        return copy.deepcopy(self._entries)

    @property
    def rounds(self) -> list[dict]:
        """The rounds, in order, as dicts (copies; the file is the record)."""
        return [copy.deepcopy(e) for e in self._entries if e["kind"] == "round"]

    @property
    def final_evaluations(self) -> list[dict]:
        return [copy.deepcopy(e) for e in self._entries if e["kind"] == "final_evaluation"]

    @property
    def baseline(self) -> dict | None:
        """The current baseline config (the last round's ``new_baseline`` that is set)."""
        for entry in reversed(self._entries):
            if entry["kind"] == "round" and entry.get("new_baseline") is not None:
                return copy.deepcopy(entry["new_baseline"])
        return None

    def __len__(self) -> int:
        return len(self.rounds)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, rounds={len(self)})"

    # -- writing
    def add_round(self, goal: str, scientific=(), nuisance=(), fixed=None, caveats=None,
                  studies=(), findings=(), decision=None, new_baseline=None,
                  notes: str = "", figures=()) -> int:
        """Record one round of incremental tuning; returns its round number (1, 2, ...).

        ``scientific``/``nuisance``: hyperparameter names; ``fixed``: name -> value.
        The three roles must be disjoint. ``caveats``: fixed name -> text; each fixed
        hyperparameter without one gets :func:`default_caveat`. ``studies``: dicts
        (see :func:`study_record`). ``decision``: an AdoptionDecision, a dict with
        ``recommendation`` and ``text``, a string, or None. ``new_baseline``: the
        adopted config (required when the decision is "adopt"), or None when the
        baseline is unchanged (required for "keep baseline"). ``figures``: paths of
        PNG figures (axis plots, curves) embedded in the HTML report. Everything is
        validated before anything is written.
        """
        body = round_body(self.path.parent, goal, scientific=scientific, nuisance=nuisance,
                          fixed=fixed, caveats=caveats, studies=studies, findings=findings,
                          decision=decision, new_baseline=new_baseline, notes=notes,
                          figures=figures)
        return self._append(body)["round"]

    def record_final_evaluation(self, config, checkpoint, metrics: Mapping,
                                notes: str = "") -> int:
        """Record the final, test-set evaluation of the chosen config (playbook sec. 6).

        ``config``: a dict, or a path to it; ``checkpoint``: path of the evaluated
        checkpoint; ``metrics``: name -> number. Returns the entry number. A checkpoint
        inside a playbook-kit study pins its trial there (its study's retention keeps
        it: :mod:`playbook_kit.studies.retention`).
        """
        from ..studies.retention import pin_checkpoint

        entry = self._append(final_evaluation_body(config, checkpoint, metrics,
                                                   notes))["entry"]
        pin_checkpoint(checkpoint, "journal")
        return entry

    def _append(self, body: dict) -> dict:
        """Chain ``body`` (plus the header, for a new file) onto the file; return it."""
        self.reload()  # verify the chain on disk, and pick up other appends
        bodies = [] if self._entries else [
            {"kind": "journal", "title": self.title or "tuning journal"}]
        if body["kind"] == "round":
            body = dict(body, round=len(self.rounds) + 1)
        bodies.append(body)
        new = chain(self._entries, bodies)
        addition = encode(self._bytes, new)
        # Guard: the journal with the new entry must read back exactly as written.
        try:
            check = self._parse(self._bytes + addition)
        except JournalError as exc:
            raise JournalError(f"the new entry would not read back as written ({exc}); "
                               "nothing was written") from None
        if [e["hash"] for e in check[len(self._entries):]] != [e["hash"] for e in new]:
            raise JournalError("the new entry would not read back as written; nothing "
                               "was written")
        atomic_append(self.path, self._bytes, addition)
        self._entries, self._bytes = check, self._bytes + addition
        return new[-1]

    # -- reports
    def to_tracking_sheet(self, path_csv=None):
        """The playbook's experiment-tracking sheet: one row per study of every round.

        Columns: round, study name, config (path, or compact JSON), notes (the study's,
        else the round's goal), number of trials, best validation result, command to
        reproduce. Writes CSV when ``path_csv`` is given; returns a pandas DataFrame.
        """
        return tracking_sheet(self.rounds, path_csv)

    def to_markdown(self, path=None) -> str:
        """A Markdown report of all rounds (and the final evaluation); writes it if
        ``path`` is given."""
        text = markdown_report(self.title or "Tuning journal", self.path, self.rounds,
                               self.final_evaluations)
        if path is not None:
            write_text(path, text)
        return text

    def to_html(self, path=None, figures: Mapping | None = None) -> str:
        """A standalone HTML report; ``figures`` maps a round number to PNG paths (or
        matplotlib Figures), embedded as base64 next to that round's own ``figures``."""
        page = html_report(self.title or "Tuning journal", self.path, self.rounds,
                           self.final_evaluations, figures)
        if path is not None:
            write_text(path, page)
        return page
