"""The toolkit's optimizers and their learning-rate schedules, chosen by a config's fields
(``optimizer``, ``learning_rate``, ``momentum``, ``beta1``..., ``schedule``,
``warmup_steps``, ``decay_factor``). The schedule's class is in :mod:`.schedules`, which
imports Keras: this module loads it on first use, so that importing the package does not
start TensorFlow before :func:`playbook_kit.setup`."""
from __future__ import annotations

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "nadam", "adamw")
"""The toolkit's own names; any name ``keras.optimizers.get`` takes is allowed too."""
_OPTIMIZER_USES = {"sgd": ("learning_rate",), "momentum": ("learning_rate", "momentum"),
                   "nesterov": ("learning_rate", "momentum"),
                   "adam": ("learning_rate", "beta1", "beta2", "epsilon"),
                   "nadam": ("learning_rate", "beta1", "beta2", "epsilon"),
                   "adamw": ("learning_rate", "beta1", "beta2", "epsilon", "weight_decay")}
def optimizer_fields(kind: str) -> tuple:
    """The config fields the toolkit's optimizer ``kind`` reads (a Keras optimizer outside
    the toolkit's six reads only its learning rate)."""
    return ("optimizer", *_OPTIMIZER_USES.get(kind, ("learning_rate",)))


def learning_rate_schedule(config: dict, max_train_steps: int):
    """The config's schedule as a Keras ``LearningRateSchedule`` (see
    :class:`~playbook_kit.workload.schedules.PlaybookSchedule`).

    Args:
        config: a complete config: ``learning_rate``, ``schedule`` (constant, linear,
            cosine), ``warmup_steps`` and ``decay_factor``.
        max_train_steps: the steps the schedule spans.

    Returns:
        keras.optimizers.schedules.LearningRateSchedule: the rate at each step.

    Raises:
        KeyError: a config that lacks a field (resolve it first).

    Example::

        config = pk.resolve_config({"learning_rate": 1.0e-2, "schedule": "cosine",
                                    "warmup_steps": 30})
        schedule = pk.learning_rate_schedule(config, max_train_steps=300)
        float(schedule(0)), float(schedule(30)), float(schedule(300))
    """
    from .schedules import PlaybookSchedule

    return PlaybookSchedule(config["learning_rate"], config["schedule"], max_train_steps,
                            config["warmup_steps"], config["decay_factor"])


def build_optimizer(config: dict, max_train_steps: int, schedule=None):
    """A Keras optimizer from the playbook's hyperparameter names (``schedule``: the
    config's learning-rate schedule when the caller already built it). An optimizer name
    outside the toolkit's six (``rmsprop``, ``adagrad``, any name ``keras.optimizers.get``
    takes) gets the schedule as its learning rate and Keras' defaults otherwise.

    Args:
        config: a complete config (``optimizer``, ``learning_rate``, ``momentum``,
            ``beta1``, ``beta2``, ``epsilon``, ``weight_decay``, ``clip_norm``, schedule
            fields).
        max_train_steps: the steps the schedule spans.
        schedule: the schedule when already built; None builds it from ``config``.

    Returns:
        keras.optimizers.Optimizer: the optimizer, its learning rate the schedule.

    Raises:
        ValueError: an optimizer name Keras does not know.
        KeyError: a config that lacks a field (resolve it first).

    Example::

        optimizer = pk.build_optimizer(pk.resolve_config({"optimizer": "nesterov",
                                                          "momentum": 0.9}), 300)
    """
    import keras

    lr = schedule if schedule is not None else learning_rate_schedule(config, max_train_steps)
    kind = config["optimizer"]
    if kind == "sgd":
        return keras.optimizers.SGD(lr)
    if kind in ("momentum", "nesterov"):
        return keras.optimizers.SGD(lr, momentum=config["momentum"], nesterov=kind == "nesterov")
    adam_args = dict(beta_1=config["beta1"], beta_2=config["beta2"], epsilon=config["epsilon"])
    if kind == "adam":
        return keras.optimizers.Adam(lr, **adam_args)
    if kind == "nadam":
        return keras.optimizers.Nadam(lr, **adam_args)
    if kind == "adamw":
        return keras.optimizers.AdamW(lr, weight_decay=config["weight_decay"], **adam_args)
    return type(keras.optimizers.get(kind))(learning_rate=lr)
