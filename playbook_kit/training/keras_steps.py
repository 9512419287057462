"""The compiled engine's step and evaluation for a model trained through its Keras compile.

A model its builder compiled (a keras-tuner hypermodel's, a ``build(config)`` that calls
``model.compile``), and one the toolkit compiles for what only ``compile`` expresses (a loss
dict or list with ``loss_weights``, per-output metrics), trains in the compiled step loop
exactly as Keras' own ``train_step`` would train it: the forward pass with
``training=True``, the loss from ``model.compute_loss`` (the compiled loss of each output,
weighted by ``loss_weights`` and ``sample_weight``, plus the model's regularization
losses, or the model's own ``compute_loss``), loss scaling under ``mixed_float16``, and
the compiled optimizer's update. What the loop adds is the toolkit's: the global gradient
norm (of the unscaled gradients), optional clipping, the stop at a non-finite loss, and the
learning-rate schedule and warmup around the compiled optimizer's learning rate.

Evaluation runs the model's ``test_step`` over the real examples of each batch (padding
is cut off), so the recorded loss and metrics are the ones ``model.evaluate`` reports,
named as Keras names them (``val_<output>_<metric>`` for several outputs). Unlike the
toolkit's own evaluation of an uncompiled model, Keras' loss includes the model's
regularization losses.
"""
from __future__ import annotations


def unpack(data):
    """``(x, y, sample_weight)`` of a batch ``(x, y)`` or ``(x, y, sample_weight)``."""
    if isinstance(data, (list, tuple)):
        if len(data) == 3:
            return data[0], data[1], data[2]
        if len(data) == 2:
            return data[0], data[1], None
        return data[0], None, None
    return data, None, None


def is_loss_scaled(optimizer) -> bool:
    import keras

    return isinstance(optimizer, keras.optimizers.LossScaleOptimizer)


def compiled_loss(model):
    """``loss_of(x, y, y_pred, sample_weight)`` for the step loop: Keras' own
    ``compute_loss`` (see the module)."""

    def loss_of(x, y, y_pred, sample_weight):
        return model._compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                   training=True)

    return loss_of


def forward(model, x, training: bool):
    """The model's output as Keras' ``train_step`` computes it (no ``training`` argument
    for a ``call`` that takes none)."""
    if getattr(model, "_call_has_training_arg", True):
        return model(x, training=training)
    return model(x)


def keras_evaluator(model):
    """A compiled pass over evaluation batches with the model's ``test_step``:
    ``(loss, {metric: value}, count)`` as ``model.evaluate`` reports them. The batches
    are stacked tensors ``(xs, ys, weights[, sample_weights])`` with zero-weight padding
    (cut off before each step) or a ``tf.data.Dataset`` of ``(x, y, weight)``. The
    model's compiled metrics must be built before the first call
    (:func:`~playbook_kit.workload.workload.build_on_sample`): a metric built while the pass is
    traced would never be reset by it."""
    import tensorflow as tf

    def step(x, y, sample_weight, count, n):
        model.test_step((x, y) if sample_weight is None else (x, y, sample_weight))
        return count + tf.cast(n, tf.float32)

    @tf.function(reduce_retracing=True)
    def evaluate(batches):
        for metric in model.metrics:
            metric.reset_state()
        count = tf.constant(0.0)
        if isinstance(batches, tf.data.Dataset):
            for batch in batches:
                count = step(batch[0], batch[1], batch[3] if len(batch) == 4 else None,
                             count, tf.shape(batch[2])[0])
        else:
            xs, ys, ws = batches[:3]
            sws = batches[3] if len(batches) == 4 else None
            for i in tf.range(tf.shape(ws)[0]):
                n = tf.cast(tf.reduce_sum(ws[i]), tf.int32)
                cut = lambda t: t[i][:n]
                x, y = tf.nest.map_structure(cut, xs), tf.nest.map_structure(cut, ys)
                count = step(x, y, None if sws is None else cut(sws), count, n)
        logs = model.get_metrics_result()
        return logs["loss"], {k: v for k, v in logs.items() if k != "loss"}, count

    return evaluate


def clone_optimizer(optimizer, learning_rate):
    """A fresh optimizer of the same class and settings as a compiled one, with
    ``learning_rate`` (the toolkit's schedule around the compiled rate) in place of its
    rate; a ``LossScaleOptimizer`` keeps its loss scaling around the clone."""
    import keras

    scaled = is_loss_scaled(optimizer)
    inner = optimizer.inner_optimizer if scaled else optimizer
    config = inner.get_config()
    config["learning_rate"] = learning_rate
    config.pop("name", None)
    clone = type(inner).from_config(config)
    if scaled:
        outer = optimizer.get_config()
        clone = keras.optimizers.LossScaleOptimizer(
            clone, initial_scale=outer["initial_scale"],
            dynamic_growth_steps=outer["dynamic_growth_steps"])
    return clone


def learning_rate_of(optimizer):
    """A compiled optimizer's learning rate: its variable, or its own schedule."""
    inner = optimizer.inner_optimizer if is_loss_scaled(optimizer) else optimizer
    return inner._learning_rate


def own_schedule(optimizer) -> bool:
    """Whether a compiled optimizer's learning rate is a schedule of the user's own."""
    import keras

    return isinstance(learning_rate_of(optimizer),
                      keras.optimizers.schedules.LearningRateSchedule)


def optimizer_signature(optimizer) -> dict:
    """What makes two compiled optimizers' updates differ in structure: class and every
    setting but the learning rate (a value the program feeds)."""
    scaled = is_loss_scaled(optimizer)
    inner = optimizer.inner_optimizer if scaled else optimizer
    config = dict(inner.get_config())
    config.pop("name", None)
    if not own_schedule(optimizer):
        config.pop("learning_rate", None)
    return {"class": type(inner).__name__, "config": config, "loss_scaled": scaled}


def compile_signature(model) -> dict:
    """The compiled loss, loss weights and metrics (what the program's functions call)."""
    config = dict(model.get_compile_config() or {})
    for key in ("optimizer", "run_eagerly", "steps_per_execution", "jit_compile",
                "auto_scale_loss"):
        config.pop(key, None)
    return config
