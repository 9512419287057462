"""The toolkit's optimizers and learning-rate schedules, chosen by a config's fields
(``optimizer``, ``learning_rate``, ``momentum``, ``beta1``..., ``schedule``,
``warmup_steps``, ``decay_factor``)."""
from __future__ import annotations

import math

from ..core.validation import not_allowed

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "nadam", "adamw")
"""The toolkit's own names; any name ``keras.optimizers.get`` takes is allowed too."""
SCHEDULES = ("constant", "linear", "cosine")
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
    """The config's schedule as a Keras ``LearningRateSchedule`` (see :class:`PlaybookSchedule`).

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
    return _schedule_class()(config["learning_rate"], config["schedule"], max_train_steps,
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


_SCHEDULE_CLASS = []


def _schedule_class():
    """:class:`PlaybookSchedule`, defined on first use so that importing this module does
    not start Keras (and TensorFlow) before :func:`playbook_kit.setup`."""
    if _SCHEDULE_CLASS:
        return _SCHEDULE_CLASS[0]
    import keras

    class PlaybookSchedule(keras.optimizers.schedules.LearningRateSchedule):
        """Optional linear warmup 0 -> base over ``warmup_steps``, then constant, linear or
        cosine decay from base to ``decay_factor * base`` at ``max_train_steps``.

        ``lr(step) = base * step / warmup_steps`` during warmup, so ``lr(0) = 0`` and
        ``lr(warmup_steps) = base``.

        Every setting, the kind included, is held in a variable and read when the
        schedule runs, so that a compiled train loop serves any schedule of the same
        optimizer: :meth:`assign` changes them without retracing (see
        :mod:`~playbook_kit.training.programs`).
        """

        def __init__(self, base: float, kind: str, max_train_steps: int, warmup_steps: int = 0,
                     decay_factor: float = 0.0):
            import tensorflow as tf

            self._values = {name: tf.Variable(0.0, trainable=False, dtype=tf.float32)
                            for name in ("base", "kind", "max_train_steps", "warmup_steps",
                                         "decay_factor")}
            self.assign(base, kind, max_train_steps, warmup_steps, decay_factor)

        def assign(self, base: float, kind: str, max_train_steps: int, warmup_steps: int = 0,
                   decay_factor: float = 0.0) -> None:
            """Set new values (checked first; no retracing of loops that read them)."""
            settings = self.settings(base, kind, max_train_steps, warmup_steps, decay_factor)
            for variable, value in zip(self.variables, settings):
                variable.assign(value)

        def settings(self, base: float, kind: str, max_train_steps: int, warmup_steps: int = 0,
                     decay_factor: float = 0.0) -> list:
            """Check new values and return them in the order of :attr:`variables` (for a
            caller that assigns them itself, all at once)."""
            if kind not in SCHEDULES:
                raise not_allowed("config field 'schedule'", kind,
                                  f"use one of {', '.join(SCHEDULES)}")
            if warmup_steps >= max_train_steps and warmup_steps > 0:
                raise not_allowed("config field 'warmup_steps'", warmup_steps,
                                  f"use fewer than max_train_steps={max_train_steps}")
            self.base, self.kind = float(base), kind
            self.max_train_steps, self.warmup_steps = int(max_train_steps), int(warmup_steps)
            self.decay_factor = float(decay_factor)
            return [self.base, float(SCHEDULES.index(kind)), float(self.max_train_steps),
                    float(self.warmup_steps), self.decay_factor]

        @property
        def variables(self) -> list:
            return list(self._values.values())

        def __call__(self, step):
            from keras import ops

            values = self._values
            warmup_steps = ops.convert_to_tensor(values["warmup_steps"])
            step = ops.cast(step, "float32")
            ramp = ops.where(warmup_steps > 0,
                             ops.minimum(step / ops.maximum(warmup_steps, 1.0), 1.0), 1.0)
            span = ops.maximum(values["max_train_steps"] - warmup_steps, 1.0)
            progress = ops.clip((step - warmup_steps) / span, 0.0, 1.0)
            end = ops.convert_to_tensor(values["decay_factor"])
            kind = ops.convert_to_tensor(values["kind"])
            linear = 1.0 - (1.0 - end) * progress
            cosine = end + (1.0 - end) * 0.5 * (1.0 + ops.cos(math.pi * progress))
            decay = ops.where(kind == SCHEDULES.index("linear"), linear,
                              ops.where(kind == SCHEDULES.index("cosine"), cosine, 1.0))
            return values["base"] * ramp * decay

        def get_config(self):
            return {"base": self.base, "kind": self.kind, "max_train_steps": self.max_train_steps,
                    "warmup_steps": self.warmup_steps, "decay_factor": self.decay_factor}

    _SCHEDULE_CLASS.append(PlaybookSchedule)
    return PlaybookSchedule


def __getattr__(name):
    if name == "PlaybookSchedule":
        return _schedule_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
