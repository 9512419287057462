"""Recipe: a gradient-clipping threshold from recorded gradient norms (playbook
section 8).

The playbook: clip the global gradient norm above a threshold just over the typical
norm; start at the 90th percentile of the norms observed in training; more than 50% of
updates clipped is too aggressive (lower the learning rate instead). Plot the norm
against step and a histogram. The trainer records the global norm before clipping; this
recipe only reads it, it never trains.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.validation import check_number, not_allowed
from .recipe_result import RecipeResult, panels

PERCENTILE = 90.0
"""The playbook's starting point: the 90th percentile of observed norms."""
MAX_CLIPPED_FRACTION = 0.5
"""More than half of the updates clipped is too aggressive (playbook)."""


@dataclass
class ClippingThreshold(RecipeResult):
    """Result of :func:`clipping_threshold`: ``table`` holds the recorded norms (``seed``,
    ``step``, ``grad_norm``, ``clipped_fraction``); ``numbers["recommended_clip_norm"]``
    the threshold.

    Attributes:
        table: the recorded norms.
        recommendation: the answer in words.
        numbers: ``recommended_clip_norm``, ``percentile``, ``clipped_fraction``, ...
        warnings: norms averaged over several steps; a trial clipped on most updates.

    Example::

        result = pk.clipping_threshold(trial)
        result.numbers["recommended_clip_norm"], result.plot()
    """

    goal = "choose a gradient-clipping threshold"
    name = "clip_norm"

    @property
    def recommended_clip_norm(self) -> float:
        return self.numbers["recommended_clip_norm"]

    def decision(self) -> str:
        return f"clip_norm={self.recommended_clip_norm:.4g}"

    def plot(self, ax=None):
        """Gradient norm against step, and its histogram in a second panel, with the
        threshold (see :meth:`RecipeResult.plot`); returns the Axes of the norms."""
        axes = panels(ax, 2, (10.5, 3.9))
        left = axes[0]
        threshold = self.recommended_clip_norm
        label = f"{self.numbers['percentile']:g}th percentile = {threshold:.3g}"
        for seed, run in self.table.groupby("seed"):
            left.plot(run["step"], run["grad_norm"], label=f"seed {seed}")
        left.axhline(threshold, color="C3", linestyle="--", label=label)
        current = self.numbers.get("clip_norm")
        if current is not None:
            left.axhline(current, color="0.4", linestyle=":", label=f"clip_norm used {current:g}")
        left.set(xlabel="step", ylabel="global gradient norm (before clipping)",
                 title="Gradient norm during training")
        left.legend(fontsize="small")
        if len(axes) == 1:
            return left
        right = axes[1]
        right.hist(self.table["grad_norm"], bins=min(40, max(10, len(self.table) // 5)),
                   color="C0")
        right.axvline(threshold, color="C3", linestyle="--", label=label)
        right.set(xlabel="global gradient norm", ylabel="evaluations",
                  title="Histogram of gradient norms")
        right.legend(fontsize="small")
        return left


def _norm_curves(source, trial_id):
    """(curves with trial's optimizer rows, label, clip_norm used or None)."""
    from ..results.loading import load_study
    from ..results.study_results import StudyResults, config_of
    from ..training.trainer import TrialResult

    if isinstance(source, TrialResult):
        if trial_id is not None:
            raise not_allowed("trial_id", trial_id, "give trial_id only with a study, not with "
                              "a TrialResult")
        return source.curves.assign(seed=source.seed), "trial", source.config.get("clip_norm")
    if isinstance(source, (str, Path)):
        source = load_study(source)
    if not isinstance(source, StudyResults):
        raise not_allowed("study", source, "use a TrialResult, a StudyResults or a study "
                          "directory")
    curves = source.curves
    has_norms = (not curves.empty) and (curves["metric"] == "grad_norm_mean").any()
    if not has_norms:
        raise ValueError(f"study {source.name!r} has no recorded gradient norms (no "
                         "'grad_norm_mean' curve): train it with playbook-kit, whose "
                         "trainer records them")
    if trial_id is None:
        best = source.best_trials(1)
        if best.empty:
            raise ValueError(f"study {source.name!r} has no feasible trial; give trial_id")
        trial_id = best["trial_id"].iloc[0]
    config = config_of(source, trial_id)  # names the trial when it is unknown
    curves = curves[curves["trial_id"].astype(str) == str(trial_id)]
    return curves, f"trial {trial_id} of study {source.name!r}", config.get("clip_norm")


def clipping_threshold(source, trial_id=None, *,
                       percentile: float = PERCENTILE) -> ClippingThreshold:
    """Recommend ``clip_norm``: the ``percentile`` (90th) of a trial's recorded global
    gradient norms (``numpy.percentile``, linear interpolation).

    ``source``: a :class:`~playbook_kit.TrialResult`, a StudyResults or a study
    directory; for a study, ``trial_id`` (default: the best trial) picks the trial, and
    the norms of all its runs (seeds) are pooled. The trainer records, at each
    evaluation, the mean of the per-step norms since the last one: train with
    ``eval_every=1`` for per-step norms (means of longer intervals understate the spread,
    and the result warns). Warns when the trial was clipped on more than half of its
    updates (``MAX_CLIPPED_FRACTION``): lower the learning rate instead.

    Args:
        source: a :class:`TrialResult`, a study's results, or a study's folder.
        trial_id: the study's trial; None: its best trial.
        percentile: of the recorded norms, in (0, 100].

    Returns:
        ClippingThreshold: the norms, ``recommended_clip_norm`` and the recommendation.

    Raises:
        ValueError: no gradient norms recorded (a fit-engine trial, a plain keras-tuner
            study), an unknown trial, or ``percentile`` out of range.

    Example::

        trial = pk.train_trial(workload, max_train_steps=200, eval_every=1)
        pk.clipping_threshold(trial).recommended_clip_norm
        pk.clipping_threshold("studies/depth", trial_id="05")
    """
    percentile = check_number("percentile", percentile, 0.0, 100.0,
                              low_inclusive=False)
    curves, label, clip_norm = _norm_curves(source, trial_id)
    optimizer = curves[curves["split"] == "optimizer"]
    table = optimizer.pivot_table(index=["seed", "step"], columns="metric",
                                  values="value").reset_index()
    if "grad_norm_mean" not in table.columns or table["grad_norm_mean"].dropna().empty:
        raise ValueError(f"{label} has no recorded gradient norms (no 'grad_norm_mean' "
                         "curve)")
    table = table.dropna(subset=["grad_norm_mean"]).rename(
        columns={"grad_norm_mean": "grad_norm"})
    if "clipped_fraction" not in table.columns:
        table["clipped_fraction"] = math.nan
    table = table[["seed", "step", "grad_norm", "clipped_fraction"]].reset_index(drop=True)
    norms = table["grad_norm"].to_numpy(dtype=float)
    threshold = float(np.percentile(norms, percentile))
    spans = table.groupby("seed")["step"].diff().fillna(table["step"]).to_numpy(dtype=float)
    clipped = table["clipped_fraction"].to_numpy(dtype=float)
    known = np.isfinite(clipped)
    clipped_fraction = (float(np.sum(clipped[known] * spans[known]) / np.sum(spans[known]))
                        if known.any() else math.nan)
    interval = int(np.median(spans)) if len(spans) else 1
    numbers = {"recommended_clip_norm": threshold, "percentile": percentile,
               "n_norms": int(len(norms)), "median_norm": float(np.median(norms)),
               "max_norm": float(np.max(norms)), "clip_norm": clip_norm,
               "clipped_fraction": clipped_fraction, "eval_every": interval}
    text = (f"Use clip_norm={threshold:.4g}: the {percentile:g}th percentile of the "
            f"{len(norms)} gradient norms recorded for {label} (median "
            f"{numbers['median_norm']:.3g}, max {numbers['max_norm']:.3g}), so that only the "
            "largest updates are clipped.")
    warnings = []
    if clipped_fraction > MAX_CLIPPED_FRACTION:
        warnings.append(f"this run clipped {clipped_fraction:.0%} of its updates (clip_norm="
                        f"{clip_norm}): more than half is too aggressive; lower the "
                        "learning rate instead of clipping harder")
    if interval > 1:
        warnings.append(f"norms were recorded as means over {interval}-step intervals: "
                        "train with eval_every=1 for per-step norms (means understate the "
                        "spread, so the threshold may be low)")
    return ClippingThreshold(table, text, numbers, warnings)
