"""Axis plots (playbook section 4): the objective against each hyperparameter, one point
per trial, to see where the good region is and whether it touches an edge.

:func:`plot_axis` draws one hyperparameter into one Axes; :func:`plot_axes` draws every
varied one in a grid. The numbers behind "is the best region at an edge" are
:func:`~playbook_kit.insight.boundary_check`'s.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core import rules
from ..reporting.style import (BEST_MARKER, BOUND_COLOR, FAILED_COLOR, INFEASIBLE_COLOR,
                               INFEASIBLE_MARKER, detach, study_colors)
from ._common import (_as_studies, feasible_mask, finished_mask, hyperparameter,
                      infeasible_mask, is_strip, search_range, varied_hyperparameters)
from ._plotting import (_categories, _new_axes, _note, _objective_label, _positions,
                        _scale_label, _y_limits, new_figure)


def plot_axis(study, name: str, ax=None):
    """Basic hyperparameter axis plot (playbook section 4): objective at the best
    checkpoint against ``name``, one point per trial, infeasible trials as red crosses
    at the worst edge, the best trial as a star, search-space bounds dashed. ``study``
    may be a list of studies, overlaid by colour.

    Args:
        study: a study's results, or a list of them (overlaid by colour).
        name: the hyperparameter on the horizontal axis.
        ax: the matplotlib Axes to draw into; None: a new figure.

    Returns:
        matplotlib.axes.Axes: the plot.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, or ``name`` is not one of its hyperparameters.

    Example::

        pk.plot_axis(study, "learning_rate")
    """
    studies = _as_studies(study)
    owners = [s for s in studies if name in s.trials.columns]
    if not owners:
        allowed = sorted({n for s in studies for n in s.hyperparameter_names})
        raise ValueError(f"name {name!r} is not a hyperparameter of the given studies; "
                         f"allowed: {allowed}")
    hp = hyperparameter(owners[0], name)
    ax = _new_axes(ax)
    direction = studies[0].direction
    rng = np.random.default_rng(0)
    tables = []
    for s in owners:
        t = s.trials[finished_mask(s.trials)]
        tables.append((s, t[t[name].notna()], int(t[name].isna().sum())))
    all_values = pd.concat([t[name] for _, t, _ in tables])
    categories = _categories(hp, all_values) if is_strip(hp) else None
    ys = np.concatenate([t.loc[feasible_mask(t), "objective"].to_numpy(dtype=float)
                         for _, t, _ in tables])
    ylim, y_bad = _y_limits(ys, direction)
    colors = study_colors(len(owners))
    bad_x, failed_x, best = [], [], None
    for color, (s, t, _) in zip(colors, tables):
        x = _positions(t[name], hp, categories, rng)
        feas = feasible_mask(t).to_numpy()
        y = t["objective"].to_numpy(dtype=float)
        if feas.any():
            label = f"{s.name} ({feas.sum()})" if len(owners) > 1 else f"feasible ({feas.sum()})"
            ax.scatter(x[feas], y[feas], s=30, color=color, alpha=0.85, edgecolors="white",
                       linewidths=0.5, label=label, gid=f"feasible:{s.name}", zorder=3)
            i = rules.best_position(y[feas], direction)
            cand = (x[feas][i], y[feas][i])
            if best is None or s.better(cand[1], best[1]):
                best = cand
        bad_x.extend(x[infeasible_mask(t).to_numpy()])
        failed_x.extend(x[(t["status"] == "failed").to_numpy()])
    if bad_x:
        ax.scatter(bad_x, [y_bad] * len(bad_x), marker=INFEASIBLE_MARKER,
                   color=INFEASIBLE_COLOR, s=36, linewidths=1.4, zorder=4,
                   label=f"infeasible ({len(bad_x)})", gid="infeasible")
    if failed_x:
        ax.scatter(failed_x, [y_bad] * len(failed_x), marker=INFEASIBLE_MARKER,
                   color=FAILED_COLOR, s=30, zorder=4, label=f"failed ({len(failed_x)})",
                   gid="failed")
    if best is not None:
        ax.scatter([best[0]], [best[1]], marker=BEST_MARKER, s=180, color="gold",
                   edgecolors="black", linewidths=0.8, zorder=5, label="best trial",
                   gid="best")
    if is_strip(hp):
        ax.set_xticks(range(len(categories)), [str(c) for c in categories])
        ax.set_xlim(-0.6, len(categories) - 0.4)
    else:
        low, high, source = search_range(hp, all_values)
        if hp.scale == "log":
            ax.set_xscale("log")
        if source == "search space":
            for b in (low, high):
                ax.axvline(b, color=BOUND_COLOR, linestyle="--", linewidth=0.9, zorder=1,
                           gid="bound")
    ax.set_ylim(*ylim)
    ax.set_xlabel(_scale_label(hp))
    ax.set_ylabel(_objective_label(studies[0]))
    inactive = sum(n for *_, n in tables)
    role = f" [{hp.role}]" if hp.role != "unknown" else ""
    title = f"Axis plot: {name}{role}"
    if inactive:
        title += f"\n(inactive in {inactive} trials)"
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    return ax


def plot_axes(study_or_studies, names=None, ncols: int = 3):
    """Axis plots for every hyperparameter that varied (or ``names``), in a grid,
    scientific hyperparameters first.

    Args:
        study_or_studies: a study's results, or a list of them (overlaid).
        names: the hyperparameters to plot; None: every one that varied.
        ncols: plots per row.

    Returns:
        matplotlib.figure.Figure: the grid of axis plots.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, ``names`` is not a list of its hyperparameters, or ``ncols`` is not a
            positive int.

    Example::

        pk.plot_axes(study)
    """
    studies = _as_studies(study_or_studies, "study_or_studies")
    if not isinstance(ncols, int) or isinstance(ncols, bool) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    if names is None:
        names = varied_hyperparameters(studies)
    elif isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be a list of hyperparameter names, got {names!r}")
    label = ", ".join(s.name for s in studies)
    if not names:
        fig, ax = new_figure()
        _note(ax, "no hyperparameter varied in this study: nothing to plot")
        ax.set_title(f"Axis plots: {label}")
        return detach(fig)
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(4.6 * ncols, 3.7 * nrows), squeeze=False)
    flat = axes.ravel()
    handles: dict = {}
    for i, name in enumerate(names):
        plot_axis(studies, name, ax=flat[i])
        for handle, text in zip(*flat[i].get_legend_handles_labels()):
            handles.setdefault(text.split(" (")[0], (handle, text))
        if flat[i].get_legend() is not None:
            flat[i].get_legend().remove()
    for ax in flat[len(names):]:
        fig.delaxes(ax)
    fig.legend([h for h, _ in handles.values()], [t for _, t in handles.values()],
               loc="outside right upper")
    fig.suptitle(f"Axis plots: {label} ({studies[0].objective}, "
                 f"{studies[0].direction}imized)")
    return detach(fig)
