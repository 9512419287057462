"""Is the search space big enough? (playbook section 4): are the best trials bunched at
an edge of a hyperparameter's range, and is an edge where training becomes unstable?

:func:`boundary_check` answers per numeric hyperparameter with two rules for an edge
(a majority of the best trials in the outer band, or a steady trend toward the edge)
and one for instability; :func:`~playbook_kit.search.refine.expanded_space` applies its
suggested ranges. The figure for this question is the axis plot
(:func:`~playbook_kit.insight.plot_axes`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..core import rules
from ..core.validation import not_allowed
from ..results.study_results import StudyResults
from ._common import (Hyperparameter, _check_study, fmt, check_fraction, _sorted_best,
                      best_set_size, finished_mask, hyperparameter, infeasible_mask,
                      is_numeric, numeric_values, own_scale, search_range,
                      varied_hyperparameters)

MIN_INFEASIBLE_BEYOND = 2
"""Toolkit's choice: instability needs at least this many infeasible trials beyond the
last feasible value, so that one unlucky divergence does not trigger it."""
UNIT_INTERVAL_HINTS = ("one_minus_", "momentum", "beta", "dropout", "label_smoothing")
"""Toolkit's choice: names containing one of these, with a range inside [0, 1], are
probabilities or averaging factors; suggested ranges for them stay inside [0, 1)."""
UNIT_INTERVAL_MAX = 0.999
"""Upper end used for "[0, 1)" when a suggested range is clamped."""
TREND_MIN_RHO = 0.6
"""Toolkit's choice: the trend rule needs a Spearman rank correlation of at least 0.6 in
absolute value (a strong monotone relation) between the hyperparameter and the
objective among the better half of the feasible trials."""
TREND_MAX_P = 0.05
"""Toolkit's choice: ... and that correlation must be significant, p below 0.05
(two-sided, ``scipy.stats.spearmanr``)."""
TREND_MIN_TRIALS = 5
"""Toolkit's choice: the trend rule needs at least 5 trials in the better half (a study
of at least 9 feasible trials); with fewer, even a perfect ranking is weak evidence."""


BOUNDARY_COLUMNS = [
    "name", "role", "scale", "low", "high", "range_source", "n_trials", "n_feasible",
    "n_best", "n_best_near_low", "n_best_near_high", "best_value", "edge", "rule",
    "n_trend", "trend_rho", "trend_p", "suggested_low", "suggested_high", "instability",
    "unstable_beyond", "n_infeasible_beyond", "status", "reason", "action",
]


def _extend(hp: Hyperparameter, low: float, high: float, side: str) -> tuple[float, float]:
    """Suggested (low, high) after extending the range on ``side`` (toolkit's rule).

    log: one decade; linear/integer: half the range width; discrete: one more value
    continuing the list's last ratio (geometric lists) or step. Clamps: a range that
    is non-negative stays non-negative, an integer range starting at >= 1 stays >= 1,
    and names in ``UNIT_INTERVAL_HINTS`` with a range inside [0, 1] stay in [0, 1).
    """
    new_low, new_high = low, high
    grid = numeric_values(hp)
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
    * majority rule: a strict majority of the best trials near one edge;
    * trend rule, for studies where few points landed in the outer band (small random
      or plain keras-tuner studies): among the better half of the feasible trials
      (the top ``ceil(n/2)`` by objective, at least ``TREND_MIN_TRIALS`` = 5), the
      Spearman rank correlation between the hyperparameter (own scale) and the
      objective (oriented so that higher is better) is strong, ``|rho| >=
      TREND_MIN_RHO`` (0.6), and significant, ``p < TREND_MAX_P`` (0.05), and the best
      trial has the most extreme value sampled on that side among all finished trials
      with the hyperparameter active. The better half, not all trials, so that an
      optimum inside the range (rising, then falling) shows no trend there. Measured
      (``bench/boundary_rules.py``, 200 random studies of 12 trials each): of studies
      whose objective rises to the upper bound, the majority rule alone misses 51,
      with the trend rule 5; an optimum in the middle is flagged by neither; on flat
      noisy studies the trend rule adds 1 false alarm to the majority rule's 32;
    * flagged (status "expand"): an edge by either rule (the majority rule's edge
      first when the two disagree); ``rule`` says which fired ("majority", "trend",
      "majority and trend"); ``n_trend``, ``trend_rho`` and ``trend_p`` are the trend
      rule's numbers (NaN when it could not run). The suggested range extends that
      side (a decade for log, half the width for linear, clamped
      at natural bounds); status "at bound" when the clamp leaves nothing to extend;
    * instability (status "instability", playbook section 4): every finished trial
      beyond some value v is infeasible (at least ``MIN_INFEASIBLE_BEYOND`` of them),
      where v is the last feasible value, and a strict majority of the best trials lie
      within ``edge_fraction`` of the range of v. Expanding does not help there; the
      action points to the stability recipes (warmup, gradient clipping).

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        top_fraction: the share of feasible trials that counts as best (at least 3).
        edge_fraction: the outer share of a range that counts as its edge, below 0.5.

    Returns:
        pandas.DataFrame: one row per varied numeric hyperparameter: its status
        (``ok``, ``expand``, ``at bound``, ``instability``), the rule that fired, the
        numbers behind it and a suggested range.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, or a fraction is out of range.

    Example::

        table = pk.boundary_check(study)
        table[table["status"] == "expand"][["name", "edge", "suggested_low", "suggested_high"]]
    """
    study = _check_study(study)
    top_fraction = check_fraction("top_fraction", top_fraction)
    edge_fraction = check_fraction("edge_fraction", edge_fraction, allow_one=False)
    if edge_fraction >= 0.5:
        raise not_allowed("edge_fraction", edge_fraction,
                          "use a number in (0.0, 0.5): both edges together must leave a middle")
    trials = study.trials[finished_mask(study.trials)]
    rows = []
    for name in varied_hyperparameters(study):
        hp = hyperparameter(study, name)
        if not is_numeric(hp):
            continue
        rows.append(_boundary_row(study, trials, hp, top_fraction, edge_fraction))
    return pd.DataFrame(rows, columns=BOUNDARY_COLUMNS)


def _boundary_row(study, trials, hp, top_fraction, edge_fraction) -> dict:
    """One row of :func:`boundary_check`: the range and the best trials of ``hp``, then
    the edge rules (:func:`_edge_rules`), the instability rule (:func:`_instability`) and
    the verdict in words (:func:`_verdict`)."""
    active = trials[trials[hp.name].notna()]
    low, high, source = search_range(hp, active[hp.name])
    row = dict(name=hp.name, role=hp.role, scale=hp.scale, low=low, high=high,
               range_source=source, n_trials=len(active), n_feasible=0, n_best=0,
               n_best_near_low=0, n_best_near_high=0, best_value=float("nan"),
               edge="none", rule="none", n_trend=0, trend_rho=float("nan"),
               trend_p=float("nan"), suggested_low=low, suggested_high=high, instability="none",
               unstable_beyond=float("nan"), n_infeasible_beyond=0,
               status="not checked", reason="", action="")
    feasible = _sorted_best(active, study.direction)
    row["n_feasible"] = len(feasible)
    lo_s, hi_s = own_scale([low, high], hp)
    if not (np.isfinite(lo_s) and np.isfinite(hi_s) and hi_s > lo_s):
        row["reason"] = f"{hp.name}: no usable range (low={fmt(low, 3)}, high={fmt(high, 3)})"
        row["action"] = "give the search space finite bounds"
        return row
    if feasible.empty:
        row["reason"] = f"no feasible trial with {hp.name} active"
        row["action"] = "fix infeasibility first (see the infeasible fraction)"
        return row
    n_best = best_set_size(len(feasible), top_fraction)
    best = feasible.head(n_best)
    row.update(n_best=n_best, best_value=float(best[hp.name].iloc[0]))
    row.update(_edge_rules(active, feasible, best, hp, (lo_s, hi_s), edge_fraction,
                           study.direction))
    near_v = _instability(row, active, feasible, best, hp, hi_s - lo_s, edge_fraction)
    row.update(_verdict(row, hp, near_v, edge_fraction))
    return row


def _edge_rules(active, feasible, best, hp, own_range, edge_fraction, direction) -> dict:
    """The two rules for an edge: a majority of the best trials in the outer band, or a
    steady trend toward the edge (:func:`_trend`); the row's edge, rule and counts."""
    lo_s, hi_s = own_range
    n_best = len(best)
    u = (own_scale(best[hp.name], hp) - lo_s) / (hi_s - lo_s)
    near_low, near_high = int(np.sum(u <= edge_fraction)), int(np.sum(u >= 1 - edge_fraction))
    majority = "low" if near_low > n_best / 2 else "high" if near_high > n_best / 2 else "none"
    n_trend, rho, p, trend = _trend(active, feasible, hp, direction)
    edge = majority if majority != "none" else trend
    fired = (("majority", majority != "none"), ("trend", trend != "none" and trend == edge))
    rule = " and ".join(name for name, yes in fired if yes) or "none"
    return dict(n_best_near_low=near_low, n_best_near_high=near_high, edge=edge, rule=rule,
                n_trend=n_trend, trend_rho=rho, trend_p=p)


def _instability(row, active, feasible, best, hp, width, edge_fraction) -> int:
    """The instability rule: everything beyond the last feasible value is infeasible and
    most of the best trials sit near that value. Sets the row's instability fields when
    it fires; returns how many of the best trials sit near that value (0 if none)."""
    n_best = len(best)
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
    return near_v


def _verdict(row, hp, near_v, edge_fraction) -> dict:
    """What the rules found, in words: the row's status, reason and action, and the
    suggested range when the edge rules ask to expand it."""
    low, high, n_best, edge, rule = (row[k] for k in ("low", "high", "n_best", "edge", "rule"))
    near_low, near_high = row["n_best_near_low"], row["n_best_near_high"]
    n_trend, rho, p = row["n_trend"], row["trend_rho"], row["trend_p"]
    out = {}
    scale_txt = f"{hp.scale} scale"
    reasons, actions = [], []
    if row["instability"] != "none":
        side = row["instability"]
        word = "above" if side == "high" else "below"
        reasons.append(
            f"all {row['n_infeasible_beyond']} finished trials with {hp.name} {word} "
            f"{fmt(row['unstable_beyond'], 3)} are infeasible and {near_v} of the {n_best} "
            f"best trials lie within {edge_fraction:.0%} of the range of that value")
        actions.append(
            f"suspect instability: the best {hp.name} is at the edge of stability; apply "
            "the stability recipes (learning-rate warmup, gradient clipping; playbook "
            f"section 8) so that values {word} {fmt(row['unstable_beyond'], 3)} train, "
            "instead of expanding the range there")
    if edge != "none" and edge != row["instability"]:
        k = near_low if edge == "low" else near_high
        new_low, new_high = _extend(hp, low, high, edge)
        if "majority" in rule:
            reasons.append(
                f"majority rule: {k} of the {n_best} best trials lie in the outer "
                f"{edge_fraction:.0%} of the range at the {edge} edge ([{fmt(low, 3)}, "
                f"{fmt(high, 3)}], {scale_txt})")
        if "trend" in rule:
            reasons.append(
                f"trend rule: the objective improves steadily toward the {edge} edge "
                f"(Spearman rho {rho:+.2f}, {_p_value(p)}, over the better half of the "
                f"feasible trials, {n_trend}; {scale_txt}) and the best trial has the "
                f"{'highest' if edge == 'high' else 'lowest'} {hp.name} sampled "
                f"({fmt(row['best_value'], 3)})")
        if (new_low, new_high) == (float(low), float(high)):
            bound = low if edge == "low" else high
            actions.append(f"the best trials sit at the natural bound {fmt(bound, 3)} of "
                           f"{hp.name}; there is nothing to extend")
            out["status"] = "at bound"
        else:
            out.update(suggested_low=new_low, suggested_high=new_high)
            if hp.scale == "discrete":
                added = new_low if edge == "low" else new_high
                actions.append(f"add {fmt(added, 3)} to the values of {hp.name} and rerun "
                               "until the best trials are not at an end of the list")
            else:
                actions.append(f"expand {hp.name} to [{fmt(new_low, 3)}, {fmt(new_high, 3)}] "
                               f"({scale_txt}) and rerun until the best trials are not "
                               "near a boundary")
            out["status"] = "expand"
    if row["instability"] != "none":
        out["status"] = "instability"
    if not reasons:
        if n_trend < TREND_MIN_TRIALS:
            trend_txt = (f"not run ({n_trend} trials in the better half, needs "
                         f"{TREND_MIN_TRIALS})")
        elif np.isnan(rho):
            trend_txt = "not run (no spread in the better half)"
        else:
            trend_txt = (f"no steady trend toward an edge ending at the sampled extreme "
                         f"(Spearman rho {rho:+.2f}, {_p_value(p)}, better half of {n_trend})")
        reasons.append(
            f"the best trials are inside the range: majority rule: {near_low} low / "
            f"{near_high} high of the {n_best} best trials near an edge (outer "
            f"{edge_fraction:.0%} of [{fmt(low, 3)}, {fmt(high, 3)}], {scale_txt}); trend "
            f"rule: {trend_txt}")
        out["status"] = "ok"
    out["reason"] = "; ".join(reasons)
    out["action"] = "; ".join(actions)
    return out


def _p_value(p: float) -> str:
    return f"p = {p:.2g}" if p >= 0.001 else "p < 0.001"


def _trend(active: pd.DataFrame, feasible: pd.DataFrame, hp: Hyperparameter,
           direction: str):
    """The trend rule (see :func:`boundary_check`): (n_trend, rho, p, side), side "low",
    "high" or "none". ``feasible`` is sorted best first; ``active`` holds every finished
    trial with ``hp`` active."""
    better = feasible.head(math.ceil(len(feasible) / 2))
    x = own_scale(better[hp.name], hp)
    y = better["objective"].to_numpy(dtype=float) * rules.sign(direction)
    if len(better) < TREND_MIN_TRIALS or np.ptp(x) == 0 or np.ptp(y) == 0:
        return len(better), float("nan"), float("nan"), "none"
    rho, p = (float(v) for v in spearmanr(x, y))
    side = "high" if rho > 0 else "low"
    sampled = own_scale(active[hp.name], hp)
    extreme = np.nanmax(sampled) if side == "high" else np.nanmin(sampled)
    if abs(rho) >= TREND_MIN_RHO and p < TREND_MAX_P and x[0] == extreme:
        return len(better), rho, p, side
    return len(better), rho, p, "none"
