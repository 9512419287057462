"""Preset nuisance spaces for the common optimizers, sized after the playbook."""
from __future__ import annotations

import numbers

from .space import SearchSpace

__all__ = ["ADAM_DEFAULTS", "adam_space", "momentum_space"]

ADAM_DEFAULTS = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-7}
"""Keras' Adam defaults, used for every Adam hyperparameter the budget leaves fixed."""


def adam_space(trial_budget: int, learning_rate=(1e-4, 1e-1), beta1=(0.8, 0.99),
               epsilon=(1e-10, 1e-3), beta2=(0.9, 0.9999), far_more: int = 100,
               ) -> SearchSpace:
    """Adam's nuisance space sized by the trial budget, after the playbook.

    The playbook: fewer than 10 trials, tune the learning rate only; 10-25, also
    ``beta1``; 25 or more, also ``epsilon``; "far more", also ``beta2``. "Far more"
    has no number in the playbook: ``far_more=100`` trials is this toolkit's choice.
    Learning rate and epsilon are log scaled, the betas linear; the ranges are ours.
    What the budget does not tune is fixed at Keras' defaults ,
    and ``optimizer`` is fixed to ``"adam"``.

    Args:
        trial_budget: the study's trials, which decide what is tuned.
        learning_rate, beta1, epsilon, beta2: each one's ``(low, high)`` range when tuned.
        far_more: the budget from which ``beta2`` is tuned too.

    Returns:
        SearchSpace: nuisance and fixed Adam hyperparameters; add the scientific ones.

    Raises:
        ValueError: a budget below 1, or a range the space refuses.

    Example::

        space = pk.adam_space(12).scientific("depth", values=[1, 2, 3])  # learning_rate, beta1
    """
    if not isinstance(trial_budget, numbers.Integral) or trial_budget < 1:
        raise ValueError(f"trial_budget {trial_budget!r}: must be a positive integer")
    space = SearchSpace().fixed("optimizer", "adam")
    space.nuisance("learning_rate", *learning_rate, scale="log")
    tuned = {"beta1": trial_budget >= 10, "epsilon": trial_budget >= 25,
             "beta2": trial_budget >= far_more}
    ranges = {"beta1": (beta1, "linear"), "epsilon": (epsilon, "log"),
              "beta2": (beta2, "linear")}
    for name in ("beta1", "beta2", "epsilon"):
        if tuned[name]:
            (lo, hi), scale = ranges[name]
            space.nuisance(name, lo, hi, scale=scale)
        else:
            space.fixed(name, ADAM_DEFAULTS[name])
    return space


def momentum_space(learning_rate=(1e-3, 1.0), one_minus_momentum=(1e-3, 0.5),
                   nesterov: bool = True, tune_momentum: bool = True) -> SearchSpace:
    """SGD with (Nesterov) momentum: learning rate and ``one_minus_momentum``, both log.

    Tuning ``1 - momentum`` on a log scale spreads trials evenly over 0.5 ... 0.999
    momentum. With ``tune_momentum=False`` (the playbook's simpler early setup)
    ``one_minus_momentum`` is fixed at 0.1 (momentum 0.9). ``optimizer`` is fixed to
    ``"nesterov"`` or ``"momentum"``; the ranges are this toolkit's choice.

    Args:
        learning_rate: its ``(low, high)`` range, log scaled.
        one_minus_momentum: its ``(low, high)`` range, log scaled, when tuned.
        nesterov: Nesterov momentum (``optimizer="nesterov"``), else plain momentum.
        tune_momentum: tune ``one_minus_momentum``; False fixes it at 0.1.

    Returns:
        SearchSpace: nuisance and fixed optimizer hyperparameters.

    Raises:
        ValueError: a range the space refuses (low >= high, not positive).

    Example::

        space = pk.momentum_space(tune_momentum=False).scientific("width", values=[64, 128])
    """
    space = SearchSpace().fixed("optimizer", "nesterov" if nesterov else "momentum")
    space.nuisance("learning_rate", *learning_rate, scale="log")
    if tune_momentum:
        space.nuisance("one_minus_momentum", *one_minus_momentum, scale="log")
    else:
        space.fixed("one_minus_momentum", 0.1)
    return space
