"""The learning-rate schedule every toolkit optimizer follows: optional linear warmup, then
constant, linear or cosine decay (the playbook's *Choosing a learning rate schedule*).

This module imports Keras, and with it TensorFlow: :mod:`.optimizers` imports it on first
use, never the package's ``__init__``.
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

from ..core.validation import not_allowed
from .config_fields import SCHEDULES


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
