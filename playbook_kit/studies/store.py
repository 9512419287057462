"""The study directory format, in one place (docs/design.md, *Store*).

keras-tuner's project directory is the store: its ``oracle.json`` and
``trial_<id>/trial.json``. Beside them a playbook-kit study keeps, with a schema version:

* ``playbook_study.json``: the study spec (name, space with roles, algorithm, seed,
  budget, ``max_train_steps``, ``eval_every``, objective, repeats, the workload spec, the
  warm-start source);
* per trial, ``trial_<id>/playbook.json`` (the *trial record*: config, status, reason,
  every run's result), ``trial_<id>/curves.csv`` (every evaluation of every run) and
  ``trial_<id>/checkpoints/`` (per run ``seed-<seed>/``: its best checkpoints and last,
  and while it runs its resumable state, :mod:`~playbook_kit.training.trial_state`), or
  ``trial_<id>/checkpoints_dropped.json`` once the study's retention dropped them, and
  ``playbook_pins/`` (trials whose checkpoints are kept whatever the retention):
  :mod:`playbook_kit.studies.retention`;
* ``playbook_runner.lock`` while a process runs the study: :mod:`playbook_kit.studies.study_lock`.

Every file is written through :func:`~playbook_kit.core.files.atomic_write` (re-exported
here for study files), so a kill at any moment leaves the
old file or the new one, never a torn one. Every file is read through this module: a
damaged or foreign file raises :class:`StoreError`, one line naming the file, what is
wrong and what to do. This module imports nothing from the search or results layers.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.files import atomic_write, json_number
from ..core.rules import COMPLETED, INFEASIBLE, is_feasible

__all__ = [
    "SCHEMA_VERSION", "STUDY_FILE", "TRIAL_FILE", "CURVES_FILE", "ORACLE_FILE",
    "KERAS_TUNER_TRIAL_FILE", "CHECKPOINT_DIR", "StoreError", "atomic_write", "write_json",
    "read_json", "find_study", "trial_dirs", "trial_record", "read_trial_record",
    "write_trial", "read_trial", "read_study_spec", "write_study_spec", "read_study_yaml",
    "write_study_yaml", "FINISHED_RUN", "write_finished_run", "read_finished_run",
    "INTERRUPTED_FILE", "write_interrupted", "read_interrupted", "clear_interrupted",
]

SCHEMA_VERSION = 1
STUDY_FILE = "playbook_study.json"
TRIAL_FILE = "playbook.json"
CURVES_FILE = "curves.csv"
ORACLE_FILE = "oracle.json"
KERAS_TUNER_TRIAL_FILE = "trial.json"
CHECKPOINT_DIR = "checkpoints"
INTERRUPTED_FILE = "interrupted.json"
"""A trial stopped on request (SIGTERM) with its state written, until it runs again."""
FINISHED_RUN = "finished_run.json"
"""A run (one seed) of a trial of several, finished before the trial was: kept in its
checkpoint folder until the trial's record is written, so that an interrupted trial
does not train its finished runs again."""
CURVE_FILE_COLUMNS = ["seed", "step", "split", "metric", "value"]

RERUN_TRIAL = "resume the study with its settings to rerun this trial"
RESTORE_SPEC = ("restore it from a copy, or delete it and resume the study with its "
                "original settings, which writes it again")


class StoreError(ValueError):
    """A study file that is damaged, foreign or missing: one line, ``"<file>: <what is
    wrong>; <what to do>"``.

    Example::

        try:
            study = pk.load_study("studies/depth")
        except pk.StoreError as error:
            print(error.path, error.problem, error.todo)
    """

    def __init__(self, path, problem: str, todo: str):
        self.path, self.problem, self.todo = str(path), problem, todo
        super().__init__(f"{path}: {problem}; {todo}")


# -- writing --------------------------------------------------------------------------

def write_json(path: str | Path, data) -> None:
    """Write ``data`` as JSON through :func:`atomic_write` (numpy scalars as numbers)."""
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, default=json_number))


def plain_json(data):
    """``data`` as JSON would read it back (numpy scalars as numbers, tuples as lists)."""
    return json.loads(json.dumps(data, default=json_number))


# -- reading --------------------------------------------------------------------------

def read_json(path: str | Path, todo: str):
    """The JSON object in ``path``; :class:`StoreError` (with ``todo``) when it is
    missing, unreadable, not JSON or not a JSON object."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise StoreError(path, "the file is missing", todo) from None
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(path, f"cannot be read ({_reason(error)})", todo) from None
    try:
        data = json.loads(text)
    except ValueError as error:
        where = f" (line {error.lineno}, column {error.colno})" \
            if isinstance(error, json.JSONDecodeError) else ""
        problem = "is empty" if not text.strip() else \
            f"is damaged: not valid JSON: {getattr(error, 'msg', error)}{where}"
        raise StoreError(path, problem, todo) from None
    if not isinstance(data, dict):
        raise StoreError(path, f"is damaged: holds a JSON {type(data).__name__}, not an "
                         "object", todo)
    return data


def _reason(error) -> str:
    return str(getattr(error, "strerror", None) or error).splitlines()[0]


def _check_version(path, data: dict, todo: str) -> None:
    version = data.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise StoreError(path, f"is damaged: schema_version={version!r} is not a "
                         "version number", todo)
    if version > SCHEMA_VERSION:
        raise StoreError(path, f"schema_version={version} is newer than this playbook-kit "
                         f"understands ({SCHEMA_VERSION})", "upgrade playbook-kit")


def _check_fields(path, data: dict, fields: dict, todo: str, where: str = "") -> None:
    for key, kinds in fields.items():
        if key not in data:
            raise StoreError(path, f"is damaged: field '{where}{key}' is missing", todo)
        value = data[key]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in
                                            (kinds if isinstance(kinds, tuple) else (kinds,))):
            raise StoreError(path, f"is damaged: field '{where}{key}' is {value!r}, "
                             f"expected {_kind_names(kinds)}", todo)


def _kind_names(kinds) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if float in kinds:
        kinds = tuple(k for k in kinds if k is not int)
    names = {dict: "a mapping", list: "a list", str: "a string", int: "an integer",
             float: "a number", type(None): "null"}
    return " or ".join(names[k] for k in kinds)


# -- the study directory --------------------------------------------------------------

def find_study(path: str | Path) -> Path:
    """The study directory at ``path`` (the folder holding ``oracle.json``), or the only
    one directly below it; :class:`StoreError` when there is none or several."""
    path = Path(path)
    if (path / ORACLE_FILE).is_file():
        return path
    if not path.exists():
        raise StoreError(path, "does not exist", "give the folder of a study (the one "
                         f"holding {ORACLE_FILE})")
    if not path.is_dir():
        raise StoreError(path, "is a file, not a study directory", "give the folder "
                         f"holding {ORACLE_FILE}")
    candidates = sorted(p.parent for p in path.glob(f"*/{ORACLE_FILE}"))
    if len(candidates) == 1:
        return candidates[0]
    found = f"found {len(candidates)} studies below it: {[c.name for c in candidates]}" \
        if candidates else "and no study below it"
    raise StoreError(path, f"is not a study directory (no {ORACLE_FILE}) {found}",
                     "give the folder of one study")


def trial_dirs(study: str | Path) -> list[Path]:
    """Trial folders in trial order (ids are numbers whose width grows with the budget)."""
    found = [p for p in Path(study).glob("trial_*") if p.is_dir()]
    return sorted(found, key=lambda p: (int(p.name[6:]) if p.name[6:].isdigit() else 1 << 62,
                                        p.name))


def read_keras_tuner_trial(trial_dir: str | Path) -> dict | None:
    """keras-tuner's ``trial.json`` of a trial folder (None when it has none yet)."""
    path = Path(trial_dir) / KERAS_TUNER_TRIAL_FILE
    if not path.exists():
        return None
    todo = "restore it from a copy; keras-tuner cannot resume a study without it"
    state = read_json(path, todo)
    _check_fields(path, state, {"trial_id": str, "status": str, "hyperparameters": dict},
                  todo)
    _check_fields(path, state["hyperparameters"], {"values": dict}, todo, "hyperparameters.")
    return state


def check_keras_tuner_files(study: str | Path) -> None:
    """Read the oracle state and every trial's ``trial.json`` before keras-tuner does,
    so that a damaged one is named (keras-tuner would fail with a bare JSON error)."""
    study = Path(study)
    if (study / ORACLE_FILE).exists():
        read_json(study / ORACLE_FILE, "restore it from a copy, or run the study again "
                  "under a new name or with overwrite=True")
    for trial_dir in trial_dirs(study):
        read_keras_tuner_trial(trial_dir)


# -- trial records --------------------------------------------------------------------

def trial_record(trial_id: str, values: dict, config: dict, runs: list[dict],
                 tuner_id: str = "tuner0") -> dict:
    """The playbook data of one trial: a trial is infeasible when any of its runs is.

    ``tuner_id`` names the process that trained it (keras-tuner's ``KERASTUNER_TUNER_ID``;
    ``tuner0`` for a study run in one process), so a study spread over workers shows which
    worker ran what.
    """
    infeasible = [r for r in runs if r["status"] != COMPLETED]
    objectives = [r["objective"] for r in runs if r["status"] == COMPLETED]
    return {
        "schema_version": SCHEMA_VERSION, "trial_id": trial_id, "values": values,
        "config": config, "status": INFEASIBLE if infeasible else COMPLETED,
        "reason": infeasible[0]["reason"] if infeasible else "",
        "objective": float(np.mean(objectives)) if objectives and not infeasible else None,
        "objective_std": float(np.std(objectives, ddof=1)) if len(objectives) > 1 else None,
        "runs": runs, "duration_s": float(sum(r["duration_s"] for r in runs)),
        "tuner_id": tuner_id,
    }


_NUMBER = (int, float)
_RECORD_FIELDS = {"trial_id": str, "values": dict, "config": dict, "status": str,
                  "reason": str, "objective": (*_NUMBER, type(None)), "runs": list,
                  "duration_s": _NUMBER}
_RUN_FIELDS = {"seed": int, "status": str, "objective": (*_NUMBER, type(None)),
               "best_step": (int, type(None)), "final_objective": (*_NUMBER, type(None)),
               "duration_s": _NUMBER, "reason": str, "checkpoints": dict}


def read_trial_record(trial_dir: str | Path) -> dict | None:
    """A trial's record (``playbook.json``), or None when it has none yet.

    Raises :class:`StoreError` when the record is damaged: not JSON (truncated), a
    field missing or of the wrong type, or a status its objective contradicts.
    """
    path = Path(trial_dir) / TRIAL_FILE
    if not path.exists():
        return None
    record = read_json(path, RERUN_TRIAL)
    _check_version(path, record, RERUN_TRIAL)
    _check_fields(path, record, _RECORD_FIELDS, RERUN_TRIAL)
    if record["status"] not in (COMPLETED, INFEASIBLE):
        raise StoreError(path, f"is damaged: status={record['status']!r} is not "
                         "'completed' or 'infeasible'", RERUN_TRIAL)
    if not record["runs"]:
        raise StoreError(path, "is damaged: the trial has no runs", RERUN_TRIAL)
    for i, run in enumerate(record["runs"]):
        if not isinstance(run, dict):
            raise StoreError(path, f"is damaged: runs[{i}] is not a mapping", RERUN_TRIAL)
        _check_fields(path, run, _RUN_FIELDS, RERUN_TRIAL, f"runs[{i}].")
    if record["status"] == COMPLETED and not is_feasible(COMPLETED, record["objective"]):
        raise StoreError(path, f"is damaged: a completed trial with objective="
                         f"{record['objective']!r}", RERUN_TRIAL)
    return record


def write_trial(trial_dir: str | Path, record: dict, curves=None) -> None:
    """Store a trial: its curves first, then its record (the record marks it done)."""
    trial_dir = Path(trial_dir)
    if curves is not None:
        with atomic_write(trial_dir / CURVES_FILE) as tmp:
            curves[CURVE_FILE_COLUMNS].to_csv(tmp, index=False)
    write_json(trial_dir / TRIAL_FILE, record)


def write_interrupted(trial_dir: str | Path, step: int) -> None:
    """Mark a trial stopped on request at ``step`` (interrupted, not failed)."""
    import time

    write_json(Path(trial_dir) / INTERRUPTED_FILE,
               {"schema_version": SCHEMA_VERSION, "step": int(step), "time": time.time()})


def read_interrupted(trial_dir: str | Path) -> int | None:
    """The step a trial was stopped at on request, or None."""
    try:
        return int(json.loads((Path(trial_dir) / INTERRUPTED_FILE).read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_interrupted(trial_dir: str | Path) -> None:
    (Path(trial_dir) / INTERRUPTED_FILE).unlink(missing_ok=True)


def write_finished_run(run_dir: str | Path, run: dict, curves) -> None:
    """Keep a finished run of a trial still running (see :data:`FINISHED_RUN`)."""
    write_json(Path(run_dir) / FINISHED_RUN,
               {"schema_version": SCHEMA_VERSION, "run": run,
                "curves": curves[CURVE_FILE_COLUMNS].to_dict(orient="list")})


def read_finished_run(run_dir: str | Path):
    """``(run, curves)`` kept by :func:`write_finished_run`, or None (none, or damaged:
    the run is trained again)."""
    import pandas as pd

    path = Path(run_dir) / FINISHED_RUN
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return data["run"], pd.DataFrame(data["curves"])[CURVE_FILE_COLUMNS]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_trial(trial_dir: str | Path):
    """A trial's ``(record, curves)``: ``(None, None)`` when it has no record yet; the
    curves (a DataFrame of :data:`CURVE_FILE_COLUMNS`) are None when not stored.
    Raises :class:`StoreError` when either file is damaged."""
    import pandas as pd

    record = read_trial_record(trial_dir)
    path = Path(trial_dir) / CURVES_FILE
    if record is None or not path.exists():
        return record, None
    try:
        curves = pd.read_csv(path)
    except (ValueError, OSError, pd.errors.ParserError) as error:
        raise StoreError(path, f"is damaged: {_reason(error)}", RERUN_TRIAL) from None
    missing = [c for c in CURVE_FILE_COLUMNS if c not in curves.columns]
    if missing:
        raise StoreError(path, f"is damaged: column {missing[0]!r} is missing", RERUN_TRIAL)
    if curves[["split", "metric"]].isna().any().any():
        raise StoreError(path, "is damaged: a row is incomplete (truncated?)", RERUN_TRIAL)
    numeric = curves[["seed", "step"]].apply(pd.to_numeric, errors="coerce")
    if numeric.isna().any().any() or not pd.api.types.is_numeric_dtype(curves["value"]):
        raise StoreError(path, "is damaged: a seed, step or value is not a number",
                         RERUN_TRIAL)
    return record, curves[CURVE_FILE_COLUMNS]


def damaged_trial(trial_dir: str | Path) -> str | None:
    """Why a trial's stored record or curves cannot be read (None when they can, or
    when it has none yet)."""
    try:
        read_trial(trial_dir)
    except StoreError as error:
        return str(error)
    return None


# -- the study spec -------------------------------------------------------------------

_SPEC_FIELDS = {"name": str, "space": (dict, list), "objective": str,
                "max_train_steps": int, "max_trials": int}


def read_study_spec(study: str | Path, build=None):
    """A study's stored spec (``playbook_study.json``) as a dict, or ``build(spec)``.

    ``build`` (e.g. ``StudySpec.from_dict``) turns it into an object; a ``ValueError``
    it raises becomes a :class:`StoreError` naming the file, like a damaged file.
    """
    path = Path(study) / STUDY_FILE
    spec = read_json(path, RESTORE_SPEC)
    _check_version(path, spec, RESTORE_SPEC)
    _check_fields(path, spec, _SPEC_FIELDS, RESTORE_SPEC)
    return _built(path, spec, build, "is damaged: ", RESTORE_SPEC)


def _built(path: Path, spec: dict, build, problem: str, todo: str):
    """``spec``, or ``build(spec)`` with its ValueError (a field not allowed) or a missing
    key turned into a :class:`StoreError` naming the file."""
    if build is None:
        return spec
    try:
        return build(spec)
    except StoreError:
        raise
    except (ValueError, TypeError, KeyError) as error:
        raise StoreError(path, problem + _one_line(error), todo) from None


def _one_line(error) -> str:
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split())


def write_study_spec(study: str | Path, spec: dict) -> None:
    write_json(Path(study) / STUDY_FILE, spec)


def read_study_yaml(path: str | Path, build=None):
    """A study file (YAML) as a dict, or ``build(spec)``; :class:`StoreError` for a
    missing file, a YAML syntax error, a file that is not a mapping, or a ``ValueError``
    from ``build`` (a field not allowed), each naming the file and the line."""
    import yaml

    path = Path(path)
    todo = "fix the study file"
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise StoreError(path, "the study file does not exist", "check the path") from None
    except (OSError, UnicodeDecodeError) as error:
        raise StoreError(path, f"cannot be read ({_reason(error)})", todo) from None
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or _one_line(error)
        raise StoreError(path, f"YAML syntax error{where}: {problem}", todo) from None
    if not isinstance(spec, dict):
        raise StoreError(path, f"a study file must be a YAML mapping, found "
                         f"{type(spec).__name__}", todo)
    return _built(path, spec, build, "", todo)


def write_study_yaml(path: str | Path, spec: dict) -> None:
    import yaml

    with atomic_write(path) as tmp:
        tmp.write_text(yaml.safe_dump(plain_json(spec), sort_keys=False))
