"""The study's rules, defined once: objective direction, feasibility, the best trial and
how numbers are shown.

Every layer (trainer, search, results, insight, decisions, recipes) asks these
functions instead of writing ``direction == "max"`` or ``status == "completed"`` again,
so that a rule changes in one place. :class:`~playbook_kit.results.study_results.StudyResults`
exposes them for a study. Pure NumPy/pandas: importing this starts no TensorFlow.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from .validation import not_allowed

MAXIMIZE, MINIMIZE = "max", "min"
DIRECTIONS = (MAXIMIZE, MINIMIZE)

COMPLETED, INFEASIBLE, FAILED = "completed", "infeasible", "failed"
FINISHED_STATUSES = (COMPLETED, INFEASIBLE, FAILED)
"""A trial in one of these states will not run again; any other state (running, or a
record that was damaged) is rerun when the study resumes."""


def check_direction(direction, field: str = "direction") -> str:
    """``direction`` if it is ``"max"`` or ``"min"``, else a ValueError naming ``field``."""
    if direction not in DIRECTIONS:
        raise not_allowed(field, direction,
                          "use 'max' when a higher objective is better, 'min' when lower is")
    return direction


def sign(direction: str) -> float:
    """+1.0 for ``"max"``, -1.0 for ``"min"``: ``sign * objective`` is larger when better."""
    return 1.0 if check_direction(direction) == MAXIMIZE else -1.0


def better(a: float, b: float, direction: str) -> bool:
    """True when objective value ``a`` is strictly better than ``b``."""
    return sign(direction) * a > sign(direction) * b


def best_value(values, direction: str) -> float:
    """The best finite value of ``values`` (NaN when none is finite)."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return float("nan")
    return float(arr.max() if sign(direction) > 0 else arr.min())


def best_position(values, direction: str) -> int:
    """Position of the best finite value (the first one on ties); ValueError if none."""
    arr = sign(direction) * np.asarray(values, dtype=float)
    finite = np.isfinite(arr)
    if not finite.any():
        raise ValueError("no finite objective value to choose the best from")
    return int(np.argmax(np.where(finite, arr, -np.inf)))


def best_so_far(values, direction: str) -> np.ndarray:
    """Running best of ``values`` in trial order; NaN (infeasible) never becomes best."""
    signed = sign(direction) * np.asarray(values, dtype=float)
    running = np.fmax.accumulate(np.where(np.isfinite(signed), signed, np.nan))
    return sign(direction) * running


def sort_best_first(frame: pd.DataFrame, direction: str,
                    column: str = "objective") -> pd.DataFrame:
    """``frame`` sorted best first by ``column`` (stable, so ties keep trial order)."""
    return frame.sort_values(column, ascending=check_direction(direction) == MINIMIZE,
                             kind="stable")


def is_feasible(status, objective) -> bool:
    """A trial counts (is feasible) when it completed with a finite objective."""
    try:
        value = float(objective)
    except (TypeError, ValueError):
        return False
    return status == COMPLETED and math.isfinite(value)


def feasible_mask(trials: pd.DataFrame) -> pd.Series:
    """Row-wise :func:`is_feasible` of a trials table (columns ``status``, ``objective``)."""
    objective = pd.to_numeric(trials["objective"], errors="coerce").astype(float)
    return (trials["status"] == COMPLETED) & np.isfinite(objective)


def infeasible_mask(trials: pd.DataFrame) -> pd.Series:
    """Trials marked infeasible, or completed without a usable objective."""
    return (trials["status"] == INFEASIBLE) | (
        (trials["status"] == COMPLETED) & ~feasible_mask(trials))


def finished_mask(trials: pd.DataFrame) -> pd.Series:
    """Trials that will not run again (:data:`FINISHED_STATUSES`)."""
    return trials["status"].isin(FINISHED_STATUSES)


def fmt(value, digits: int = 4) -> str:
    """A number as people read it in reasons, labels and reports: integers in full,
    other numbers to ``digits`` significant digits, ``"n/a"`` for a missing or
    non-finite value; anything else as ``str``."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if not math.isfinite(float(value)):
        return "n/a"
    return f"{float(value):.{digits}g}"
