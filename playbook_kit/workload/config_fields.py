"""A trial's config: its fields (:data:`CONFIG_FIELDS`: type, check, default and what is
allowed), which of them belong to the model families, the optimizer or the trainer, and
:func:`resolve_config`, which fills the defaults and refuses a bad field before any work.
The workload that trains a config is :mod:`playbook_kit.workload.workload`.
"""
from __future__ import annotations

import math

from ..core.validation import not_allowed
from .families import _CUSTOM_MODELS, ACTIVATIONS, MODELS, NORMALIZATIONS
from .optimizers import OPTIMIZERS

SCHEDULES = ("constant", "linear", "cosine")
"""The values of the config field ``schedule``
(:class:`~playbook_kit.workload.schedules.PlaybookSchedule`)."""

# name: (type, check, default, allowed-text); check returns True for a valid value.
_POSITIVE = (lambda v: v > 0, "a number > 0")
_UNIT_OPEN = (lambda v: 0 < v < 1, "a number in (0, 1)")
CONFIG_FIELDS: dict[str, tuple] = {
    "model": (str, lambda v: v in MODELS or v in _CUSTOM_MODELS, "mlp",
              "one of " + ", ".join(MODELS) + " or a registered model"),
    "width": (int, lambda v: 1 <= v <= 8192, 128, "an integer in [1, 8192]"),
    "depth": (int, lambda v: 0 <= v <= 64, 1, "an integer in [0, 64]"),
    "activation": (str, lambda v: v in ACTIVATIONS or _keras_knows("activations", v), "relu",
                   "one of " + ", ".join(ACTIVATIONS) + " or any activation name Keras knows"),
    "normalization": (str, lambda v: v in NORMALIZATIONS, "none",
                      "one of " + ", ".join(NORMALIZATIONS)),
    "ghost_batch_size": (int, lambda v: v >= 2, 64, "an integer >= 2"),
    "dropout": (float, lambda v: 0 <= v < 1, 0.0, "a number in [0, 1)"),
    "l2": (float, lambda v: v >= 0, 0.0, "a number >= 0"),
    "zero_init_residual": (bool, lambda v: True, True, "True or False"),
    "optimizer": (str, lambda v: v in OPTIMIZERS or _keras_knows("optimizers", v), "adam",
                  "one of " + ", ".join(OPTIMIZERS) + " or any optimizer name Keras knows "
                  "(rmsprop, adagrad, ...: its learning rate tuned, its other settings "
                  "Keras' defaults)"),
    "learning_rate": (float, lambda v: v > 0 or not math.isfinite(v), 1.0e-3,
                      "a number > 0 (NaN or Inf are accepted and make the trial infeasible)"),
    "momentum": (float, lambda v: 0 <= v < 1, 0.9, "a number in [0, 1)"),
    "one_minus_momentum": (float, lambda v: 0 < v <= 1, None, "a number in (0, 1]"),
    "beta1": (float, lambda v: 0 <= v < 1, 0.9, "a number in [0, 1)"),
    "beta2": (float, *_UNIT_OPEN[:1], 0.999, _UNIT_OPEN[1]),
    "epsilon": (float, *_POSITIVE[:1], 1.0e-7, _POSITIVE[1]),
    "weight_decay": (float, lambda v: v >= 0, 1.0e-4, "a number >= 0"),
    "schedule": (str, lambda v: v in SCHEDULES, "constant", "one of " + ", ".join(SCHEDULES)),
    "warmup_steps": (int, lambda v: v >= 0, 0, "an integer >= 0"),
    "decay_factor": (float, lambda v: 0 <= v <= 1, 0.0, "a number in [0, 1]: the final "
                     "learning rate as a fraction of the base"),
    "batch_size": (int, lambda v: 1 <= v <= 1 << 16, 64, "an integer in [1, 65536]"),
    "clip_norm": (float, lambda v: v > 0, None, "a number > 0, or None for no clipping"),
    "devices": ((int, str), lambda v: v == "all" or (isinstance(v, int) and v >= 1), 1,
                "an integer >= 1 or 'all' (local devices one trial trains on, data-parallel)"),
}
FAMILY_FIELDS = ("model", "width", "depth", "activation", "normalization", "ghost_batch_size",
                 "dropout", "l2", "zero_init_residual")
"""Fields of the toolkit's model families: meaningless for a hypermodel's model."""
OPTIMIZER_FIELDS = ("optimizer", "learning_rate", "momentum", "one_minus_momentum", "beta1",
                    "beta2", "epsilon", "weight_decay")
"""Fields of the toolkit's optimizer: they train a model that comes uncompiled; a model its
builder compiled trains with its own optimizer (see :mod:`playbook_kit.training.keras_steps`)."""
TRAINING_FIELDS = ("schedule", "warmup_steps", "decay_factor", "batch_size", "clip_norm",
                   "devices")
"""Fields the trainer applies to any model (a compiled model's learning rate included)."""
_KERAS_NAMES: dict = {}


def _keras_knows(kind: str, name) -> bool:
    """Whether ``keras.<kind>.get(name)`` accepts the name (cached; imports Keras only for
    names outside the toolkit's lists)."""
    key = (kind, name)
    if key not in _KERAS_NAMES:
        import keras

        try:
            _KERAS_NAMES[key] = isinstance(name, str) and \
                getattr(keras, kind).get(name) is not None
        except (ValueError, TypeError):
            _KERAS_NAMES[key] = False
    return _KERAS_NAMES[key]


def resolve_config(config: dict, extra_keys=(), fields=None) -> dict:
    """Fill defaults and validate a config; raise ``ValueError`` naming the bad field.

    ``fields``: the toolkit fields this workload has (default: all of
    :data:`CONFIG_FIELDS`); ``extra_keys``: the user's own names, passed as given.

    Args:
        config: the fields to set; the rest take the toolkit's defaults.
        extra_keys: the user's own field names, passed through unchecked.
        fields: the toolkit fields allowed; None: every config field.

    Returns:
        dict: every field with its value, defaults filled in.

    Raises:
        ValueError: a config that is not a dict, an unknown field, a value out of its
            range, or ``momentum`` and ``one_minus_momentum`` both given; the message names
            the field, the value and what is allowed.

    Example::

        pk.resolve_config({"model": "mlp", "learning_rate": 3.0e-3})["optimizer"]   # 'adam'
        pk.resolve_config({"lr": 0.1})    # ValueError: config field 'lr' is unknown; ...
    """
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    fields = tuple(CONFIG_FIELDS) if fields is None else tuple(fields)
    unknown = [k for k in config if k not in fields and k not in extra_keys]
    if unknown:
        own = f"; the model's own are {', '.join(extra_keys)}" if extra_keys else \
            " (or declare extra_keys)"
        raise ValueError(f"config field {unknown[0]!r} is unknown; allowed fields are "
                         f"{', '.join(sorted(fields))}{own}")
    resolved = {}
    for name, (kind, check, default, allowed) in CONFIG_FIELDS.items():
        if name not in fields:
            continue
        value = config.get(name, default)
        if value is None:
            if name in ("one_minus_momentum", "clip_norm"):
                resolved[name] = None
                continue
            raise not_allowed(f"config field {name!r}", None, f"use {allowed}")
        value = _coerce(name, value, kind, allowed)
        if not check(value):
            raise not_allowed(f"config field {name!r}", value, f"use {allowed}")
        resolved[name] = value
    if resolved.get("one_minus_momentum") is not None:
        implied = 1.0 - resolved["one_minus_momentum"]
        if "momentum" in config and not math.isclose(config["momentum"], implied, rel_tol=1e-6):
            raise ValueError(f"config fields 'momentum'={config['momentum']!r} and "
                             f"'one_minus_momentum'={resolved['one_minus_momentum']!r} "
                             "disagree; give only one of them")
        resolved["momentum"] = implied
    resolved.update({k: config[k] for k in extra_keys if k in config})
    return resolved


def _coerce(name, value, kind, allowed):
    if isinstance(kind, tuple):  # the first kind that takes the value
        for one in kind:
            try:
                return _coerce(name, value, one, allowed)
            except ValueError:
                pass
    elif kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and float(value).is_integer():
            return int(value)
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif isinstance(value, str):
        return value
    raise not_allowed(f"config field {name!r}", value, f"use {allowed}")
