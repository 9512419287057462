"""Recipe: an initial ``max_train_steps`` when training is not compute-bound (playbook
section 2).

The playbook's recipe: take a configuration that can fit the training set; grid-search a
constant learning rate with no augmentation or regularization, each run with the same
generous number of steps; the steps the fastest run needs to reach (nearly) perfect
training performance are the first ``max_train_steps``. Check that the best learning
rate is not at the grid's edge. The best-checkpoint position rule (first 10% / last 25%
of training, see :func:`playbook_kit.insight.diagnose_curves`) is applied to the runs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ..core.validation import check_int, check_number, not_allowed
from .recipe_result import (RecipeResult, check_increasing, check_workload, recipe_run,
                            with_progress)

TARGET_ACCURACY = 0.99
""""Nearly perfect training performance": accuracy on the fixed training sample of at
least 99% (the toolkit's choice; the playbook gives no number)."""

RECIPE_OVERRIDES = {"schedule": "constant", "warmup_steps": 0, "dropout": 0.0, "l2": 0.0}
"""The recipe trains with a constant learning rate and no regularization (playbook)."""


@dataclass
class InitialTrainingLength(RecipeResult):
    """Result of :func:`initial_training_length`: ``table`` has one row per learning rate
    (``steps_to_target``, final training accuracy, best step and the best-checkpoint
    position flags); ``runs`` the trial results.

    Attributes:
        table: one row per learning rate.
        recommendation: the answer in words.
        numbers: ``recommended_max_train_steps``, ``fastest_learning_rate``, ...
        warnings: the fastest rate at the grid's edge; the best step late in the budget.
        runs: the :class:`TrialResult` of each rate.

    Example::

        length.table[["learning_rate", "steps_to_target"]]
        length.plot()
    """

    runs: list = None
    goal = "choose an initial max_train_steps (not compute-bound)"
    name = "training_length"

    @property
    def recommended_max_train_steps(self) -> int | None:
        return self.numbers["recommended_max_train_steps"]

    def decision(self) -> str:
        steps = self.recommended_max_train_steps
        return f"max_train_steps={steps}" if steps is not None else "train longer"

    def plot(self, ax=None):
        """Training accuracy against step for each learning rate, with the target and the
        recommended ``max_train_steps``; returns the Axes."""
        from ..insight._plotting import _new_axes

        ax = _new_axes(ax)
        for run, (_, row) in zip(self.runs, self.table.iterrows()):
            curve = run.curve("train", "accuracy")
            ax.plot(curve.index, curve.to_numpy(), label=f"lr={row['learning_rate']:.3g}")
        ax.axhline(self.numbers["target_accuracy"], color="0.5", linestyle="--",
                   label=f"target {self.numbers['target_accuracy']:g}")
        steps = self.recommended_max_train_steps
        if steps is not None:
            ax.axvline(steps, color="C2", linestyle=":", label=f"max_train_steps={steps}")
        ax.set(xlabel="step", ylabel="training accuracy (fixed sample)",
               title="Initial training length (constant learning rate)")
        ax.legend(fontsize="small")
        return ax


def initial_training_length(workload, config: dict | None = None, *, learning_rates,
                            max_train_steps: int = 1000, eval_every: int = 10,
                            target_accuracy: float = TARGET_ACCURACY, seed: int = 0,
                            progress: bool = False, directory=None) -> InitialTrainingLength:
    """Run the playbook's constant-learning-rate sweep and recommend ``max_train_steps``.

    Each rate in ``learning_rates`` (increasing) trains ``config`` for the generous
    ``max_train_steps`` with the recipe's overrides (constant schedule, no warmup,
    dropout and l2 off). A run's *steps to target* is the first evaluation step
    at which training accuracy on the fixed training sample reaches ``target_accuracy``
    (0.99, ``TARGET_ACCURACY``). The recommendation is the fewest steps to target over
    the grid (ties: the lower rate). Warnings: the fastest rate at the grid's edge, and
    the best-checkpoint position rule on the fastest run (best step in the last 25% of
    the generous budget: more steps still help, so the problem may be compute-bound).
    With ``directory`` each run is kept there, and the sweep run again resumes at the run
    it was in (:func:`~playbook_kit.recipes.recipe_result.recipe_run`).

    Args:
        workload: the workload to train.
        config: the config over the workload's defaults.
        learning_rates: the constant rates to try, increasing.
        max_train_steps: the generous budget of every run.
        eval_every: steps between evaluations.
        target_accuracy: training accuracy that counts as fitting the training set.
        seed: seeds every run.
        progress: show a progress bar.
        directory: a folder to keep the runs in, so that the sweep resumes; None keeps
            nothing.

    Returns:
        InitialTrainingLength: the table, ``recommended_max_train_steps`` and the recommendation.

    Raises:
        ValueError: rates not increasing or not positive, or another argument out of
            range, before any training.

    Example::

        length = pk.initial_training_length(workload, learning_rates=[1.0e-3, 3.0e-3, 1.0e-2],
                                            max_train_steps=600, eval_every=20)
        length.recommended_max_train_steps
    """
    from ..insight.curves import diagnose_curves
    from ..results.study_results import as_study

    check_workload(workload)
    learning_rates = check_increasing("learning_rates", learning_rates)
    max_train_steps = check_int("max_train_steps", max_train_steps, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    if eval_every > max_train_steps:
        raise not_allowed("eval_every", eval_every,
                          f"use at most max_train_steps={max_train_steps}")
    target_accuracy = check_number("target_accuracy", target_accuracy, 0.0, 1.0,
                                   low_inclusive=False)
    config = workload.config({**(config or {}), **RECIPE_OVERRIDES})
    runs = []
    for learning_rate in with_progress(learning_rates, progress, "learning rates"):
        runs.append(recipe_run(directory, f"learning_rate-{learning_rate:.6g}", workload,
                               {**config, "learning_rate": learning_rate}, seed,
                               max_train_steps=max_train_steps, eval_every=eval_every))
    flags = diagnose_curves(as_study(runs, name="training_length"))
    rows = []
    for i, (learning_rate, run) in enumerate(zip(learning_rates, runs)):
        accuracy = run.curve("train", "accuracy")
        reached = accuracy[accuracy >= target_accuracy]
        checks = flags[flags["trial_id"] == f"{i:02d}"].set_index("check")
        rows.append({
            "learning_rate": learning_rate, "status": run.status,
            "steps_to_target": float(reached.index[0]) if len(reached) else math.nan,
            "final_train_accuracy": float(accuracy.iloc[-1]) if len(accuracy) else math.nan,
            "best_step": run.best_step,
            "best_step_fraction": (run.best_step / max_train_steps
                                   if run.best_step is not None else math.nan),
            "best_step_early": bool(checks.loc["best_step_early", "flagged"] is True),
            "best_step_late": bool(checks.loc["best_step_late", "flagged"] is True)})
    table = pd.DataFrame(rows)
    text, warnings, numbers = _recommendation(table, max_train_steps, target_accuracy)
    return InitialTrainingLength(table, text, numbers, warnings, runs)


def _recommendation(table, max_train_steps, target):
    numbers = {"target_accuracy": target, "generous_max_train_steps": max_train_steps,
               "recommended_max_train_steps": None, "fastest_learning_rate": None}
    reached = table.dropna(subset=["steps_to_target"])
    if reached.empty:
        text = (f"No learning rate reached training accuracy >= {target:g} within "
                f"{max_train_steps} steps: double max_train_steps and rerun, or, if cost "
                "forbids it, treat training as compute-bound (tune in rounds of growing "
                "length).")
        return text, [], numbers
    fastest = reached.sort_values(["steps_to_target", "learning_rate"]).iloc[0]
    steps, rate = int(fastest["steps_to_target"]), float(fastest["learning_rate"])
    numbers.update(recommended_max_train_steps=steps, fastest_learning_rate=rate)
    text = (f"Use max_train_steps={steps}: the fastest run (learning_rate={rate:.3g}) "
            f"reaches training accuracy >= {target:g} at step {steps} of {max_train_steps}. "
            "Fix it for every trial of the next studies.")
    warnings = []
    if rate in (table["learning_rate"].iloc[0], table["learning_rate"].iloc[-1]):
        side = "lowest" if rate == table["learning_rate"].iloc[0] else "highest"
        warnings.append(f"the fastest learning rate {rate:.3g} is the grid's {side}: extend "
                        "the grid past it and rerun")
    if fastest["best_step_late"]:
        warnings.append(
            f"the fastest run's best checkpoint is at {fastest['best_step_fraction']:.0%} of "
            "the generous budget (last 25%): validation still improves late, so training "
            "may be compute-bound; train longer and retune the decay schedule")
    elif fastest["best_step_early"]:
        text += (f" Its best checkpoint falls in the first 10% of the generous budget "
                 f"({fastest['best_step_fraction']:.0%}): that budget was far too long.")
    return text, warnings, numbers
