"""Layers the playbook asks for that Keras lacks: ghost batch normalization, and dropout
and L2 whose strengths are values a reused compiled program reads per trial."""
from __future__ import annotations

import keras
from keras import ops

from ..core.validation import not_allowed


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
    number of devices (config field ``devices``, see :mod:`playbook_kit.training.distribute`, which
    refuses a slice the ghost size does not divide); plain batch norm would use
    ``global batch / devices`` examples, so the model changes with the device count,
    unless it is ``keras.layers.BatchNormalization(synchronized=True)``
    (``normalization="sync_batch"``: statistics over the whole global batch). Either way,
    the moving averages must agree across devices before evaluating or checkpointing
    (playbook section 7): the distributed loop averages them after every compiled loop.

    Args:
        virtual_batch_size: examples per ghost batch (the statistics batch), at least 2.
        momentum: of the moving averages, as in Keras' ``BatchNormalization``.
        epsilon: added to the variance.
        **kwargs: Keras ``Layer`` arguments (``name``, ``dtype``, ...).

    Raises:
        ValueError: ``virtual_batch_size`` below 2.

    Example::

        layer = pk.GhostBatchNormalization(virtual_batch_size=32)
        outputs = layer(keras.layers.Dense(64)(inputs))
        # or in a config: {"normalization": "ghost_batch", "ghost_batch_size": 32}
    """

    def __init__(self, virtual_batch_size: int = 64, momentum: float = 0.99,
                 epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        if virtual_batch_size < 2:
            raise not_allowed("virtual_batch_size", virtual_batch_size, "use >= 2")
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


def _value(initial: float):
    """A float32 hyperparameter value, read when a compiled function runs (not baked in
    when it is traced). A ``tf.Variable``, not a Keras weight: it is no part of the model's
    weights or checkpoints."""
    import tensorflow as tf

    return tf.Variable(float(initial), trainable=False, dtype=tf.float32)


@keras.saving.register_keras_serializable(package="playbook_kit")
class ValueDropout(keras.layers.Dropout):
    """Keras' ``Dropout`` with its rate held as a value, so that one compiled train loop
    serves every rate > 0 (Keras' own layer bakes the rate in when traced). Same random
    stream as ``Dropout`` (one seed generator, the same op)."""

    def __init__(self, rate, **kwargs):
        super().__init__(rate, **kwargs)
        self.rate_value = [_value(rate)]  # in a list: kept out of Keras' variable tracking

    def call(self, inputs, training=False):
        """What Keras' TensorFlow ``dropout`` does for a rate in (0, 1), without its
        Python tests of the rate."""
        import tensorflow as tf

        if not training:
            return inputs
        seed = self.seed_generator.next()
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), "int32")
        noise_shape = tf.shape(inputs) if self.noise_shape is None else self.noise_shape
        return tf.nn.experimental.stateless_dropout(inputs, rate=self.rate_value[0],
                                                    noise_shape=noise_shape, seed=seed)


@keras.saving.register_keras_serializable(package="playbook_kit")
class ValueL2(keras.regularizers.Regularizer):
    """Keras' ``L2`` regularizer (``l2 * sum(x ** 2)``) with its strength held as a value."""

    def __init__(self, l2: float):
        self.l2 = float(l2)
        self.l2_value = _value(l2)

    def __call__(self, x):
        return self.l2_value * ops.sum(ops.square(x))

    def get_config(self):
        return {"l2": self.l2}


def hyperparameter_values(model) -> list:
    """The values the toolkit's layers read (dropout rates, L2 strengths), in layer order:
    what a reused model takes from a freshly built one besides its variables."""
    found = []
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, ValueDropout):
            found.append(layer.rate_value[0])
        regularizer = getattr(layer, "kernel_regularizer", None)
        if isinstance(regularizer, ValueL2):
            found.append(regularizer.l2_value)
    return found
