"""Reading a study directory (docs/design.md, *Results*): ours, or a plain keras-tuner
project, into a :class:`~playbook_kit.results.study_results.StudyResults` whose tables
keep the contract :mod:`playbook_kit.results.study_results` writes down; a damaged trial file becomes a
warning and a failed row, never a study that cannot be read. Also the priors a
warm-started study reads from an earlier one."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import rules
from ..core.rules import COMPLETED, FINISHED_STATUSES, INFEASIBLE
from ..core.validation import not_allowed
from ..search.space import HYPERPARAMETER_COLUMNS
from ..studies.store import (
    ORACLE_FILE, STUDY_FILE, StoreError, find_study, read_interrupted, read_json,
    read_keras_tuner_trial, read_study_spec, read_trial, read_trial_record, trial_dirs,
)
from .study_results import (CURVE_COLUMNS, StudyResults, _curve_frame, _frames, _run_row,
                            _spec_and_space, _trial_row, config_of)


def load_study(path: str | Path) -> StudyResults:
    """Load a study directory: one written by playbook-kit, or a plain keras-tuner project.

    For plain keras-tuner projects (no ``playbook_study.json``) the hyperparameters come
    from the oracle's space with role ``unknown``; status, score and whatever per-epoch
    metrics keras-tuner kept become the trials and curves tables. Their objective is the
    metric whose best value equals the trial score (``val_loss`` when ambiguous).

    A trial whose stored files are damaged is a ``"failed"`` row whose ``reason`` names
    the file, what is wrong and what to do (also given as a warning); the other trials
    load as usual. A damaged study spec, or a path that is not a study, raises
    :class:`~playbook_kit.studies.store.StoreError`.

    Args:
        path: the study's folder (the one holding ``oracle.json``).

    Returns:
        StudyResults: its trials, curves, runs and space.

    Raises:
        StoreError: a damaged study spec, or a path that is not a study; the message says
            what to do.

    Example::

        study = pk.load_study("studies/depth")           # ours, or a keras-tuner project
        pk.audit(study)
    """
    path = find_study(path)
    if (path / STUDY_FILE).exists():
        return _load_playbook_study(path)
    return _load_keras_tuner_study(path)


def _damaged(error: StoreError) -> str:
    """Report a damaged trial file (a warning) and return the reason for its row."""
    warnings.warn(str(error), stacklevel=4)
    return str(error)


def _load_playbook_study(path: Path) -> StudyResults:
    from ..workload.objectives import objective_direction

    spec, space = read_study_spec(path, build=_spec_and_space)
    direction = objective_direction(spec["objective"], (spec.get("parts") or {}).get("direction"))
    rows, runs, curves = [], [], []
    for trial_dir in trial_dirs(path):
        try:
            state = read_keras_tuner_trial(trial_dir)
        except StoreError as error:
            rows.append(_trial_row(trial_dir.name[6:], spec["name"], "failed", [], {},
                                   _damaged(error)))
            continue
        if state is None:
            continue
        trial_id = state["trial_id"]
        values = {**space.fixed_values, **state["hyperparameters"]["values"]}
        values = {k: v for k, v in values.items() if k in space.names}
        try:
            record, trial_curves = read_trial(trial_dir)
        except StoreError as error:
            rows.append(_trial_row(trial_id, spec["name"], "failed", [], values,
                                   _damaged(error)))
            continue
        if record is None or state["status"] == "RUNNING":
            status = _KT_STATUS.get(state.get("status"), "failed")
            reason = "" if status == "running" else _last_line(state.get("message"))
            stopped = read_interrupted(trial_dir) if status == "running" else None
            if stopped is not None:
                status = "interrupted"
                reason = (f"stopped on request at step {stopped} with its state written; "
                          "run the study again to continue")
            rows.append(_trial_row(trial_id, spec["name"], status, [], values, reason))
            continue
        rows.append(_trial_row(trial_id, spec["name"], record["status"], record["runs"],
                               values, record["reason"]))
        runs.extend(_run_row(trial_id, r) for r in record["runs"])
        if trial_curves is not None:
            curves.append(_curve_frame(trial_id, trial_curves))
    trials, runs, curves = _frames(rows, runs, curves)
    for name in space.names:
        if name not in trials:
            trials[name] = np.nan
    return StudyResults(spec["name"], trials, curves, space.to_frame(), runs,
                        spec["objective"], direction, spec["max_train_steps"], str(path))


def _last_line(message) -> str:
    """The error line of a keras-tuner traceback message (it stores the whole traceback):
    the last ``SomeError: ...`` line, else the last line."""
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception)\b:?", line)]
    return (errors or lines or [""])[-1][:300]


_KT_STATUS = {"COMPLETED": "completed", "FAILED": "failed", "INVALID": "failed",
              "RUNNING": "running", "IDLE": "running", "STOPPED": "failed"}


def _load_keras_tuner_study(path: Path) -> StudyResults:
    oracle = read_json(path / ORACLE_FILE, "restore it from a copy; without it the "
                       "study's search space is unknown")
    hyperparameters = _hyperparameters_from_keras_tuner(oracle.get("hyperparameters", {}))
    rows, runs, curves = [], [], []
    objective, direction = None, "min"
    for trial_dir in trial_dirs(path):
        try:
            state = read_keras_tuner_trial(trial_dir)
        except StoreError as error:
            run = {"seed": None, "status": "failed", "objective": None, "best_step": None,
                   "final_objective": None, "duration_s": None, "reason": _damaged(error)}
            rows.append((trial_dir.name[6:], "failed", run, {}, {}))
            continue
        if state is None:
            continue
        trial_id = state["trial_id"]
        metrics = state.get("metrics", {}).get("metrics", {})
        score = state.get("score")
        if objective is None and score is not None:
            objective, direction = _objective_of(metrics, score)
        status = _KT_STATUS.get(state.get("status"), "failed")
        run = {"seed": None, "status": status, "objective": score,
               "best_step": state.get("best_step"), "final_objective": None,
               "duration_s": None, "reason": _last_line(state.get("message")),
               "engine": "keras-tuner", "engine_reason": "trained by keras-tuner's fit"}
        frame_rows = []
        for metric, history in metrics.items():
            for obs in history.get("observations", []):
                value = obs["value"][-1] if isinstance(obs["value"], list) else obs["value"]
                split = "validation" if metric.startswith("val_") else "train"
                frame_rows.append((trial_id, None, int(obs.get("step", 0)), split,
                                   metric.removeprefix("val_"), float(value)))
        curves.append(pd.DataFrame(frame_rows, columns=CURVE_COLUMNS))
        rows.append((trial_id, status, run, state["hyperparameters"].get("values", {}),
                     metrics))
    objective = objective or "val_loss"
    built = []
    for trial_id, status, run, values, metrics in rows:
        history = metrics.get(objective, {}).get("observations", [])
        if history:
            last = history[-1]["value"]
            run["final_objective"] = last[-1] if isinstance(last, list) else last
        if status == COMPLETED and not rules.is_feasible(status, run["objective"]):
            status, run["status"] = INFEASIBLE, INFEASIBLE
            run["reason"] = "no finite objective"
        built.append(_trial_row(trial_id, path.name, status, [run] if status != "running" else [],
                                {k: v for k, v in values.items()}, run["reason"]))
        if status != "running":
            runs.append(_run_row(trial_id, run))
    trials, runs, curves = _frames(built, runs, curves)
    for name in hyperparameters["name"]:
        if name not in trials:
            trials[name] = np.nan
    if "seed" in trials:
        trials["seed"] = trials["seed"].astype("Int64")
    return StudyResults(path.name, trials, curves, hyperparameters, runs, objective,
                        direction, None, str(path))


def _objective_of(metrics: dict, score: float) -> tuple[str, str]:
    matches = []
    for name, history in metrics.items():
        values = [o["value"][-1] if isinstance(o["value"], list) else o["value"]
                  for o in history.get("observations", [])]
        if not values:
            continue
        best = rules.best_value(values, history.get("direction", "min"))
        if np.isclose(best, score):
            matches.append((name, history.get("direction", "min")))
    for preferred in ("val_loss", "val_accuracy"):
        for name, direction in matches:
            if name == preferred:
                return name, direction
    return matches[0] if matches else ("val_loss", "min")


def _hyperparameters_from_keras_tuner(config: dict) -> pd.DataFrame:
    rows = []
    for entry in config.get("space", []):
        kind, hp = entry["class_name"], entry["config"]
        conditions = hp.get("conditions") or []
        parent = parent_values = None
        if conditions:
            parent = conditions[0]["config"]["name"]
            parent_values = conditions[0]["config"]["values"]
        if kind in ("Float", "Int"):
            scale = "log" if hp.get("sampling") == "log" else (
                "integer" if kind == "Int" else "linear")
            rows.append([hp["name"], "unknown", scale, float(hp["min_value"]),
                         float(hp["max_value"]), None, parent, parent_values])
        elif kind == "Choice":
            numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                          for v in hp["values"])
            rows.append([hp["name"], "unknown", "discrete" if numeric else "categorical",
                         np.nan, np.nan, list(hp["values"]), parent, parent_values])
        elif kind == "Boolean":
            rows.append([hp["name"], "unknown", "categorical", np.nan, np.nan,
                         [False, True], parent, parent_values])
        elif kind == "Fixed":
            rows.append([hp["name"], "fixed", "categorical", np.nan, np.nan,
                         [hp["value"]], parent, parent_values])
    return pd.DataFrame(rows, columns=HYPERPARAMETER_COLUMNS)


def warm_start_observations(source, objective: str) -> list[tuple[dict, float | None]]:
    """``(values, score)`` priors from a study (its directory or its
    :class:`StudyResults`, whose ``trials`` rows are used).

    A completed trial gives its objective; an infeasible (or keras-tuner FAILED) one
    gives None; running trials are left out. Values are the trial's hyperparameters,
    completed, for a playbook-kit study, by the trial's stored config (so that a value
    the exploration left at the workload default is known, not missing). Which priors
    lie inside the new space is the oracle's decision
    (:meth:`~playbook_kit.search.oracles.InfeasibleAwareBayesianOracle.set_prior_observations`).
    """
    results = source if isinstance(source, StudyResults) else load_study(source)
    if results.objective != objective:
        raise not_allowed("warm_start", results.path or results.name, "use a study with this "
                          f"one's objective {objective!r}",
                          why=f"that study's objective is {results.objective!r}")
    priors = []
    for _, row in results.trials.iterrows():
        if row["status"] not in FINISHED_STATUSES:
            continue
        values = {}
        if results.path is not None:
            try:
                record = read_trial_record(Path(results.path) / f"trial_{row['trial_id']}")
            except StoreError:  # damaged: neither a feasible nor an infeasible prior
                continue
            values.update((record or {}).get("config") or {})
        values.update(config_of(results, row["trial_id"]))
        feasible = rules.is_feasible(row["status"], row["objective"])
        priors.append((values, float(row["objective"]) if feasible else None))
    return priors
