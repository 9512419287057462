"""What every insight figure shares: labels, limits, strip positions, the one way to make
a new Axes, and the deprecated names of the plots.

The plotting API (playbook section 4 figures): every plot is a ``plot_*`` function; a
single-panel plot takes ``ax=None`` (draws into it, or makes a new figure) and returns
its Axes; a multi-panel plot returns its Figure, closed in pyplot so that a notebook
shows it once. Every figure uses matplotlib's constrained layout. Conventions: y is the
validation objective at the best checkpoint; infeasible trials are red crosses at the
plot's worst edge (bottom when the objective is maximized, top when minimized);
log-scale hyperparameters get a log x-axis; discrete and categorical ones are jittered
strips. Artists carry a ``gid`` ("feasible:<study>", "infeasible", "failed", "best",
"bound", ...) so that callers and tests can find them.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..core import rules
from ..results.study_results import StudyResults
from ._common import Hyperparameter, is_strip

LAYOUT = "constrained"
"""The one layout engine of every insight figure."""

JITTER = 0.18
"""Half-width of the horizontal jitter of strip (discrete/categorical) axis plots."""


def _objective_label(study: StudyResults) -> str:
    """y label: the objective, where it is read, and which way is better."""
    arrow = "\u2191" if study.sign > 0 else "\u2193"
    return f"{study.objective} at best checkpoint {arrow}"


def _scale_label(hp: Hyperparameter) -> str:
    return f"{hp.name} ({hp.scale} scale)"


def _y_limits(ys, direction: str) -> tuple[tuple[float, float], float]:
    """(ylim, y of the infeasible row): a band past the worst feasible value."""
    ys = np.asarray([y for y in ys if np.isfinite(y)], dtype=float)
    maximize = rules.sign(direction) > 0
    if ys.size == 0:
        return (0.0, 1.0), (0.06 if maximize else 0.94)
    lo, hi = float(ys.min()), float(ys.max())
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 0.05)
    if maximize:
        return (lo - 2.5 * pad, hi + pad), lo - 1.5 * pad
    return (lo - pad, hi + 2.5 * pad), hi + 1.5 * pad


def new_figure(nrows: int = 1, ncols: int = 1, figsize=(6, 2.5), **kwargs):
    """(Figure, Axes) from ``plt.subplots`` with the toolkit's layout engine."""
    return plt.subplots(nrows, ncols, figsize=figsize, layout=LAYOUT, **kwargs)


def _new_axes(ax, figsize=(5.4, 3.9)):
    """``ax``, or the Axes of a new figure (single-panel plots)."""
    if ax is None:
        _, ax = new_figure(figsize=figsize)
    return ax


def _note(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            wrap=True, color="0.3")
    ax.set_xticks([])
    ax.set_yticks([])


def _categories(hp: Hyperparameter, values: pd.Series) -> list:
    """Order of strip positions: the search space's list, then any unlisted value."""
    seen = list(pd.unique(values.dropna()))
    order = list(hp.values) if hp.values else []
    if not order:
        try:
            order = sorted(seen)
        except TypeError:
            order = sorted(seen, key=str)
    keys = {str(v) for v in order}
    return order + [v for v in seen if str(v) not in keys]


def _positions(values: pd.Series, hp: Hyperparameter, categories, rng) -> np.ndarray:
    if not is_strip(hp):
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    index = {str(c): i for i, c in enumerate(categories)}
    base = np.array([index.get(str(v), np.nan) for v in values], dtype=float)
    return base + rng.uniform(-JITTER, JITTER, size=len(base))
