"""Were enough trials sampled? (playbook section 4): how much the best result depends on
luck, how densely the good region was sampled, and how fast a search got there.

:func:`best_of_n` bootstraps "the best of a study of n trials" and
:func:`plot_best_of_n` draws it; :func:`good_region_counts` counts the trials in each
axis plot's good region; :func:`plot_best_so_far` compares how fast searches reached
their best.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.validation import check_int, check_seed
from ..reporting.style import draw_best_so_far, study_colors
from ..results.study_results import StudyResults
from ..search.refine import good_cutoff
from ._common import (_as_studies, _check_study, fmt, check_fraction, feasible_mask,
                      finished_mask, hyperparameter, is_numeric, own_scale, search_range,
                      varied_hyperparameters)
from ._plotting import _new_axes


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

    Not ``scipy.stats.bootstrap``: that resamples studies of the data's own size only,
    and this draws every budget n below it too.

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        budgets: the study sizes n to draw; None: a spread up to the study's own size.
        n_boot: draws per budget.
        seed: seeds the draws.

    Returns:
        pandas.DataFrame: ``budget``, ``draw``, ``best_objective``.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, it has no finished trial, or a budget, ``n_boot`` or ``seed`` is not
            allowed.

    Example::

        draws = pk.best_of_n(study, budgets=[3, 6, 12])
        draws.groupby("budget")["best_objective"].describe()
    """
    study = _check_study(study)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    seed = check_seed("seed", seed, allow_none=True)
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
    signed = np.where(np.isnan(values), -np.inf, study.sign * values)
    rng = np.random.default_rng(seed)
    parts = []
    for b in budgets:
        draws = signed[rng.integers(0, n_trials, size=(n_boot, int(b)))]
        best = draws.max(axis=1)
        best = np.where(np.isinf(best), np.nan, study.sign * best)
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
    return good_cutoff(study.feasible["objective"], study.direction, fraction)


def good_region_counts(study: StudyResults, fraction: float = 0.25) -> pd.DataFrame:
    """How densely the good region of each axis plot was sampled; one row per varied
    hyperparameter (columns ``GOOD_REGION_COLUMNS``).

    Good trials: those within ``fraction`` = 25% of the best-to-median
    gap of the best; toolkit's choice). The good region of an axis is the interval the
    good trials span (categorical: the set of their values); ``n_in_region`` counts all
    finished trials that fell inside it, ``region_fraction`` is its share of the range
    (own scale) or of the values. A good region holding very few trials means its shape
    and location rest on few samples.

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        fraction: how close to the best a good trial is, as a share of the best-to-median
            gap.

    Returns:
        pandas.DataFrame: one row per varied hyperparameter: its good region, the trials
        in it, and the region's share of the range.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, or ``fraction`` is out of [0, 1].

    Example::

        pk.good_region_counts(study)
    """
    study = _check_study(study)
    fraction = check_fraction("fraction", fraction)
    trials = study.trials[finished_mask(study.trials)]
    threshold = good_threshold(study, fraction)
    feasible = feasible_mask(trials)
    objective = trials["objective"].astype(float)
    if np.isnan(threshold):
        good = pd.Series(False, index=trials.index)
    else:
        good = feasible & (study.sign * objective >= study.sign * threshold)
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
            if is_numeric(hp):
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


def plot_best_of_n(study: StudyResults, budgets=None, n_boot: int = 1000, seed: int = 0,
                   ax=None):
    """Box per study size n of the bootstrapped best objective (see
    :func:`best_of_n`), with the study's actual best
    as a line. Narrow boxes at the study's own size mean more trials would likely not
    change the best much.

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        budgets: the study sizes n to draw; None: a spread up to the study's own size.
        n_boot: draws per budget.
        seed: seeds the draws.
        ax: the matplotlib Axes to draw into; None: a new figure.

    Returns:
        matplotlib.axes.Axes: the plot.

    Raises:
        ValueError: as :func:`best_of_n`.

    Example::

        pk.plot_best_of_n(study)
    """
    study = _check_study(study)
    table = best_of_n(study, budgets, n_boot, seed)
    ax = _new_axes(ax, figsize=(6.4, 4.0))
    budgets = list(pd.unique(table["budget"]))
    groups, positions, labels = [], [], []
    for i, b in enumerate(budgets):
        values = table.loc[table["budget"] == b, "best_objective"].to_numpy(dtype=float)
        ok = values[np.isfinite(values)]
        failed = 1 - ok.size / values.size
        labels.append(f"{b}" + (f"\n{failed:.0%}" if failed > 0 else ""))
        if ok.size:
            groups.append(ok)
            positions.append(i)
    if groups:
        ax.boxplot(groups, positions=positions, widths=0.55, patch_artist=True,
                   boxprops=dict(facecolor=study_colors(1)[0], alpha=0.55),
                   medianprops=dict(color="black"), flierprops=dict(markersize=3))
    feasible = study.feasible["objective"].astype(float)
    if not feasible.empty:
        best = study.best_value(feasible)
        ax.axhline(best, color="0.3", linestyle="--", linewidth=1.0, gid="study_best",
                   label=f"best of the {len(study.trials[finished_mask(study.trials)])} "
                         f"trials ({fmt(float(best), 3)})")
        ax.legend(loc="best")
    ax.set_xticks(range(len(budgets)), labels)
    ax.set_xlim(-0.6, len(budgets) - 0.4)
    any_failed = table["best_objective"].isna().any()
    ax.set_xlabel("study size n (trials drawn with replacement)" + (
        "\nbelow n: share of draws with no feasible trial" if any_failed else ""))
    ax.set_ylabel(f"best {study.objective} in n trials")
    ax.set_title(f"Best-of-n bootstrap: {study.name}")
    return ax


def plot_best_so_far(study_or_studies, ax=None):
    """Best objective so far against trial number, one line per study (infeasible trials
    count as trials that found nothing): how fast each search reached its best.

    Args:
        study_or_studies: a study's results, or a list of them (overlaid).
        ax: the matplotlib Axes to draw into; None: a new figure.

    Returns:
        matplotlib.axes.Axes: the plot.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults` (or a list of them).

    Example::

        pk.plot_best_so_far([exploration, exploitation])
    """
    studies = _as_studies(study_or_studies)
    ax = _new_axes(ax, figsize=(6.5, 4))
    colors = study_colors(len(studies))
    for study, color in zip(studies, colors):
        trials = study.trials.assign(k=pd.to_numeric(study.trials["trial_id"], errors="coerce"))
        trials = trials.sort_values("k")
        values = trials["objective"].where(feasible_mask(trials)).to_numpy(dtype=float)
        draw_best_so_far(ax, np.arange(1, len(values) + 1), values, study.direction,
                         color=color, label=f"{study.name} ({len(trials)} trials)")
    first = studies[0]
    ax.set_xlabel("trial number")
    ax.set_ylabel(f"best {first.objective} so far {'↑' if first.sign > 0 else '↓'}")
    ax.set_title("Best so far")
    ax.legend(frameon=False)
    return ax
