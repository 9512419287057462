"""Search algorithms as keras-tuner oracles: exploration and exploitation.

*Exploration* is quasi-random search (:class:`QuasiRandomOracle`): non-adaptive,
reproducible, uniform, the same points in parallel or in sequence. *Exploitation* is
Bayesian optimization that learns where trials are infeasible
(:class:`InfeasibleAwareBayesianOracle`). :class:`RandomOracle`, :class:`GridOracle`
(fine in one or two dimensions) and :class:`ListOracle` (a user's list of configs)
complete the set; :func:`make_oracle` picks one by name.

Trial numbering: ``k`` is the number of trials the oracle has created before (keras-tuner
names trial ``k`` as ``f"{k:0{len(str(max_trials))}d}"``, so ``int(trial_id) == k``). The
config of trial ``k`` depends only on (space, seed, k) for every non-adaptive oracle, so
a resumed study and a chief/worker study draw exactly the points a sequential one
would. A trial that is *re-run* keeps its id and config and does not advance ``k``:
keras-tuner puts trials that were RUNNING at a crash, and INVALID trials with retries
left, on its retry queue and hands the same trial out again without calling
``populate_space``.

Infeasible trials. A finished trial is infeasible when its keras-tuner status is
``"FAILED"``, when it completed without a finite objective score, or when it was passed
to :meth:`mark_infeasible`. A study runner signals an infeasible trial by ending it with
``trial.status = "FAILED"`` (and a ``trial.message`` giving the reason) without
reporting the objective; raising ``keras_tuner.errors.FailedTrialError`` in
``run_trial`` does the same. Every oracle here tolerates any number of infeasible
trials in a row (``max_consecutive_failed_trials`` is set above ``max_trials``).
"""
from __future__ import annotations

import numbers
import os
import warnings

import keras_tuner as kt
import numpy as np
from keras_tuner.oracles import BayesianOptimizationOracle
from keras_tuner.src.engine.trial import TrialStatus
from scipy.stats import norm, qmc

from playbook_kit.search.space import ALGORITHMS, SearchSpace

__all__ = [
    "ALGORITHMS", "GridOracle", "InfeasibleAwareBayesianOracle", "ListOracle",
    "QuasiRandomOracle", "RandomOracle", "grid_configs", "is_infeasible",
    "make_oracle", "quasi_random_points", "quasi_random_unit", "random_points", "run_oracle",
]

GRID_POINTS_PER_DIMENSION = 5
"""Toolkit default: grid points per continuous dimension (endpoints included)."""
ORACLE_STATE_VERSION = 1
FEASIBILITY_NOISE = 0.1
"""Toolkit choice: label noise in the probit of the feasibility model (smaller is sharper)."""
FEASIBILITY_FLOOR = 0.7
"""Toolkit choice: candidates with P(feasible) below this are ranked after every candidate
above it. Without the floor, EI x P still favoured the infeasible edge when the optimum
lies next to it. Measured by bench/exploitation.py on its synthetic problem (10 seeds, 30
trials, cold-start Bayesian arm): 17.4 infeasible trials per study without the floor
(``python bench/exploitation.py --skip-digits --feasibility-floor 0``), 6.5 with it
(``python bench/exploitation.py --skip-digits``, floor 0.7), against 9.3 for quasi-random
(the same in both runs)."""


# -- point sets (pure functions) ---------------------------------------------------

def _check_seed(seed):
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed {seed!r}: must be a non-negative integer")
    return int(seed)


def _as_space(space) -> SearchSpace:
    return space if isinstance(space, SearchSpace) else SearchSpace.from_dict(space)


def quasi_random_unit(d: int, n: int, seed: int, start: int = 0) -> np.ndarray:
    """Points ``start ... start+n-1`` of the seeded, scrambled, shifted Halton sequence.

    ``scipy.stats.qmc.Halton(d, scramble=True)`` with a seeded digit scrambling, plus a
    seeded Cranley-Patterson shift modulo 1. The seed changes the point *set*, not its
    order, and point ``k`` is computed directly (``fast_forward``), never by replaying.
    """
    seed = _check_seed(seed)
    if d == 0:
        return np.zeros((n, 0))
    scramble_seq, shift_seq = np.random.SeedSequence(seed).spawn(2)
    engine = qmc.Halton(d, scramble=True, seed=np.random.default_rng(scramble_seq))
    if start:
        engine.fast_forward(start)
    shift = np.random.default_rng(shift_seq).random(d)
    return (engine.random(n) + shift) % 1.0


def quasi_random_points(space, n: int, seed: int = 0, start: int = 0) -> list[dict]:
    """Configs of quasi-random trials ``start ... start+n-1`` (see :class:`QuasiRandomOracle`)."""
    space = _as_space(space)
    return [space.config_from_unit(u)
            for u in quasi_random_unit(space.dimension, n, seed, start)]


def _quasi_random_config(space, seed, k):
    return space.config_from_unit(quasi_random_unit(space.dimension, 1, seed, start=k)[0])


def _random_unit(d: int, seed: int, k: int) -> np.ndarray:
    return np.random.default_rng(np.random.SeedSequence([_check_seed(seed), k])).random(d)


def random_points(space, n: int, seed: int = 0, start: int = 0) -> list[dict]:
    """Configs of pseudo-random trials ``start ... start+n-1``; point k depends on (seed, k)."""
    space = _as_space(space)
    return [space.config_from_unit(_random_unit(space.dimension, seed, k))
            for k in range(start, start + n)]


def grid_configs(space, points_per_dimension: int = GRID_POINTS_PER_DIMENSION) -> list[dict]:
    """Every config of the grid, in a fixed order (first hyperparameter slowest).

    Discrete and categorical hyperparameters contribute all their values; integer ones
    all integers when there are at most ``points_per_dimension``, else that many evenly
    spaced; linear and log ones ``points_per_dimension`` evenly spaced points on their
    scale, both ends included. Conditional children are expanded only under their
    parent's values.
    """
    space = _as_space(space)
    if not isinstance(points_per_dimension, numbers.Integral) or points_per_dimension < 2:
        raise ValueError(f"points_per_dimension {points_per_dimension!r}: must be an "
                         "integer >= 2")
    configs = [{}]
    for hp in space:
        if hp.is_fixed:
            axis = [hp.value]
        elif hp.scale in ("discrete", "categorical"):
            axis = list(hp.values)
        elif hp.scale == "integer" and hp.high - hp.low + 1 <= points_per_dimension:
            axis = list(range(hp.low, hp.high + 1))
        else:
            axis = [hp.from_unit(u) for u in np.linspace(0.0, 1.0, points_per_dimension)]
            if hp.scale == "integer":
                axis = [int(round(hp.low + u * (hp.high - hp.low)))
                        for u in np.linspace(0.0, 1.0, points_per_dimension)]
                axis = list(dict.fromkeys(axis))
        expanded = []
        for config in configs:
            if space.is_active(hp.name, config):
                expanded.extend({**config, hp.name: v} for v in axis)
            else:
                expanded.append(config)
        configs = expanded
    return configs


def is_infeasible(trial, marked=()) -> bool:
    """Whether a finished keras-tuner trial counts as infeasible (see module docstring)."""
    if trial.trial_id in marked or trial.status == TrialStatus.FAILED:
        return True
    if trial.status == TrialStatus.COMPLETED:
        return trial.score is None or not np.isfinite(trial.score)
    return False


def _is_finished(trial, marked=()) -> bool:
    return trial.trial_id in marked or trial.status in (TrialStatus.COMPLETED,
                                                         TrialStatus.FAILED)


# -- shared oracle machinery -------------------------------------------------------

class _PlaybookOracle:
    """Mixin: a :class:`SearchSpace`, a fixed seed, never aborting on infeasible trials,
    explicit infeasible marks, and a stored space checked on resume."""

    algorithm = ""

    def _kt_kwargs(self, space, max_trials, seed, objective, max_retries_per_trial):
        if not isinstance(max_trials, numbers.Integral) or max_trials < 1:
            raise ValueError(f"max_trials {max_trials!r}: must be a positive integer")
        self.space = _as_space(space)
        self._infeasible = set()
        return dict(objective=objective, max_trials=int(max_trials),
                    hyperparameters=self.space.to_keras_tuner(), allow_new_entries=True,
                    tune_new_entries=False, seed=_check_seed(seed),
                    max_retries_per_trial=max_retries_per_trial,
                    max_consecutive_failed_trials=int(max_trials) + 1)

    def _fix_seed(self, seed):
        # keras-tuner replaces a falsy seed (0) by a random one.
        self.seed = self._seed_state = _check_seed(seed)

    @kt.synchronized
    def mark_infeasible(self, trial_id):
        """Count a trial as infeasible even if it completed (e.g. loss far too high)."""
        if trial_id not in self.trials:
            raise ValueError(f"trial_id {trial_id!r}: no such trial in this study")
        self._infeasible.add(trial_id)
        if getattr(self, "_directory", None) is not None:
            self.save()

    @property
    def infeasible_trial_ids(self) -> list[str]:
        return sorted(t.trial_id for t in self.trials.values()
                      if is_infeasible(t, self._infeasible))

    def save(self):
        """keras-tuner's state, written atomically (a kill mid-write leaves the old file)."""
        from playbook_kit.search.study import write_json_atomic

        write_json_atomic(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        from playbook_kit.search.study import write_json_atomic

        write_json_atomic(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"),
                          trial.get_state())

    def populate_space(self, trial_id):
        k = len(self.trials)
        if k >= self.max_trials:
            return {"status": TrialStatus.STOPPED, "values": None}
        values = self.config_for_trial(k)
        if values is None:
            return {"status": TrialStatus.STOPPED, "values": None}
        return {"status": TrialStatus.RUNNING, "values": values}

    def config_for_trial(self, k: int) -> dict | None:
        """The config of the ``k``-th trial created (None: no more points)."""
        raise NotImplementedError

    def get_state(self):
        state = super().get_state()
        state["playbook_kit"] = {
            "schema_version": ORACLE_STATE_VERSION, "algorithm": self.algorithm,
            "space": self.space.to_dict(), "infeasible": sorted(self._infeasible),
        }
        return state

    def set_state(self, state):
        ours = state.get("playbook_kit")
        if ours is not None and state.get("seed") != self.seed:
            raise ValueError(f"seed {self.seed!r}: the study directory was created with "
                             f"seed {state.get('seed')!r}; resume with the same seed")
        super().set_state(state)
        if ours is None:
            return
        stored = SearchSpace.from_dict(ours["space"])
        if stored != self.space:
            raise ValueError(
                "search space: the study directory was created with a different search "
                f"space; stored:\n{stored!r}\nnow:\n{self.space!r}\nresume with the "
                "stored space or start a new study")
        if ours["algorithm"] != self.algorithm:
            raise ValueError(f"algorithm {self.algorithm!r}: the study directory was "
                             f"created with algorithm {ours['algorithm']!r}")
        self._infeasible = set(ours.get("infeasible", ()))


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


# -- exploitation --------------------------------------------------------------------

class InfeasibleAwareBayesianOracle(_PlaybookOracle, BayesianOptimizationOracle):
    """Bayesian optimization that models infeasibility (constrained BO).

    After ``num_initial_points`` quasi-random trials (the same points a
    :class:`QuasiRandomOracle` with this seed would draw; default ``max(3*d, 3)``), each
    trial maximizes ``EI(x) * P(feasible | x)`` over the unit cube, after Gelbart, Snoek
    and Adams (2014), "Bayesian optimization with unknown constraints":

    * ``EI`` is the expected improvement of a Gaussian-process regression (Matern 5/2)
      fitted to feasible trials only; running trials enter with a pessimistic
      hallucinated score (mean + one standard deviation) so parallel workers spread out.
    * ``P(feasible | x)`` is a Gaussian-process classifier fitted to every finished
      trial, feasible vs infeasible (see :func:`is_infeasible`): a GP regression
      (Matern 5/2) on labels +-1/2 read through a probit,
      ``P = Phi(mu / sqrt(sigma**2 + s**2))`` with ``s =`` :data:`FEASIBILITY_NOISE`
      (least-squares classification, Rasmussen and Williams 2006, sec. 6.5). It is
      near 0 at infeasible trials and 1/2 far from any trial. Its length scale is
      kept at or above 0.1 of the unit cube: infeasible regions (too high a learning
      rate) are wide, and a shorter scale would forget them between trials. These are
      this toolkit's choices. With no infeasible trial yet ``P = 1``; with no feasible
      trial yet the acquisition is a repulsion from the infeasible ones (length 0.1).

    keras-tuner's own Bayesian oracle drops failed trials from its model, so it keeps
    proposing configs in infeasible regions; this one does not. The acquisition is
    maximized over quasi-random candidates plus perturbations of the best trials, then
    refined with L-BFGS-B; configs already tried (or given as priors) are skipped.

    Warm start (exploitation after exploration): ``prior_observations`` is a sequence
    of ``(values, score)`` pairs from earlier trials, ``score`` None or NaN for an
    infeasible one (see :meth:`set_prior_observations`). Priors inside this space enter
    the regression and the feasibility model from the first proposal, ahead of the
    study's own trials, and count toward the initial points: only
    ``max(0, num_initial_points - kept priors)`` quasi-random trials run before the
    model takes over. Priors are not trials: they never count toward ``max_trials``
    and never appear in ``trials``. The kept priors are saved with the oracle's state,
    so a resumed study uses exactly the priors it started with.
    """

    algorithm = "bayesian"

    def __init__(self, space, max_trials, seed=0, objective=None, num_initial_points=None,
                 alpha=1e-4, n_candidates=1024, max_retries_per_trial=0,
                 prior_observations=None):
        kw = self._kt_kwargs(space, max_trials, seed, objective, max_retries_per_trial)
        super().__init__(num_initial_points=num_initial_points, alpha=alpha, **kw)
        self._fix_seed(seed)
        self.gpr = self._make_gpr()
        self.n_candidates = int(n_candidates)
        self._priors: list[tuple[dict, float | None]] = []
        self._prior_hashes: set[str] = set()
        self.prior_summary = _empty_prior_summary()
        if prior_observations is not None:
            self.set_prior_observations(prior_observations)

    def set_prior_observations(self, observations) -> dict:
        """Warm-start the model with earlier trials; returns how many were kept and dropped.

        ``observations``: ``(values, score)`` pairs (``values`` a mapping of
        hyperparameter names to values, ``score`` the objective in this oracle's
        direction, None or NaN when the trial was infeasible). A prior is kept when
        every hyperparameter active under its values is known and inside this space
        (a range's bounds included, a fixed one at its value); values this space does
        not use are ignored. Dropped: ``"outside"`` (a value outside a range or not
        one of the values) and ``"unknown"`` (an active hyperparameter missing, None or
        NaN). Replaces earlier priors. The summary is also kept as ``prior_summary``.
        """
        priors, summary = [], _empty_prior_summary()
        for values, score in observations:
            summary["given"] += 1
            config, why = _prior_config(self.space, values)
            if config is None:
                summary[why] += 1
                continue
            score = None if score is None or not np.isfinite(float(score)) else float(score)
            priors.append((config, score))
            summary["kept"] += 1
            summary["infeasible"] += score is None
        self._priors = priors
        self._prior_hashes = {self._compute_values_hash(c) for c, _ in priors}
        self.prior_summary = summary
        return dict(summary)

    @property
    def prior_observations(self) -> list[tuple[dict, float | None]]:
        """The kept priors, as ``(config, score)`` pairs (score None: infeasible)."""
        return [(dict(c), s) for c, s in self._priors]

    def _duplicate(self, values):
        return super()._duplicate(values) or self._compute_values_hash(values) in \
            self._prior_hashes

    def _make_gpr(self):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern

        return GaussianProcessRegressor(
            kernel=ConstantKernel(1.0, (1e-3, 1e3)) * Matern(0.2, (1e-2, 1e1), nu=2.5),
            alpha=self.alpha, normalize_y=True, n_restarts_optimizer=1,
            random_state=self.seed)

    def config_for_trial(self, k):
        d = self.space.dimension
        n_init = max((self.num_initial_points or max(3 * d, 3)) - len(self._priors), 0)
        x_done, feasible, y, x_running = self._observations()
        if d == 0 or k < n_init or len(x_done) == 0:
            return _quasi_random_config(self.space, self.seed, k)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, k]))
        acquisition = self._acquisition(x_done, feasible, y, x_running)
        best = x_done[feasible][np.argsort(y)[:3]] if feasible.any() else x_done[:0]
        candidates = np.vstack([
            quasi_random_unit(d, self.n_candidates, int(rng.integers(2**31))),
            np.clip(np.repeat(best, 32, axis=0)
                    + rng.normal(0.0, 0.05, (32 * len(best), d)), 0.0, 1.0),
        ])
        scores = acquisition(candidates)
        order = np.argsort(-scores)
        refined = [self._refine(acquisition, candidates[i]) for i in order[:3]]
        ranked = sorted(refined, key=lambda xa: -xa[1])
        ranked += [(candidates[i], scores[i]) for i in order[3:]]
        for x, _ in ranked:
            values = self.space.config_from_unit(x)
            if not self._duplicate(values):
                return values
        return _quasi_random_config(self.space, self.seed, k)

    def _observations(self):
        x_done, feasible, y, x_running = [], [], [], []
        sign = -1.0 if self.objective.direction == "max" else 1.0
        for config, score in self._priors:
            x_done.append(self.space.unit_from_config(config))
            feasible.append(score is not None)
            if score is not None:
                y.append(sign * score)
        running = {t.trial_id for t in self.ongoing_trials.values()}
        for trial_id in sorted(self.trials):
            trial = self.trials[trial_id]
            x = self.space.unit_from_config(trial.hyperparameters.values)
            if trial_id in running and trial_id not in self._infeasible:
                x_running.append(x)
            elif _is_finished(trial, self._infeasible):
                ok = not is_infeasible(trial, self._infeasible)
                x_done.append(x)
                feasible.append(ok)
                if ok:
                    score = float(trial.score)
                    y.append(-score if self.objective.direction == "max" else score)
        d = self.space.dimension
        return (np.asarray(x_done, dtype=float).reshape(-1, d), np.asarray(feasible, bool),
                np.asarray(y, dtype=float), np.asarray(x_running, dtype=float).reshape(-1, d))

    def _feasibility(self, x_done, feasible):
        if feasible.all():
            return lambda x: np.ones(len(x))
        if not feasible.any():
            bad = x_done

            def repulsion(x):
                d2 = ((x[:, None, :] - bad[None, :, :]) ** 2).sum(-1)
                return np.prod(1.0 - np.exp(-d2 / (2 * 0.1 ** 2)), axis=1)
            return repulsion
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern

        gp = GaussianProcessRegressor(
            kernel=ConstantKernel(0.25, "fixed") * Matern(0.2, (0.1, 1.0), nu=2.5),
            alpha=1e-3, normalize_y=False, n_restarts_optimizer=0,
            random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp.fit(x_done, np.where(feasible, 0.5, -0.5))

        def probit(x):
            mu, sigma = gp.predict(x, return_std=True)
            return norm.cdf(mu / np.sqrt(sigma ** 2 + FEASIBILITY_NOISE ** 2))
        return probit

    def _acquisition(self, x_done, feasible, y, x_running):
        p_feasible = self._feasibility(x_done, feasible)
        if not feasible.any():
            return p_feasible
        x_feasible = x_done[feasible]
        gpr = self.gpr
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gpr.fit(x_feasible, y)
            if len(x_running):
                from sklearn.gaussian_process import GaussianProcessRegressor

                mu, sigma = gpr.predict(x_running, return_std=True)
                gpr = GaussianProcessRegressor(kernel=gpr.kernel_, alpha=self.alpha,
                                               normalize_y=True, optimizer=None)
                gpr.fit(np.vstack([x_feasible, x_running]), np.concatenate([y, mu + sigma]))
        best = float(np.min(y))

        def constrained_ei(x):
            mu, sigma = gpr.predict(x, return_std=True)
            sigma = np.maximum(sigma, 1e-12)
            z = (best - mu) / sigma
            ei = (best - mu) * norm.cdf(z) + sigma * norm.pdf(z)
            p = p_feasible(x)
            gate = np.where(p >= FEASIBILITY_FLOOR, 1.0, 1e-6)
            return np.maximum(ei, 0.0) * p * gate
        return constrained_ei

    @staticmethod
    def _refine(acquisition, x0):
        import scipy.optimize

        result = scipy.optimize.minimize(
            lambda x: -float(acquisition(x.reshape(1, -1))[0]), x0,
            bounds=[(0.0, 1.0)] * len(x0), method="L-BFGS-B", options={"maxiter": 30})
        x = np.clip(result.x, 0.0, 1.0)
        return x, float(acquisition(x.reshape(1, -1))[0])

    def get_state(self):
        state = super().get_state()
        state["n_candidates"] = self.n_candidates
        state["playbook_kit"]["warm_start"] = {
            "summary": self.prior_summary,
            "priors": [{"values": c, "score": s} for c, s in self._priors]}
        return state

    def set_state(self, state):
        super().set_state(state)
        self.n_candidates = state.get("n_candidates", self.n_candidates)
        stored = (state.get("playbook_kit") or {}).get("warm_start")
        if stored is not None:  # a resumed study keeps the priors it started with
            given = self.prior_summary
            self.set_prior_observations((p["values"], p["score"]) for p in stored["priors"])
            self.prior_summary = {**stored["summary"]}
            if given["given"] and given["kept"] != self.prior_summary["kept"]:
                warnings.warn(
                    f"warm start: this study was started with {self.prior_summary['kept']} "
                    f"prior observations and resumes with those, not the {given['kept']} "
                    "given now", stacklevel=2)


def _empty_prior_summary() -> dict:
    return {"given": 0, "kept": 0, "infeasible": 0, "outside": 0, "unknown": 0}


def _unknown(value) -> bool:
    """None, NaN or ``pd.NA``: how a results table marks a value it does not have."""
    import pandas as pd

    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))


def _prior_config(space: SearchSpace, values) -> tuple[dict | None, str | None]:
    """A prior's config in ``space`` (canonical values, fixed ones included), or
    ``(None, "outside" | "unknown")``."""
    config = {}
    for hp in space:
        if not space.is_active(hp.name, config):
            continue
        value = values.get(hp.name)
        if isinstance(value, np.generic):
            value = value.item()
        if _unknown(value):
            return None, "unknown"
        if not hp.contains(value):
            return None, "outside"
        if hp.scale in ("discrete", "categorical"):  # the space's own value (64, not 64.0)
            value = next(v for v in hp.values if v == value and
                         isinstance(v, bool) == isinstance(value, bool))
        elif hp.scale == "integer":
            value = int(value)
        else:
            value = float(value)
        config[hp.name] = value
    return config, None


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
