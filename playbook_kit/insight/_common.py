"""What every insight question shares: argument checks, trial masks, the best-trial set
and hyperparameters on their own scale.

The questions themselves live in :mod:`.axes`, :mod:`.boundaries`, :mod:`.isolation`,
:mod:`.curves` and :mod:`.sampling`; each reads a
:class:`~playbook_kit.results.study_results.StudyResults` and returns a DataFrame or a
figure; nothing trains. The playbook gives few numbers for these checks; every threshold that is the
toolkit's choice (not the playbook's) says so, and each one is an argument so that a
user can change it.

Shared vocabulary:

* *finished* trials: status "completed", "infeasible" or "failed" ("running" ones are
  left out everywhere).
* *feasible* trials: completed with a finite objective (``StudyResults.feasible``);
  *infeasible*: status "infeasible", or completed without an objective.
* *best trials* of a study (:func:`best_set_size`, toolkit's rule): the top
  ``top_fraction`` (10%) of the feasible trials, never fewer than 3 (all of them when
  fewer than 3 are feasible).
* a hyperparameter's *own scale*: log10 of the value for scale "log", the value itself
  for "linear"/"integer", the position in the sorted list for numeric "discrete" ones.

Hyperparameters are :class:`playbook_kit.search.space.Hyperparameter` (the search
space's own class); one read back from a study may have role "unknown" and no bounds
(``low``/``high`` None) when the study does not record them.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from ..core import rules
from ..core.rules import FINISHED_STATUSES, feasible_mask, finished_mask, fmt, infeasible_mask
from ..core.validation import check_fraction
from ..results.study_results import (CURVE_COLUMNS, HYPERPARAMETER_COLUMNS, RUN_COLUMNS,
                                     TRIAL_COLUMNS, StudyResults)
from ..search.space import Hyperparameter

__all__ = ["FINISHED_STATUSES", "check_fraction", "feasible_mask", "finished_mask", "fmt",
           "infeasible_mask"]
NUMERIC_SCALES = ("linear", "log", "integer")
STRIP_SCALES = ("discrete", "categorical")

MIN_BEST = 3
"""Toolkit's choice: the best-trial set has at least this many trials (when available)."""

# --------------------------------------------------------------------------- helpers
_OPTIONAL_TRIAL_COLUMNS = {"objective_std": float("nan"), "n_runs": 1, "best_step": pd.NA,
                           "reason": ""}


def _check_study(study, argument: str = "study") -> StudyResults:
    """Validate ``study`` and return it with a float ``objective`` column and the
    optional trial columns filled in (a shallow copy when anything had to change)."""
    if not isinstance(study, StudyResults):
        raise ValueError(
            f"{argument} must be a StudyResults, got {type(study).__name__}")
    rules.check_direction(study.direction, f"{argument}.direction")
    trials = study.trials
    missing = [c for c in ("trial_id", "status", "objective") if c not in trials.columns]
    if missing:
        raise ValueError(f"{argument}.trials lacks the column(s) {missing} of the results "
                         "contract (playbook_kit.results.study_results)")
    changes = {c: v for c, v in _OPTIONAL_TRIAL_COLUMNS.items() if c not in trials.columns}
    if "study" not in trials.columns:
        changes["study"] = study.name
    for column in ("objective", "objective_std"):
        if column in trials.columns and (trials[column].dtype != np.float64
                                         or np.isinf(trials[column]).any()):
            values = pd.to_numeric(trials[column], errors="coerce").astype(float)
            changes[column] = values.where(np.isfinite(values))   # inf: diverged, no value
    if trials["trial_id"].map(type).ne(str).any():
        changes["trial_id"] = trials["trial_id"].astype(str)
    tables = {}
    for attribute, columns in (("hyperparameters", HYPERPARAMETER_COLUMNS),
                               ("curves", CURVE_COLUMNS), ("runs", RUN_COLUMNS)):
        table = getattr(study, attribute)
        if table is None or not {"name", "trial_id"} & set(table.columns):
            tables[attribute] = pd.DataFrame(columns=columns)     # absent: empty table
    if not changes and not tables:
        return study
    return replace(study, trials=trials.assign(**changes), **tables)


def _as_studies(study_or_studies, argument: str = "study") -> list[StudyResults]:
    """One study or a non-empty list of studies that share objective and direction."""
    if isinstance(study_or_studies, StudyResults):
        return [_check_study(study_or_studies, argument)]
    if isinstance(study_or_studies, (list, tuple)) and len(study_or_studies) > 0:
        studies = [_check_study(s, f"{argument}[{i}]")
                   for i, s in enumerate(study_or_studies)]
        first = studies[0]
        for s in studies[1:]:
            if (s.objective, s.direction) != (first.objective, first.direction):
                raise ValueError(
                    f"{argument}: studies must share objective and direction; "
                    f"{first.name!r} has ({first.objective!r}, {first.direction!r}) and "
                    f"{s.name!r} has ({s.objective!r}, {s.direction!r})")
        return studies
    raise ValueError(
        f"{argument} must be a StudyResults or a non-empty list of StudyResults, "
        f"got {study_or_studies!r:.80}")


def _as_float(x) -> float:
    """float(x), NaN for NA, None or text."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def best_set_size(n_feasible: int, top_fraction: float = 0.1) -> int:
    """How many trials count as "the best" (toolkit's rule, the playbook gives none).

    The top ``top_fraction`` of the feasible trials, rounded up, but at least
    ``MIN_BEST`` (3) so that one lucky trial does not decide, or all of them when fewer
    than 3 are feasible.
    """
    if n_feasible <= 0:
        return 0
    return min(n_feasible, max(math.ceil(top_fraction * n_feasible), MIN_BEST))


def _sorted_best(trials: pd.DataFrame, direction: str) -> pd.DataFrame:
    return rules.sort_best_first(trials[feasible_mask(trials)], direction)


def _pct(x: float) -> str:
    """A fraction as a short percentage for reasons ("5%", "0.4%")."""
    return f"{x:.0%}" if abs(x) >= 0.01 or x == 0 else f"{x:.1%}"


def _listlike(v):
    if isinstance(v, (list, tuple, np.ndarray, pd.Series)):
        return tuple(v)
    return None


def _bound(x) -> float | None:
    """A finite bound, or None (the search space's "no bound")."""
    x = _as_float(x)
    return x if math.isfinite(x) else None


def numeric_values(hp: Hyperparameter) -> list[float] | None:
    """Sorted values of a discrete hyperparameter whose values are all numbers."""
    if hp.scale != "discrete" or not hp.values:
        return None
    if not all(isinstance(v, (int, float, np.integer, np.floating))
               and not isinstance(v, bool) for v in hp.values):
        return None
    return sorted(float(v) for v in hp.values)


def is_numeric(hp: Hyperparameter) -> bool:
    """Has an order and edges: linear, log, integer, or discrete numbers."""
    return hp.scale in NUMERIC_SCALES or numeric_values(hp) is not None


def is_strip(hp: Hyperparameter) -> bool:
    """Drawn as a jittered strip: discrete or categorical values."""
    return hp.scale in STRIP_SCALES


def hyperparameter(study: StudyResults, name: str) -> Hyperparameter:
    """The hyperparameter ``name`` of ``study``; inferred from the trials column when the
    search-space table does not list it."""
    hp = study.hyperparameters
    if name in set(hp["name"]) and name in study.trials.columns:
        row = hp[hp["name"] == name].iloc[0]
        scale = row.get("scale")
        scale = scale if isinstance(scale, str) and scale else "linear"
        role = row.get("role")
        low, high = _bound(row.get("low")), _bound(row.get("high"))
        if scale == "log" and not ((low is None or low > 0) and (high is None or high > 0)):
            scale = "linear"
        return Hyperparameter(name, role if isinstance(role, str) else "unknown", scale,
                              low, high, _listlike(row.get("values")))
    columns = [c for c in study.trials.columns if c not in TRIAL_COLUMNS]
    if name in columns:
        values = study.trials[name].dropna()
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        return Hyperparameter(name, "unknown", "linear" if numeric else "categorical")
    allowed = sorted((set(hp["name"]) & set(study.trials.columns)) | set(columns))
    raise ValueError(
        f"name {name!r} is not a hyperparameter of study {study.name!r}; allowed: {allowed}")


def varied_hyperparameters(studies) -> list[str]:
    """Hyperparameters that took more than one value among the finished trials of the
    given studies, scientific first, then nuisance, then the others (search-space order)."""
    studies = _as_studies(studies)
    names: list[str] = []
    roles: dict[str, str] = {}
    for s in studies:
        for _, row in s.hyperparameters.iterrows():
            if row["name"] not in roles and row["name"] in s.trials.columns:
                names.append(row["name"])
                roles[row["name"]] = row.get("role", "unknown")
        for column in s.trials.columns:     # the contract: every other column is one
            if column not in TRIAL_COLUMNS and column not in roles:
                names.append(column)
                roles[column] = "unknown"
    varied = []
    for name in names:
        parts = [s.trials.loc[finished_mask(s.trials), name] for s in studies
                 if name in s.trials.columns]
        values = pd.concat(parts).dropna() if parts else pd.Series(dtype=float)
        if values.astype(str).nunique() > 1:
            varied.append(name)
    order = {"scientific": 0, "nuisance": 1}
    return sorted(varied, key=lambda n: order.get(roles[n], 2))


def own_scale(values, hp: Hyperparameter) -> np.ndarray:
    """Values in the hyperparameter's own scale (log10 for log, index for discrete)."""
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    if hp.scale == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(x > 0, np.log10(np.where(x > 0, x, 1.0)), np.nan)
    grid = numeric_values(hp)
    if grid is not None:
        out = np.full(x.shape, np.nan)
        for i, g in enumerate(grid):
            out[np.isclose(x, g, rtol=1e-9, atol=0.0)] = i
        return out
    return x


def search_range(hp: Hyperparameter, observed) -> tuple[float, float, str]:
    """(low, high, source) in raw units: the search space's bounds, else the observed
    extremes (source "sampled")."""
    grid = numeric_values(hp)
    if grid is not None:
        return grid[0], grid[-1], "search space"
    if (hp.low is not None and hp.high is not None and np.isfinite(hp.low)
            and np.isfinite(hp.high) and hp.high > hp.low):
        return hp.low, hp.high, "search space"
    x = pd.to_numeric(pd.Series(observed), errors="coerce").dropna()
    if hp.scale == "log":
        x = x[x > 0]
    if x.empty:
        return float("nan"), float("nan"), "none"
    return float(x.min()), float(x.max()), "sampled"


