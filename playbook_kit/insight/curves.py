"""Training curves (playbook section 4): what the curves of each trial say about
overfitting, noise, training length and pipeline bugs.

:func:`diagnose_curves` checks every trial's curves and returns a table (one row per
trial and check); :func:`plot_curves` draws all trials' curves with the best few
highlighted; :func:`plot_trial` draws one trial's curves, learning rate and gradient
norm.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core import rules
from ..reporting.style import BEST_MARKER, FAINT_ALPHA, FAINT_COLOR, detach, study_colors
from ..results.study_results import StudyResults
from ._common import _as_float, _check_study, fmt, check_fraction, _pct
from ._plotting import _note, new_figure

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
            **{key: check_fraction(key, value) for key, value in overrides.items()}}


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

    The objective's curve  is normalized per trial to its
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

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        **thresholds: any of the thresholds named above (``best_tolerance``,
            ``overfitting_tolerance``, ...), each a fraction, overriding the toolkit's.

    Returns:
        pandas.DataFrame: one row per trial and check: ``trial_id``, ``check``,
        ``flagged``, ``value``, ``reason``.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, or a threshold is unknown or not a fraction.

    Example::

        table = pk.diagnose_curves(study)
        table[table["flagged"] == True]
    """
    study = _check_study(study)
    th = resolve_thresholds(**thresholds)
    split, metric, direction = objective_curve(study)
    sign = rules.sign(direction)
    objective_curves = _mean_curves(study.curves, split, metric)
    train_loss = _mean_curves(study.curves, "train", "loss")
    rows = []
    for _, trial in study.trials.iterrows():
        tid = str(trial["trial_id"])
        status = trial["status"]
        result: dict = {}
        objective = _as_float(trial["objective"])
        finished = status in rules.FINISHED_STATUSES
        if finished and not rules.is_feasible(status, objective):
            why = trial.get("reason") if isinstance(trial.get("reason"), str) else ""
            result["infeasible"] = (True, float("nan"), float("nan"),
                                    f"trial is {status}" + (f": {why}" if why else ""))
            skip = f"not checked: trial is {status}"
        elif not finished:
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
    if curve is not None and np.isfinite(np.asarray(curve[1], dtype=float)).any():
        i = rules.best_position(curve[1], study.direction)
        return float(curve[0][i])
    return float("nan")


def plot_curves(study: StudyResults, metric: str = "loss", top_k: int = 3,
                yscale: str = "linear"):
    """Training curves of every trial, train and validation side by side: all trials
    faint, the ``top_k`` best highlighted with their best checkpoint starred (playbook:
    look at the curves of at least the best few trials).

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        metric: the metric whose curves to draw (``loss``, ``accuracy``, ...).
        top_k: best trials highlighted.
        yscale: ``"linear"`` or ``"log"``.

    Returns:
        matplotlib.figure.Figure: train and validation panels.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, ``top_k`` or ``yscale`` is not allowed, or the study recorded no curves
            of ``metric``.

    Example::

        pk.plot_curves(study, metric="accuracy", top_k=3)
    """
    study = _check_study(study)
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
        raise ValueError(f"top_k must be a non-negative int, got {top_k!r}")
    if yscale not in ("linear", "log"):
        raise ValueError(f"yscale must be 'linear' or 'log', got {yscale!r}")
    metrics = available_metrics(study)
    if not metrics:
        fig, ax = new_figure()
        _note(ax, "no training curves recorded for this study\n"
                  "(a plain keras-tuner study stores only final metrics)")
        ax.set_title(f"Training curves: {study.name}")
        return detach(fig)
    if metric not in metrics:
        raise ValueError(f"metric {metric!r} has no curves in study {study.name!r}; "
                         f"allowed: {metrics}")
    fig, axes = new_figure(1, 2, figsize=(11, 4.2), sharex=True)
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
                    f"({study.objective} {fmt(float(objective[tid]), 3)})")
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
    is a dashed line on every panel.

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        trial_id: the trial to draw (``"05"``, as the trials table lists it).

    Returns:
        matplotlib.figure.Figure: one panel per recorded metric.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, or ``trial_id`` is not one of its trials.

    Example::

        pk.plot_trial(study, study.best_trials(1)["trial_id"].iloc[0])
    """
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
    if status == rules.COMPLETED:
        head = f"{study.objective} {fmt(float(trial['objective']), 3)}"
    else:
        reason = trial.get("reason") if isinstance(trial.get("reason"), str) else ""
        head = status + (f": {reason}" if reason else "")
    if not panels:
        fig, ax = new_figure()
        _note(ax, f"no curves recorded for trial {tid}")
        ax.set_title(f"Trial {tid} ({head})")
        return detach(fig)
    ncols = min(2, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(5.6 * ncols, 3.6 * nrows), squeeze=False)
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

