"""Isolation plots (playbook section 4): the best trial per value of a scientific
hyperparameter after optimizing away the nuisance ones, the fair comparison of the
scientific values.

:func:`isolation_table` computes the points (testable without drawing);
:func:`plot_isolation` draws them with error bars where the best trial has several runs:
the 95% t interval of its mean objective
(:func:`~playbook_kit.decisions.retrain_variance.mean_interval`),
not +-1 std. Readers compare bars by eye ("could this point sit at that one's height?");
that needs an interval for the plotted mean, and with 2-3 runs the std is itself so
uncertain that +-1 std of the runs understates it (the 95% t interval is +-2.5 std at 3
runs, +-9 std at 2, +-1.2 std at 5). The interval does not account for the best trial
being chosen as the best of its group, which favours it: to decide between two values,
rerun both and use :func:`~playbook_kit.decisions.adoption.adoption_decision`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core import rules
from ..decisions.retrain_variance import mean_interval, runs_by_trial
from ..reporting.style import BOUND_COLOR, INFEASIBLE_COLOR, INFEASIBLE_MARKER, study_colors
from ..results.study_results import StudyResults
from ._common import (Hyperparameter, _as_studies, _check_study, fmt, feasible_mask,
                      finished_mask, hyperparameter, is_numeric, own_scale, search_range)
from ._plotting import _categories, _new_axes, _objective_label, _scale_label, _y_limits

ISOLATION_COLUMNS = ["study", "bucket", "bucket_low", "bucket_high", "value", "objective",
                     "trial_id", "n_trials", "n_feasible", "n_runs", "std", "ci_low",
                     "ci_high"]
#: The confidence of the error bars (the toolkit's; that of the adoption decision).
ERROR_BAR_CONFIDENCE = 0.95
BUCKETINGS = ("width", "quantile")


def retrain_std(study: StudyResults) -> pd.Series:
    """Std of the objective over each trial's runs (seeds), by trial_id: from the runs
    table where a trial has two or more completed runs, else ``objective_std``."""
    study = _check_study(study)
    std = pd.Series(study.trials["objective_std"].to_numpy(dtype=float),
                    index=study.trials["trial_id"])
    runs = study.runs
    if runs is not None and not runs.empty:
        grouped = runs_by_trial(runs)
        from_runs = grouped.std(ddof=1)[grouped.count() >= 2]
        std.loc[std.index.isin(from_runs.index)] = from_runs.reindex(
            std.index[std.index.isin(from_runs.index)]).to_numpy()
    return std


def _bucket_edges(x: np.ndarray, lo: float, hi: float, buckets, bucketing, hp):
    """Edges in the hyperparameter's own scale."""
    if not isinstance(buckets, int):
        return own_scale(list(buckets), hp)
    if bucketing == "width":
        return np.linspace(lo, hi, buckets + 1)
    return np.unique(np.quantile(x[np.isfinite(x)], np.linspace(0, 1, buckets + 1)))


def isolation_table(study_or_studies, scientific: str | None = None, buckets=5,
                    bucketing: str = "width") -> pd.DataFrame:
    """Best trial per value (or bucket) of a scientific hyperparameter, after optimizing
    away the nuisance ones (playbook section 4). Columns ``ISOLATION_COLUMNS``.

    * ``scientific``: a hyperparameter column; ``None`` takes each study's name as its
      scientific value (one study per scientific value, the playbook's simplest design).
      Several studies are pooled: a value's best trial is the best over all of them.
    * Grouping: by exact value when there are no more distinct values than buckets
      (always for categorical/discrete); otherwise into ``buckets`` buckets in the
      hyperparameter's own scale (log10 for log): ``bucketing="width"`` (default; equal
      width over the search range, so bucket edges compare across studies) or
      ``"quantile"`` (equal numbers of trials, for uneven sampling such as Bayesian
      optimization). ``buckets`` may also be a list of edges in raw units.
    * ``n_trials``: finished trials in the group; ``std``: retrain variance of the best
      trial (std over its runs, see :func:`retrain_std`), NaN with one run;
      ``ci_low``/``ci_high``: the 95% t interval of its mean objective over its
      ``n_runs`` runs (NaN with one run). A group whose trials are all infeasible has NaN
      objective and no trial_id.

    Args:
        study_or_studies: a study's results, or a list of them (pooled).
        scientific: the scientific hyperparameter; None: each study's name.
        buckets: buckets of a numeric hyperparameter, or a list of bucket edges.
        bucketing: ``"width"`` or ``"quantile"``.

    Returns:
        pandas.DataFrame: one row per value or bucket: its best trial, objective,
        ``std``, ``ci_low``, ``ci_high``, ``n_runs`` and ``n_trials``.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, ``scientific`` is not one of its hyperparameters, or ``buckets`` /
            ``bucketing`` is not allowed.

    Example::

        pk.isolation_table(study, "depth")
    """
    studies = _as_studies(study_or_studies, "study_or_studies")
    if bucketing not in BUCKETINGS:
        raise ValueError(f"bucketing must be one of {BUCKETINGS}, got {bucketing!r}")
    if isinstance(buckets, bool) or not (
            (isinstance(buckets, int) and buckets >= 1) or (
            isinstance(buckets, (list, tuple, np.ndarray)) and len(buckets) >= 2
            and np.all(np.diff(np.asarray(buckets, dtype=float)) > 0))):
        raise ValueError(f"buckets must be a positive int or an increasing list of at "
                         f"least 2 edges, got {buckets!r}")
    frames = []
    for s in studies:
        t = s.trials[finished_mask(s.trials)].copy()
        if scientific is None:
            t["_value"] = s.name
        elif scientific in t.columns:
            t["_value"] = t[scientific]
        else:
            raise ValueError(
                f"scientific {scientific!r} is not a hyperparameter of study {s.name!r}; "
                f"allowed: {s.hyperparameter_names} or None (study name as the value)")
        t["_study"] = s.name
        t["_feasible"] = feasible_mask(t)
        t["_std"] = retrain_std(s).reindex(t["trial_id"].astype(str)).to_numpy()
        frames.append(t[t["_value"].notna()])
    trials = pd.concat(frames, ignore_index=True)
    if scientific is None:
        hp = Hyperparameter("study", "unknown", "categorical",
                            values=tuple(s.name for s in studies))
    else:
        hp = hyperparameter(next(s for s in studies if scientific in s.trials.columns),
                            scientific)
    n_buckets = buckets if isinstance(buckets, int) else len(buckets) - 1
    by_value = (not is_numeric(hp)) or trials["_value"].astype(str).nunique() <= n_buckets
    direction = studies[0].direction
    rows = []
    if by_value:
        if is_numeric(hp):
            keys = sorted(pd.unique(trials["_value"].astype(float)))
            key_of = trials["_value"].astype(float)
        else:
            keys = _categories(hp, trials["_value"])
            key_of = trials["_value"]
        for key in keys:
            group = trials[key_of.astype(str) == str(key)]
            if not group.empty:
                rows.append(_isolation_row(group, direction, str(key), np.nan, np.nan, key))
    else:
        x = own_scale(trials["_value"], hp)
        bounds = own_scale(list(search_range(hp, trials["_value"])[:2]), hp)
        lo, hi = np.nanmin([bounds[0], np.nanmin(x)]), np.nanmax([bounds[1], np.nanmax(x)])
        edges = _bucket_edges(x, lo, hi, buckets, bucketing, hp)
        raw = 10 ** edges if hp.scale == "log" else edges
        for i in range(len(edges) - 1):
            last = i == len(edges) - 2
            inside = (x >= edges[i]) & ((x <= edges[i + 1]) if last else (x < edges[i + 1]))
            group = trials[inside]
            if not group.empty:
                label = f"[{fmt(raw[i], 3)}, {fmt(raw[i + 1], 3)}{']' if last else ')'}"
                rows.append(_isolation_row(group, direction, label, raw[i], raw[i + 1], None))
    return pd.DataFrame(rows, columns=ISOLATION_COLUMNS)


def _isolation_row(group, direction, label, low, high, value) -> dict:
    feasible = group[group["_feasible"]]
    row = dict(study="", bucket=label, bucket_low=float(low), bucket_high=float(high),
               value=value, objective=float("nan"), trial_id=None, n_trials=len(group),
               n_feasible=len(feasible), n_runs=0, std=float("nan"), ci_low=float("nan"),
               ci_high=float("nan"))
    if not feasible.empty:
        best = feasible.iloc[rules.best_position(feasible["objective"], direction)]
        row.update(study=best["_study"], objective=float(best["objective"]),
                   trial_id=str(best["trial_id"]), std=float(best["_std"]),
                   n_runs=int(best["n_runs"]) if pd.notna(best.get("n_runs")) else 1)
        if value is None:
            row["value"] = best["_value"]
        row["ci_low"], row["ci_high"] = mean_interval(row["objective"], row["std"],
                                                      row["n_runs"], ERROR_BAR_CONFIDENCE)
    return row


def plot_isolation(study_or_studies, scientific: str | None = None, buckets=5,
                   bucketing: str = "width", ax=None):
    """Isolation plot: the best trial per scientific value (or bucket) from
    :func:`isolation_table`, with the 95% t interval of the best trial's mean where it
    has several runs (see the module docstring) and the number of trials behind each
    point.

    Args:
        study_or_studies: a study's results, or a list of them (pooled).
        scientific: the scientific hyperparameter; None: each study's name.
        buckets: buckets of a numeric hyperparameter, or a list of bucket edges.
        bucketing: ``"width"`` or ``"quantile"``.
        ax: the matplotlib Axes to draw into; None: a new figure.

    Returns:
        matplotlib.axes.Axes: the plot.

    Raises:
        ValueError: as :func:`isolation_table`.

    Example::

        pk.plot_isolation(study, "depth")
    """
    studies = _as_studies(study_or_studies, "study_or_studies")
    table = isolation_table(studies, scientific, buckets, bucketing)
    ax = _new_axes(ax, figsize=(6.2, 4.2))
    name = scientific or "study"
    hp = (Hyperparameter("study", "unknown", "categorical") if scientific is None else
          hyperparameter(next(s for s in studies if scientific in s.trials.columns),
                         scientific))
    feas = table[table["objective"].notna()]
    bad = table[table["objective"].isna()]
    extent = np.concatenate([feas["objective"], feas["ci_low"].dropna(),
                             feas["ci_high"].dropna()])
    ylim, y_bad = _y_limits(extent, studies[0].direction)
    bucketed = table["bucket_low"].notna().any()
    if is_numeric(hp):
        xs = pd.to_numeric(feas["value"]).to_numpy(dtype=float)
        x_bad = np.sqrt(bad["bucket_low"] * bad["bucket_high"]).to_numpy(dtype=float) \
            if hp.scale == "log" else ((bad["bucket_low"] + bad["bucket_high"]) / 2).to_numpy(
                dtype=float)
        if not bucketed:
            x_bad = pd.to_numeric(bad["value"]).to_numpy(dtype=float)
            ticks = pd.to_numeric(table["value"]).to_numpy(dtype=float)
            ax.set_xticks(ticks, [fmt(v, 3) for v in ticks])
        if hp.scale == "log":
            ax.set_xscale("log")
        if bucketed:
            edges = sorted(set(table["bucket_low"]) | set(table["bucket_high"]))
            for e in edges:
                ax.axvline(e, color=BOUND_COLOR, linestyle=":", linewidth=0.8, zorder=1,
                           gid="bucket_edge")
    else:
        index = {k: i for i, k in enumerate(table["bucket"])}
        xs = np.array([index[k] for k in feas["bucket"]], dtype=float)
        x_bad = np.array([index[k] for k in bad["bucket"]], dtype=float)
        ax.set_xticks(range(len(table)), list(table["bucket"]))
        ax.set_xlim(-0.6, len(table) - 0.4)
    ys = feas["objective"].to_numpy(dtype=float)
    order = np.argsort(xs)
    ax.plot(xs[order], ys[order], marker="o", markersize=7, linestyle="-" if is_numeric(hp)
            else "none", color=study_colors(1)[0], label="best trial per "
            + ("bucket" if bucketed else "value"), gid="isolation", zorder=3)
    low, high = feas["ci_low"].to_numpy(dtype=float), feas["ci_high"].to_numpy(dtype=float)
    has_bar = np.isfinite(low)
    if has_bar.any():
        ax.errorbar(xs[has_bar], ys[has_bar],
                    yerr=[ys[has_bar] - low[has_bar], high[has_bar] - ys[has_bar]],
                    fmt="none", capsize=4, color="black", linewidth=1.0,
                    label=f"{ERROR_BAR_CONFIDENCE:.0%} t interval of the best trial's mean "
                          "over its runs", gid="mean_interval", zorder=4)
    for x, y, n in zip(xs, ys, feas["n_trials"]):
        ax.annotate(f"n={n}", (x, y), textcoords="offset points", xytext=(6, 5),
                    ha="left", fontsize="x-small", gid="n_trials")
    if len(bad):
        ax.scatter(x_bad, [y_bad] * len(bad), marker=INFEASIBLE_MARKER,
                   color=INFEASIBLE_COLOR, s=40, zorder=4, gid="infeasible",
                   label=f"all trials infeasible ({len(bad)})")
    ax.set_ylim(*ylim)
    ax.set_xlabel(_scale_label(hp) if scientific else "study (one per scientific value)")
    ax.set_ylabel(_objective_label(studies[0]))
    ax.set_title(f"Isolation plot: {name}\nbest trial per "
                 f"{'bucket' if bucketed else 'value'} after optimizing the nuisance "
                 "hyperparameters")
    ax.legend(loc="best")
    return ax
