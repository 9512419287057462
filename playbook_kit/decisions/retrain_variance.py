"""Retrain variance: how much one config's objective moves from seed to seed.

The playbook (section 5, "Adopting a change") asks to rerun the best trial of a config N
times and measure its *retrain variance*; it gives no N and no statistic. The choice
here is the toolkit's:

* The interval of one config's mean (:func:`retrain_summary`) is Student's **t
  interval**, ``mean +- t(n - 1) * std / sqrt(n)`` (:func:`mean_interval`). It holds at
  any number of runs for normal retrain noise, and errs on the wide side under
  heavy-tailed noise (Student t, 3 df: see the adoption rates below). The
  percentile bootstrap it replaced (resample the runs, read quantiles of the means) is
  too narrow with few runs: it cannot see variation the runs did not show and ignores
  that the spread itself is estimated: its 95% interval covered the true mean of normal
  runs 75% of the time at 3 runs and 83% at 5 (4,000 simulated samples each).

A stored study's trial whose runs a decision reads is pinned, so that retention keeps
its checkpoints. Functions here read numbers (or a
:class:`~playbook_kit.results.study_results.StudyResults`); they never train: rerunning
a config with N seeds is :func:`~playbook_kit.decisions.rounds.retrain`'s job.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..core import rules
from ..core.rules import fmt
from ..core.validation import not_allowed
from ._statistics import (_better_word, _check_confidence, _check_values, _critical_value,
                          _variance)


def mean_interval(mean: float, std: float, n: int, confidence: float = 0.95
                  ) -> tuple[float, float]:
    """The t interval of a mean from ``n`` runs: ``mean +- t * std / sqrt(n)``.

    ``t`` is Student's two-sided quantile at ``confidence`` with ``n - 1`` degrees of
    freedom: for normal runs it covers the true mean at exactly ``confidence`` whatever
    ``n`` (the percentile bootstrap it replaced covered 75% instead of 95% at 3 runs, see
    the module docstring). ``std`` has ddof=1. NaN bounds for fewer than 2 runs (one run
    shows no retrain variance); a zero ``std`` gives a zero-width interval.
    """
    if n < 2 or not math.isfinite(std):
        return float("nan"), float("nan")
    half = _critical_value(n - 1, confidence) * std / math.sqrt(n)
    return mean - half, mean + half


@dataclass(frozen=True)
class RetrainSummary:
    """Retrain variance of one config: statistics of its N runs (one per seed).

    ``ci_low``/``ci_high`` bound the *mean* objective: the t interval at ``confidence``; they are NaN for a single run, which shows no variance.

    Attributes:
        n: runs.
        mean: the mean objective value.
        std: their standard deviation, ddof=1 (NaN for one run).
        min: the lowest value.
        max: the highest value.
        ci_low: the t interval of the mean, its lower end.
        ci_high: its upper end.
        confidence: of that interval.
        direction: ``"max"`` or ``"min"``.

    Example::

        summary = pk.retrain_summary(pk.runs_from_study(retrained, "0"))
        f"{summary.mean:.4f} +- {summary.std:.4f} over {summary.n} seeds"
    """

    n: int
    mean: float
    std: float
    min: float
    max: float
    ci_low: float
    ci_high: float
    confidence: float
    direction: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __getitem__(self, key: str):
        """Dict-style access (``summary["mean"]``), for code that expects a dict."""
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)

    def to_markdown(self, label: str = "runs") -> str:
        pct = f"{self.confidence:.0%}"
        return (f"| config | runs | mean | std | min | max | {pct} t interval of mean |\n"
                "|---|---|---|---|---|---|---|\n" + self._row(label))

    def _row(self, label: str) -> str:
        return (f"| {label} | {self.n} | {fmt(self.mean)} | {fmt(self.std)} | "
                f"{fmt(self.min)} | {fmt(self.max)} | "
                f"[{fmt(self.ci_low)}, {fmt(self.ci_high)}] |\n")


def retrain_summary(values, direction: str = "max",
                    confidence: float = 0.95) -> RetrainSummary:
    """Summarize the retrain variance of one config from its runs' objective values.

    ``values``: the validation objective (at the best checkpoint) of each run, one per
    seed. The std has ddof=1 (NaN for one run); the interval is the t interval of the
    mean at ``confidence``.

    Args:
        values: the objective of each run (at its best checkpoint), one per seed.
        direction: ``"max"`` or ``"min"``: which way the objective is better.
        confidence: of the interval of the mean, in (0, 1).

    Returns:
        RetrainSummary: ``n``, ``mean``, ``std``, ``min``, ``max``, ``ci_low``,
        ``ci_high``.

    Raises:
        ValueError: ``values`` empty, not numbers or not finite (naming the position), an
            unknown direction, or ``confidence`` out of range.

    Example::

        pk.retrain_summary([0.951, 0.957, 0.949, 0.955, 0.953]).std
    """
    direction = rules.check_direction(direction)
    arr = _check_values("values", values)
    confidence = _check_confidence(confidence)
    n = int(arr.size)
    mean = float(arr.mean())
    std = math.sqrt(_variance(arr)) if n >= 2 else float("nan")
    ci_low, ci_high = mean_interval(mean, std, n, confidence)
    return RetrainSummary(n=n, mean=mean, std=std, min=float(arr.min()),
                          max=float(arr.max()), ci_low=ci_low, ci_high=ci_high,
                          confidence=confidence, direction=direction)


def runs_from_study(study, trial_id) -> np.ndarray:
    """Objective values of one trial's runs (one per seed, ordered by seed).

    Reads ``study.runs``. Only completed runs with a finite objective are returned;
    dropped runs (infeasible, failed, still running) raise a warning, because a config
    that diverges on some seeds has a retrain problem that the numbers alone hide. In a
    stored study the trial is pinned: a decision refers to it, so the study's retention
    keeps its checkpoints (:mod:`playbook_kit.studies.retention`).

    Args:
        study: a study's results with one row per run (:func:`retrain` gives one).
        trial_id: the trial whose runs to read.

    Returns:
        numpy.ndarray: the completed runs' objective values, by seed.

    Raises:
        ValueError: ``study`` has no ``runs`` table, the trial has no runs, or none of
            them completed with a finite objective.

    Example::

        retrained = pk.retrain(study, "05", seeds=5)
        values = pk.runs_from_study(retrained, "0")
    """
    runs = getattr(study, "runs", None)
    if not isinstance(runs, pd.DataFrame):
        raise ValueError(
            f"study={study!r}: must be a StudyResults with a `runs` DataFrame "
            "(one row per (trial, seed) run)")
    missing = {"trial_id", "seed", "status", "objective"} - set(runs.columns)
    if missing:
        raise ValueError(
            f"study.runs: missing columns {sorted(missing)}; the results contract needs "
            "trial_id, seed, status, objective")
    ids = runs["trial_id"].astype(str)
    mine = runs[ids == str(trial_id)]
    if mine.empty:
        known = sorted(ids.unique())
        shown = known[:10] + (["..."] if len(known) > 10 else [])
        raise ValueError(
            f"trial_id={trial_id!r}: no runs in study {getattr(study, 'name', '?')!r}; "
            f"trials with runs: {shown}")
    _pin(getattr(study, "path", None), trial_id)
    mine = mine.sort_values("seed", kind="stable")
    ok = rules.feasible_mask(mine)
    if not ok.all():
        dropped = mine.loc[~ok, ["seed", "status"]].to_dict("records")
        warnings.warn(
            f"trial {trial_id!r}: {len(dropped)} of {len(mine)} runs dropped (not completed "
            f"or no finite objective): {dropped}. A config that is infeasible on some "
            "seeds is less reliable than its mean suggests.", stacklevel=2)
    by_trial = dict(list(runs_by_trial(mine)))   # get_group misses string-dtype keys
    values = by_trial.get(str(trial_id), pd.Series(dtype=float)).to_numpy(dtype=float)
    if values.size == 0:
        raise ValueError(
            f"trial_id={trial_id!r}: none of its {len(mine)} runs completed with a finite "
            "objective; there is no retrain variance to measure")
    return values


def runs_by_trial(runs: pd.DataFrame):
    """A runs table's feasible runs (completed, with a finite objective) grouped by
    ``trial_id`` as text: their objectives as numbers, in the order of ``runs``. The one
    regrouping of a study's runs by trial: :func:`runs_from_study` reads one trial's,
    the isolation plot's error bars every trial's spread."""
    ok = runs[rules.feasible_mask(runs)]
    objective = pd.to_numeric(ok["objective"], errors="coerce").astype(float)
    return objective.groupby(ok["trial_id"].astype(str), sort=False)


def _pin(path, trial_id) -> None:
    """Pin a stored playbook-kit study's trial that a decision reads."""
    from pathlib import Path

    from ..studies.retention import pin_trial
    from ..studies.store import STUDY_FILE

    if path is not None and (Path(path) / STUDY_FILE).exists():
        pin_trial(path, trial_id, "decision")


def plot_retrain_variance(groups: Mapping[str, Sequence[float]], objective_name: str,
                          direction: str | None = None, ax=None):
    """Strip + box plot of the runs of each config: one point per seed.

    ``groups`` maps a config label (e.g. "baseline", "candidate") to its runs'
    objective values.

    Args:
        groups: each config's label mapped to its runs' objective values.
        objective_name: the vertical axis' label.
        direction: ``"max"`` or ``"min"``, said in the axis label; None leaves it out.
        ax: the matplotlib Axes to draw into; None: a new figure.

    Returns:
        matplotlib.axes.Axes: the plot.

    Raises:
        ValueError: ``groups`` empty or its values not finite numbers, an empty
            ``objective_name``, or an unknown direction.

    Example::

        pk.plot_retrain_variance({"baseline": baseline_runs, "deeper": candidate_runs},
                                 "val_accuracy", "max")
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if not isinstance(groups, Mapping) or not groups:
        raise not_allowed("groups", groups, "use a non-empty dict mapping a config label "
                          "to its runs' objective values")
    if not isinstance(objective_name, str) or not objective_name.strip():
        raise not_allowed("objective_name", objective_name, "use a non-empty string, the "
                          "objective's name for the axis label (e.g. 'val_accuracy')")
    if direction is not None:
        rules.check_direction(direction)
    frames, order = [], []
    for label, values in groups.items():
        arr = _check_values(f"groups[{label!r}]", values)
        tick = f"{label}\n(n={arr.size})"
        order.append(tick)
        frames.append(pd.DataFrame({"config": tick, "value": arr}))
    data = pd.concat(frames, ignore_index=True)

    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(order) + 2.0), 4.0),
                             layout="constrained")
    sns.boxplot(data=data, x="config", y="value", order=order, ax=ax, color="0.88",
                showfliers=False, width=0.5)
    sns.stripplot(data=data, x="config", y="value", order=order, ax=ax, color="C0",
                  size=6, jitter=0.12, alpha=0.85)
    for i, tick in enumerate(order):
        mean = data.loc[data["config"] == tick, "value"].mean()
        ax.plot([i - 0.3, i + 0.3], [mean, mean], color="C3", lw=1.5,
                label="mean" if i == 0 else None)
    ax.legend(loc="best", frameon=False)
    ylabel = objective_name
    if direction is not None:
        ylabel += f" ({_better_word(direction)} is better)"
    ax.set_ylabel(ylabel)
    ax.set_xlabel("config (each point: one run with its own seed)")
    ax.set_title(f"Retrain variance of {objective_name}")
    if own_figure:
        from ..reporting.style import detach

        detach(ax.figure)
    return ax
