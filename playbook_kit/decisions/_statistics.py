"""The statistics that retrain variance and adoption share (docs/design.md, *Insight and
decisions*): the check of a config's runs' objective values, the confidence level,
Student's t quantile, the sample variance, and which way is better in words. Kept apart
so that :mod:`.retrain_variance` and :mod:`.adoption` each hold one decision."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..core import rules
from ..core.validation import check_number, not_allowed


def _check_values(name: str, values) -> np.ndarray:
    """Objective values of the runs of one config as a 1-D float array, or ValueError."""
    if isinstance(values, (str, bytes)) or isinstance(values, Mapping):
        raise not_allowed(name, values, "use a sequence of objective values (one finite "
                          "number per run), e.g. a list, numpy array or pandas Series")
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise not_allowed(name, values, "use a sequence of numbers (one objective value "
                          "per run)") from None
    if arr.ndim != 1:
        raise not_allowed(name, values, "use a one-dimensional sequence (one objective "
                          f"value per run); got shape {arr.shape}")
    if arr.size == 0:
        raise not_allowed(name, values, "it is empty; give at least one run's objective value")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise not_allowed(name, values, f"value {arr[bad[0]]!r} at position {int(bad[0])} "
                          "is not finite; every run needs a finite objective value (drop "
                          "infeasible runs, and count them against the config)")
    return arr


def _check_confidence(confidence) -> float:
    """The confidence level of an interval, in (0, 1)."""
    return check_number("confidence", confidence, 0.0, 1.0, low_inclusive=False,
                        high_inclusive=False, why="e.g. 0.95 for a 95% interval")

def _critical_value(df: float, confidence: float) -> float:
    """Student t's two-sided quantile at ``confidence`` (``scipy.stats.t.ppf(0.5 +
    confidence / 2, df)``, called here without scipy.stats' per-call overhead)."""
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + confidence / 2))


def _variance(values: np.ndarray) -> float:
    """Sample variance (ddof=1); exactly 0 for identical runs, whose floating-point mean
    can differ from each of them by a rounding error."""
    return 0.0 if values.min() == values.max() else float(values.var(ddof=1))

def _better_word(direction: str) -> str:
    return "higher" if rules.sign(direction) > 0 else "lower"
