"""Next search spaces from a finished study: wider where the best trials sat at an edge
(:func:`expanded_space`, playbook section 4), narrower around the good region for
exploitation (:func:`refined_space`, playbook section 6).

Both read the insight layer's outputs as plain DataFrames (the boundary check's table,
a study's trials) and return a new :class:`~playbook_kit.search.space.SearchSpace`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import rules
from ..core.validation import check_number
from .space import SearchSpace


def good_cutoff(objectives, direction: str, fraction: float = 0.25) -> float:
    """Objective value a trial must reach to be *good* (toolkit's rule): within
    ``fraction`` of the gap between the best and the median of ``objectives`` (the
    feasible trials'), measured from the best. NaN when there is none."""
    objective = pd.Series(objectives, dtype=float).dropna()
    if objective.empty:
        return float("nan")
    best = rules.best_value(objective, direction)
    gap = abs(best - objective.median())
    return float(best - rules.sign(direction) * fraction * gap)


def good_trials(study, fraction: float = 0.25) -> pd.DataFrame:
    """The study's feasible trials that reach :func:`good_cutoff`: the region a refined
    space keeps."""
    feasible = study.feasible
    threshold = good_cutoff(feasible["objective"], study.direction, fraction)
    return feasible[study.sign * feasible["objective"] >= study.sign * threshold]


def expanded_space(space, checks: pd.DataFrame, roles=("nuisance", "unknown")):
    """The search space with every range the boundary check flagged (status ``expand``)
    replaced by its suggested range: the playbook's fix for best trials at an edge.

    Only ``roles`` are expanded (nuisance by default: their ranges decide whether the
    comparison is fair; the scientific values are the experimenter's choice).

    Args:
        space: the study's :class:`SearchSpace`.
        checks: :func:`boundary_check`'s table for the study.
        roles: the roles whose ranges may be expanded.

    Returns:
        SearchSpace: a new space; ``space`` is unchanged.

    Raises:
        KeyError: ``checks`` lacks the boundary table's columns.
        ValueError: a suggested range the space refuses (as :meth:`SearchSpace.with_range`).

    Example::

        wider = pk.expanded_space(study.space, pk.boundary_check(study))
        study2 = pk.run_study(workload, wider, max_trials=12, name="depth_wider")
    """
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


def refined_space(study, space, fixed: dict | None = None,
                  fraction: float = 0.25, margin: float = 0.5):
    """The exploitation space (playbook section 6): one that comfortably contains the best
    region of an exploration ``study`` (a :class:`~playbook_kit.results.study_results.StudyResults`;
    its feasible trials and direction are read).

    For each varied linear/log/integer nuisance hyperparameter: the span of the *good*
    trials (within ``fraction`` of the best-to-median gap of the best, the same
    rule as :func:`good_region_counts`), widened by ``margin`` times that span
    on each side in the hyperparameter's own scale, and kept inside the original range.
    ``fixed`` pins hyperparameters (e.g. the adopted scientific value) as fixed. Margin
    0.5 is the toolkit's choice: the playbook only says "comfortably contains".

    Args:
        study: the exploration study's results.
        space: the exploration's :class:`SearchSpace`.
        fixed: hyperparameters to fix, ``{name: value}``; each must be in the space.
        fraction: how close to the best a good trial is, as a share of the
            best-to-median gap, in (0, 1].
        margin: how far to widen the good trials' span on each side, in spans.

    Returns:
        SearchSpace: the exploitation space.

    Raises:
        ValueError: ``fraction`` or ``margin`` out of range, or ``fixed`` names a
            hyperparameter the space does not have.

    Example::

        exploit = pk.refined_space(exploration, exploration.space, fixed={"depth": 2})
        pk.run_study(workload, exploit, max_trials=10, algorithm="bayesian", name="exploit")
    """
    check_number("fraction", fraction, 0, 1, low_inclusive=False)
    check_number("margin", margin, low=0)
    fixed = dict(fixed or {})
    unknown = [name for name in fixed if name not in space.names]
    if unknown:
        raise ValueError(f"fixed={fixed!r}: {unknown[0]!r} is not in the space; have "
                         f"{space.names}")
    good = good_trials(study, fraction)
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

