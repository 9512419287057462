"""The journal's file format: YAML documents chained by hashes, read and appended safely.

File format (``journal.yaml``)
    A comment header, then one YAML document (``---``) per entry, in order: entry 0 is
    ``kind: journal`` (the header), then ``kind: round`` and ``kind: final_evaluation``
    entries (their fields: :mod:`playbook_kit.journal.entries`).

    Every entry carries ``schema_version``, ``entry`` (its index), ``recorded_at``
    (UTC), ``prev_hash`` and ``hash``: ``sha256`` of the entry's content (canonical
    JSON, without ``hash``) including ``prev_hash``. The chain makes a hand-edit,
    deletion or reordering of a past entry visible on load, as a :class:`JournalError`
    naming the file, the line and what to do. Comments and layout are not hashed (the
    content is), so a CRLF checkout still verifies. It guards against accidents, not
    against someone who recomputes the hashes: it is a checksum, not a signature.

Writes are append-only: the new file is the old file's bytes, unchanged, followed by
the new entries, written by :func:`atomic_append`.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Callable, Mapping

import yaml

SCHEMA_VERSION = 1
DEFAULT_FILENAME = "journal.yaml"
HEADER_COMMENT = (
    "# playbook-kit tuning journal (Deep Learning Tuning Playbook: incremental tuning).\n"
    "# Append-only: each entry is one YAML document with a hash chained to the previous\n"
    "# one. Do not edit past entries; record a correction as a new round.\n")
_DOC_START = re.compile(r"^---(\s.*)?$")
_RESTORE = ("restore the file from a backup or version control, and record corrections "
            "as a new round")


class JournalError(ValueError):
    """The journal file is damaged, was edited by hand, or changed during a write.

    The message is one line: the file, the line, what is wrong and what to do.
    """


# ---------------------------------------------------------------------------- hashing

def _canonical(content: Mapping) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=True).encode("utf-8")


def _entry_hash(content: Mapping) -> str:
    body = {k: v for k, v in content.items() if k != "hash"}
    return "sha256:" + hashlib.sha256(_canonical(body)).hexdigest()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def chain(entries: list[dict], bodies: list[dict]) -> list[dict]:
    """The entries that append ``bodies`` (each with ``kind``, maybe ``round``) to
    ``entries``: numbered, timestamped and hashed onto the last entry's hash."""
    prev_hash = entries[-1]["hash"] if entries else None
    new: list[dict] = []
    for body in bodies:
        full = {"schema_version": SCHEMA_VERSION, "entry": len(entries) + len(new),
                "kind": body["kind"]}
        if "round" in body:
            full["round"] = body["round"]
        full["recorded_at"] = _now()
        full.update(body)
        full["prev_hash"] = prev_hash
        full["hash"] = prev_hash = _entry_hash(full)
        new.append(full)
    return new


# ------------------------------------------------------------------------------- YAML

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


def encode(existing: bytes, new: list[dict]) -> bytes:
    """The bytes that append the entries ``new`` to a file holding ``existing``."""
    text = ""
    if not existing:
        text += HEADER_COMMENT
    elif not existing.endswith(b"\n"):
        text += "\n"
    text += "".join(_dump_entry(full) for full in new)
    return text.encode("utf-8")


# ---------------------------------------------------------------------------- reading

def decode(data: bytes, label: str) -> str:
    """The journal's bytes as text (a UTF-8 byte-order mark is allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise JournalError(
            f"{label} line {line}: not UTF-8 text (byte {exc.start}); the file was damaged "
            f"or saved in another encoding: save it as UTF-8, or {_RESTORE}") from None


def read(path: Path) -> bytes:
    """The journal file's bytes (empty when it does not exist yet)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal ({exc.strerror or exc}); "
                           "check that the path is a file you may read") from None


def load_text(text: str, label: str,
              check: Callable[[dict, list], str | None] | None = None) -> list[dict]:
    """Parse and verify journal text; return its entries. Raises JournalError.

    ``check(content, earlier_entries)`` may return what is wrong with an entry beyond
    the chain (e.g. a missing field), reported at that entry's line.
    """
    # Split on "\n" only (not str.splitlines, which also breaks at \u2028, \x85, ...
    # that may sit inside a quoted string): each "---" line starts an entry.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    starts = [i for i, line in enumerate(lines) if _DOC_START.match(line.rstrip("\r"))]
    if not starts:
        if any(line.strip() and not line.lstrip().startswith("#") for line in lines):
            raise JournalError(f"{label} line 1: not a playbook-kit journal (no '---' "
                               "entry found); give Journal the project's journal.yaml, or "
                               "a path that does not exist yet for a new journal")
        return []
    for i in range(starts[0]):
        if lines[i].strip() and not lines[i].lstrip().startswith("#"):
            raise JournalError(f"{label} line {i + 1}: text before the first entry "
                               "('---'); only comments are allowed there: delete it or "
                               "start it with '#'")
    entries: list[dict] = []
    prev_hash = None
    bounds = starts + [len(lines)]
    for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        where = f"{label} line {a + 1}"
        content = _parse_entry(lines[a:b], label, k, a)
        if not isinstance(content, dict):
            raise JournalError(f"{where}: entry {k} is empty or not a mapping; the file "
                               f"was truncated or edited by hand: {_RESTORE}")
        name = "header" if k == 0 else (f"round {content.get('round')}"
                                        if content.get("kind") == "round"
                                        else str(content.get("kind")))
        for key in ("schema_version", "entry", "kind", "prev_hash", "hash"):
            if key not in content:
                raise JournalError(
                    f"{where}: entry {k} ({name}) has no {key!r}; the file was truncated "
                    f"or edited by hand: {_RESTORE}")
        version = content["schema_version"]
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise JournalError(f"{where}: schema_version={version!r} is not a version "
                               f"(1, 2, ...); the entry was edited by hand: {_RESTORE}")
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{where}: schema_version {version} is newer than this playbook-kit "
                f"understands ({SCHEMA_VERSION}); upgrade playbook-kit")
        if content["entry"] != k:
            raise JournalError(
                f"{where}: entry number {content['entry']!r} where {k} was expected; an "
                f"entry was removed, reordered or inserted by hand: {_RESTORE}")
        if (k == 0) != (content["kind"] == "journal"):
            raise JournalError(f"{where}: entry {k} has kind {content['kind']!r}; only the "
                               f"first entry is the 'journal' header: {_RESTORE}")
        if content["prev_hash"] != prev_hash:
            raise JournalError(
                f"{where}: entry {k} ({name}) does not follow entry {k - 1} (prev_hash "
                "mismatch); an entry was removed, reordered or inserted by hand, or entry "
                f"{k - 1} was changed and its hash recomputed: {_RESTORE}")
        try:
            actual = _entry_hash(content)
        except (TypeError, ValueError) as exc:  # e.g. an unquoted date, a non-string key
            raise JournalError(
                f"{where}: entry {k} ({name}) holds a value that the journal never writes "
                f"({exc}); it was edited by hand: {_RESTORE}") from None
        if actual != content["hash"]:
            raise JournalError(
                f"{where}: entry {k} ({name}, lines {a + 1}-{b}) was changed after it "
                "was written (its hash does not match its content). The journal is "
                "append-only: restore the original text, and record corrections as a "
                "new round")
        problem = check(content, entries) if check is not None else None
        if problem:
            raise JournalError(f"{where}: entry {k} ({name}) {problem}; the entry was "
                               f"written by hand or by another program: {_RESTORE}")
        entries.append(content)
        prev_hash = content["hash"]
    return entries


def _parse_entry(lines: list[str], label: str, k: int, first: int):
    """Entry ``k``, the YAML of ``lines`` (which start at line ``first`` + 1)."""
    try:
        return yaml.safe_load("\n".join(lines) + "\n")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        # an unexpected end is reported on the entry's last line, not the one after
        line = first + 1 + (min(mark.line, len(lines) - 1) if mark is not None else 0)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. date 2024-13-45
        line, problem = first + 1, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    raise JournalError(f"{label} line {line}: not valid YAML ({problem}) in entry {k}, which "
                       f"starts at line {first + 1}; the file was truncated or edited by "
                       f"hand: {_RESTORE}")


# ---------------------------------------------------------------------------- writing

def atomic_append(path: Path, existing: bytes, addition: bytes) -> None:
    """Write ``existing + addition`` to ``path`` through the store's atomic write.

    A write that fails mid-way leaves the old file intact. One writer at a time (the
    toolkit's assumption: one person or notebook per project); a journal changed on
    disk since it was read is refused just before the rename.
    """
    from ..core.files import atomic_write

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
