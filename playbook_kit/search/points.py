"""Point generators: the configs of quasi-random, random and grid trials.

Pure functions of (space, seed, k): no keras-tuner, no TensorFlow, so that the runner's
checks, the benchmarks and the oracles share them without loading either. The oracles
that hand these points to keras-tuner are in :mod:`playbook_kit.search.oracles`.
"""
from __future__ import annotations

import numpy as np

from ..core.validation import check_int, check_seed
from .space import SearchSpace

__all__ = ["GRID_POINTS_PER_DIMENSION", "grid_configs", "product_configs",
           "quasi_random_points", "quasi_random_unit", "random_points"]

GRID_POINTS_PER_DIMENSION = 5
"""Toolkit default: grid points per continuous dimension (endpoints included)."""

def _as_space(space) -> SearchSpace:
    return space if isinstance(space, SearchSpace) else SearchSpace.from_dict(space)


def quasi_random_unit(d: int, n: int, seed: int, start: int = 0) -> np.ndarray:
    """Points ``start ... start+n-1`` of the seeded, scrambled, shifted Halton sequence.

    ``scipy.stats.qmc.Halton(d, scramble=True)`` with a seeded digit scrambling, plus a
    seeded Cranley-Patterson shift modulo 1. The seed changes the point *set*, not its
    order, and point ``k`` is computed directly (``fast_forward``), never by replaying.
    """
    from scipy.stats import qmc  # 0.6 s to import: not paid by a process that only reads specs

    seed = check_seed("seed", seed)
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
    return np.random.default_rng(np.random.SeedSequence([check_seed("seed", seed), k])).random(d)


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
    check_int("points_per_dimension", points_per_dimension, minimum=2)
    axes = {}
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
        axes[hp.name] = axis
    return product_configs(axes, space.is_active)


def product_configs(axes: dict, active=None) -> list[dict]:
    """Every combination of the axes' values, the first axis slowest: the one grid
    builder, for a search space's grid (:func:`grid_configs`) and a notebook sweep's
    (:func:`playbook_kit.teaching.sweeps.grid_points`). ``axes`` maps a name to its values;
    ``active(name, config)`` (default: always) says whether the name applies to a config
    built from the axes before it; where it does not, the config goes on without it."""
    configs = [{}]
    for name, values in axes.items():
        expanded = []
        for config in configs:
            if active is None or active(name, config):
                expanded.extend({**config, name: v} for v in values)
            else:
                expanded.append(config)
        configs = expanded
    return configs

