"""Search algorithms as keras-tuner oracles: exploration and exploitation.

*Exploration* is quasi-random search (:class:`QuasiRandomOracle`): non-adaptive,
reproducible, uniform, the same points in parallel or in sequence. *Exploitation* is
Bayesian optimization that learns where trials are infeasible
(:class:`InfeasibleAwareBayesianOracle`). :class:`RandomOracle`, :class:`GridOracle`
(fine in one or two dimensions) and :class:`ListOracle` (a user's list of configs)
complete the set; :func:`make_oracle` picks one by name.

How trials are numbered and what counts as infeasible: :mod:`.oracle_base`. The point
generators are in :mod:`.points` (no keras-tuner needed), the Bayesian oracle in
:mod:`.bayesian`.
"""
from __future__ import annotations

import warnings

import keras_tuner as kt
from keras_tuner.engine.trial import TrialStatus

from .bayesian import InfeasibleAwareBayesianOracle
from .oracle_base import _PlaybookOracle, is_infeasible
from .points import (
    GRID_POINTS_PER_DIMENSION, _as_space, _quasi_random_config, _random_unit, grid_configs,
)
from .space import ALGORITHMS

__all__ = [
    "ALGORITHMS", "GridOracle", "InfeasibleAwareBayesianOracle", "ListOracle",
    "QuasiRandomOracle", "RandomOracle", "is_infeasible", "make_oracle", "run_oracle",
]


class QuasiRandomOracle(_PlaybookOracle, kt.Oracle):
    """Quasi-random search: the playbook's default for exploration.

    Trial ``k`` gets point ``k`` of a scrambled, shifted Halton sequence
    (:func:`quasi_random_unit`) mapped through :meth:`SearchSpace.config_from_unit`:
    one dimension per varied hyperparameter, a conditional child's dimension read only
    when it is active. Different seeds give different point sets. Repeated configs
    (possible in small discrete spaces) are kept, so that trial ``k`` never depends on
    earlier trials.
    """

    algorithm = "quasi_random"

    def __init__(self, space, max_trials, seed=0, objective=None, max_retries_per_trial=0):
        super().__init__(**self._kt_kwargs(space, max_trials, seed, objective,
                                           max_retries_per_trial))
        self._fix_seed(seed)

    def config_for_trial(self, k):
        return _quasi_random_config(self.space, self.seed, k)


class RandomOracle(_PlaybookOracle, kt.Oracle):
    """Pseudo-random search, uniform on each hyperparameter's scale; point ``k`` is a
    function of (seed, k), so resumes and parallel runs match sequential ones."""

    algorithm = "random"

    def __init__(self, space, max_trials, seed=0, objective=None, max_retries_per_trial=0):
        super().__init__(**self._kt_kwargs(space, max_trials, seed, objective,
                                           max_retries_per_trial))
        self._fix_seed(seed)

    def config_for_trial(self, k):
        return self.space.config_from_unit(_random_unit(self.space.dimension, self.seed, k))


class GridOracle(_PlaybookOracle, kt.Oracle):
    """Grid search over :func:`grid_configs`; the playbook finds it fine only in one or
    two varied dimensions, so more than two draws a warning. ``max_trials`` defaults to
    the grid size; a smaller budget runs the first ``max_trials`` grid points (warned)."""

    algorithm = "grid"

    def __init__(self, space, max_trials=None, seed=0, objective=None,
                 points_per_dimension=GRID_POINTS_PER_DIMENSION, max_retries_per_trial=0):
        space = _as_space(space)
        self.grid = grid_configs(space, points_per_dimension)
        if space.dimension > 2:
            warnings.warn(
                f"grid search over {space.dimension} varied hyperparameters "
                f"({len(self.grid)} points); the playbook recommends a grid only in one or "
                "two dimensions: use algorithm='quasi_random'", stacklevel=2)
        max_trials = len(self.grid) if max_trials is None else max_trials
        if max_trials < len(self.grid):
            warnings.warn(f"max_trials {max_trials} is smaller than the grid "
                          f"({len(self.grid)} points): only the first {max_trials} "
                          "grid points will run", stacklevel=2)
        super().__init__(**self._kt_kwargs(space, max_trials, seed, objective,
                                           max_retries_per_trial))
        self._fix_seed(seed)

    def config_for_trial(self, k):
        return dict(self.grid[k]) if k < len(self.grid) else None


class ListOracle(_PlaybookOracle, kt.Oracle):
    """Runs a user's list of configs in order, each checked against the space and
    completed with its fixed values. ``max_trials`` defaults to the list's length."""

    algorithm = "list"

    def __init__(self, space, configs, max_trials=None, seed=0, objective=None,
                 max_retries_per_trial=0):
        space = _as_space(space)
        if not configs:
            raise ValueError("configs: the list of configs is empty")
        self.configs = [space.validate_config(dict(c)) for c in configs]
        max_trials = len(self.configs) if max_trials is None else max_trials
        super().__init__(**self._kt_kwargs(space, max_trials, seed, objective,
                                           max_retries_per_trial))
        self._fix_seed(seed)

    def config_for_trial(self, k):
        return dict(self.configs[k]) if k < len(self.configs) else None


# -- by name ---------------------------------------------------------------------------

_ORACLES = {
    "quasi_random": QuasiRandomOracle, "random": RandomOracle, "grid": GridOracle,
    "bayesian": InfeasibleAwareBayesianOracle, "list": ListOracle,
}


def make_oracle(algorithm="quasi_random", space=None, max_trials=None, seed=0,
                objective=None, configs=None, **kwargs):
    """The oracle for ``algorithm`` (one of :data:`ALGORITHMS`), for CLI and YAML use.

    ``space`` may be a :class:`SearchSpace` or its dict form; ``configs`` is required
    for ``"list"`` and refused elsewhere; ``max_trials`` may be None only for ``"grid"``
    and ``"list"`` (their size). Extra keyword arguments go to the oracle's constructor.
    """
    if algorithm not in _ORACLES:
        raise ValueError(f"algorithm {algorithm!r}: unknown search algorithm; allowed: "
                         f"{list(ALGORITHMS)}")
    if space is None:
        raise ValueError("space: a search space is required")
    if algorithm == "list":
        if configs is None:
            raise ValueError("configs: algorithm 'list' needs a list of configs")
        return ListOracle(space, configs, max_trials=max_trials, seed=seed,
                          objective=objective, **kwargs)
    if configs is not None:
        raise ValueError(f"configs: only algorithm 'list' takes configs, got algorithm "
                         f"{algorithm!r}")
    if max_trials is None and algorithm != "grid":
        raise ValueError(f"max_trials: algorithm {algorithm!r} needs a trial budget")
    return _ORACLES[algorithm](space, max_trials=max_trials, seed=seed,
                               objective=objective, **kwargs)


def run_oracle(oracle, n: int, objective, metric: str = "loss", tuner_id: str = "tuner0"):
    """Drive an oracle for up to ``n`` trials on a Python ``objective(values)`` without
    training: a cheap way to study a search algorithm. ``objective`` returns the metric's
    value, or None for an infeasible trial (ended as FAILED). Returns the finished trials;
    the oracle needs a project directory (``oracle._set_project_dir``)."""
    trials = []
    for _ in range(n):
        trial = oracle.create_trial(tuner_id)
        if trial.status == TrialStatus.STOPPED:
            break
        score = objective(trial.hyperparameters.values)
        if score is None:
            trial.status, trial.message = TrialStatus.FAILED, "infeasible"
        else:
            oracle.update_trial(trial.trial_id, {metric: score})
            trial.status = TrialStatus.COMPLETED
        oracle.end_trial(trial)
        trials.append(trial)
    return trials
