"""Playbook section 4 as checks on a study's DataFrames: boundaries, curves, sampling.

Everything here reads a :class:`~playbook_kit.results.StudyResults` and returns a
DataFrame; nothing trains. The playbook gives few numbers for these checks; every
threshold below that is the toolkit's choice (not the playbook's) says so, and each one
is an argument so that a user can change it.

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..results import (CURVE_COLUMNS, HYPERPARAMETER_COLUMNS, RUN_COLUMNS, TRIAL_COLUMNS,
                       StudyResults)

FINISHED_STATUSES = ("completed", "infeasible", "failed")
NUMERIC_SCALES = ("linear", "log", "integer")
STRIP_SCALES = ("discrete", "categorical")

MIN_BEST = 3
"""Toolkit's choice: the best-trial set has at least this many trials (when available)."""
MIN_INFEASIBLE_BEYOND = 2
"""Toolkit's choice: instability needs at least this many infeasible trials beyond the
last feasible value, so that one unlucky divergence does not trigger it."""
UNIT_INTERVAL_HINTS = ("one_minus_", "momentum", "beta", "dropout", "label_smoothing")
"""Toolkit's choice: names containing one of these, with a range inside [0, 1], are
probabilities or averaging factors; suggested ranges for them stay inside [0, 1)."""
UNIT_INTERVAL_MAX = 0.999
"""Upper end used for "[0, 1)" when a suggested range is clamped."""


# --------------------------------------------------------------------------- helpers
_OPTIONAL_TRIAL_COLUMNS = {"objective_std": float("nan"), "n_runs": 1, "best_step": pd.NA,
                           "reason": ""}


def _check_study(study, argument: str = "study") -> StudyResults:
    """Validate ``study`` and return it with a float ``objective`` column and the
    optional trial columns filled in (a shallow copy when anything had to change)."""
    if not isinstance(study, StudyResults):
        raise ValueError(
            f"{argument} must be a StudyResults, got {type(study).__name__}")
    if study.direction not in ("max", "min"):
        raise ValueError(
            f"{argument}.direction must be 'max' or 'min', got {study.direction!r}")
    trials = study.trials
    missing = [c for c in ("trial_id", "status", "objective") if c not in trials.columns]
    if missing:
        raise ValueError(f"{argument}.trials lacks the column(s) {missing} of the results "
                         "contract (playbook_kit.results)")
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


def _fraction(value, argument: str, allow_one: bool = True, allow_zero: bool = False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (
        (value >= 0 if allow_zero else value > 0) and (value <= 1 if allow_one else value < 1))
    if not ok:
        bounds = ("[0" if allow_zero else "(0") + ", " + ("1]" if allow_one else "1)")
        raise ValueError(f"{argument} must be a number in {bounds}, got {value!r}")
    return float(value)


def _fmt(x) -> str:
    """Short number for reasons and labels."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.3g}"


def _as_float(x) -> float:
    """float(x), NaN for NA, None or text."""
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def feasible_mask(trials: pd.DataFrame) -> pd.Series:
    """Completed trials with a finite objective."""
    return (trials["status"] == "completed") & np.isfinite(
        pd.to_numeric(trials["objective"], errors="coerce").astype(float))


def infeasible_mask(trials: pd.DataFrame) -> pd.Series:
    """Trials marked infeasible, or completed without a usable objective."""
    return (trials["status"] == "infeasible") | (
        (trials["status"] == "completed") & ~feasible_mask(trials))


def finished_mask(trials: pd.DataFrame) -> pd.Series:
    return trials["status"].isin(FINISHED_STATUSES)


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
    return trials[feasible_mask(trials)].sort_values(
        "objective", ascending=direction == "min", kind="stable")


@dataclass(frozen=True)
class Hyperparameter:
    """One search-space dimension as the insight layer needs it."""

    name: str
    role: str = "unknown"
    scale: str = "linear"
    low: float = float("nan")
    high: float = float("nan")
    values: tuple | None = None

    @property
    def is_strip(self) -> bool:
        """Drawn as a jittered strip: discrete or categorical values."""
        return self.scale in STRIP_SCALES

    @property
    def numeric_values(self) -> list[float] | None:
        """Sorted values of a discrete hyperparameter whose values are all numbers."""
        if self.values is None or len(self.values) == 0:
            return None
        if not all(isinstance(v, (int, float, np.integer, np.floating))
                   and not isinstance(v, bool) for v in self.values):
            return None
        return sorted(float(v) for v in self.values)

    @property
    def is_numeric(self) -> bool:
        """Has an order and edges: linear, log, integer, or discrete numbers."""
        return self.scale in NUMERIC_SCALES or (
            self.scale == "discrete" and self.numeric_values is not None)


def _listlike(v):
    if isinstance(v, (list, tuple, np.ndarray, pd.Series)):
        return tuple(v)
    return None


def hyperparameter(study: StudyResults, name: str) -> Hyperparameter:
    """The hyperparameter ``name`` of ``study``; inferred from the trials column when the
    search-space table does not list it."""
    hp = study.hyperparameters
    if name in set(hp["name"]) and name in study.trials.columns:
        row = hp[hp["name"] == name].iloc[0]
        scale = row.get("scale")
        scale = scale if isinstance(scale, str) and scale else "linear"
        role = row.get("role")
        info = Hyperparameter(name, role if isinstance(role, str) else "unknown", scale,
                              _as_float(row.get("low")), _as_float(row.get("high")),
                              _listlike(row.get("values")))
        if info.scale == "log" and not (
                (np.isnan(info.low) or info.low > 0) and (np.isnan(info.high) or info.high > 0)):
            info = Hyperparameter(name, info.role, "linear", info.low, info.high, info.values)
        return info
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
    grid = hp.numeric_values if hp.scale == "discrete" else None
    if grid is not None:
        out = np.full(x.shape, np.nan)
        for i, g in enumerate(grid):
            out[np.isclose(x, g, rtol=1e-9, atol=0.0)] = i
        return out
    return x


def search_range(hp: Hyperparameter, observed) -> tuple[float, float, str]:
    """(low, high, source) in raw units: the search space's bounds, else the observed
    extremes (source "sampled")."""
    grid = hp.numeric_values if hp.scale == "discrete" else None
    if grid is not None:
        return grid[0], grid[-1], "search space"
    if np.isfinite(hp.low) and np.isfinite(hp.high) and hp.high > hp.low:
        return hp.low, hp.high, "search space"
    x = pd.to_numeric(pd.Series(observed), errors="coerce").dropna()
    if hp.scale == "log":
        x = x[x > 0]
    if x.empty:
        return float("nan"), float("nan"), "none"
    return float(x.min()), float(x.max()), "sampled"


# ------------------------------------------------------------------ boundary check
BOUNDARY_COLUMNS = [
    "name", "role", "scale", "low", "high", "range_source", "n_trials", "n_feasible",
    "n_best", "n_best_near_low", "n_best_near_high", "best_value", "edge",
    "suggested_low", "suggested_high", "instability", "unstable_beyond",
    "n_infeasible_beyond", "status", "reason", "action",
]


def _extend(hp: Hyperparameter, low: float, high: float, side: str) -> tuple[float, float]:
    """Suggested (low, high) after extending the range on ``side`` (toolkit's rule).

    log: one decade; linear/integer: half the range width; discrete: one more value
    continuing the list's last ratio (geometric lists) or step. Clamps: a range that
    is non-negative stays non-negative, an integer range starting at >= 1 stays >= 1,
    and names in ``UNIT_INTERVAL_HINTS`` with a range inside [0, 1] stay in [0, 1).
    """
    new_low, new_high = low, high
    grid = hp.numeric_values if hp.scale == "discrete" else None
    if grid is not None and len(grid) >= 2:
        a, b = (grid[1], grid[0]) if side == "low" else (grid[-2], grid[-1])
        if all(v > 0 for v in grid) and np.allclose(
                np.diff(np.log(grid)), math.log(grid[1] / grid[0]), rtol=1e-6):
            nxt = b * (b / a)
        else:
            nxt = b + (b - a)
        if all(float(v).is_integer() for v in grid):
            nxt = float(round(nxt))
        new_low, new_high = (nxt, high) if side == "low" else (low, nxt)
    elif hp.scale == "log":
        new_low, new_high = (low / 10.0, high) if side == "low" else (low, high * 10.0)
    else:
        width = 0.5 * (high - low)
        new_low, new_high = (low - width, high) if side == "low" else (low, high + width)
        if hp.scale == "integer":
            new_low, new_high = math.floor(new_low), math.ceil(new_high)
    if low >= 0:
        new_low = max(new_low, 0.0)
    if hp.scale == "integer" and low >= 1:
        new_low = max(new_low, 1.0)
    if any(h in hp.name.lower() for h in UNIT_INTERVAL_HINTS) and 0 <= low and high <= 1:
        new_high = min(new_high, max(high, UNIT_INTERVAL_MAX))
    return float(new_low), float(new_high)


def boundary_check(study: StudyResults, top_fraction: float = 0.1,
                   edge_fraction: float = 0.2) -> pd.DataFrame:
    """Are the best trials bunched at an edge of the search space? One row per varied
    numeric hyperparameter (columns ``BOUNDARY_COLUMNS``).

    Rules (the playbook gives no number; these are the toolkit's):

    * best trials: :func:`best_set_size` (top ``top_fraction`` of feasible trials, >= 3);
    * near an edge: within the outer ``edge_fraction`` (20%) of the range, measured in
      the hyperparameter's own scale (log10 for log); the range is the search space's
      ``low``/``high`` (the sampled extremes when the table has none). 20% rather than
      10% because at exploration budgets (10-30 quasi-random trials) only one or two
      points fall in the outer 10%, so a majority of the best set could never be there
      even when the objective rises all the way to the bound;
    * flagged (status "expand"): a strict majority of the best trials near one edge;
      the suggested range extends that side (see :func:`_extend`: a decade for log,
      half the width for linear, clamped at natural bounds); status "at bound" when
      the clamp leaves nothing to extend;
    * instability (status "instability", playbook section 4): every finished trial
      beyond some value v is infeasible (at least ``MIN_INFEASIBLE_BEYOND`` of them),
      where v is the last feasible value, and a strict majority of the best trials lie
      within ``edge_fraction`` of the range of v. Expanding does not help there; the
      action points to the stability recipes (warmup, gradient clipping).
    """
    study = _check_study(study)
    top_fraction = _fraction(top_fraction, "top_fraction")
    edge_fraction = _fraction(edge_fraction, "edge_fraction", allow_one=False)
    if edge_fraction >= 0.5:
        raise ValueError(f"edge_fraction must be below 0.5, got {edge_fraction!r}")
    trials = study.trials[finished_mask(study.trials)]
    rows = []
    for name in varied_hyperparameters(study):
        hp = hyperparameter(study, name)
        if not hp.is_numeric:
            continue
        rows.append(_boundary_row(study, trials, hp, top_fraction, edge_fraction))
    return pd.DataFrame(rows, columns=BOUNDARY_COLUMNS)


def _boundary_row(study, trials, hp, top_fraction, edge_fraction) -> dict:
    active = trials[trials[hp.name].notna()]
    low, high, source = search_range(hp, active[hp.name])
    row = dict(name=hp.name, role=hp.role, scale=hp.scale, low=low, high=high,
               range_source=source, n_trials=len(active), n_feasible=0, n_best=0,
               n_best_near_low=0, n_best_near_high=0, best_value=float("nan"),
               edge="none", suggested_low=low, suggested_high=high, instability="none",
               unstable_beyond=float("nan"), n_infeasible_beyond=0,
               status="not checked", reason="", action="")
    feasible = _sorted_best(active, study.direction)
    row["n_feasible"] = len(feasible)
    lo_s, hi_s = own_scale([low, high], hp)
    if not (np.isfinite(lo_s) and np.isfinite(hi_s) and hi_s > lo_s):
        row["reason"] = f"{hp.name}: no usable range (low={_fmt(low)}, high={_fmt(high)})"
        row["action"] = "give the search space finite bounds"
        return row
    if feasible.empty:
        row["reason"] = f"no feasible trial with {hp.name} active"
        row["action"] = "fix infeasibility first (see the infeasible fraction)"
        return row
    n_best = best_set_size(len(feasible), top_fraction)
    best = feasible.head(n_best)
    width = hi_s - lo_s
    u = (own_scale(best[hp.name], hp) - lo_s) / width
    near_low, near_high = int(np.sum(u <= edge_fraction)), int(np.sum(u >= 1 - edge_fraction))
    row.update(n_best=n_best, n_best_near_low=near_low, n_best_near_high=near_high,
               best_value=float(best[hp.name].iloc[0]))
    edge = "low" if near_low > n_best / 2 else "high" if near_high > n_best / 2 else "none"
    row["edge"] = edge

    # instability: everything beyond the last feasible value is infeasible
    x_all = own_scale(active[hp.name], hp)
    x_feas = own_scale(feasible[hp.name], hp)
    x_best = own_scale(best[hp.name], hp)
    infeasible = infeasible_mask(active).to_numpy()
    candidates = []
    for side, v, beyond in (("high", np.nanmax(x_feas), x_all > np.nanmax(x_feas)),
                            ("low", np.nanmin(x_feas), x_all < np.nanmin(x_feas))):
        n_beyond = int(np.sum(beyond & infeasible))
        near_v = int(np.sum(np.abs(x_best - v) <= edge_fraction * width))
        if n_beyond >= MIN_INFEASIBLE_BEYOND and near_v > n_best / 2:
            candidates.append((near_v, n_beyond, side))
    near_v = 0
    if candidates:
        near_v, n_beyond, side = max(candidates)
        v_raw = float((feasible[hp.name].max() if side == "high" else feasible[hp.name].min()))
        row.update(instability=side, unstable_beyond=v_raw, n_infeasible_beyond=n_beyond)

    scale_txt = f"{hp.scale} scale"
    reasons, actions = [], []
    if row["instability"] != "none":
        side = row["instability"]
        word = "above" if side == "high" else "below"
        reasons.append(
            f"all {row['n_infeasible_beyond']} finished trials with {hp.name} {word} "
            f"{_fmt(row['unstable_beyond'])} are infeasible and {near_v} of the {n_best} "
            f"best trials lie within {edge_fraction:.0%} of the range of that value")
        actions.append(
            f"suspect instability: the best {hp.name} is at the edge of stability; apply "
            "the stability recipes (learning-rate warmup, gradient clipping; playbook "
            f"section 8) so that values {word} {_fmt(row['unstable_beyond'])} train, "
            "instead of expanding the range there")
    if edge != "none" and edge != row["instability"]:
        k = near_low if edge == "low" else near_high
        new_low, new_high = _extend(hp, low, high, edge)
        reasons.append(
            f"{k} of the {n_best} best trials lie in the outer {edge_fraction:.0%} of the "
            f"range at the {edge} edge ([{_fmt(low)}, {_fmt(high)}], {scale_txt})")
        if (new_low, new_high) == (float(low), float(high)):
            bound = low if edge == "low" else high
            actions.append(f"the best trials sit at the natural bound {_fmt(bound)} of "
                           f"{hp.name}; there is nothing to extend")
            row["status"] = "at bound"
        else:
            row.update(suggested_low=new_low, suggested_high=new_high)
            if hp.scale == "discrete":
                added = new_low if edge == "low" else new_high
                actions.append(f"add {_fmt(added)} to the values of {hp.name} and rerun "
                               "until the best trials are not at an end of the list")
            else:
                actions.append(f"expand {hp.name} to [{_fmt(new_low)}, {_fmt(new_high)}] "
                               f"({scale_txt}) and rerun until the best trials are not "
                               "near a boundary")
            row["status"] = "expand"
    if row["instability"] != "none":
        row["status"] = "instability"
    if not reasons:
        reasons.append(
            f"{near_low} low / {near_high} high of the {n_best} best trials near an edge "
            f"(outer {edge_fraction:.0%} of [{_fmt(low)}, {_fmt(high)}], {scale_txt}): the "
            "best trials are inside the range")
        row["status"] = "ok"
    row["reason"] = "; ".join(reasons)
    row["action"] = "; ".join(actions)
    return row


# ---------------------------------------------------------------- curve diagnostics
CURVE_CHECKS = ("infeasible", "overfitting", "high_variance", "still_improving",
                "saturated", "best_step_early", "best_step_late", "training_loss_rising")
"""The checks of :func:`diagnose_curves`, in report order."""

CURVE_THRESHOLDS = {
    "early_fraction": 0.10,
    "late_fraction": 0.25,
    "best_tolerance": 0.01,
    "overfitting_tolerance": 0.05,
    "variance_threshold": 0.05,
    "tail_fraction": 0.25,
    "improving_window": 0.10,
    "improving_threshold": 0.01,
    "saturation_fraction": 0.50,
    "rising_tolerance": 0.10,
}
"""Defaults of :func:`diagnose_curves`. ``early_fraction`` (best checkpoint in the first
10% of training) and ``late_fraction`` (in the last 25%) are the playbook's numbers; all
others are the toolkit's choices (see :func:`diagnose_curves`)."""

DIAGNOSTIC_COLUMNS = ["trial_id", "check", "flagged", "value", "threshold", "reason"]


def resolve_thresholds(**overrides) -> dict:
    """``CURVE_THRESHOLDS`` with ``overrides`` applied; each must be a known name and a
    fraction in (0, 1]."""
    unknown = sorted(set(overrides) - set(CURVE_THRESHOLDS))
    if unknown:
        raise ValueError(f"unknown threshold(s) {unknown}; allowed: {sorted(CURVE_THRESHOLDS)}")
    return {**CURVE_THRESHOLDS,
            **{key: _fraction(value, key) for key, value in overrides.items()}}


def objective_curve(study: StudyResults) -> tuple[str, str, str]:
    """(split, metric, direction) of the curve that tracks the study's objective.

    "val_accuracy" -> ("validation", "accuracy", study.direction); an objective without
    the "val_" prefix is looked up in the validation split, then the train split. When
    the study has curves but not this one, validation loss (minimized) stands in.
    """
    obj = study.objective
    metric = obj[4:] if obj.startswith("val_") else obj
    if study.curves.empty:
        return "validation", metric, study.direction
    have = set(map(tuple, study.curves[["split", "metric"]].drop_duplicates().to_numpy()))
    splits = ("validation",) if obj.startswith("val_") else ("validation", "train")
    for split in splits:
        if (split, metric) in have:
            return split, metric, study.direction
    return "validation", "loss", "min"


def _mean_curves(curves: pd.DataFrame, split: str, metric: str) -> dict:
    """trial_id -> (steps, values) averaged over the trial's runs (seeds), finite only."""
    if curves.empty:
        return {}
    c = curves[(curves["split"] == split) & (curves["metric"] == metric)]
    out = {}
    if c.empty:
        return out
    c = c.assign(value=pd.to_numeric(c["value"], errors="coerce").astype(float))
    mean = c.groupby(["trial_id", "step"], sort=True)["value"].mean()
    for tid, series in mean.groupby(level=0, sort=False):
        steps = series.index.get_level_values(1).to_numpy(dtype=float)
        values = series.to_numpy(dtype=float)
        ok = np.isfinite(values)
        out[str(tid)] = (steps[ok], values[ok])
    return out


def _pct(x: float) -> str:
    """A fraction as a short percentage for reasons ("5%", "0.4%")."""
    return f"{x:.0%}" if abs(x) >= 0.01 or x == 0 else f"{x:.1%}"


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.ptp(x) == 0:
        return 0.0
    return float(np.polyfit(x, y, 1)[0])


def _curve_checks(steps, values, sign, total_steps, th, metric_name) -> dict:
    """check -> (flagged, value, threshold, reason) for one feasible trial's curve."""
    out = {}
    n = len(values)
    g = sign * values                      # higher is better
    first, best = g[0], np.max(g)
    i_best = int(np.argmax(g))
    frac = steps / total_steps
    span = best - first
    if span > 0:
        q = (g - first) / span             # 0 at the first evaluation, 1 at the best
        k = max(4, math.ceil(th["tail_fraction"] * n))
        tail = q[-k:]
        noise = float(np.std(np.diff(tail), ddof=1) / math.sqrt(2)) if n >= 4 else 0.0
        # a gap smaller than the evaluation noise cannot be told from noise
        i_eff = int(np.argmax(q >= 1 - max(th["best_tolerance"], noise)))
    else:
        q, i_eff, noise = None, i_best, 0.0
    eff = float(frac[i_eff])
    at = (f"best checkpoint (within {_pct(max(th['best_tolerance'], noise))} of the best "
          f"gain) at step {int(steps[i_eff])} = {_pct(eff)} of training")

    if q is None:
        reason = (f"validation {metric_name} never improved on its first evaluation: "
                  "shape checks need a gain")
        for check, t in (("overfitting", "overfitting_tolerance"),
                         ("high_variance", "variance_threshold"),
                         ("still_improving", "improving_threshold"),
                         ("saturated", "saturation_fraction")):
            out[check] = (pd.NA, float("nan"), th[t], reason)
    else:
        final = float(np.median(q[-3:]))
        smooth_best = float(np.max(np.median(
            np.lib.stride_tricks.sliding_window_view(q, 3), axis=1)))
        worse = smooth_best - final
        limit = max(th["overfitting_tolerance"], 3 * noise)
        overfit = worse > limit
        out["overfitting"] = (
            overfit, worse, th["overfitting_tolerance"],
            f"validation {metric_name} ends {_pct(worse)} of its total gain below its best "
            f"(3-point running medians; flag above {_pct(limit)})")
        if n >= 4:
            out["high_variance"] = (
                noise > th["variance_threshold"], noise, th["variance_threshold"],
                f"step-to-step noise over the last {len(tail)} evaluations is "
                f"{_pct(noise)} of the total gain (flag above {_pct(th['variance_threshold'])})")
        else:
            out["high_variance"] = (pd.NA, float("nan"), th["variance_threshold"],
                                    f"needs at least 4 evaluations, has {n}")
        window = frac >= 1 - th["improving_window"]
        if window.sum() < 3:
            window = np.arange(n) >= n - 3
        x = frac[window]
        gain = _slope(x, q[window]) * th["improving_window"]
        spread = float(np.sqrt(np.sum((x - x.mean()) ** 2)))
        standard_error = noise / spread * th["improving_window"] if spread > 0 else 0.0
        limit = max(th["improving_threshold"], 2 * standard_error)
        out["still_improving"] = (
            gain > limit, gain, th["improving_threshold"],
            f"at the end, validation {metric_name} gains {_pct(gain)} of its total gain per "
            f"{_pct(th['improving_window'])} of training (flag above {_pct(limit)})")
        sat = (not overfit) and th["early_fraction"] < eff <= th["saturation_fraction"]
        out["saturated"] = (
            sat, eff, th["saturation_fraction"],
            f"{at}; flag when that is before {_pct(th['saturation_fraction'])} (but after "
            f"{_pct(th['early_fraction'])}) and the curve does not worsen afterwards")
    out["best_step_early"] = (
        eff <= th["early_fraction"], eff, th["early_fraction"],
        f"{at}; flag in the first {_pct(th['early_fraction'])} (playbook)")
    out["best_step_late"] = (
        eff >= 1 - th["late_fraction"], eff, 1 - th["late_fraction"],
        f"{at}; flag in the last {_pct(th['late_fraction'])} (playbook)")
    return out


def _rising_check(steps, values, th) -> tuple:
    n = len(values)
    if n < 3:
        return (pd.NA, float("nan"), th["rising_tolerance"],
                f"training loss needs at least 3 evaluations, has {n}")
    first, low = values[0], float(np.min(values))
    final = float(np.median(values[-3:]))
    scale = first - low if first > low else (abs(low) if low != 0 else 1.0)
    rise = (final - low) / scale
    return (rise > th["rising_tolerance"], rise, th["rising_tolerance"],
            f"training loss ends {rise:.0%} of its total decrease above its minimum "
            f"(median of the last 3 evaluations; flag above {th['rising_tolerance']:.0%})")


def diagnose_curves(study: StudyResults, **thresholds) -> pd.DataFrame:
    """Training-curve checks for every trial: one row per (trial, check), columns
    ``DIAGNOSTIC_COLUMNS``; ``flagged`` is True/False, or NA when the check cannot run
    (the reason says why). Curves of a trial's several runs are averaged per step.

    The objective's curve (see :func:`objective_curve`) is normalized per trial to its
    *gain*: 0 at the first evaluation, 1 at its best. The *effective best step* is the
    first evaluation within ``best_tolerance`` (1%, toolkit) of the best gain, so that
    a flat plateau whose exact maximum falls late by noise does not read as "train
    longer". Fractions of training are step / ``max_train_steps`` (last step if unset).
    *Noise* is the std of step-to-step differences of the gain over the last
    ``tail_fraction`` (25%, toolkit) of evaluations (at least 4), divided by sqrt(2);
    on noisy curves the tolerances widen (best: to the noise; overfitting: to 3x the
    noise; still improving: to 2 standard errors of the slope), since smaller gaps cannot
    be told from noise (toolkit's choice).

    * ``infeasible``: status infeasible or failed (other checks are then NA);
    * ``overfitting``: the median of the last 3 evaluations is more than
      ``overfitting_tolerance`` (5%, toolkit) of the gain below the best 3-point running
      median; run on every trial, as the playbook asks;
    * ``high_variance``: the noise exceeds ``variance_threshold`` (5% of the gain,
      toolkit);
    * ``still_improving``: least-squares slope over the last ``improving_window`` (10%,
      toolkit; at least 3 evaluations) predicts more than ``improving_threshold`` (1% of
      the gain, toolkit) per further 10% of training. Always co-fires with
      ``best_step_late``, which it implies;
    * ``saturated``: effective best step after ``early_fraction`` and no later than
      ``saturation_fraction`` (50%, toolkit), and not overfitting. Below
      ``early_fraction`` the stronger ``best_step_early`` fires instead, so the two
      never co-fire;
    * ``best_step_early`` / ``best_step_late``: effective best step in the first
      ``early_fraction`` (10%) / last ``late_fraction`` (25%) of training (playbook);
    * ``training_loss_rising``: the training loss ends (median of last 3) more than
      ``rising_tolerance`` (10% of its total decrease, toolkit) above its minimum:
      likely a pipeline bug.

    So clean synthetic curves are flagged by exactly one rule: overfit ->
    overfitting; plateau by mid-training -> saturated; plateau from 5% ->
    best_step_early; rise until 90% then flat -> best_step_late; rising to the end ->
    still_improving + best_step_late.
    """
    study = _check_study(study)
    th = resolve_thresholds(**thresholds)
    split, metric, direction = objective_curve(study)
    sign = 1.0 if direction == "max" else -1.0
    objective_curves = _mean_curves(study.curves, split, metric)
    train_loss = _mean_curves(study.curves, "train", "loss")
    rows = []
    for _, trial in study.trials.iterrows():
        tid = str(trial["trial_id"])
        status = trial["status"]
        result: dict = {}
        objective = _as_float(trial["objective"])
        if status in ("infeasible", "failed") or (
                status == "completed" and not np.isfinite(objective)):
            why = trial.get("reason") if isinstance(trial.get("reason"), str) else ""
            result["infeasible"] = (True, float("nan"), float("nan"),
                                    f"trial is {status}" + (f": {why}" if why else ""))
            skip = f"not checked: trial is {status}"
        elif status != "completed":
            result["infeasible"] = (pd.NA, float("nan"), float("nan"), f"trial is {status}")
            skip = f"not checked: trial is {status}"
        else:
            result["infeasible"] = (False, float("nan"), float("nan"), "trial completed")
            skip = None
        if skip is None:
            steps, values = objective_curves.get(tid, (np.array([]), np.array([])))
            if len(values) >= 3:
                total = float(study.max_train_steps or steps[-1]) or 1.0
                result.update(_curve_checks(steps, values, sign, total, th, metric))
            elif study.curves.empty:
                skip = "no training curves recorded for this study"
            else:
                skip = (f"no {split} {metric} curve recorded" if len(values) == 0 else
                        f"{split} {metric} curve has {len(values)} evaluations, needs 3")
            if tid in train_loss:
                result["training_loss_rising"] = _rising_check(*train_loss[tid], th)
            else:
                result["training_loss_rising"] = (pd.NA, float("nan"), th["rising_tolerance"],
                                                  "no train loss curve recorded")
        for check in CURVE_CHECKS:
            flagged, value, threshold, reason = result.get(
                check, (pd.NA, float("nan"), float("nan"), skip))
            rows.append(dict(trial_id=tid, check=check, flagged=flagged, value=value,
                             threshold=threshold, reason=f"{check}: {reason}"))
    table = pd.DataFrame(rows, columns=DIAGNOSTIC_COLUMNS)
    table["flagged"] = table["flagged"].astype("boolean")
    table["value"] = table["value"].astype(float)
    table["threshold"] = table["threshold"].astype(float)
    return table


def flagged_checks(diagnostics: pd.DataFrame) -> dict[str, list[str]]:
    """trial_id -> checks flagged for it (in ``CURVE_CHECKS`` order), from
    :func:`diagnose_curves`'s table; trials with no flag map to []."""
    missing = set(DIAGNOSTIC_COLUMNS) - set(diagnostics.columns)
    if missing:
        raise ValueError(f"diagnostics must be diagnose_curves' table; missing {sorted(missing)}")
    out: dict[str, list[str]] = {}
    for tid, group in diagnostics.groupby("trial_id", sort=False):
        flags = set(group.loc[group["flagged"].fillna(False).astype(bool), "check"])
        out[str(tid)] = [c for c in CURVE_CHECKS if c in flags]
    return out


# -------------------------------------------------------------- sampling sufficiency
def default_budgets(n_trials: int) -> list[int]:
    """1, 2, 3, 5, 10, 20, 50, ... below the study's size, then the size itself."""
    ladder = [1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
    return [b for b in ladder if b < n_trials] + [n_trials]


def best_of_n(study: StudyResults, budgets=None, n_boot: int = 1000,
              seed: int = 0) -> pd.DataFrame:
    """Bootstrap of "best objective found by a study of n trials" for each budget n.

    Draws n of the study's finished trials with replacement, ``n_boot`` times per
    budget; infeasible and failed trials are drawn like any other and simply fail
    (a draw of only failures has NaN as its best). This is the playbook's figure for
    judging whether a study sampled enough: a wide spread at the study's own size means
    another study of the same size could well have found a different best.
    Columns: ``budget``, ``draw``, ``best_objective``.
    """
    study = _check_study(study)
    if not isinstance(n_boot, (int, np.integer)) or isinstance(n_boot, bool) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    trials = study.trials[finished_mask(study.trials)]
    n_trials = len(trials)
    if n_trials == 0:
        raise ValueError(f"study {study.name!r} has no finished trial to bootstrap")
    if budgets is None:
        budgets = default_budgets(n_trials)
    budgets = list(budgets) if isinstance(budgets, (list, tuple, np.ndarray, range)) else None
    if not budgets or not all(isinstance(b, (int, np.integer)) and not isinstance(b, bool)
                              and 1 <= b <= n_trials for b in budgets):
        raise ValueError(
            f"budgets must be a non-empty list of ints between 1 and the number of "
            f"finished trials ({n_trials}), got {budgets!r}")
    values = np.where(feasible_mask(trials), trials["objective"].astype(float), np.nan)
    fill = -np.inf if study.direction == "max" else np.inf
    filled = np.where(np.isnan(values), fill, values)
    rng = np.random.default_rng(seed)
    parts = []
    for b in budgets:
        draws = filled[rng.integers(0, n_trials, size=(n_boot, int(b)))]
        best = draws.max(axis=1) if study.direction == "max" else draws.min(axis=1)
        best = np.where(np.isinf(best), np.nan, best)
        parts.append(pd.DataFrame({"budget": int(b), "draw": np.arange(n_boot),
                                   "best_objective": best}))
    return pd.concat(parts, ignore_index=True)


GOOD_REGION_COLUMNS = [
    "name", "scale", "threshold", "n_good", "region_low", "region_high", "region_values",
    "region_fraction", "n_in_region", "n_feasible_in_region", "n_infeasible_in_region",
]


def good_threshold(study: StudyResults, fraction: float = 0.25) -> float:
    """Objective value a trial must reach to be *good* (toolkit's rule): within
    ``fraction`` of the gap between the best and the median feasible trial, measured
    from the best. NaN when no trial is feasible."""
    study = _check_study(study)
    objective = study.feasible["objective"]
    if objective.empty:
        return float("nan")
    best = objective.max() if study.direction == "max" else objective.min()
    gap = abs(best - objective.median())
    return float(best - fraction * gap if study.direction == "max" else best + fraction * gap)


def good_region_counts(study: StudyResults, fraction: float = 0.25) -> pd.DataFrame:
    """How densely the good region of each axis plot was sampled; one row per varied
    hyperparameter (columns ``GOOD_REGION_COLUMNS``).

    Good trials: :func:`good_threshold` (within ``fraction`` = 25% of the best-to-median
    gap of the best; toolkit's choice). The good region of an axis is the interval the
    good trials span (categorical: the set of their values); ``n_in_region`` counts all
    finished trials that fell inside it, ``region_fraction`` is its share of the range
    (own scale) or of the values. A good region holding very few trials means its shape
    and location rest on few samples.
    """
    study = _check_study(study)
    fraction = _fraction(fraction, "fraction")
    trials = study.trials[finished_mask(study.trials)]
    threshold = good_threshold(study, fraction)
    feasible = feasible_mask(trials)
    objective = trials["objective"].astype(float)
    if np.isnan(threshold):
        good = pd.Series(False, index=trials.index)
    else:
        good = feasible & ((objective >= threshold) if study.direction == "max"
                           else (objective <= threshold))
    rows = []
    for name in varied_hyperparameters(study):
        hp = hyperparameter(study, name)
        col = trials[name]
        row = dict(name=name, scale=hp.scale, threshold=threshold, n_good=int(good.sum()),
                   region_low=float("nan"), region_high=float("nan"), region_values=None,
                   region_fraction=float("nan"), n_in_region=0, n_feasible_in_region=0,
                   n_infeasible_in_region=0)
        good_values = col[good & col.notna()]
        if not good_values.empty:
            if hp.is_numeric:
                x = own_scale(col, hp)
                gx = own_scale(good_values, hp)
                lo, hi = np.nanmin(gx), np.nanmax(gx)
                inside = (x >= lo) & (x <= hi)
                rlo, rhi, _ = search_range(hp, col)
                slo, shi = own_scale([rlo, rhi], hp)
                row.update(region_low=float(good_values.astype(float).min()),
                           region_high=float(good_values.astype(float).max()),
                           region_fraction=float((hi - lo) / (shi - slo))
                           if shi > slo else float("nan"))
            else:
                keys = set(good_values.astype(str))
                inside = col.astype(str).isin(keys).to_numpy() & col.notna().to_numpy()
                all_values = hp.values if hp.values else tuple(col.dropna().unique())
                row.update(region_values=sorted(keys),
                           region_fraction=len(keys) / max(len(all_values), 1))
            inside = np.asarray(inside, dtype=bool)
            row.update(n_in_region=int(inside.sum()),
                       n_feasible_in_region=int((inside & feasible.to_numpy()).sum()),
                       n_infeasible_in_region=int((inside & ~feasible.to_numpy()).sum()))
        rows.append(row)
    return pd.DataFrame(rows, columns=GOOD_REGION_COLUMNS)


def expanded_space(space, checks: pd.DataFrame, roles=("nuisance", "unknown")):
    """The search space with every range the boundary check flagged (status ``expand``)
    replaced by its suggested range: the playbook's fix for best trials at an edge.

    Only ``roles`` are expanded (nuisance by default: their ranges decide whether the
    comparison is fair; the scientific values are the experimenter's choice)."""
    expanded = space
    for row in checks[checks["status"] == "expand"].itertuples():
        if row.name not in space.names or row.role not in roles:
            continue
        entry = next(e for e in space.to_dict()["hyperparameters"] if e["name"] == row.name)
        if "values" in entry:
            observed = sorted(entry["values"])
            extra = [v for v in (row.suggested_low, row.suggested_high)
                     if pd.notna(v) and v not in observed]
            values = sorted(observed + [int(v) if float(v).is_integer() else float(v)
                                        for v in extra])
            expanded = expanded.with_range(row.name, values=values)
        else:
            expanded = expanded.with_range(row.name, row.suggested_low, row.suggested_high)
    return expanded


def refined_space(study: StudyResults, space, fixed: dict | None = None,
                  fraction: float = 0.25, margin: float = 0.5):
    """The exploitation space (playbook section 6): one that comfortably contains the best
    region of an exploration study.

    For each varied linear/log/integer nuisance hyperparameter: the span of the *good*
    trials (:func:`good_threshold` with ``fraction``), widened by ``margin`` times that span
    on each side in the hyperparameter's own scale, and kept inside the original range.
    ``fixed`` pins hyperparameters (e.g. the adopted scientific value) as fixed. Margin
    0.5 is the toolkit's choice: the playbook only says "comfortably contains".
    """
    from ..search.space import SearchSpace

    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r} is not allowed; use a number in (0, 1]")
    if margin < 0:
        raise ValueError(f"margin={margin!r} is not allowed; use a number >= 0")
    fixed = dict(fixed or {})
    unknown = [name for name in fixed if name not in space.names]
    if unknown:
        raise ValueError(f"fixed={fixed!r}: {unknown[0]!r} is not in the space; have "
                         f"{space.names}")
    threshold = good_threshold(study, fraction)
    feasible = study.feasible
    good = feasible[feasible["objective"] >= threshold] if study.direction == "max" \
        else feasible[feasible["objective"] <= threshold]
    entries = []
    for entry in space.to_dict()["hyperparameters"]:
        name = entry["name"]
        if name in fixed:
            entries.append({"name": name, "role": "fixed", "value": fixed[name],
                            **{k: entry[k] for k in ("parent", "parent_values") if k in entry}})
            continue
        numeric = entry.get("scale") in ("linear", "log", "integer")
        if entry["role"] == "nuisance" and numeric and name in good and good[name].notna().any():
            log = entry["scale"] == "log"
            values = good[name].dropna().to_numpy(dtype=float)
            to = np.log10 if log else (lambda v: v)
            back = (lambda v: 10.0 ** v) if log else (lambda v: v)
            low, high = to(values.min()), to(values.max())
            span = max(high - low, 0.1 * (to(entry["high"]) - to(entry["low"])))
            low = max(back(low - margin * span), entry["low"])
            high = min(back(high + margin * span), entry["high"])
            if entry["scale"] == "integer":
                low, high = int(np.floor(low)), int(np.ceil(high))
            entries.append({**entry, "low": low, "high": high})
        else:
            entries.append(entry)
    return SearchSpace.from_dict({"hyperparameters": entries})
