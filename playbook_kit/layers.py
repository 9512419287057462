"""Layers the playbook asks for that Keras lacks: ghost batch normalization."""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="playbook_kit")
class GhostBatchNormalization(keras.layers.Layer):
    """Batch norm whose training statistics come from "ghost" batches of ``virtual_batch_size``.

    The playbook (section 7) notes that statistics over about 64 examples often work
    better and decouple normalization from the gradient batch size. A batch that the ghost
    size does not divide is normalized as one batch. Inference uses moving averages.

    When the batch size or the device count changes: the ghost size fixes the
    *statistics* batch while the *gradient* batch grows, so a larger batch (found with
    :func:`~playbook_kit.batch_size_scan`) leaves normalization unchanged as long as each
    device's batch is a multiple of ``virtual_batch_size``. Under
    ``tf.distribute.MirroredStrategy`` each device normalizes its own slice of the global
    batch: with ghost batch norm that keeps the statistics batch at the ghost size on any
    number of devices (config field ``devices``, see :mod:`playbook_kit.distribute`, which
    refuses a slice the ghost size does not divide); plain batch norm would use
    ``global batch / devices`` examples, so the model changes with the device count,
    unless it is ``keras.layers.BatchNormalization(synchronized=True)``
    (``normalization="sync_batch"``: statistics over the whole global batch). Either way,
    the moving averages must agree across devices before evaluating or checkpointing
    (playbook section 7): the distributed loop averages them after every compiled loop.
    """

    def __init__(self, virtual_batch_size: int = 64, momentum: float = 0.99,
                 epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if virtual_batch_size < 2:
            raise ValueError(f"virtual_batch_size={virtual_batch_size!r} is not allowed; use >= 2")
        self.virtual_batch_size = int(virtual_batch_size)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        dim = (input_shape[-1],)
        self.gamma = self.add_weight(shape=dim, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=dim, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=dim, initializer="zeros",
                                           trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=dim, initializer="ones",
                                               trainable=False, name="moving_variance")

    def call(self, inputs, training=False):
        if not training:
            mean, variance = self.moving_mean, self.moving_variance
            return (inputs - mean) * ops.rsqrt(variance + self.epsilon) * self.gamma + self.beta
        batch = ops.shape(inputs)[0]
        ghost = self.virtual_batch_size
        if isinstance(batch, int) and batch % ghost == 0 and batch > ghost:
            grouped = ops.reshape(inputs, (batch // ghost, ghost) + tuple(inputs.shape[1:]))
            axes = tuple(range(1, len(grouped.shape) - 1))
            mean = ops.mean(grouped, axis=axes, keepdims=True)
            variance = ops.var(grouped, axis=axes, keepdims=True)
            normed = ops.reshape((grouped - mean) * ops.rsqrt(variance + self.epsilon),
                                 ops.shape(inputs))
            batch_mean = ops.mean(ops.reshape(mean, (-1, inputs.shape[-1])), axis=0)
            batch_variance = ops.mean(ops.reshape(variance, (-1, inputs.shape[-1])), axis=0)
        else:
            axes = tuple(range(len(inputs.shape) - 1))
            batch_mean = ops.mean(inputs, axis=axes)
            batch_variance = ops.var(inputs, axis=axes)
            normed = (inputs - batch_mean) * ops.rsqrt(batch_variance + self.epsilon)
        self.moving_mean.assign(self.momentum * self.moving_mean
                                + (1 - self.momentum) * batch_mean)
        self.moving_variance.assign(self.momentum * self.moving_variance
                                    + (1 - self.momentum) * batch_variance)
        return normed * self.gamma + self.beta

    def get_config(self):
        return {**super().get_config(), "virtual_batch_size": self.virtual_batch_size,
                "momentum": self.momentum, "epsilon": self.epsilon}
