"""Recipes: find where training becomes unstable, and the warmup that fixes it
(playbook section 8).

* :func:`instability_probe`: sweep the learning rate upward from a config, train each
  rate for a few steps with an evaluation every step, flag the runs whose training loss
  rises or diverges, and report ``unstable_base_learning_rate`` (the lowest flagged rate);
* :func:`warmup_sweep`: at a target rate (default 10x the unstable one), sweep
  ``warmup_steps`` over orders of magnitude and report the shortest warmup that makes
  the target stable.

Instability rule (:func:`classify_run`; the threshold is the toolkit's choice, the
playbook gives no number): a run is unstable when the trainer marks it infeasible (a
NaN/Inf loss or gradient norm, or a training loss above 5x its initial value), or when the
training loss on the fixed training sample rises more than ``rise_tolerance`` (10%) above
its value before training at any evaluation. A stable run's loss only falls below its
start; a 10% rise is far above the step-to-step noise of a loss evaluated on the same
512 examples.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.validation import check_int, check_number, not_allowed
from .recipe_result import (RecipeResult, check_increasing, check_workload, recipe_run,
                            panels, with_progress)

RISE_TOLERANCE = 0.10
"""A run whose training loss rises more than 10% above its initial value is unstable
(toolkit's choice; see the module docstring)."""

WARMUP_STEPS = (0, 10, 100, 1000)
"""Default warmup sweep: orders of magnitude, as the playbook suggests (0 shows the
target rate without warmup)."""


def classify_run(result, rise_tolerance: float = RISE_TOLERANCE) -> dict:
    """``{"unstable", "unstable_step", "max_loss_rise", "why"}`` for one trial result.

    ``unstable_step`` is the step at which the run diverged (the trainer's infeasible
    step) or at which the training loss first rose more than ``rise_tolerance`` above its
    initial value; ``max_loss_rise`` is the largest such rise (0.25 = 25%).
    """
    loss = result.curve("train", "loss")
    initial = float(loss.iloc[0]) if len(loss) else math.nan
    rise = (loss / initial - 1.0) if len(loss) else loss
    max_rise = float(np.nanmax(rise.to_numpy())) if len(rise) else math.nan
    if not result.feasible:
        return {"unstable": True, "unstable_step": int(result.steps_completed),
                "max_loss_rise": max_rise, "why": result.reason}
    risen = rise[rise > rise_tolerance]
    if len(risen):
        step = int(risen.index[0])
        return {"unstable": True, "unstable_step": step, "max_loss_rise": max_rise,
                "why": f"training loss rose {risen.iloc[0]:.0%} above its initial "
                       f"{initial:.4g} at step {step}"}
    return {"unstable": False, "unstable_step": None, "max_loss_rise": max_rise,
            "why": "stable"}


def _run_rows(runs, rise_tolerance, key, values):
    rows = []
    for value, run in zip(values, runs):
        verdict = classify_run(run, rise_tolerance)
        loss = run.curve("train", "loss")
        norm = run.curve("optimizer", "grad_norm_mean")
        rows.append({key: value, "status": run.status, "unstable": verdict["unstable"],
                     "unstable_step": verdict["unstable_step"],
                     "max_loss_rise": verdict["max_loss_rise"],
                     "initial_train_loss": float(loss.iloc[0]) if len(loss) else math.nan,
                     "final_train_loss": float(loss.iloc[-1]) if len(loss) else math.nan,
                     "max_grad_norm": float(norm.max()) if len(norm) else math.nan,
                     "steps_completed": run.steps_completed, "why": verdict["why"]})
    table = pd.DataFrame(rows)
    table["unstable_step"] = table["unstable_step"].astype("Int64")
    return table


def plot_runs(runs, labels, unstable, title: str, ax=None):
    """Training loss and, in a second panel, global gradient norm against step, one line
    per run (unstable runs dashed; see :meth:`RecipeResult.plot` for ``ax``); returns the
    Axes of the loss."""
    axes = panels(ax, 2, (10.5, 3.9))
    left = axes[0]
    for i, (run, label, bad) in enumerate(zip(runs, labels, unstable)):
        style = dict(color=f"C{i % 10}", linestyle="--" if bad else "-",
                     label=label + (" (unstable)" if bad else ""))
        loss = run.curve("train", "loss")
        left.plot(loss.index, loss.to_numpy(), **style)
        if len(axes) > 1:
            norm = run.curve("optimizer", "grad_norm_mean")
            axes[1].plot(norm.index, norm.to_numpy(), **style)
    left.set(xlabel="step", ylabel="training loss (fixed sample)", yscale="log",
             title=f"{title}: training loss")
    if len(axes) > 1:
        axes[1].set(xlabel="step", ylabel="global gradient norm (before clipping)",
                    yscale="log", title=f"{title}: gradient norm")
    left.legend(fontsize="small")
    return left


@dataclass
class InstabilityProbe(RecipeResult):
    """Result of :func:`instability_probe`: ``table`` has one row per learning rate
    (``unstable``, ``unstable_step``, ``max_loss_rise``, losses, gradient norm, ``why``);
    ``runs`` the trial results.

    Attributes:
        table: one row per learning rate.
        recommendation: the answer in words.
        numbers: ``unstable_base_learning_rate``, ...
        warnings: what to be careful about.
        runs: the :class:`TrialResult` of each rate.

    Example::

        probe.table[["learning_rate", "unstable", "why"]]
    """

    runs: list = None
    goal = "find the learning rate at which training becomes unstable"
    name = "instability_probe"

    @property
    def unstable_base_learning_rate(self) -> float | None:
        return self.numbers["unstable_base_learning_rate"]

    def decision(self) -> str:
        rate = self.unstable_base_learning_rate
        return f"unstable_base_learning_rate={rate:.3g}" if rate else "no instability found"

    def plot(self, ax=None):
        """Training loss and gradient norm against step for each rate (see
        :meth:`RecipeResult.plot`); returns the Axes of the loss."""
        return plot_runs(self.runs, [f"lr={r:.3g}" for r in self.table["learning_rate"]],
                         self.table["unstable"].tolist(), "Instability probe", ax)


def instability_probe(workload, config: dict | None = None, *, learning_rates=None,
                      factor: float = 3.0, n_rates: int = 6, steps: int = 50,
                      eval_every: int = 1, rise_tolerance: float = RISE_TOLERANCE,
                      stop_after: int = 2, seed: int = 0,
                      progress: bool = False, directory=None) -> InstabilityProbe:
    """Sweep the learning rate upward and find ``unstable_base_learning_rate``.

    Rates are ``learning_rates`` (increasing), or the config's learning rate times
    ``factor**i`` for ``i < n_rates`` (1x, 3x, 9x, ... 243x by default). Each trains
    ``steps`` steps (constant schedule, no warmup, no clipping) with an evaluation every
    ``eval_every`` steps; the playbook asks for about 500 steps and an evaluation every
    step to catch early instability, so raise ``steps`` on a real budget. Each run is
    classified by :func:`classify_run`; the sweep stops after ``stop_after`` unstable
    rates in a row. ``unstable_base_learning_rate`` is the lowest unstable rate. With
    ``directory`` each run is kept there, and the probe run again resumes at the run it
    was in (:func:`~playbook_kit.recipes.recipe_result.recipe_run`).

    Args:
        workload: the workload to train.
        config: the config over the workload's defaults (its learning rate is the base).
        learning_rates: the rates to try, increasing; None: ``factor`` powers.
        factor: the ratio between rates.
        n_rates: rates tried.
        steps: training steps per rate.
        eval_every: steps between evaluations.
        rise_tolerance: the rise of the training loss above its start that counts as
            unstable (0.1: 10%).
        stop_after: unstable rates in a row that end the sweep.
        seed: seeds every run.
        progress: show a progress bar.
        directory: a folder to keep the runs in, so that the probe resumes; None keeps
            nothing.

    Returns:
        InstabilityProbe: the table, ``unstable_base_learning_rate`` and the
        recommendation.

    Raises:
        ValueError: an argument out of range, before any training.

    Example::

        probe = pk.instability_probe(workload, {"learning_rate": 1.0e-3}, steps=50)
        probe.unstable_base_learning_rate, probe.plot()
    """

    check_workload(workload)
    steps = check_int("steps", steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    if eval_every > steps:
        raise not_allowed("eval_every", eval_every, f"use at most steps={steps}")
    rise_tolerance = check_number("rise_tolerance", rise_tolerance, low=0.0, low_inclusive=False)
    stop_after = check_int("stop_after", stop_after, minimum=1)
    config = workload.config({**(config or {}), "schedule": "constant", "warmup_steps": 0,
                              "clip_norm": None})
    if learning_rates is None:
        factor = check_number("factor", factor, low=1.0, low_inclusive=False)
        n_rates = check_int("n_rates", n_rates, minimum=2)
        learning_rates = [config["learning_rate"] * factor ** i for i in range(n_rates)]
    learning_rates = check_increasing("learning_rates", learning_rates)
    runs, in_a_row = [], 0
    for learning_rate in with_progress(learning_rates, progress, "learning rates"):
        run = recipe_run(directory, f"learning_rate-{learning_rate:.6g}", workload,
                         {**config, "learning_rate": learning_rate}, seed,
                         max_train_steps=steps, eval_every=eval_every)
        runs.append(run)
        in_a_row = in_a_row + 1 if classify_run(run, rise_tolerance)["unstable"] else 0
        if in_a_row >= stop_after:
            break
    table = _run_rows(runs, rise_tolerance, "learning_rate", learning_rates)
    unstable = table[table["unstable"]]
    stable = table[~table["unstable"]]
    numbers = {"rise_tolerance": rise_tolerance, "steps": steps,
               "unstable_base_learning_rate": None, "largest_stable_learning_rate": None}
    warnings = []
    if unstable.empty:
        text = (f"No instability up to learning_rate={learning_rates[-1]:.3g} in {steps} "
                "steps: the sweep may need higher rates or more steps.")
    else:
        first = unstable.iloc[0]
        base = float(first["learning_rate"])
        below = stable[stable["learning_rate"] < base]
        numbers["unstable_base_learning_rate"] = base
        if not below.empty:
            numbers["largest_stable_learning_rate"] = float(below["learning_rate"].iloc[-1])
        text = f"unstable_base_learning_rate={base:.3g}: {first['why']}."
        if below.empty:
            warnings.append("even the lowest rate is unstable: start the sweep lower")
        else:
            text += (f" The largest stable rate is "
                     f"{numbers['largest_stable_learning_rate']:.3g}. To train faster than "
                     "that, try a warmup (warmup_sweep), gradient clipping, or the "
                     "architecture fixes of the playbook (x + f(Norm(x)) residuals, "
                     "zero-initialized residual branches).")
        late = stable[stable["learning_rate"] > base]
        if not late.empty:
            warnings.append(f"rates above {base:.3g} were stable again "
                            f"({', '.join(f'{r:.3g}' for r in late['learning_rate'])}): "
                            "instability near the boundary can be noisy; rerun with more "
                            "steps or seeds")
    return InstabilityProbe(table, text, numbers, warnings, runs)


@dataclass
class WarmupSweep(RecipeResult):
    """Result of :func:`warmup_sweep`: ``table`` has one row per warmup length.

    Attributes:
        table: one row per warmup length.
        recommendation: the answer in words.
        numbers: ``recommended_warmup_steps``, ``target_learning_rate``, ...
        warnings: a warmup long next to ``max_train_steps``.
        runs: the :class:`TrialResult` of each warmup.

    Example::

        warmup.table[["warmup_steps", "unstable", "why"]]
    """

    runs: list = None
    goal = "find the shortest warmup that makes a higher learning rate stable"
    name = "warmup_sweep"

    @property
    def recommended_warmup_steps(self) -> int | None:
        return self.numbers["recommended_warmup_steps"]

    def decision(self) -> str:
        steps = self.recommended_warmup_steps
        if steps is None:
            return "no stable warmup found"
        return (f"warmup_steps={steps} at learning_rate="
                f"{self.numbers['target_learning_rate']:.3g}")

    def plot(self, ax=None):
        """Training loss and gradient norm against step for each warmup (see
        :meth:`RecipeResult.plot`); returns the Axes of the loss."""
        return plot_runs(self.runs, [f"warmup {w}" for w in self.table["warmup_steps"]],
                         self.table["unstable"].tolist(),
                         f"Warmup at lr={self.numbers['target_learning_rate']:.3g}", ax)


def warmup_sweep(workload, config: dict | None = None, *, unstable_base_learning_rate,
                 target_learning_rate: float | None = None, warmup_steps=WARMUP_STEPS,
                 constant_steps: int | None = None, max_train_steps: int | None = None,
                 eval_every: int = 1, rise_tolerance: float = RISE_TOLERANCE,
                 stop_at_first_stable: bool = True, seed: int = 0,
                 progress: bool = False, directory=None) -> WarmupSweep:
    """Find the shortest warmup that makes ``target_learning_rate`` stable (playbook).

    ``unstable_base_learning_rate``: a number, or an :class:`InstabilityProbe`; the
    target defaults to 10x it and must be above it. Each ``warmup_steps`` value (0 and
    increasing; orders of magnitude by default) trains a linear ramp 0 -> target over
    ``w`` steps, then the target held constant for ``constant_steps`` (default
    ``max(2 * w, 50)``: the playbook's "about 2x warmup_steps", at least 50 steps so
    that short warmups are really tested). Runs are classified as in :func:`instability_probe`;
    with ``stop_at_first_stable`` the sweep stops at the first stable warmup.

    With ``max_train_steps`` (the budget of the studies to come) the result warns when
    the warmup exceeds 10% of it (too long) and suggests more steps above 5% (playbook).
    With ``directory`` each run is kept there, and the sweep run again resumes at the run
    it was in (:func:`~playbook_kit.recipes.recipe_result.recipe_run`).

    Args:
        workload: the workload to train.
        config: the config over the workload's defaults.
        unstable_base_learning_rate: a rate, or the :class:`InstabilityProbe` that found it.
        target_learning_rate: the rate to reach; None: 10x the unstable base.
        warmup_steps: warmup lengths to try, 0 first, increasing.
        constant_steps: steps held at the target after the warmup; None: ``max(2 w, 50)``.
        max_train_steps: the studies' budget, for the warnings; None: no warning.
        eval_every: steps between evaluations.
        rise_tolerance: the rise of the training loss that counts as unstable.
        stop_at_first_stable: end the sweep at the first stable warmup.
        seed: seeds every run.
        progress: show a progress bar.
        directory: a folder to keep the runs in, so that the sweep resumes; None keeps
            nothing.

    Returns:
        WarmupSweep: the table, ``recommended_warmup_steps`` and the recommendation.

    Raises:
        ValueError: a target not above the unstable base, warmups not starting at 0 and
            increasing, or another argument out of range, before any training.

    Example::

        warmup = pk.warmup_sweep(workload, unstable_base_learning_rate=probe,
                                 warmup_steps=[0, 10, 30, 100], max_train_steps=2000)
        warmup.recommended_warmup_steps
    """

    check_workload(workload)
    if isinstance(unstable_base_learning_rate, InstabilityProbe):
        probe = unstable_base_learning_rate
        unstable_base_learning_rate = probe.unstable_base_learning_rate
        if unstable_base_learning_rate is None:
            raise ValueError("unstable_base_learning_rate: the instability probe found no "
                             "unstable rate; probe higher rates first")
    base = check_number("unstable_base_learning_rate", unstable_base_learning_rate,
                        low=0.0, low_inclusive=False)
    target = 10.0 * base if target_learning_rate is None else target_learning_rate
    target = check_number("target_learning_rate", target, low=0.0, low_inclusive=False)
    if target <= base:
        raise not_allowed("target_learning_rate", target,
                          f"use a rate above unstable_base_learning_rate={base!r} (the "
                          "playbook targets 10x it)")
    warmups = check_increasing("warmup_steps", warmup_steps, int, minimum=0)
    if constant_steps is not None:
        constant_steps = check_int("constant_steps", constant_steps, minimum=1)
    if max_train_steps is not None:
        max_train_steps = check_int("max_train_steps", max_train_steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    rise_tolerance = check_number("rise_tolerance", rise_tolerance, low=0.0, low_inclusive=False)
    config = workload.config({**(config or {}), "learning_rate": target,
                              "schedule": "constant", "clip_norm": None})
    runs = []
    for warmup in with_progress(warmups, progress, "warmup lengths"):
        hold = constant_steps if constant_steps is not None else max(2 * warmup, 50)
        total = warmup + hold
        runs.append(recipe_run(directory, f"warmup_steps-{warmup}", workload,
                               {**config, "warmup_steps": warmup}, seed,
                               max_train_steps=total, eval_every=min(eval_every, total)))
        if stop_at_first_stable and not classify_run(runs[-1], rise_tolerance)["unstable"]:
            break
    table = _run_rows(runs, rise_tolerance, "warmup_steps", warmups)
    table.insert(1, "train_steps", [r.max_train_steps for r in runs])
    stable = table[~table["unstable"]]
    numbers = {"target_learning_rate": target, "unstable_base_learning_rate": base,
               "recommended_warmup_steps": None, "max_train_steps": max_train_steps,
               "warmup_fraction": None}
    warnings = []
    if stable.empty:
        text = (f"No warmup up to {warmups[-1]} steps makes learning_rate={target:.3g} "
                "stable: try longer warmups, a target nearer the unstable rate, gradient "
                "clipping, or the playbook's architecture fixes.")
        return WarmupSweep(table, text, numbers, warnings, runs)
    best = int(stable["warmup_steps"].iloc[0])
    numbers["recommended_warmup_steps"] = best
    if best == 0:
        text = (f"learning_rate={target:.3g} is stable without warmup: no warmup is needed "
                "at this rate.")
    else:
        unstable = table[table["unstable"] & (table["warmup_steps"] < best)]
        shown = "; ".join(f"warmup {int(w)}: {why}" for w, why in
                          zip(unstable["warmup_steps"], unstable["why"]))
        text = (f"Use warmup_steps={best} with learning_rate={target:.3g} "
                f"({target / base:.3g}x the unstable base rate {base:.3g}): the shortest "
                "warmup in the sweep that trains stably" + (f" ({shown})." if shown else "."))
    if max_train_steps is not None and best > 0:
        numbers["warmup_fraction"] = best / max_train_steps
        warning = warmup_budget_warning(best, max_train_steps)
        if warning:
            warnings.append(warning)
    return WarmupSweep(table, text, numbers, warnings, runs)


def warmup_budget_warning(warmup_steps: int, max_train_steps: int) -> str | None:
    """The playbook's limits on warmup length: above 10% of ``max_train_steps`` is too
    long; above 5% suggests increasing ``max_train_steps``. None within 5%."""
    fraction = warmup_steps / max_train_steps
    if fraction > 0.10:
        return (f"warmup_steps={warmup_steps} is {fraction:.0%} of max_train_steps="
                f"{max_train_steps}, above the playbook's 10% limit: raise max_train_steps "
                "or target a lower learning rate")
    if fraction > 0.05:
        return (f"warmup_steps={warmup_steps} is {fraction:.0%} of max_train_steps="
                f"{max_train_steps} (over 5%): consider increasing max_train_steps")
    return None
