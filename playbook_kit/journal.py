"""The tuning journal: an append-only, human-readable record of every round.

The playbook's incremental tuning (section 3) is a loop of *rounds*: one narrowly
scoped goal, the scientific / nuisance / fixed hyperparameters of its studies, what was
learned, and whether the change was adopted as the new baseline (section 5). Section 7
asks for an experiment-tracking sheet ("untracked experiments might as well not exist").
This module keeps both in one YAML file in the project's work folder.

File format (``journal.yaml``)
    A comment header, then one YAML document (``---``) per entry, in order:

    * entry 0, ``kind: journal`` -- the header: ``title``;
    * ``kind: round`` -- ``round`` (1, 2, ...), ``goal``, ``hyperparameters``
      (``scientific``, ``nuisance``: lists; ``fixed``: name -> value), ``caveats``
      (fixed name -> text), ``studies`` (list of name, path, n_trials,
      best_objective, objective, config_path or config, command, notes), ``findings``
      (list of text), ``decision`` (recommendation, text, details), ``new_baseline``
      (config or null: baseline unchanged), ``notes``, ``figures`` (paths);
    * ``kind: final_evaluation`` -- ``config``, ``checkpoint``, ``metrics``, ``notes``.

    Every entry carries ``schema_version``, ``entry`` (its index), ``recorded_at``
    (UTC), ``prev_hash`` and ``hash``: ``sha256`` of the entry's content (canonical
    JSON, without ``hash``) including ``prev_hash``. The chain makes a hand-edit,
    deletion or reordering of a past entry visible on load, as a :class:`JournalError`
    naming the line. Comments and layout are not hashed (the content is), so a
    CRLF checkout still verifies. It guards against accidents, not against someone who
    recomputes the hashes: it is a checksum, not a signature.

Writes are append-only: the new file is the old file's bytes, unchanged, followed by
the new entry; it is written to a temporary file in the same folder, fsynced, and
atomically renamed over the journal, so a write that fails mid-way leaves the old file
intact. One writer at a time (the toolkit's assumption: one person or notebook per
project); a journal changed on disk between reading and renaming is refused.
"""
from __future__ import annotations

import base64
import copy
import csv
import datetime as _dt
import hashlib
import html
import io
import json
import math
import numbers
import os
import re
from pathlib import Path
from typing import Iterable, Mapping

import yaml

SCHEMA_VERSION = 1
DEFAULT_FILENAME = "journal.yaml"
TRACKING_COLUMNS = ["round", "study name", "config", "notes", "number of trials",
                    "best validation result", "command to reproduce"]
STUDY_KEYS = ("name", "path", "n_trials", "best_objective", "objective", "config_path",
              "config", "command", "notes")
_HEADER_COMMENT = (
    "# playbook-kit tuning journal (Deep Learning Tuning Playbook: incremental tuning).\n"
    "# Append-only: each entry is one YAML document with a hash chained to the previous\n"
    "# one. Do not edit past entries; record a correction as a new round.\n")
_DOC_START = re.compile(r"^---(\s.*)?$")


class JournalError(Exception):
    """The journal file is corrupt, was edited by hand, or changed during a write."""


# ------------------------------------------------------------------ plain data, hashing

def _plain(value, field: str):
    """``value`` as YAML/JSON-safe plain data (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, (str, numbers.Number)) or isinstance(k, bool):
                raise ValueError(
                    f"{field}: key {k!r} must be a string (a hyperparameter or metric name)")
            out[str(k)] = _plain(v, f"{field}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{field}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return _plain(value.tolist(), field)
    raise ValueError(
        f"{field}={value!r}: type {type(value).__name__} cannot be stored in the journal; "
        "use numbers, strings, booleans, None, lists and dicts")


def _canonical(content: Mapping) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=True).encode("utf-8")


def _entry_hash(content: Mapping) -> str:
    body = {k: v for k, v in content.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()


class _Dumper(yaml.SafeDumper):
    """Safe dumper that writes multi-line text as readable ``|`` blocks."""


_ODD_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _str_presenter(dumper, data):
    # YAML 1.1 line breaks other than "\n" are folded in plain or '...' scalars:
    # write those strings double-quoted, where they are escaped.
    if any(c in data for c in _ODD_BREAKS):
        style = '"'
    else:
        style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def _dump_entry(content: Mapping) -> str:
    return "---\n" + yaml.dump(dict(content), Dumper=_Dumper, sort_keys=False,
                               allow_unicode=True, default_flow_style=False, width=88)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------------- validation

def _text(value, field: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{field}={value!r}: must be a non-empty string" if required
                         else f"{field}={value!r}: must be a string")
    return value


def _names(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ValueError(
            f"{field}={value!r}: must be a list of hyperparameter names (e.g. "
            "['learning_rate'])")
    names = list(value)
    for n in names:
        if not isinstance(n, str) or not n.strip():
            raise ValueError(f"{field}: {n!r} is not a hyperparameter name (non-empty string)")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{field}: {dup} listed more than once")
    return names


def _texts(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ValueError(f"{field}={value!r}: must be a string or a list of strings")
    out = list(value)
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise ValueError(f"{field}[{i}]={v!r}: must be a string")
    return out


def _config(value, field: str) -> dict:
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{field}={value!r}: must be a dict of hyperparameter name -> value")
    return _plain(value, field)


def _number_or_none(value, field: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{field}={value!r}: must be a number (or None)")
    value = float(value)
    return None if math.isnan(value) else value


def _study(study, i: int) -> dict:
    field = f"studies[{i}]"
    if not isinstance(study, Mapping):
        raise ValueError(
            f"{field}={study!r}: must be a dict with keys name, n_trials, best_objective, "
            "config_path or config, command (optional: path, objective, notes); "
            "study_record() builds one from a StudyResults")
    unknown = sorted(set(study) - set(STUDY_KEYS))
    if unknown:
        raise ValueError(f"{field}: unknown keys {unknown}; allowed: {list(STUDY_KEYS)}")
    out = {"name": _text(study.get("name"), f"{field}.name")}
    path = study.get("path")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{field}.path={path!r}: must be a path (string) or None")
    out["path"] = None if path is None else os.fspath(path)
    n = study.get("n_trials")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{field}.n_trials={n!r}: must be an integer >= 0")
    out["n_trials"] = int(n)
    out["best_objective"] = _number_or_none(study.get("best_objective"),
                                            f"{field}.best_objective")
    objective = study.get("objective")
    if objective is not None:
        out["objective"] = _text(objective, f"{field}.objective")
    has_path, has_cfg = study.get("config_path") is not None, study.get("config") is not None
    if has_path == has_cfg:
        raise ValueError(
            f"{field}: give exactly one of config_path (where the config lives) or config "
            f"(the config dict); got config_path={study.get('config_path')!r}, "
            f"config={study.get('config')!r}")
    if has_path:
        cp = study["config_path"]
        if not isinstance(cp, (str, os.PathLike)) or not os.fspath(cp).strip():
            raise ValueError(f"{field}.config_path={cp!r}: must be a non-empty path")
        out["config_path"] = os.fspath(cp)
    else:
        out["config"] = _config(study["config"], f"{field}.config")
    out["command"] = _text(study.get("command"), f"{field}.command (how to reproduce)")
    out["notes"] = _text(study.get("notes"), f"{field}.notes", required=False)
    return out


def _decision(decision) -> dict | None:
    """A decision as {recommendation, text, details}; accepts an AdoptionDecision."""
    if decision is None:
        return None
    if isinstance(decision, str):
        return {"recommendation": _text(decision, "decision"), "text": "", "details": None}
    if hasattr(decision, "recommendation") and hasattr(decision, "reason"):
        details = decision.as_dict() if hasattr(decision, "as_dict") else None
        if details is not None:  # already stored as recommendation and text
            details = {k: v for k, v in details.items() if k not in ("recommendation",
                                                                      "reason")}
        return {"recommendation": _text(decision.recommendation, "decision.recommendation"),
                "text": _text(decision.reason, "decision.reason", required=False),
                "details": None if details is None else _plain(details, "decision.details")}
    if isinstance(decision, Mapping):
        unknown = sorted(set(decision) - {"recommendation", "text", "details"})
        if unknown:
            raise ValueError(
                f"decision: unknown keys {unknown}; allowed: recommendation, text, details")
        details = decision.get("details")
        return {"recommendation": _text(decision.get("recommendation"),
                                        "decision.recommendation"),
                "text": _text(decision.get("text"), "decision.text", required=False),
                "details": None if details is None else _plain(details, "decision.details")}
    raise ValueError(
        f"decision={decision!r}: must be None, a string (e.g. 'adopt'), a dict with "
        "recommendation and text, or an AdoptionDecision")


def default_caveat(value) -> str:
    """The caveat a fixed hyperparameter puts on a round's conclusions (playbook, sec. 3)."""
    return f"fixed at {value!r}: conclusions hold only for this value"


def study_record(study, command: str, config_path: str | None = None,
                 notes: str = "") -> dict:
    """A ``studies`` item for :meth:`Journal.add_round` from a loaded StudyResults.

    The config is ``config_path`` if given, else the best feasible trial's
    hyperparameter values (inactive conditional ones left out).
    """
    best = study.best_trials(1)
    record = {"name": study.name, "path": study.path, "n_trials": int(len(study.trials)),
              "best_objective": None if best.empty else float(best["objective"].iloc[0]),
              "objective": study.objective, "command": command, "notes": notes}
    if config_path is not None:
        record["config_path"] = config_path
    elif best.empty:
        raise ValueError(
            f"study {study.name!r} has no feasible trial, so there is no best config; "
            "pass config_path")
    else:
        from .results import config_of

        record["config"] = {name: _plain(value, f"config[{name!r}]")
                            for name, value in config_of(study, best["trial_id"].iloc[0]).items()}
    return record


# ---------------------------------------------------------------------------- loading

def _load_text(text: str, label: str) -> list[dict]:
    """Parse and verify journal text; return its entries. Raises JournalError."""
    # Split on "\n" only (not str.splitlines, which also breaks at \u2028, \x85, ...
    # that may sit inside a quoted string): each "---" line starts an entry.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    starts = [i for i, line in enumerate(lines) if _DOC_START.match(line.rstrip("\r"))]
    if not starts:
        if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            raise JournalError(f"{label} line 1: not a playbook-kit journal (no '---' "
                               "entry found)")
        return []
    for i in range(starts[0]):
        if lines[i].strip() and not lines[i].lstrip().startswith("#"):
            raise JournalError(f"{label} line {i + 1}: text before the first entry "
                               "('---'); only comments are allowed there")
    entries: list[dict] = []
    prev_hash = None
    bounds = starts + [len(lines)]
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        where = f"{label} line {a + 1}"
        chunk = "\n".join(lines[a:b]) + "\n"
        try:
            content = yaml.safe_load(chunk)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line = a + 1 + (mark.line if mark is not None else 0)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise JournalError(f"{label} line {line}: not valid YAML ({problem}) in "
                               f"entry {k}, which starts at line {a + 1}") from None
        if not isinstance(content, dict):
            raise JournalError(f"{where}: entry {k} is empty or not a mapping; the file "
                               "was truncated or edited by hand")
        name = "header" if k == 0 else (f"round {content.get('round')}"
                                        if content.get("kind") == "round"
                                        else str(content.get("kind")))
        for key in ("schema_version", "entry", "kind", "prev_hash", "hash"):
            if key not in content:
                raise JournalError(
                    f"{where}: entry {k} ({name}) has no {key!r}; the file was truncated "
                    "or edited by hand")
        version = content["schema_version"]
        if not isinstance(version, int) or version < 1:
            raise JournalError(f"{where}: schema_version={version!r} is not a version")
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{where}: schema_version {version} is newer than this playbook-kit "
                f"understands ({SCHEMA_VERSION}); upgrade playbook-kit")
        if content["entry"] != k:
            raise JournalError(
                f"{where}: entry number {content['entry']!r} where {k} was expected; an "
                "entry was removed, reordered or inserted by hand")
        if (k == 0) != (content["kind"] == "journal"):
            raise JournalError(f"{where}: entry {k} has kind {content['kind']!r}; only the "
                               "first entry is the 'journal' header")
        if content["prev_hash"] != prev_hash:
            raise JournalError(
                f"{where}: entry {k} ({name}) does not follow entry {k - 1} (prev_hash "
                "mismatch); an entry was removed, reordered or inserted by hand")
        if _entry_hash(content) != content["hash"]:
            raise JournalError(
                f"{where}: entry {k} ({name}, lines {a + 1}-{b}) was changed after it "
                "was written (its hash does not match its content). The journal is "
                "append-only: restore the original text, and record corrections as a "
                "new round")
        entries.append(content)
        prev_hash = content["hash"]
    return entries


# ---------------------------------------------------------------------------- journal

class Journal:
    """The tuning journal of one project: rounds, decisions, the final evaluation.

    ``path`` is the journal file, or a folder (the project's work folder) holding
    ``journal.yaml``: an existing folder, or a path that does not exist and has no
    file suffix. The file is created by the first write. Every read verifies the
    whole hash chain.
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
        data = self.path.read_bytes() if self.path.exists() else b""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise JournalError(f"{self.path.name} line {line}: not UTF-8 text") from None
        self._entries = _load_text(text, self.path.name)
        self._bytes = data
        if self._entries and self.title is None:
            self.title = self._entries[0].get("title")
        return self

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
        """The current baseline config: the last round's ``new_baseline`` that is set."""
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
        goal = _text(goal, "goal")
        sci = _names(scientific, "scientific")
        nui = _names(nuisance, "nuisance")
        if fixed is None:
            fixed = {}
        if not isinstance(fixed, Mapping):
            raise ValueError(
                f"fixed={fixed!r}: must be a dict of hyperparameter name -> fixed value")
        fixed = _config(fixed, "fixed")
        for a_name, a, b_name, b in (("scientific", sci, "nuisance", nui),
                                     ("scientific", sci, "fixed", fixed),
                                     ("nuisance", nui, "fixed", fixed)):
            both = sorted(set(a) & set(b))
            if both:
                raise ValueError(
                    f"{a_name} and {b_name}: {both} listed in both; each hyperparameter of "
                    "a round has exactly one role (scientific, nuisance or fixed)")
        if caveats is None:
            caveats = {}
        if not isinstance(caveats, Mapping):
            raise ValueError(f"caveats={caveats!r}: must be a dict of fixed "
                             "hyperparameter name -> caveat text")
        extra = sorted(set(caveats) - set(fixed))
        if extra:
            raise ValueError(f"caveats: {extra} are not fixed hyperparameters of this "
                             f"round (fixed: {sorted(fixed)}); caveats belong to fixed ones")
        cav = {}
        for name, value in fixed.items():
            cav[name] = (_text(caveats[name], f"caveats[{name!r}]") if name in caveats
                         else default_caveat(value))
        if isinstance(studies, Mapping) or isinstance(studies, str):
            raise ValueError(f"studies={studies!r}: must be a list of study dicts")
        study_list = [_study(s, i) for i, s in enumerate(studies)]
        names = [s["name"] for s in study_list]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"studies: names {dup} appear more than once in this round")
        dec = _decision(decision)
        baseline = None if new_baseline is None else _config(new_baseline, "new_baseline")
        rec = dec["recommendation"] if dec else None
        if rec == "adopt" and baseline is None:
            raise ValueError("new_baseline=None: the decision is 'adopt', so give the "
                             "adopted config as new_baseline (it becomes the baseline)")
        if rec == "keep baseline" and baseline is not None:
            raise ValueError(f"new_baseline={new_baseline!r}: the decision is 'keep "
                             "baseline', so new_baseline must be None")
        content = {
            "kind": "round",
            "goal": goal,
            "hyperparameters": {"scientific": sci, "nuisance": nui, "fixed": fixed},
            "caveats": cav,
            "studies": study_list,
            "findings": _texts(findings, "findings"),
            "decision": dec,
            "new_baseline": baseline,
            "notes": _text(notes, "notes", required=False),
            "figures": [self._store_figure(f, f"figures[{i}]")
                        for i, f in enumerate(_figure_paths(figures, "figures"))],
        }
        return self._append(content)["round"]

    def _store_figure(self, fig, field: str) -> str:
        """Check a round's figure is a PNG; store its path relative to the journal's
        folder when it lies inside it (so the project folder can move), else absolute."""
        _png_bytes(fig, field)
        p = Path(fig).resolve()
        try:
            return p.relative_to(self.path.parent.resolve()).as_posix()
        except ValueError:
            return str(p)

    def record_final_evaluation(self, config, checkpoint, metrics: Mapping,
                                notes: str = "") -> int:
        """Record the final, test-set evaluation of the chosen config (playbook sec. 6).

        ``config``: a dict, or a path to it; ``checkpoint``: path of the evaluated
        checkpoint; ``metrics``: name -> number. Returns the entry number.
        """
        if isinstance(config, (str, os.PathLike)):
            cfg = _text(os.fspath(config), "config")
        else:
            cfg = _config(config, "config")
        if not isinstance(checkpoint, (str, os.PathLike)) or not os.fspath(checkpoint).strip():
            raise ValueError(f"checkpoint={checkpoint!r}: must be the path of the "
                             "evaluated checkpoint (non-empty)")
        if not isinstance(metrics, Mapping) or not metrics:
            raise ValueError(f"metrics={metrics!r}: must be a non-empty dict of metric "
                             "name -> number (e.g. {'test_accuracy': 0.91})")
        clean = {}
        for k, v in metrics.items():
            if not isinstance(k, str) or not k.strip():
                raise ValueError(f"metrics: key {k!r} must be a metric name")
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ValueError(f"metrics[{k!r}]={v!r}: must be a number")
            clean[k] = float(v)
        content = {"kind": "final_evaluation", "config": cfg,
                   "checkpoint": os.fspath(checkpoint), "metrics": clean,
                   "notes": _text(notes, "notes", required=False)}
        return self._append(content)["entry"]

    def _append(self, body: dict) -> dict:
        """Chain ``body`` (plus the header, for a new file) onto the file; return it."""
        self.reload()  # verify the chain on disk, and pick up other appends
        bodies = [] if self._entries else [
            {"kind": "journal", "title": self.title or "tuning journal"}]
        if body["kind"] == "round":
            body = dict(body, round=len(self.rounds) + 1)
        bodies.append(body)
        prev_hash = self._entries[-1]["hash"] if self._entries else None
        new: list[dict] = []
        for b in bodies:
            full = {"schema_version": SCHEMA_VERSION,
                    "entry": len(self._entries) + len(new), "kind": b["kind"]}
            if "round" in b:
                full["round"] = b["round"]
            full["recorded_at"] = _now()
            full.update(b)
            full["prev_hash"] = prev_hash
            full["hash"] = prev_hash = _entry_hash(full)
            new.append(full)
        text = ""
        if not self._bytes:
            text += _HEADER_COMMENT
        elif not self._bytes.endswith(b"\n"):
            text += "\n"
        text += "".join(_dump_entry(full) for full in new)
        addition = text.encode("utf-8")
        # Guard: the journal with the new entry must read back exactly as written.
        try:
            check = _load_text((self._bytes + addition).decode("utf-8"), self.path.name)
        except JournalError as exc:
            raise JournalError(f"the new entry would not read back as written ({exc}); "
                               "nothing was written") from None
        if [e["hash"] for e in check[len(self._entries):]] != [e["hash"] for e in new]:
            raise JournalError("the new entry would not read back as written; nothing "
                               "was written")
        _atomic_append(self.path, self._bytes, addition)
        self._entries, self._bytes = check, self._bytes + addition
        return new[-1]

    # -- exports
    def to_tracking_sheet(self, path_csv=None):
        """The playbook's experiment-tracking sheet: one row per study of every round.

        Columns: round, study name, config (path, or compact JSON), notes (the study's,
        else the round's goal), number of trials, best validation result, command to
        reproduce. Writes CSV when ``path_csv`` is given; returns a pandas DataFrame.
        """
        import pandas as pd

        rows = []
        for r in self.rounds:
            for s in r["studies"]:
                config = s.get("config_path") or json.dumps(
                    s.get("config"), sort_keys=True, separators=(",", ":"))
                rows.append({
                    "round": r["round"], "study name": s["name"], "config": config,
                    "notes": s.get("notes") or f"round {r['round']}: {r['goal']}",
                    "number of trials": s["n_trials"],
                    "best validation result": s["best_objective"],
                    "command to reproduce": s["command"]})
        sheet = pd.DataFrame(rows, columns=TRACKING_COLUMNS)
        if path_csv is not None:
            path_csv = Path(path_csv)
            path_csv.parent.mkdir(parents=True, exist_ok=True)
            sheet.to_csv(path_csv, index=False, quoting=csv.QUOTE_MINIMAL)
        return sheet

    def to_markdown(self, path=None) -> str:
        """A Markdown report of all rounds (and the final evaluation); writes it if
        ``path`` is given."""
        out = [f"# {self.title or 'Tuning journal'}\n",
               f"Journal `{self.path}`: {_count(len(self.rounds), 'round')}. Each round: one goal, "
               "its scientific / nuisance / fixed hyperparameters, studies, findings and "
               "the adoption decision (Deep Learning Tuning Playbook, incremental "
               "tuning).\n"]
        for r in self.rounds:
            out.append(_round_markdown(r))
        for e in self.final_evaluations:
            out.append(_final_markdown(e))
        text = "\n".join(out)
        if path is not None:
            _write_text(path, text)
        return text

    def to_html(self, path=None, figures: Mapping | None = None) -> str:
        """A standalone HTML report; ``figures`` maps a round number to PNG paths (or
        matplotlib Figures), embedded as base64 next to that round's own ``figures``."""
        extra = {}
        numbers_ = {r["round"] for r in self.rounds}
        for key, value in (figures or {}).items():
            if key not in numbers_:
                raise ValueError(f"figures[{key!r}]: no such round; rounds are "
                                 f"{sorted(numbers_)}")
            items = value if isinstance(value, (list, tuple)) else [value]
            extra[key] = [_png_bytes(v, f"figures[{key!r}]") for v in items]
        for r in self.rounds:  # a recorded figure that has moved is reported, not fatal
            recorded = []
            for f in r.get("figures", []):
                p = self.path.parent / f
                recorded.append(p.read_bytes() if p.is_file() else str(f))
            extra[r["round"]] = recorded + extra.get(r["round"], [])
        esc = html.escape
        body = [f"<h1>{esc(self.title or 'Tuning journal')}</h1>",
                f"<p>Journal <code>{esc(str(self.path))}</code>: "
                f"{_count(len(self.rounds), 'round')}.</p>"]
        for r in self.rounds:
            body.append(_round_html(r, extra.get(r["round"], [])))
        for e in self.final_evaluations:
            body.append("<section><h2>Final evaluation</h2>"
                        + _md_block_to_html(_final_markdown(e, heading=False)) + "</section>")
        doc = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
               f"<title>{esc(self.title or 'Tuning journal')}</title><style>"
               "body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}"
               "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 6px}"
               "img{max-width:100%}code{background:#f3f3f3}</style></head><body>\n"
               + "\n".join(body) + "\n</body></html>\n")
        if path is not None:
            _write_text(path, doc)
        return doc


# ------------------------------------------------------------------------ file writes

def _atomic_append(path: Path, existing: bytes, addition: bytes) -> None:
    """Write ``existing + addition`` to ``path`` through the store's atomic write."""
    from .store import atomic_write

    def unchanged(tmp):
        with open(tmp, "rb") as fh:  # the old journal must be the new one's prefix
            if fh.read(len(existing)) != existing:
                raise JournalError(f"{path.name}: temporary copy does not start with the "
                                   "existing journal; nothing was written")
        current = path.read_bytes() if path.exists() else b""
        if current != existing:
            raise JournalError(f"{path.name}: the journal changed on disk while this entry "
                               "was being written (another writer?); nothing was written. "
                               "Retry.")

    with atomic_write(path, before_replace=unchanged) as tmp:
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
            fh.write(existing)
            fh.write(addition)


def _write_text(path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------- reports

def _figure_paths(figures, field: str) -> list:
    if figures is None:
        return []
    if isinstance(figures, (str, os.PathLike)):
        figures = [figures]
    out = []
    for i, f in enumerate(figures):
        if not isinstance(f, (str, os.PathLike)):
            raise ValueError(f"{field}[{i}]={f!r}: must be the path of a PNG file")
        out.append(f)
    return out


def _png_bytes(fig, field: str) -> bytes:
    if hasattr(fig, "savefig"):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()
    if not isinstance(fig, (str, os.PathLike)):
        raise ValueError(f"{field}: {fig!r} must be a PNG path or a matplotlib Figure")
    p = Path(fig)
    if not p.is_file():
        raise ValueError(f"{field}: {str(p)!r} does not exist (PNG file expected)")
    data = p.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"{field}: {str(p)!r} is not a PNG file")
    return data


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", "<br>")


def _round_markdown(r: dict) -> str:
    hp = r["hyperparameters"]
    lines = [f"## Round {r['round']}: {' '.join(r['goal'].split())}\n",
             f"*Recorded {r['recorded_at']}.*\n",
             f"- **Scientific:** {', '.join(hp['scientific']) or '(none)'}",
             f"- **Nuisance:** {', '.join(hp['nuisance']) or '(none)'}",
             "- **Fixed:** " + (", ".join(f"{k}={_cell(v)}" for k, v in hp["fixed"].items())
                                or "(none)")]
    if r["caveats"]:
        lines.append("\n**Caveats** (each fixed hyperparameter limits the conclusions):\n")
        lines += [f"- `{k}` {v}" for k, v in r["caveats"].items()]
    if r["studies"]:
        lines.append("\n**Studies**\n")
        lines.append("| study | trials | best validation result | config | "
                     "command to reproduce | notes |")
        lines.append("|---|---|---|---|---|---|")
        for s in r["studies"]:
            cfg = s.get("config_path") or s.get("config")
            best = _cell(s["best_objective"]) + (f" ({s['objective']})" if s.get("objective")
                                                 and s["best_objective"] is not None else "")
            lines.append(f"| {_cell(s['name'])} | {s['n_trials']} | {best} | {_cell(cfg)} | "
                         f"`{_cell(s['command'])}` | {_cell(s.get('notes'))} |")
    if r["findings"]:
        lines.append("\n**Findings**\n")
        lines += [f"- {_indent(f)}" for f in r["findings"]]
    d = r["decision"]
    lines.append("\n**Decision:** " + (f"**{d['recommendation']}**" if d else "(none)")
                 + (f" -- {_indent(d['text'])}" if d and d.get("text") else ""))
    if r["new_baseline"] is not None:
        lines.append("\n**New baseline:**\n\n```json\n"
                     + json.dumps(r["new_baseline"], indent=2, sort_keys=True) + "\n```")
    else:
        lines.append("\n**Baseline:** unchanged.")
    if r.get("notes"):
        lines.append(f"\n**Notes:** {_indent(r['notes'])}")
    return "\n".join(lines) + "\n"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _indent(text: str) -> str:
    """Multi-line text as one Markdown block: continuation lines indented."""
    return "\n  ".join(text.splitlines())


def _final_markdown(e: dict, heading: bool = True) -> str:
    cfg = e["config"] if isinstance(e["config"], str) else json.dumps(e["config"],
                                                                      sort_keys=True)
    lines = (["## Final evaluation\n"] if heading else []) + [
        f"*Recorded {e['recorded_at']}.* Test-set performance of the chosen config, "
        "checked once at the end.\n",
        f"- **Config:** `{cfg}`",
        f"- **Checkpoint:** `{e['checkpoint']}`"]
    lines += [f"- **{k}:** {v:.6g}" for k, v in e["metrics"].items()]
    if e.get("notes"):
        lines.append(f"\n**Notes:** {e['notes']}")
    return "\n".join(lines) + "\n"


def _md_block_to_html(md: str) -> str:
    """Minimal rendering of the report's own Markdown (lists, tables, code, emphasis)."""
    esc = html.escape

    def inline(s: str) -> str:
        s = esc(s).replace("\\|", "|")
        s = re.sub(r"`([^`]*)`", r"<code>\1</code>", s)
        s = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*([^*]+)\*(?![\w*])", r"<em>\1</em>", s)
        return s.replace("&lt;br&gt;", "<br>")

    out, i, lines = [], 0, md.splitlines()
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre>" + esc("\n".join(lines[i + 1:j])) + "</pre>")
            i = j + 1
        elif line.startswith("|"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            rows = [re.split(r"(?<!\\)\|", ln.strip())[1:-1] for ln in lines[i:j]]
            rows = [r for r in rows if not all(set(c.strip()) <= {"-"} for c in r)]
            html_rows = ["<tr>" + "".join(f"<th>{inline(c.strip())}</th>" for c in rows[0])
                         + "</tr>"]
            html_rows += ["<tr>" + "".join(f"<td>{inline(c.strip())}</td>" for c in r)
                          + "</tr>" for r in rows[1:]]
            out.append("<table>" + "".join(html_rows) + "</table>")
            i = j
        elif line.startswith("- "):
            items = []
            while i < len(lines) and (lines[i].startswith("- ")
                                      or (items and lines[i].startswith("  "))):
                if lines[i].startswith("- "):
                    items.append(inline(lines[i][2:]))
                else:
                    items[-1] += "<br>" + inline(lines[i][2:])
                i += 1
            out.append("<ul>" + "".join(f"<li>{it}</li>" for it in items) + "</ul>")
        elif line.startswith("## "):
            out.append(f"<h2>{inline(line[3:])}</h2>")
            i += 1
        elif line.strip():
            para = [inline(line)]
            i += 1
            while i < len(lines) and lines[i].startswith("  "):  # _indent continuation
                para.append(inline(lines[i][2:]))
                i += 1
            out.append("<p>" + "<br>".join(para) + "</p>")
        else:
            i += 1
    return "\n".join(out)


def _round_html(r: dict, pngs: list) -> str:
    """A round as HTML; ``pngs``: PNG bytes to embed, or the path of a missing figure."""
    parts = ["<section>", _md_block_to_html(_round_markdown(r))]
    for k, data in enumerate(pngs, 1):
        if isinstance(data, str):
            parts.append(f"<p><em>figure {k} not found: {html.escape(data)}</em></p>")
            continue
        parts.append(f"<figure><img alt=\"round {r['round']} figure {k}\" "
                     "src=\"data:image/png;base64,"
                     + base64.b64encode(data).decode("ascii") + "\"></figure>")
    parts.append("</section>")
    return "\n".join(parts)
