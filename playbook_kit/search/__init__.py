"""Search layer: search spaces with playbook roles, the point generators and oracles that
sample them, and the study runner.

``SearchSpace``, the presets and the point generators import without TensorFlow; the
oracles (keras-tuner, hence TensorFlow) load on first use.

Modules: :mod:`.space` (declaration), :mod:`.hyperparameter`, :mod:`.serialization`
(dict/YAML form), :mod:`.keras_tuner_space` (keras-tuner form), :mod:`.presets`,
:mod:`.points` (pure generators), :mod:`.oracle_base`, :mod:`.oracles`,
:mod:`.bayesian`, :mod:`.study` (the runner), :mod:`._keras_tuner` (keras-tuner's
private names, in one place).
"""
from playbook_kit.search.points import (
    grid_configs, quasi_random_points, quasi_random_unit, random_points,
)
from playbook_kit.search.presets import ADAM_DEFAULTS, adam_space, momentum_space
from playbook_kit.search.space import ALGORITHMS, Hyperparameter, SearchSpace

_ORACLE_NAMES = {
    "GridOracle": "oracles", "ListOracle": "oracles", "QuasiRandomOracle": "oracles",
    "RandomOracle": "oracles", "make_oracle": "oracles", "run_oracle": "oracles",
    "is_infeasible": "oracle_base", "InfeasibleAwareBayesianOracle": "bayesian",
}

__all__ = ["ADAM_DEFAULTS", "ALGORITHMS", "Hyperparameter", "SearchSpace", "adam_space",
           "grid_configs", "momentum_space", "quasi_random_points", "quasi_random_unit",
           "random_points", *_ORACLE_NAMES]


def __getattr__(name):
    if name in _ORACLE_NAMES:
        from importlib import import_module

        return getattr(import_module(f"playbook_kit.search.{_ORACLE_NAMES[name]}"), name)
    raise AttributeError(f"module 'playbook_kit.search' has no attribute {name!r}")
