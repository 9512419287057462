"""Disk that stays bounded: which trials of a study keep their checkpoints.

Each run of a trial keeps its best ``keep_best`` checkpoints and the last (3 files by
default), so a 200-trial study of a 100 MB model would write about 60 GB. A study's
``keep_checkpoints`` (a :class:`~playbook_kit.search.spec.StudySpec` field, the study
file's key, ``playbook-kit study --keep-checkpoints``) keeps the ``checkpoints/`` folders
of the best ``keep_checkpoints`` trials by the objective, plus those of every *pinned*
trial, and drops the others' as trials fall out of the best (after each trial, in the
process that ran it). ``None`` (or ``"all"``) keeps every trial's. What a trial is
measured by (its record, curves and config) is never dropped: the audit, the plots, the
decisions and :func:`~playbook_kit.decisions.rounds.retrain` need only those.

A trial is pinned (a file in ``<study>/playbook_pins/``) when something refers to it:
:func:`~playbook_kit.decisions.rounds.final_evaluation` and
:func:`~playbook_kit.decisions.rounds.retrain` pin the trial they read, the journal pins
the trial a final evaluation's checkpoint belongs to and the best trial of each study a
round records (:func:`~playbook_kit.journal.study_record`),
:func:`~playbook_kit.decisions.retrain_variance.runs_from_study` pins the trial whose runs a
decision reads, and :func:`pin_trial` pins one by hand.

Dropping is atomic: the folder is renamed aside, a marker ``checkpoints_dropped.json``
(with a schema version) records when, why and how many bytes, then the renamed folder is
deleted. A reader sees the whole folder or none, and a file a reader has open stays
readable until it closes it (POSIX). Readers pin before they read, and the pins are read
again just before each drop, so a trial being read is not dropped under its reader. A
kill at any moment leaves either the folder or the marker; a leftover renamed folder is
deleted at the next pass. Only finished trials (a readable record, keras-tuner's status
no longer running) are ever considered.
"""
from __future__ import annotations

import os
import secrets
import shutil
import time
import warnings
from pathlib import Path

from ..core import rules
from ..core.validation import not_allowed
from .store import (
    CHECKPOINT_DIR, SCHEMA_VERSION, StoreError, read_json, read_keras_tuner_trial,
    read_trial_record, trial_dirs, write_json,
)

__all__ = ["KEEP_CHECKPOINTS", "DROPPED_FILE", "PINS_DIR", "PIN_KINDS", "check_keep",
           "pin_trial", "pin_checkpoint", "pins", "dropped", "dropped_message",
           "apply_retention", "disk_use"]

KEEP_CHECKPOINTS = 5
"""Trials whose checkpoints a study keeps by default (toolkit's choice; the playbook gives
no number). What reads checkpoints after a study is the final evaluation of the chosen
trial (the best, or one of the few best when their retrain variance overlaps) and a
look at the best few trials' models; everything else reads records and curves. Five
bounds a study's checkpoints to 15 files per seed, whatever its size (1.5 GB instead of
60 GB for the 200-trial study of a 100 MB model), and pinned trials are kept besides."""
DROPPED_FILE = "checkpoints_dropped.json"
PINS_DIR = "playbook_pins"
PIN_KINDS = ("final_evaluation", "retrain", "journal", "decision", "user")
_ASIDE = f".{CHECKPOINT_DIR}.dropped-"
_RUNNING = ("RUNNING", "IDLE")


def check_keep(value, where: str | None = None):
    """``keep_checkpoints`` as an int >= 0 or None (``"all"`` reads as None)."""
    if value is None or value == "all":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise not_allowed("keep_checkpoints", value, "use an integer >= 0 (how many of the "
                          "best trials keep their checkpoints, pinned trials besides), or "
                          "None or 'all' to keep every trial's", where,
                          f"default {KEEP_CHECKPOINTS}")
    return int(value)


# -- pins -----------------------------------------------------------------------------

def pin_trial(study: str | Path, trial_id, by: str = "user", note: str = "") -> bool:
    """Keep trial ``trial_id``'s checkpoints whatever the study's ``keep_checkpoints``
    (``by``: one of :data:`PIN_KINDS`). Returns False, with a warning, when the pin
    cannot be written (a read-only study directory)."""
    if by not in PIN_KINDS:
        raise not_allowed("by", by, f"use one of {', '.join(PIN_KINDS)}")
    trial_id = str(trial_id)
    if not trial_id or "/" in trial_id or trial_id.startswith("."):
        raise not_allowed("trial_id", trial_id, "use a trial id of the study, such as '3'")
    path = Path(study) / PINS_DIR / f"{trial_id}.{by}.json"
    try:
        write_json(path, {"schema_version": SCHEMA_VERSION, "trial_id": trial_id, "by": by,
                          "at": time.strftime("%Y-%m-%d %H:%M:%S"), "note": note})
    except OSError as error:
        warnings.warn(f"{path}: could not pin trial {trial_id} ({error.strerror or error}); "
                      "the study's keep_checkpoints may drop its checkpoints", stacklevel=2)
        return False
    return True


def pin_checkpoint(checkpoint: str | Path, by: str) -> bool:
    """Pin the trial a checkpoint file belongs to (``<study>/trial_<id>/checkpoints/...``);
    False when the path is not inside a playbook-kit study."""
    from .store import STUDY_FILE

    path = Path(checkpoint).resolve()
    for folder in path.parents:
        if folder.name.startswith("trial_") and (folder.parent / STUDY_FILE).exists():
            return pin_trial(folder.parent, folder.name[6:], by)
    return False


def pins(study: str | Path) -> dict[str, list[str]]:
    """Pinned trials: trial id -> what pinned it."""
    found: dict[str, list[str]] = {}
    folder = Path(study) / PINS_DIR
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        trial_id, _, by = path.stem.rpartition(".")
        if trial_id and by in PIN_KINDS:
            found.setdefault(trial_id, []).append(by)
    return found


# -- dropping -------------------------------------------------------------------------

def dropped(trial_dir: str | Path) -> dict | None:
    """The drop marker of a trial whose checkpoints were dropped, else None."""
    path = Path(trial_dir) / DROPPED_FILE
    if not path.exists():
        return None
    try:
        return read_json(path, "delete it: the trial's checkpoints are gone either way")
    except StoreError as error:
        return {"reason": str(error), "keep_checkpoints": None, "bytes": 0}


def dropped_message(trial_id, marker: dict) -> str:
    """One line: this trial's checkpoints were dropped, by which option, what to do."""
    keep = marker.get("keep_checkpoints")
    return (f"trial {trial_id!s}'s checkpoints were dropped by the study's retention "
            f"(keep_checkpoints={keep!r} keeps the best {keep} trials' and pinned trials'; "
            f"dropped {marker.get('at', '?')}): retrain its config (pk.retrain) for new "
            "ones, and run studies with keep_checkpoints=None to keep every trial's")


def _bytes(folder: Path) -> tuple[int, int]:
    """(bytes, files) under ``folder``."""
    total = files = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(root, name))
                files += 1
            except OSError:
                pass
    return total, files


def _drop(trial_dir: Path, keep: int, why: str) -> dict | None:
    """Rename the trial's checkpoints aside, write its marker, delete them; the marker,
    or None when another process dropped them first."""
    folder = trial_dir / CHECKPOINT_DIR
    size, files = _bytes(folder)
    aside = trial_dir / f"{_ASIDE}{secrets.token_hex(4)}"
    try:
        os.rename(folder, aside)
    except FileNotFoundError:
        return None
    marker = {"schema_version": SCHEMA_VERSION, "keep_checkpoints": keep, "bytes": size,
              "files": files, "at": time.strftime("%Y-%m-%d %H:%M:%S"), "reason": why}
    write_json(trial_dir / DROPPED_FILE, marker)
    shutil.rmtree(aside, ignore_errors=True)
    return marker


_READ: dict = {}  # path -> ((mtime_ns, size), content): a pass after each trial re-reads
                 # only the files that changed


def _cached(path: Path, read):
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    seen = _READ.get(str(path))
    if seen is not None and seen[0] == stamp:
        return seen[1]
    content = read(path.parent)
    _READ[str(path)] = (stamp, content)
    return content


def _finished(trial_dir: Path):
    """A finished trial's record, None while it runs, has none or cannot be read."""
    from .store import KERAS_TUNER_TRIAL_FILE, TRIAL_FILE

    try:
        state = _cached(trial_dir / KERAS_TUNER_TRIAL_FILE, read_keras_tuner_trial)
        record = _cached(trial_dir / TRIAL_FILE, read_trial_record)
    except StoreError:
        return None
    if state is None or state["status"] in _RUNNING:
        return None
    return record


def apply_retention(study: str | Path, keep, direction: str) -> list[str]:
    """Drop the checkpoints of every finished trial of ``study`` that is neither among
    the ``keep`` best by the objective (``direction`` "max" or "min"; ties go to the
    earlier trial) nor pinned; returns the trial ids dropped now. ``keep=None`` drops
    nothing. Leftovers of an interrupted drop are finished first."""
    keep = check_keep(keep)
    study = Path(study)
    folders = trial_dirs(study)
    for trial_dir in folders:
        for aside in trial_dir.glob(f"{_ASIDE}*"):
            shutil.rmtree(aside, ignore_errors=True)
    if keep is None:
        return []
    finished = {d.name[6:]: (d, r) for d in folders if (r := _finished(d)) is not None}
    feasible = [(trial_id, record["objective"]) for trial_id, (_, record) in finished.items()
                if rules.is_feasible(record["status"], record["objective"])]
    sign = rules.sign(direction)
    ranked = sorted(feasible, key=lambda item: (-sign * item[1], _order(item[0])))
    best = {trial_id for trial_id, _ in ranked[:keep]}
    rank = {trial_id: k + 1 for k, (trial_id, _) in enumerate(ranked)}
    done = []
    for trial_id, (trial_dir, _) in sorted(finished.items(), key=lambda kv: _order(kv[0])):
        if trial_id in best or not (trial_dir / CHECKPOINT_DIR).is_dir():
            continue
        if trial_id in pins(study):  # read again now: a reader pins before it reads
            continue
        why = (f"rank {rank[trial_id]} of {len(ranked)} feasible trials" if trial_id in rank
               else "infeasible") + f", not among the best {keep}, not pinned"
        if _drop(trial_dir, keep, why) is not None:
            done.append(trial_id)
    return done


def _order(trial_id: str):
    return (int(trial_id), "") if trial_id.isdigit() else (1 << 62, trial_id)


def disk_use(study: str | Path):
    """The study's disk use, one row per trial: ``trial_id``, ``checkpoint_bytes`` (kept
    now), ``dropped_bytes`` (freed by the retention), ``dropped`` (bool), ``pinned_by``
    (what pinned it, "" when nothing), ``other_bytes`` (records, curves, keras-tuner's
    files). The study's other files (oracle, spec) are the row ``trial_id="-"``."""
    import pandas as pd

    study = Path(study)
    pinned = pins(study)
    rows = []
    inside = 0
    for trial_dir in trial_dirs(study):
        trial_id = trial_dir.name[6:]
        checkpoints, _ = _bytes(trial_dir / CHECKPOINT_DIR)
        total, _ = _bytes(trial_dir)
        inside += total
        marker = dropped(trial_dir)
        rows.append({"trial_id": trial_id, "checkpoint_bytes": checkpoints,
                     "dropped_bytes": int(marker.get("bytes") or 0) if marker else 0,
                     "dropped": marker is not None,
                     "pinned_by": ", ".join(pinned.get(trial_id, [])),
                     "other_bytes": total - checkpoints})
    total, _ = _bytes(study)
    rows.append({"trial_id": "-", "checkpoint_bytes": 0, "dropped_bytes": 0,
                 "dropped": False, "pinned_by": "", "other_bytes": total - inside})
    return pd.DataFrame(rows, columns=["trial_id", "checkpoint_bytes", "dropped_bytes",
                                       "dropped", "pinned_by", "other_bytes"])
