"""One trial on several local devices: data parallelism with ``tf.distribute.MirroredStrategy``.

The config field ``devices`` (1 by default, an integer or ``"all"``) sets how many local
devices (GPUs when there are any, else the CPU's logical devices, see
``setup(logical_cpus=...)``) train one trial. Each step splits the global batch
(``batch_size``) into equal per-device slices; every device computes the loss of its
slice scaled by the *global* batch size, so that the all-reduced (summed) gradients are
the gradients of the global batch's mean loss, exactly as on one device. Clipping uses
the global norm of the all-reduced gradients, as on one device.

Normalization across devices: ``normalization="sync_batch"`` computes batch statistics
over the global batch (Keras' ``BatchNormalization(synchronized=True)``); ghost batch
norm normalizes ghost batches within each device's slice, so each device's slice must be
a multiple of ``ghost_batch_size``; plain ``"batch"`` uses each device's slice, so its
model changes with the device count. Moving statistics are averaged across devices after
every compiled loop, so that evaluation and checkpoints (which read the first device's
copy) see the same values on every device.
"""
from __future__ import annotations

from ..core.validation import not_allowed
from .steps import run_steps


def _config_error(name: str, value, allowed: str) -> ValueError:
    """The wording of :func:`~playbook_kit.workload.config_fields.resolve_config`'s errors."""
    return not_allowed(f"config field {name!r}", value, allowed)


def local_devices() -> list[str]:
    """The logical devices a trial may use: the GPUs when there are any, else the CPUs."""
    import tensorflow as tf

    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return [device.name for device in devices]


def replica_count(config: dict, available: int) -> int:
    """How many devices train the trial, checked against ``available`` devices and the
    config's batch: ``batch_size`` must split evenly, and with ghost batch norm each
    device's slice must be a multiple of ``ghost_batch_size``."""
    devices = config["devices"]
    replicas = available if devices == "all" else devices
    if replicas > available:
        raise _config_error("devices", devices, f"use at most {available} (the local devices "
                            "here) or 'all'")
    batch_size = config["batch_size"]
    if batch_size % replicas:
        raise _config_error("batch_size", batch_size, f"use a multiple of the {replicas} "
                            f"devices (devices={devices!r}): each device takes an equal slice")
    per_device = batch_size // replicas
    ghost = config.get("ghost_batch_size")
    if replicas > 1 and config.get("normalization") == "ghost_batch" and per_device % ghost:
        raise _config_error("ghost_batch_size", ghost, f"use a divisor of each device's slice "
                            f"of {per_device} examples (batch_size={batch_size} over "
                            f"{replicas} devices)")
    return replicas


def strategy_for(config: dict):
    """The trial's ``MirroredStrategy`` over its first ``devices`` local devices, or None
    for one device (the plain single-device loop). Raises ``ValueError`` naming the field
    before any work when the devices or the batch do not fit.

    All-reduces go through one merge point per call (NCCL across physical GPUs, else a
    reduction on one device) rather than TensorFlow's default collective ops: with those,
    two synchronized batch-norm layers on two logical CPUs failed here ("Shape mismatch in
    the collective instance"), because independent collectives (batch statistics, their
    gradients, the gradient pack) may run in a different order on each replica."""
    import tensorflow as tf

    devices = local_devices()
    replicas = replica_count(config, len(devices))
    if replicas == 1:
        return None
    physical_gpus = len(tf.config.list_physical_devices("GPU"))
    nccl = "GPU" in devices[0].upper() and physical_gpus == len(devices)
    reduce = tf.distribute.NcclAllReduce() if nccl else tf.distribute.ReductionToOneDevice()
    return tf.distribute.MirroredStrategy(devices[:replicas], cross_device_ops=reduce)


def distribute_stream(strategy, dataset):
    """An iterator over ``dataset``'s global batches, each split across the replicas."""
    return iter(strategy.experimental_distribute_dataset(dataset))


def sync_moving_statistics(strategy, model) -> None:
    """Average every floating non-trainable variable (batch norm's moving mean and
    variance) across replicas. Each replica updates its own copy from its own slice; the
    moving averages are linear in the statistics, so averaging them once per loop gives
    the moving average of the replicas' mean statistics."""
    import tensorflow as tf

    for variable in model.non_trainable_variables:
        copies = strategy.experimental_local_results(variable.value)
        if len(copies) > 1 and variable.value.dtype.is_floating:
            variable.assign(tf.add_n(copies) / len(copies))


def train_steps(strategy, model, optimizer, train_iterator, loss, global_batch_size, clip):
    """The compiled loop ``train_steps(n, carry)`` over replicas, returning what the
    one-device loop returns: ``(done, loss_sum, norm_sum, norm_max, clipped, finite)``.

    ``train_iterator``: from :func:`distribute_stream`; ``clip(grads) -> (grads, norm,
    was_clipped)``: the trainer's global-norm clipping, applied to the all-reduced
    gradients. The optimizer's own all-reduce is turned off (the gradients it receives
    are already summed), so that clipping sees the global batch's gradients.
    """
    import tensorflow as tf

    variables = model.trainable_variables
    optimizer._all_reduce_sum_gradients = lambda grads_and_vars: list(grads_and_vars)

    def step(x, y):
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            value = tf.nn.compute_average_loss(loss.per_example(y, outputs),
                                               global_batch_size=global_batch_size)
            if model.losses:
                value += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(value, variables)
        grads = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM,
                                                               grads)
        grads, norm, was_clipped = clip(grads)
        optimizer.apply_gradients(zip(grads, variables))
        return value, norm, was_clipped

    def first(values):
        return strategy.experimental_local_results(values)[0]

    @tf.function(reduce_retracing=True)
    def loop(n, carry):
        def next_step():
            x, y = next(train_iterator)
            shares, norms, were_clipped = strategy.run(step, args=(x, y))
            value = strategy.reduce(tf.distribute.ReduceOp.SUM, shares, axis=None)
            return value, first(norms), first(were_clipped)

        result = run_steps(n, next_step, carry)
        sync_moving_statistics(strategy, model)
        return result

    return loop
