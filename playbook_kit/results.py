"""Results layer: any study directory as tidy pandas DataFrames.

This module fixes the contract that the insight and decision layers read. They never
train and never look at files: they take a :class:`StudyResults`.

``trials`` (one row per trial)
    ``trial_id`` (str), ``study`` (str), ``status`` ("completed" | "infeasible" |
    "running" | "failed"), ``objective`` (float: validation objective at the best
    checkpoint, mean over the trial's runs; NaN when infeasible), ``objective_std``
    (float, std over runs; NaN for one run), ``n_runs`` (int), ``best_step`` (int or NA),
    ``final_objective`` (float: the objective at the last evaluation), ``seed`` (int, the
    first run's seed), ``duration_s`` (float), ``reason`` (str, empty when feasible),
    then one column per hyperparameter, named as the hyperparameter (NaN where a
    conditional hyperparameter is inactive).
``runs`` (one row per (trial, seed) run)
    ``trial_id``, ``seed``, ``status``, ``objective``, ``best_step``, ``final_objective``,
    ``duration_s``, ``reason``.
``curves`` (one row per trial, seed, step, split, metric)
    ``trial_id``, ``seed``, ``step`` (int), ``split`` ("train" | "validation" |
    "optimizer"), ``metric`` (str: "loss", "accuracy", ...; for split "optimizer":
    "learning_rate", "grad_norm_mean", "grad_norm_max", "clipped_fraction"),
    ``value`` (float).
``hyperparameters`` (one row per hyperparameter of the search space)
    ``name``, ``role`` ("scientific" | "nuisance" | "fixed" | "unknown"), ``scale``
    ("linear" | "log" | "integer" | "discrete" | "categorical"), ``low``, ``high``
    (floats, NaN for discrete/categorical), ``values`` (list or None), ``parent``
    (str or None), ``parent_values`` (list or None).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

TRIAL_COLUMNS = [
    "trial_id", "study", "status", "objective", "objective_std", "n_runs", "best_step",
    "final_objective", "seed", "duration_s", "reason",
]
RUN_COLUMNS = [
    "trial_id", "seed", "status", "objective", "best_step", "final_objective",
    "duration_s", "reason",
]
CURVE_COLUMNS = ["trial_id", "seed", "step", "split", "metric", "value"]
HYPERPARAMETER_COLUMNS = [
    "name", "role", "scale", "low", "high", "values", "parent", "parent_values",
]
STATUSES = ("completed", "infeasible", "running", "failed")
ROLES = ("scientific", "nuisance", "fixed", "unknown")
SCALES = ("linear", "log", "integer", "discrete", "categorical")


@dataclass
class StudyResults:
    """A loaded study: its tables plus what the objective is and which way is better."""

    name: str
    trials: pd.DataFrame
    curves: pd.DataFrame
    hyperparameters: pd.DataFrame
    runs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RUN_COLUMNS))
    objective: str = "val_accuracy"
    direction: str = "max"
    max_train_steps: int | None = None
    path: str | None = None

    @property
    def hyperparameter_names(self) -> list[str]:
        return list(self.hyperparameters["name"])

    @property
    def feasible(self) -> pd.DataFrame:
        """Completed trials with a finite objective."""
        t = self.trials
        return t[(t["status"] == "completed") & t["objective"].notna()]

    def better(self, a: float, b: float) -> bool:
        """True when objective value ``a`` is better than ``b`` in this study's direction."""
        return a > b if self.direction == "max" else a < b

    def best_trials(self, k: int = 1) -> pd.DataFrame:
        """The ``k`` best feasible trials, best first."""
        return self.feasible.sort_values(
            "objective", ascending=self.direction == "min").head(k)
