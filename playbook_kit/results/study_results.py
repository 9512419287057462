"""Results layer: any study directory as tidy pandas DataFrames.

This module fixes the contract that the insight and decision layers read. They never
train and never look at files: they take a :class:`StudyResults`.

``trials`` (one row per trial)
    ``trial_id`` (str), ``study`` (str), ``status`` ("completed" | "infeasible" |
    "running" | "failed"), ``objective`` (float: validation objective at the best
    checkpoint, mean over the trial's runs; NaN when infeasible), ``objective_std``
    (float, std over runs; NaN for one run), ``n_runs`` (int), ``best_step`` (int or NA),
    ``final_objective`` (float: the objective at the last evaluation), ``seed`` (int, the
    first run's seed), ``duration_s`` (float), ``reason`` (str, empty when feasible),
    then one column per hyperparameter, named as the hyperparameter (NaN where a
    conditional hyperparameter is inactive).
``runs`` (one row per (trial, seed) run)
    ``trial_id``, ``seed``, ``status``, ``objective``, ``best_step``, ``final_objective``,
    ``duration_s``, ``reason``.
``curves`` (one row per trial, seed, step, split, metric)
    ``trial_id``, ``seed``, ``step`` (int), ``split`` ("train" | "validation" |
    "optimizer"), ``metric`` (str: "loss", "accuracy", ...; for split "optimizer":
    "learning_rate", "grad_norm_mean", "grad_norm_max", "clipped_fraction"),
    ``value`` (float).
``hyperparameters`` (one row per hyperparameter of the search space)
    ``name``, ``role`` ("scientific" | "nuisance" | "fixed" | "unknown"), ``scale``
    ("linear" | "log" | "integer" | "discrete" | "categorical"), ``low``, ``high``
    (floats, NaN for discrete/categorical), ``values`` (list or None), ``parent``
    (str or None), ``parent_values`` (list or None).
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import rules
from ..core.rules import COMPLETED, FINISHED_STATUSES, INFEASIBLE
from ..search.space import HYPERPARAMETER_COLUMNS
from ..studies.store import (
    ORACLE_FILE, STUDY_FILE, StoreError, find_study, read_interrupted, read_json,
    read_keras_tuner_trial, read_study_spec, read_trial, read_trial_record, trial_dirs,
)

TRIAL_COLUMNS = [
    "trial_id", "study", "status", "objective", "objective_std", "n_runs", "best_step",
    "final_objective", "seed", "duration_s", "reason", "engine", "resumed_from",
]
RUN_COLUMNS = [
    "trial_id", "seed", "status", "objective", "best_step", "final_objective",
    "duration_s", "reason", "engine", "engine_reason", "resumed_from", "lost_steps",
    "states_written", "state_seconds",
]
CURVE_COLUMNS = ["trial_id", "seed", "step", "split", "metric", "value"]


@dataclass
class StudyResults:
    """A loaded study: its tables plus what the objective is and which way is better.

    Attributes:
        name: the study's name.
        trials: one row per trial: ``trial_id``, ``status``, ``objective``, ``reason``,
            each hyperparameter, and more (``engine``, ``best_step``, ...).
        curves: ``trial_id``, ``step``, ``split``, ``metric``, ``value``.
        hyperparameters: the search space: name, role, scale, range or values.
        runs: one row per (trial, seed) run.
        objective: the metric optimized.
        direction: ``"max"`` or ``"min"``.
        max_train_steps: the study's fixed training length (None when unknown).
        path: the study's folder (None for results built in memory).

    Example::

        study = pk.load_study("runs/studies/depth")
        study.best_trials(3)[["trial_id", "objective", "depth", "learning_rate"]]
        study.feasible.shape, study.space
    """

    name: str
    trials: pd.DataFrame
    curves: pd.DataFrame
    hyperparameters: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RUN_COLUMNS))
    objective: str = "val_accuracy"
    direction: str = "max"
    max_train_steps: int | None = None
    path: str | None = None

    @property
    def hyperparameter_names(self) -> list[str]:
        return list(self.hyperparameters["name"])

    @property
    def space(self):
        """The study's :class:`~playbook_kit.search.SearchSpace` (roles, scales, ranges)."""
        if self.path is not None and (Path(self.path) / STUDY_FILE).exists():
            return read_study_spec(self.path, build=_spec_and_space)[1]
        raise ValueError(f"study {self.name!r} has no stored playbook-kit space; "
                         "see its `hyperparameters` table")

    @property
    def feasible(self) -> pd.DataFrame:
        """Completed trials with a finite objective
        (:func:`~playbook_kit.core.rules.feasible_mask`)."""
        return self.trials[rules.feasible_mask(self.trials)]

    @property
    def sign(self) -> float:
        """+1.0 when a higher objective is better, -1.0 when lower is (rules.sign)."""
        return rules.sign(self.direction)

    def better(self, a: float, b: float) -> bool:
        """True when objective value ``a`` is better than ``b`` in this study's direction."""
        return rules.better(a, b, self.direction)

    def best_value(self, values) -> float:
        """The best finite value of ``values`` in this study's direction."""
        return rules.best_value(values, self.direction)

    def best_so_far(self, values):
        """Running best of ``values`` in trial order
        (:func:`~playbook_kit.core.rules.best_so_far`)."""
        return rules.best_so_far(values, self.direction)

    def sort_best_first(self, frame: pd.DataFrame, column: str = "objective") -> pd.DataFrame:
        """``frame`` sorted best first by ``column`` in this study's direction."""
        return rules.sort_best_first(frame, self.direction, column)

    def best_trials(self, k: int | None = 1) -> pd.DataFrame:
        """The ``k`` best feasible trials, best first (all of them for ``k=None``)."""
        ranked = self.sort_best_first(self.feasible)
        return ranked if k is None else ranked.head(k)


# --- building the tables --------------------------------------------------------------

def _curve_frame(trial_id: str, curves) -> pd.DataFrame:
    frame = curves.copy()
    frame.insert(0, "trial_id", trial_id)
    return frame[CURVE_COLUMNS]


def _run_row(trial_id: str, run: dict) -> dict:
    row = {key: run.get(key) for key in RUN_COLUMNS}
    row["trial_id"] = trial_id
    row["engine"] = run.get("engine", "compiled")  # studies stored before the fit engine
    row["engine_reason"] = run.get("engine_reason", "")
    row["resumed_from"] = ", ".join(str(s) for s in run.get("resumed_from") or [])
    row["lost_steps"] = int(run.get("lost_steps") or 0)
    row["states_written"] = int(run.get("states_written") or 0)
    row["state_seconds"] = float(run.get("state_seconds") or 0.0)
    row["objective"] = _float(run.get("objective"))
    row["final_objective"] = _float(run.get("final_objective"))
    return row


def _float(value) -> float:
    return float("nan") if value is None else float(value)


def _trial_row(trial_id, study, status, runs: list[dict], values: dict, reason="") -> dict:
    objectives = [r["objective"] for r in runs if r["status"] == COMPLETED]
    feasible = status == COMPLETED and objectives
    row = {
        "trial_id": trial_id, "study": study, "status": status,
        "objective": float(np.mean(objectives)) if feasible else float("nan"),
        "objective_std": float(np.std(objectives, ddof=1)) if feasible and len(objectives) > 1
        else float("nan"),
        "n_runs": len(runs),
        "best_step": runs[0]["best_step"] if runs and runs[0]["best_step"] is not None else pd.NA,
        "final_objective": float(np.mean([r["final_objective"] for r in runs]))
        if feasible else float("nan"),
        "seed": runs[0]["seed"] if runs else pd.NA,
        "duration_s": float(sum(r["duration_s"] or 0.0 for r in runs)),
        "reason": reason,
        "engine": runs[0].get("engine", "compiled") if runs else pd.NA,
        "resumed_from": "; ".join(", ".join(str(s) for s in r["resumed_from"])
                                  for r in runs if r.get("resumed_from")),
    }
    row.update(values)
    return row


def _frames(rows, runs, curves):
    trials = pd.DataFrame(rows)
    for column in TRIAL_COLUMNS:
        if column not in trials:
            trials[column] = pd.Series(dtype="float64")
    extra = [c for c in trials.columns if c not in TRIAL_COLUMNS]
    trials = trials[TRIAL_COLUMNS + extra]
    trials["best_step"] = trials["best_step"].astype("Int64")
    trials["seed"] = trials["seed"].astype("Int64")
    runs = pd.DataFrame(runs, columns=RUN_COLUMNS)
    curves = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=CURVE_COLUMNS)
    return trials, runs, curves


def _infer_hyperparameters(trials: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Role ``unknown``; scale from the values (log when positive and spanning > 30x)."""
    rows = []
    for name in names:
        values = trials[name].dropna()
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if numeric and values.nunique() > 1:
            low, high = float(values.min()), float(values.max())
            integer = bool(np.all(np.equal(np.mod(values, 1), 0)))
            scale = "log" if low > 0 and high / low > 30 else ("integer" if integer else "linear")
            if integer and values.nunique() <= 6:
                rows.append([name, "unknown", "discrete", np.nan, np.nan,
                             sorted(values.unique().tolist()), None, None])
                continue
            rows.append([name, "unknown", scale, low, high, None, None, None])
        else:
            rows.append([name, "unknown", "categorical", np.nan, np.nan,
                         sorted(values.astype(str).unique().tolist()), None, None])
    return pd.DataFrame(rows, columns=HYPERPARAMETER_COLUMNS)


def as_study(results, name: str = "trials", space=None) -> StudyResults:
    """Trial results (a list, or a dict of trial id -> result or list of seeded results)
    as a :class:`StudyResults`, so every insight function works on them.

    Args:
        results: :class:`TrialResult` objects: a list, or a dict of trial id to a result
            or a list of seeded results.
        name: the study's name.
        space: the :class:`SearchSpace` they were sampled from (roles, ranges), or None.

    Returns:
        StudyResults: the results as a study.

    Raises:
        ValueError: ``results`` is empty.

    Example::

        results = [pk.train_trial(workload, {"learning_rate": lr}) for lr in (1e-3, 3e-3, 1e-2)]
        pk.plot_axis(pk.as_study(results, "lr_scan"), "learning_rate")
    """
    if not isinstance(results, dict):
        results = {f"{i:02d}": r for i, r in enumerate(results)}
    rows, runs, curves = [], [], []
    configs = {}
    first = None
    for trial_id, group in results.items():
        group = group if isinstance(group, (list, tuple)) else [group]
        first = first or group[0]
        run_dicts = [r.to_dict() for r in group]
        status = COMPLETED if all(r.feasible for r in group) else INFEASIBLE
        reason = next((r.reason for r in group if not r.feasible), "")
        configs[trial_id] = group[0].config
        rows.append(_trial_row(trial_id, name, status, run_dicts, {}, reason))
        runs.extend(_run_row(trial_id, d) for d in run_dicts)
        curves.extend(_curve_frame(trial_id, r.curves.assign(seed=r.seed)) for r in group)
    if first is None:
        raise ValueError("results is empty; give at least one trial result")
    if space is not None:
        names = space.names
    else:
        keys = sorted({k for c in configs.values() for k in c})
        names = [k for k in keys
                 if len({json.dumps(c.get(k), default=str) for c in configs.values()}) > 1]
    for row in rows:
        row.update({k: configs[row["trial_id"]].get(k) for k in names})
    trials, runs, curves = _frames(rows, runs, curves)
    hyperparameters = space.to_frame() if space is not None \
        else _infer_hyperparameters(trials, names)
    return StudyResults(name, trials, curves, hyperparameters, runs, first.objective_name,
                        first.direction, first.max_train_steps)


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


def _spec_and_space(spec: dict):
    """A stored spec and its search space, the objective checked (a hand-edited spec
    fails here, not halfway through loading)."""
    from ..workload.objectives import objective_direction
    from ..search.space import SearchSpace

    objective_direction(spec["objective"], (spec.get("parts") or {}).get("direction"))
    return spec, SearchSpace.from_dict(spec["space"])


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


def best_of(studies, where: dict | None = None) -> tuple[StudyResults, pd.Series]:
    """The study and trial row with the best objective over several studies, among the
    feasible trials whose hyperparameters match ``where`` (e.g. the adopted depth; a
    study without that column matches only when ``where`` pins one of its fixed values).

    Args:
        studies: studies' results (a list), or one.
        where: ``{hyperparameter: value}`` a trial must match; None: any feasible trial.

    Returns:
        tuple: the :class:`StudyResults` holding the best trial, and its row of
        ``trials``.

    Raises:
        ValueError: no studies, studies of opposite directions, or no feasible trial
            matches ``where``.

    Example::

        study, row = pk.best_of([exploration, wider], where={"depth": 2})
    """
    studies = [studies] if isinstance(studies, StudyResults) else list(studies)
    if not studies:
        raise ValueError("studies is empty; give at least one StudyResults")
    directions = {s.direction for s in studies}
    if len(directions) > 1:
        raise ValueError(f"studies mix objective directions {sorted(directions)}")
    best = None
    for study in studies:
        trials = study.feasible
        for name, value in (where or {}).items():
            if name in trials:
                trials = trials[trials[name] == value]
            else:
                try:
                    fixed = study.space.fixed_values
                except ValueError:
                    fixed = {}
                if fixed.get(name) != value:
                    trials = trials.iloc[0:0]
        for _, row in trials.iterrows():
            if best is None or study.better(row["objective"], best[1]["objective"]):
                best = (study, row)
    if best is None:
        raise ValueError(f"no feasible trial matches where={where!r} in studies "
                         f"{[s.name for s in studies]}")
    return best


def config_of(study: StudyResults, trial_id) -> dict:
    """A trial's hyperparameter values (inactive conditional ones left out).

    Args:
        study: a study's results.
        trial_id: one of its trials.

    Returns:
        dict: hyperparameter name to value.

    Raises:
        ValueError: ``trial_id`` is not a trial of the study.

    Example::

        pk.config_of(study, study.best_trials(1)["trial_id"].iloc[0])
    """
    rows = study.trials[study.trials["trial_id"].astype(str) == str(trial_id)]
    if rows.empty:
        known = list(study.trials["trial_id"].astype(str))
        raise ValueError(f"trial_id={trial_id!r} is not a trial of study {study.name!r}; "
                         f"trials are {known[:20]}")
    row = rows.iloc[0]
    return {name: (row[name].item() if hasattr(row[name], "item") else row[name])
            for name in study.hyperparameter_names
            if name in row.index and not _missing(row[name])}


def config_table(config, space=None) -> pd.DataFrame:
    """A config as a table a learner reads, not as a JSON string: one row per
    hyperparameter with its ``value`` and its ``role``, the tuned ones first.

    ``config``: a dict (a trial's full config, ``final_evaluation(...)["config"]``, or
    :func:`config_of`) or its JSON text (the tracking sheet's ``config`` column).
    ``space``: a :class:`~playbook_kit.search.SearchSpace` or a :class:`StudyResults`,
    whose search space gives the roles. A hyperparameter it declares takes its role there
    (scientific, nuisance, fixed); any other is "fixed (default)": the workload's or the
    toolkit's default, fixed like every hyperparameter a round does not tune. Without
    ``space`` every row is "fixed" (one config trains with all of them fixed). Columns:
    hyperparameter, value, role.

    Args:
        config: a config dict, or its JSON text.
        space: a :class:`SearchSpace` or :class:`StudyResults` that gives the roles.

    Returns:
        pandas.DataFrame: ``hyperparameter``, ``value``, ``role``.

    Raises:
        ValueError: ``config`` is neither a dict nor JSON of one, or ``space`` is neither
            kind.

    Example::

        pk.config_table(pk.config_of(study, "05"), study)
    """
    given = config
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            pass
    if not isinstance(config, dict):
        raise ValueError(f"config={given!r:.80} is not allowed; pass a dict of "
                         "hyperparameter values or its JSON text")
    if space is None:
        roles, other = {}, "fixed"
    else:
        declared = space.hyperparameters if isinstance(space, StudyResults) else (
            space.to_frame() if hasattr(space, "to_frame") else None)
        if declared is None or not {"name", "role"} <= set(declared.columns):
            raise ValueError(f"space={type(space).__name__} is not allowed; pass a "
                             "SearchSpace, a StudyResults or None")
        roles, other = dict(zip(declared["name"], declared["role"])), "fixed (default)"
    order = {"scientific": 0, "nuisance": 1, "fixed": 2}
    rows = sorted(({"hyperparameter": name, "value": value, "role": roles.get(name, other)}
                   for name, value in config.items()),
                  key=lambda row: order.get(row["role"], 3))
    return pd.DataFrame(rows, columns=["hyperparameter", "value", "role"])


def _missing(value) -> bool:
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


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
        raise ValueError(f"warm_start={results.path or results.name!r} is not allowed: that "
                         f"study's objective is {results.objective!r}, this one's "
                         f"{objective!r}")
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
