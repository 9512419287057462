"""The playbook's insight figures: axis plots, isolation plots, training curves, best-of-n.

Every function returns the matplotlib Axes or Figure it drew on; nothing is shown or
saved here. A function that takes ``ax`` draws into it; without one it makes a new
figure. Conventions (playbook section 4): y is the validation objective at the best
checkpoint; infeasible trials are red crosses at the plot's worst edge (bottom when the
objective is maximized, top when minimized); log-scale hyperparameters get a log x-axis;
discrete and categorical ones are jittered strips. Artists carry a ``gid`` ("feasible:
<study>", "infeasible", "failed", "best", "bound", ...) so that callers and tests can
find them.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..results import StudyResults
from ..style import (detach, BEST_MARKER, BOUND_COLOR, FAILED_COLOR, FAINT_ALPHA, FAINT_COLOR,
                     INFEASIBLE_COLOR, INFEASIBLE_MARKER, study_colors)
from .diagnostics import (Hyperparameter, _as_studies, _check_study, _fmt, best_of_n,
                          feasible_mask, finished_mask, hyperparameter, infeasible_mask,
                          objective_curve, own_scale, search_range,
                          varied_hyperparameters, _mean_curves)

JITTER = 0.18
"""Half-width of the horizontal jitter of strip (discrete/categorical) axis plots."""


def _objective_label(study: StudyResults) -> str:
    """y label: the objective, where it is read, and which way is better."""
    arrow = "\u2191" if study.direction == "max" else "\u2193"
    return f"{study.objective} at best checkpoint {arrow}"


def _scale_label(hp: Hyperparameter) -> str:
    return f"{hp.name} ({hp.scale} scale)"


def _y_limits(ys, direction: str) -> tuple[tuple[float, float], float]:
    """(ylim, y of the infeasible row): a band past the worst feasible value."""
    ys = np.asarray([y for y in ys if np.isfinite(y)], dtype=float)
    if ys.size == 0:
        return (0.0, 1.0), (0.06 if direction == "max" else 0.94)
    lo, hi = float(ys.min()), float(ys.max())
    pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi) * 0.05, 0.05)
    if direction == "max":
        return (lo - 2.5 * pad, hi + pad), lo - 1.5 * pad
    return (lo - pad, hi + 2.5 * pad), hi + 1.5 * pad


def _new_axes(ax, figsize=(5.4, 3.9)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
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
    if not hp.is_strip:
        return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    index = {str(c): i for i, c in enumerate(categories)}
    base = np.array([index.get(str(v), np.nan) for v in values], dtype=float)
    return base + rng.uniform(-JITTER, JITTER, size=len(base))


# ------------------------------------------------------------------------ axis plots
def axis_plot(study, name: str, ax=None):
    """Basic hyperparameter axis plot (playbook section 4): objective at the best
    checkpoint against ``name``, one point per trial, infeasible trials as red crosses
    at the worst edge, the best trial as a star, search-space bounds dashed. ``study``
    may be a list of studies, overlaid by colour. Returns the Axes."""
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
    categories = _categories(hp, all_values) if hp.is_strip else None
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
            i = int(np.argmax(y[feas]) if direction == "max" else np.argmin(y[feas]))
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
    if hp.is_strip:
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


def axis_plots(study_or_studies, names=None, ncols: int = 3):
    """Axis plots for every hyperparameter that varied (or ``names``), in a grid,
    scientific hyperparameters first. Returns the Figure."""
    studies = _as_studies(study_or_studies, "study_or_studies")
    if not isinstance(ncols, int) or isinstance(ncols, bool) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    if names is None:
        names = varied_hyperparameters(studies)
    elif isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"names must be a list of hyperparameter names, got {names!r}")
    label = ", ".join(s.name for s in studies)
    if not names:
        fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
        _note(ax, "no hyperparameter varied in this study: nothing to plot")
        ax.set_title(f"Axis plots: {label}")
        return detach(fig)
    ncols = min(ncols, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.7 * nrows),
                             layout="constrained", squeeze=False)
    flat = axes.ravel()
    handles: dict = {}
    for i, name in enumerate(names):
        axis_plot(studies, name, ax=flat[i])
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


# -------------------------------------------------------------------- isolation plots
ISOLATION_COLUMNS = ["study", "bucket", "bucket_low", "bucket_high", "value", "objective",
                     "trial_id", "n_trials", "n_feasible", "n_runs", "std"]
BUCKETINGS = ("width", "quantile")


def retrain_std(study: StudyResults) -> pd.Series:
    """Std of the objective over each trial's runs (seeds), by trial_id: from the runs
    table where a trial has two or more completed runs, else ``objective_std``."""
    study = _check_study(study)
    std = pd.Series(study.trials["objective_std"].to_numpy(dtype=float),
                    index=study.trials["trial_id"])
    runs = study.runs
    if runs is not None and not runs.empty:
        ok = runs[(runs["status"] == "completed") & runs["objective"].notna()]
        grouped = ok.assign(objective=pd.to_numeric(ok["objective"], errors="coerce")).groupby(
            ok["trial_id"].astype(str))["objective"]
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
      trial (std over its runs, see :func:`retrain_std`), NaN with one run. A group
      whose trials are all infeasible has NaN objective and no trial_id.
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
        hp = Hyperparameter("study", scale="categorical",
                            values=tuple(s.name for s in studies))
    else:
        hp = hyperparameter(next(s for s in studies if scientific in s.trials.columns),
                            scientific)
    n_buckets = buckets if isinstance(buckets, int) else len(buckets) - 1
    by_value = (not hp.is_numeric) or trials["_value"].astype(str).nunique() <= n_buckets
    direction = studies[0].direction
    rows = []
    if by_value:
        if hp.is_numeric:
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
                label = f"[{_fmt(raw[i])}, {_fmt(raw[i + 1])}{']' if last else ')'}"
                rows.append(_isolation_row(group, direction, label, raw[i], raw[i + 1], None))
    return pd.DataFrame(rows, columns=ISOLATION_COLUMNS)


def _isolation_row(group, direction, label, low, high, value) -> dict:
    feasible = group[group["_feasible"]]
    row = dict(study="", bucket=label, bucket_low=float(low), bucket_high=float(high),
               value=value, objective=float("nan"), trial_id=None, n_trials=len(group),
               n_feasible=len(feasible), n_runs=0, std=float("nan"))
    if not feasible.empty:
        obj = feasible["objective"].astype(float)
        best = feasible.loc[obj.idxmax() if direction == "max" else obj.idxmin()]
        row.update(study=best["_study"], objective=float(best["objective"]),
                   trial_id=str(best["trial_id"]), std=float(best["_std"]),
                   n_runs=int(best["n_runs"]) if pd.notna(best.get("n_runs")) else 1)
        if value is None:
            row["value"] = best["_value"]
    return row


def isolation_plot(study_or_studies, scientific: str | None = None, buckets=5,
                   bucketing: str = "width", ax=None):
    """Isolation plot: the best trial per scientific value (or bucket) from
    :func:`isolation_table`, with retrain-variance error bars where the best trial has
    several runs and the number of trials behind each point. Returns the Axes."""
    studies = _as_studies(study_or_studies, "study_or_studies")
    table = isolation_table(studies, scientific, buckets, bucketing)
    ax = _new_axes(ax, figsize=(6.2, 4.2))
    name = scientific or "study"
    hp = (Hyperparameter("study", scale="categorical") if scientific is None else
          hyperparameter(next(s for s in studies if scientific in s.trials.columns),
                         scientific))
    feas = table[table["objective"].notna()]
    bad = table[table["objective"].isna()]
    spread = np.nan_to_num(feas["std"].to_numpy(dtype=float))
    extent = np.concatenate([feas["objective"] - spread, feas["objective"] + spread])
    ylim, y_bad = _y_limits(extent, studies[0].direction)
    bucketed = table["bucket_low"].notna().any()
    if hp.is_numeric:
        xs = pd.to_numeric(feas["value"]).to_numpy(dtype=float)
        x_bad = np.sqrt(bad["bucket_low"] * bad["bucket_high"]).to_numpy(dtype=float) \
            if hp.scale == "log" else ((bad["bucket_low"] + bad["bucket_high"]) / 2).to_numpy(
                dtype=float)
        if not bucketed:
            x_bad = pd.to_numeric(bad["value"]).to_numpy(dtype=float)
            ticks = pd.to_numeric(table["value"]).to_numpy(dtype=float)
            ax.set_xticks(ticks, [_fmt(v) for v in ticks])
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
    ax.plot(xs[order], ys[order], marker="o", markersize=7, linestyle="-" if hp.is_numeric
            else "none", color=study_colors(1)[0], label="best trial per "
            + ("bucket" if bucketed else "value"), gid="isolation", zorder=3)
    std = feas["std"].to_numpy(dtype=float)
    has_std = np.isfinite(std)
    if has_std.any():
        ax.errorbar(xs[has_std], ys[has_std], yerr=std[has_std], fmt="none", capsize=4,
                    color="black", linewidth=1.0, label="retrain std (runs of best trial)",
                    gid="retrain_std", zorder=4)
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


# -------------------------------------------------------------------- training curves
def available_metrics(study: StudyResults) -> list[str]:
    """Metrics that have train or validation curves in ``study``."""
    c = study.curves
    if c.empty:
        return []
    return sorted(set(c.loc[c["split"].isin(["train", "validation"]), "metric"]))


def _best_step(study: StudyResults, trial_id: str, curve=None) -> float:
    row = study.trials[study.trials["trial_id"].astype(str) == trial_id]
    if not row.empty and pd.notna(row["best_step"].iloc[0]):
        return float(row["best_step"].iloc[0])
    if curve is not None and len(curve[1]):
        i = np.argmax(curve[1]) if study.direction == "max" else np.argmin(curve[1])
        return float(curve[0][i])
    return float("nan")


def plot_curves(study: StudyResults, metric: str = "loss", top_k: int = 3,
                yscale: str = "linear"):
    """Training curves of every trial, train and validation side by side: all trials
    faint, the ``top_k`` best highlighted with their best checkpoint starred (playbook:
    look at the curves of at least the best few trials). Returns the Figure."""
    study = _check_study(study)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
        raise ValueError(f"top_k must be a non-negative int, got {top_k!r}")
    if yscale not in ("linear", "log"):
        raise ValueError(f"yscale must be 'linear' or 'log', got {yscale!r}")
    metrics = available_metrics(study)
    if not metrics:
        fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
        _note(ax, "no training curves recorded for this study\n"
                  "(a plain keras-tuner study stores only final metrics)")
        ax.set_title(f"Training curves: {study.name}")
        return detach(fig)
    if metric not in metrics:
        raise ValueError(f"metric {metric!r} has no curves in study {study.name!r}; "
                         f"allowed: {metrics}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained", sharex=True)
    top = [str(t) for t in study.best_trials(top_k)["trial_id"]] if top_k else []
    colors = study_colors(len(top))
    objective_split, objective_metric, _ = objective_curve(study)
    objective_curves = _mean_curves(study.curves, objective_split, objective_metric)
    objective = study.trials.set_index(study.trials["trial_id"].astype(str))["objective"]
    for split, ax in zip(("train", "validation"), axes):
        curves = _mean_curves(study.curves, split, metric)
        for tid, (steps, values) in curves.items():
            if tid not in top:
                ax.plot(steps, values, color=FAINT_COLOR, alpha=FAINT_ALPHA, linewidth=0.8,
                        gid=f"trial:{tid}")
        for rank, tid in enumerate(top):
            if tid not in curves:
                continue
            steps, values = curves[tid]
            ax.plot(steps, values, color=colors[rank], linewidth=2.0, zorder=3,
                    gid=f"top:{tid}", label=f"#{rank + 1} trial {tid} "
                    f"({study.objective} {_fmt(float(objective[tid]))})")
            step = _best_step(study, tid, objective_curves.get(tid))
            if np.isfinite(step) and len(steps):
                ax.scatter([step], [np.interp(step, steps, values)], marker=BEST_MARKER,
                           s=150, color=colors[rank], edgecolors="black", linewidths=0.7,
                           zorder=5, gid=f"best_step:{tid}")
        if not curves:
            _note(ax, f"no {split} {metric} curves")
        ax.set_title(f"{split} {metric}")
        ax.set_xlabel("step")
        ax.set_ylabel(metric)
        ax.set_yscale(yscale)
        if study.max_train_steps:
            ax.set_xlim(0, study.max_train_steps)
    if top:
        axes[1].legend(loc="best", title="\u2605 best checkpoint")
    fig.suptitle(f"Training curves: {study.name} ({len(study.trials)} trials, "
                 f"best {len(top)} highlighted)")
    return detach(fig)


def plot_trial(study: StudyResults, trial_id):
    """One trial's curves: train/validation loss and each other metric, the learning
    rate and the gradient norm when recorded (split "optimizer"); the best checkpoint
    is a dashed line on every panel. Returns the Figure."""
    study = _check_study(study)
    tid = str(trial_id)
    ids = list(study.trials["trial_id"].astype(str))
    if tid not in ids:
        raise ValueError(f"trial_id {trial_id!r} is not a trial of study {study.name!r}; "
                         f"allowed: {ids[:10]}{' ...' if len(ids) > 10 else ''}")
    trial = study.trials[study.trials["trial_id"].astype(str) == tid].iloc[0]
    c = study.curves[study.curves["trial_id"].astype(str) == tid] if not study.curves.empty \
        else study.curves
    metrics = sorted(set(c.loc[c["split"].isin(["train", "validation"]), "metric"]),
                     key=lambda m: (m != "loss", m)) if not c.empty else []
    optimizer = set(c.loc[c["split"] == "optimizer", "metric"]) if not c.empty else set()
    panels = [("metric", m) for m in metrics]
    if "learning_rate" in optimizer:
        panels.append(("optimizer", "learning_rate"))
    if optimizer & {"grad_norm_mean", "grad_norm_max"}:
        panels.append(("optimizer", "grad_norm"))
    status = trial["status"]
    if status == "completed":
        head = f"{study.objective} {_fmt(float(trial['objective']))}"
    else:
        reason = trial.get("reason") if isinstance(trial.get("reason"), str) else ""
        head = status + (f": {reason}" if reason else "")
    if not panels:
        fig, ax = plt.subplots(figsize=(6, 2.5), layout="constrained")
        _note(ax, f"no curves recorded for trial {tid}")
        ax.set_title(f"Trial {tid} ({head})")
        return detach(fig)
    ncols = min(2, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 3.6 * nrows),
                             layout="constrained", squeeze=False)
    flat = axes.ravel()
    split_o, metric_o, _ = objective_curve(study)
    step = _best_step(study, tid, _mean_curves(c, split_o, metric_o).get(tid))
    colors = dict(zip(("train", "validation"), study_colors(2)))
    for ax, (kind, name) in zip(flat, panels):
        if kind == "metric":
            series = [(split, name, colors[split], "-") for split in ("train", "validation")]
            ax.set_ylabel(name)
        elif name == "learning_rate":
            series = [("optimizer", "learning_rate", "black", "-")]
            ax.set_ylabel("learning rate")
        else:
            series = [("optimizer", "grad_norm_mean", "black", "-"),
                      ("optimizer", "grad_norm_max", "0.5", "--")]
            ax.set_ylabel("global gradient norm")
        for split, metric, color, style in series:
            part = c[(c["split"] == split) & (c["metric"] == metric)]
            if part.empty:
                continue
            per_step = part.assign(value=pd.to_numeric(part["value"], errors="coerce").astype(
                float)).groupby("step")["value"]
            mean = per_step.mean()
            ax.plot(mean.index, mean.to_numpy(), color=color, linestyle=style,
                    label=split if kind == "metric" else metric, gid=f"{split}:{metric}")
            if part["seed"].nunique() > 1:
                ax.fill_between(mean.index, per_step.min(), per_step.max(), color=color,
                                alpha=0.2, linewidth=0)
            if name == "grad_norm" and mean.min() > 0 and mean.max() / mean.min() > 10:
                ax.set_yscale("log")
        if np.isfinite(step):
            ax.axvline(step, color="0.3", linestyle="--", linewidth=1.0, gid="best_step",
                       label=f"best checkpoint (step {int(step)})")
        ax.set_xlabel("step")
        ax.set_title(name.replace("_", " "))
        ax.legend(loc="best")
        if study.max_train_steps:
            ax.set_xlim(0, study.max_train_steps)
    for ax in flat[len(panels):]:
        fig.delaxes(ax)
    fig.suptitle(f"Trial {tid} of {study.name} ({head})")
    return detach(fig)


# ---------------------------------------------------------------------------- best-of-n
def plot_best_of_n(study: StudyResults, budgets=None, n_boot: int = 1000, seed: int = 0,
                   ax=None):
    """Box per study size n of the bootstrapped best objective (see
    :func:`~playbook_kit.insight.diagnostics.best_of_n`), with the study's actual best
    as a line. Narrow boxes at the study's own size mean more trials would likely not
    change the best much. Returns the Axes."""
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
        best = feasible.max() if study.direction == "max" else feasible.min()
        ax.axhline(best, color="0.3", linestyle="--", linewidth=1.0, gid="study_best",
                   label=f"best of the {len(study.trials[finished_mask(study.trials)])} "
                         f"trials ({_fmt(float(best))})")
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
    count as trials that found nothing): how fast each search reached its best."""
    studies = _as_studies(study_or_studies)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    colors = study_colors(len(studies))
    for study, color in zip(studies, colors):
        trials = study.trials.assign(k=pd.to_numeric(study.trials["trial_id"], errors="coerce"))
        trials = trials.sort_values("k")
        values = trials["objective"].where(feasible_mask(trials)).to_numpy(dtype=float)
        sign = 1.0 if study.direction == "max" else -1.0
        running = sign * np.fmax.accumulate(np.where(np.isnan(values), -np.inf, sign * values))
        running[~np.isfinite(running)] = np.nan
        ax.step(np.arange(1, len(running) + 1), running, where="post", color=color,
                label=f"{study.name} ({len(trials)} trials)")
    first = studies[0]
    ax.set_xlabel("trial number")
    ax.set_ylabel(f"best {first.objective} so far {'↑' if first.direction == 'max' else '↓'}")
    ax.set_title("Best so far")
    ax.legend(frameon=False)
    return detach(ax.figure) if own else ax
