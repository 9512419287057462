"""Search layer: search spaces with playbook roles, and the oracles that sample them.

``SearchSpace`` and the presets import without TensorFlow; the oracles (keras-tuner,
hence TensorFlow) load on first use.
"""
from playbook_kit.search.space import (
    ADAM_DEFAULTS, Hyperparameter, SearchSpace, adam_space, momentum_space,
)

_ORACLE_NAMES = (
    "ALGORITHMS", "GridOracle", "InfeasibleAwareBayesianOracle", "ListOracle",
    "QuasiRandomOracle", "RandomOracle", "grid_configs", "is_infeasible", "make_oracle",
    "quasi_random_points", "quasi_random_unit", "random_points", "run_oracle",
)

__all__ = ["ADAM_DEFAULTS", "Hyperparameter", "SearchSpace", "adam_space",
           "momentum_space", *_ORACLE_NAMES]


def __getattr__(name):
    if name in _ORACLE_NAMES:
        from playbook_kit.search import oracles

        return getattr(oracles, name)
    raise AttributeError(f"module 'playbook_kit.search' has no attribute {name!r}")
