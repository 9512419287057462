"""Results layer: any study directory as tidy pandas DataFrames.

This module fixes the contract that the insight and decision layers read. They never
train and never look at files: they take a :class:`StudyResults`, which
:func:`~playbook_kit.results.loading.load_study` reads from a study directory and
:func:`as_study` builds from trial results in memory.

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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import rules
from ..core.rules import COMPLETED, INFEASIBLE
from ..core.validation import not_allowed, shown_as
from ..search.space import HYPERPARAMETER_COLUMNS
from ..studies.store import STUDY_FILE, read_study_spec

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


def _spec_and_space(spec: dict):
    """A stored spec and its search space, the objective checked (a hand-edited spec
    fails here, not halfway through loading)."""
    from ..workload.objectives import objective_direction
    from ..search.space import SearchSpace

    objective_direction(spec["objective"], (spec.get("parts") or {}).get("direction"))
    return spec, SearchSpace.from_dict(spec["space"])


def best_trial(studies, where: dict | None = None) -> tuple[StudyResults, pd.Series]:
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

        study, row = pk.best_trial([exploration, wider], where={"depth": 2})
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
        raise not_allowed("config", shown_as(f"{given!r:.80}"), "pass a dict of "
                          "hyperparameter values or its JSON text")
    if space is None:
        roles, other = {}, "fixed"
    else:
        declared = space.hyperparameters if isinstance(space, StudyResults) else (
            space.to_frame() if hasattr(space, "to_frame") else None)
        if declared is None or not {"name", "role"} <= set(declared.columns):
            raise not_allowed("space", shown_as(type(space).__name__), "pass a SearchSpace, "
                              "a StudyResults or None")
        roles, other = dict(zip(declared["name"], declared["role"])), "fixed (default)"
    order = {"scientific": 0, "nuisance": 1, "fixed": 2}
    rows = sorted(({"hyperparameter": name, "value": value, "role": roles.get(name, other)}
                   for name, value in config.items()),
                  key=lambda row: order.get(row["role"], 3))
    return pd.DataFrame(rows, columns=["hyperparameter", "value", "role"])


def _missing(value) -> bool:
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))
