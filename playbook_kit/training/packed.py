"""Packed trials: several trials of one architecture trained as one compiled program, each
bit-identical to the same trial trained alone.

A small model's step is bound by dispatch, not arithmetic: the digits MLP's step costs
about 0.15 ms here for tens of microseconds of math. A nuisance study trains many trials
of the SAME architecture that differ only in optimizer values; a *pack* stacks their
variables (``[P, ...]``, one replica per trial) and steps all of them with one set of ops,
each trial's batch gathered from the in-memory training data by that trial's own order.

Each trial's arithmetic is the arithmetic of the unpacked program
(:mod:`~playbook_kit.training.programs`), op for op, on its own slice:

* the forward pass and the weight gradients are batched matmuls, which compute each slice
  as the 2-D matmul does;
* a bias gradient is the unpacked ``BiasAddGrad`` (Keras' ``Dense`` adds its bias with
  ``BiasAdd``), run on the pack's columns side by side (``[batch, P * units]``);
* loss, gradient norm, clipping and Adam's update are element-wise or per-row ops on
  per-trial values (``[P]`` vectors), in the unpacked order, with the hyperparameters as
  float32 as the unpacked optimizer reads them from its variables;
* transcendental functions of a per-trial scalar (Adam's ``beta ** step``, the cosine of
  the schedule) run on each trial's scalar apart: on a vector, TensorFlow's CPU kernels
  take a SIMD path whose last bits differ from the scalar one.

A trial whose loss or gradient norm becomes NaN/Inf stops counting after that step (its
update applied, as alone) and the others go on: no op mixes two trials' slices, so its
slice (NaN from then on, and never read again: its run has ended) leaves theirs alone.
``tests/test_packed.py`` checks the bits against trials trained one by one.

What packs (:func:`unpackable_reason` says why not): the toolkit's ``mlp`` family without
normalization, dropout or L2, ReLU, Adam or SGD (plain, momentum, Nesterov), any
schedule, clipping or not, on training data
held in memory (no sample or class weights), one device, float32. Other trials train
unpacked, as before.
"""
from __future__ import annotations

import math

import numpy as np

PACK_LIMIT = 64
"""The most trials one pack holds."""
MIN_TRIALS = 8
"""The fewest trials a pack trains: per trial-step, on the digits MLP here, a pack of 2
costs 0.19 ms, of 4 0.11 ms (a trial alone: 0.11 ms), of 8 0.060, of 16 0.043 and of 32
0.030 ms; fewer trials of one architecture train alone."""
MIN_TRIAL_STEPS = 4_800
"""The fewest steps, summed over its trials, a pack with a new program trains: tracing
one costs about 0.25 s, what a pack of 8 saves over 600 steps."""
PACK = 32
"""Studies' default pack: on the digits MLP (600 steps) a pack of 32 gained 1.95x, one
of 16 1.73x (``bench/packed_trials.py``, median of 3 rounds each)."""


def unpackable_reason(workload, config: dict, model, data) -> str:
    """Why a trial cannot train in a pack ("" when it can); ``model``: its built model,
    or None to judge from the config and Keras' global dtype policy."""
    import keras

    from ..workload.families import MODELS

    settings = workload.settings(config)
    checks = [
        (workload.builder is None and config.get("model") == "mlp"
         and "mlp" in MODELS, "only the toolkit's 'mlp' family packs yet"),
        (config.get("normalization") == "none", "normalization layers do not pack yet"),
        (not config.get("dropout"), "dropout does not pack yet"),
        (not config.get("l2"), "an L2 penalty does not pack yet"),
        (config.get("activation") == "relu", "only the ReLU activation packs yet"),
        (settings["optimizer"] in ("adam", "sgd", "momentum", "nesterov"),
         "only Adam and SGD (with momentum or Nesterov's) pack yet"),
        (settings.get("devices", 1) == 1, "a trial over several devices does not pack"),
        (workload.class_weight is None and getattr(data, "sample_weight_train", None) is None,
         "sample or class weights do not pack yet"),
        (isinstance(getattr(data, "x_train", None), np.ndarray)
         and data.x_train.dtype == np.float32,
         "the training features are not one float32 array in memory"),
        ((model.dtype_policy if model is not None else keras.config.dtype_policy()).name
         == "float32", "mixed precision does not pack"),
    ]
    return next((why for ok, why in checks if not ok), "")


def check_pack(pack) -> int:
    """``pack`` as an int in 1..:data:`PACK_LIMIT`, else a ``ValueError`` naming it."""
    from ..core.validation import not_allowed

    if isinstance(pack, bool) or not isinstance(pack, (int, np.integer)) \
            or not 1 <= pack <= PACK_LIMIT:
        raise not_allowed("pack", pack, f"use an integer from 1 (no packing) to {PACK_LIMIT}")
    return int(pack)


MEMORY_SHARE = 0.5
"""The share of the memory available when a pack starts that its trials may take."""


def available_memory() -> int:
    """Bytes of memory available to new work (Linux's ``MemAvailable``; else the free
    physical pages)."""
    import os

    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def trial_bytes(model, batch_size: int) -> int:
    """An estimate of what one trial adds to a pack: its variables with Adam's two slots
    and their gradient, and a step's activations and their gradients (float32)."""
    params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    units = sum(int(v.shape[-1]) for v in model.trainable_variables if len(v.shape) == 1)
    inputs = int(np.prod(model.input_shape[1:]))
    return 4 * (4 * params + 3 * batch_size * (units + inputs))


def pack_that_fits(pack: int, model, batch_size: int, available: int | None = None) -> int:
    """``pack``, or fewer trials when that many would take more than
    :data:`MEMORY_SHARE` of the memory available, with a warning saying to what and
    why."""
    import warnings

    available = available_memory() if available is None else available
    each = trial_bytes(model, batch_size)
    fits = max(1, int(MEMORY_SHARE * available) // each)
    if fits >= pack:
        return pack
    warnings.warn(f"pack={pack} of {model.name} would take about {pack * each / 2**20:.0f} "
                  f"MiB ({each / 2**20:.1f} MiB a trial) of the {available / 2**20:.0f} MiB "
                  f"available; packing {fits} trials at a time instead", stacklevel=3)
    return fits


class PackOrders:
    """The pack's training orders, each trial's as its unpacked ``tf.data`` stream draws
    it: each epoch a permutation of the split (shuffled with the trial's seed under the
    global seed the trial set), batches running on across epochs. ``take(steps)`` gives
    the next ``steps`` batches' indices of every trial, ``[steps, P, batch]``.

    The permutations come from ``tf.data`` itself (its shuffle is the definition of the
    order), a whole epoch per element and all trials zipped, produced ahead in tf.data's
    background thread while the pack trains: shuffling costs about 0.4 us an example,
    as much as a small model's step, which an unpacked trial's prefetch hides the
    same way."""

    def __init__(self, n: int, batch_size: int, seeds: list, ahead: int):
        import tensorflow as tf
        from tensorflow.python.eager import context

        eager = context.context()
        before = eager._seed
        epochs = []
        try:
            for seed in seeds:
                eager._seed = int(seed)
                epochs.append(tf.data.Dataset.range(n).shuffle(
                    n, seed=int(seed), reshuffle_each_iteration=True).repeat().batch(n))
        finally:
            eager._seed = before
        options = tf.data.Options()
        options.autotune.enabled = False
        self._epochs = iter(tf.data.Dataset.zip(tuple(epochs)).prefetch(ahead)
                            .with_options(options))
        self.batch_size = batch_size
        self._left = np.empty((len(seeds), 0), np.int64)

    def take(self, steps: int) -> np.ndarray:
        """The next ``steps`` batches' indices of every trial, ``[steps, P, batch]``."""
        need = steps * self.batch_size
        parts = [self._left]
        have = self._left.shape[1]
        while have < need:
            epoch = np.stack([e.numpy() for e in next(self._epochs)])
            parts.append(epoch)
            have += epoch.shape[1]
        flat = np.concatenate(parts, axis=1)
        self._left = flat[:, need:]
        return flat[:, :need].reshape(len(flat), steps, self.batch_size).transpose(1, 0, 2)


def _add_bias():
    import tensorflow as tf

    @tf.custom_gradient
    def add_bias(x, bias):
        """``x [P, batch, units] + bias [P, units]``; the bias gradient is each trial's
        ``BiasAddGrad``, as its ``BiasAdd`` would reduce (one op per trial: a transpose to
        reduce the pack's columns side by side cost more, oneDNN's on small tensors)."""
        def grad(upstream):
            return upstream, tf.stack([tf.raw_ops.BiasAddGrad(out_backprop=trial)
                                       for trial in tf.unstack(upstream)])
        return x + bias[:, None, :], grad

    return add_bias


def _per_trial(function, *vectors):
    """``function`` on each trial's elements of ``[P]`` vectors apart (the scalar kernel
    path)."""
    import tensorflow as tf

    return tf.stack([function(*values) for values in zip(*map(tf.unstack, vectors))])


def learning_rates(values: dict, step):
    """:class:`~playbook_kit.workload.schedules.PlaybookSchedule`'s rate at ``step`` for each
    trial (``values``: its settings as ``[P]`` float32 vectors; ``step``: ``[P]``), op for
    op as the schedule computes it alone."""
    import tensorflow as tf

    from ..workload.config_fields import SCHEDULES

    warmup_steps = values["warmup_steps"]
    step = tf.cast(step, tf.float32)
    ramp = tf.where(warmup_steps > 0,
                    tf.minimum(step / tf.maximum(warmup_steps, 1.0), 1.0), 1.0)
    span = tf.maximum(values["max_train_steps"] - warmup_steps, 1.0)
    progress = tf.clip_by_value((step - warmup_steps) / span, 0.0, 1.0)
    end, kind = values["decay_factor"], values["kind"]
    linear = 1.0 - (1.0 - end) * progress
    cosine = end + (1.0 - end) * 0.5 * (1.0 + _per_trial(tf.cos, math.pi * progress))
    decay = tf.where(kind == SCHEDULES.index("linear"), linear,
                     tf.where(kind == SCHEDULES.index("cosine"), cosine, 1.0))
    return values["base"] * ramp * decay


def update_kind(settings: dict) -> str:
    """The optimizer update a trial's program runs: ``adam``, ``sgd`` (SGD, or momentum
    zero), ``momentum`` or ``nesterov``."""
    kind = settings["optimizer"]
    return "sgd" if kind in ("momentum", "nesterov") and settings["momentum"] == 0 else kind


def pack_shape(settings: dict) -> tuple:
    """What trials of one architecture must share besides it to pack together: the batch
    size, clipping on or off and the optimizer's update."""
    return settings["batch_size"], settings["clip_norm"] is not None, update_kind(settings)


def not_worth(size: int, max_train_steps: int, model, shape: tuple, data) -> str:
    """Why a pack of ``size`` trials would not pay ("" when it would): too few trials
    (:data:`MIN_TRIALS`), or too few steps (:data:`MIN_TRIAL_STEPS`) for a new program's
    tracing."""
    if size < MIN_TRIALS:
        return (f"{size} trial{'s' if size > 1 else ''} of this architecture, fewer than "
                f"the {MIN_TRIALS} a pack needs to pay")
    if size * max_train_steps < MIN_TRIAL_STEPS and \
            _key(model, size, shape, data) not in _CACHE:
        return (f"{size} trials of {max_train_steps} steps, fewer than the "
                f"{MIN_TRIAL_STEPS:,} trial-steps that pay for tracing a pack")
    return ""


def _key(model, size: int, shape: tuple, data) -> tuple:
    from .programs import structure_key

    return structure_key(model), size, shape, id(data)


_CACHE: dict = {}
CACHE_SIZE = 2
"""Packed programs kept (tracing one costs about 0.25 s): keyed by the model's
structure, the pack's size, its :func:`pack_shape` and the data."""


def packed_program(models: list, settings: list, max_train_steps: int, data) -> "PackedProgram":
    """The pack's program, ready for its first step: a cached one of the same shape
    (taking the models' fresh variables and the settings' values), else a new one."""
    key = _key(models[0], len(models), pack_shape(settings[0]), data)
    program = _CACHE.pop(key, None)
    if program is None or program.data is not data:
        program = PackedProgram(models, settings, max_train_steps, data)
    else:
        program.start(models, settings, max_train_steps)
    _CACHE[key] = program
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    return program


class PackedProgram:
    """P trials of one packable MLP: stacked variables, Adam state and values, and the
    compiled loop ``train_steps(indices [n, P, batch], alive [P], carry [4, P])``.

    ``models``: each trial's freshly built (seeded) model; ``settings``: each trial's
    :meth:`~playbook_kit.workload.workload.Workload.settings`; ``data``: the training split.
    """

    def __init__(self, models: list, settings: list, max_train_steps: int, data):
        import tensorflow as tf

        self.size, self.data = len(models), data
        self.variables = [tf.Variable(tf.zeros([self.size, *v.shape]))
                          for v in models[0].trainable_variables]
        self._momentums = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self._velocities = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self._iterations = tf.Variable(tf.zeros([self.size], tf.int64))
        self._values = {name: tf.Variable(tf.zeros([self.size]))
                        for name in ("base", "kind", "max_train_steps", "warmup_steps",
                                     "decay_factor", "beta1", "beta2", "epsilon", "clip_norm",
                                     "momentum")}
        self._clip = settings[0]["clip_norm"] is not None
        self._update = update_kind(settings[0])
        self._batch = settings[0]["batch_size"]
        self._x = tf.constant(data.x_train.reshape(len(data.x_train), -1))
        self._y = tf.cast(tf.constant(data.y_train), tf.int64)
        self._loop = self._make_loop()
        self.start(models, settings, max_train_steps)

    def start(self, models: list, settings: list, max_train_steps: int) -> None:
        """Take the trials' fresh variables and values; the optimizer starts from zero."""
        import tensorflow as tf

        from ..workload.config_fields import SCHEDULES

        for i, variable in enumerate(self.variables):
            variable.assign(tf.stack([m.trainable_variables[i].value for m in models]))
        for state in (*self._momentums, *self._velocities):
            state.assign(tf.zeros_like(state))
        self._iterations.assign(tf.zeros_like(self._iterations))
        columns = {"base": [s["learning_rate"] for s in settings],
                   "kind": [SCHEDULES.index(s["schedule"]) for s in settings],
                   "max_train_steps": [max_train_steps] * self.size,
                   "warmup_steps": [s["warmup_steps"] for s in settings],
                   "decay_factor": [s["decay_factor"] for s in settings],
                   "beta1": [s["beta1"] for s in settings],
                   "beta2": [s["beta2"] for s in settings],
                   "epsilon": [s["epsilon"] for s in settings],
                   "clip_norm": [s["clip_norm"] or 0.0 for s in settings],
                   "momentum": [s["momentum"] or 0.0 for s in settings]}
        for name, column in columns.items():
            self._values[name].assign(np.asarray(column, np.float32))

    def learning_rates(self, steps: list) -> list:
        """Each trial's learning rate at each of ``steps``, ``[P][len(steps)]``: the bits
        :meth:`~playbook_kit.training.programs.Program.learning_rates` gives it alone."""
        import tensorflow as tf

        values = {name: self._values[name].value() for name in self._values}
        rates = [learning_rates(values, tf.fill([self.size], float(step))).numpy()
                 for step in steps]
        return [[float(column[trial]) for column in rates] for trial in range(self.size)]

    def load_into(self, trial: int, model, optimizer) -> None:
        """Put trial ``trial``'s slice of the pack in ``model`` (its trainable variables)
        and, with ``optimizer`` (the unpacked program's), its optimizer state: what
        the trial alone would hold at this step, to evaluate, save or resume from."""
        from .programs import assign

        for target, value in zip(model.trainable_variables, self.variables):
            assign(target, value[trial])
        if optimizer is None:
            return
        if self._update == "adam":
            slots = ((optimizer._momentums, self._momentums),
                     (optimizer._velocities, self._velocities))
        elif self._update in ("momentum", "nesterov"):
            slots = ((optimizer.momentums, self._momentums),)
        else:
            slots = ()
        for targets, values in slots:
            for target, value in zip(targets, values):
                assign(target, value[trial])
        assign(optimizer.iterations, self._iterations[trial])

    def _make_loop(self):
        import tensorflow as tf

        add_bias = _add_bias()
        variables, values, size = self.variables, self._values, self.size
        broadcast = lambda vector, like: tf.reshape(vector, [size] + [1] * (like.shape.rank - 1))

        def forward(x):
            h = x
            for i in range(0, len(variables), 2):
                h = add_bias(tf.matmul(h, variables[i]), variables[i + 1])
                if i + 2 < len(variables):
                    h = tf.nn.relu(h)
            return h

        def step(indices, alive):
            x, y = tf.gather(self._x, indices), tf.gather(self._y, indices)
            with tf.GradientTape() as tape:
                per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(y, forward(x))
                loss = tf.reduce_mean(per_example, axis=1)
                total = tf.reduce_sum(loss)
            grads = tape.gradient(total, variables)
            half_squares = [tf.reduce_sum(tf.square(g), axis=list(range(1, g.shape.rank))) / 2
                            for g in grads]
            norm = tf.sqrt(tf.reduce_sum(tf.stack(half_squares), axis=0) * 2.0)
            was_clipped = tf.zeros([size])
            if self._clip:
                clip_norm = values["clip_norm"]
                scale = clip_norm * tf.minimum(1.0 / norm, 1.0 / clip_norm) + (norm - norm)
                grads = [g * broadcast(scale, g) for g in grads]
                was_clipped = tf.cast(norm > clip_norm, tf.float32)
            rate = learning_rates(values, self._iterations)
            if self._update == "adam":
                adam(grads, rate)
            else:
                sgd(grads, rate)
            self._iterations.assign(self._iterations + tf.cast(alive, tf.int64))
            return loss, norm, was_clipped

        def adam(grads, rate):
            local_step = tf.cast(self._iterations + 1, tf.float32)
            beta1, beta2 = values["beta1"], values["beta2"]
            beta1_power = _per_trial(tf.pow, beta1, local_step)
            beta2_power = _per_trial(tf.pow, beta2, local_step)
            alpha = rate * tf.sqrt(1 - beta2_power) / (1 - beta1_power)
            for variable, m, v, g in zip(variables, self._momentums, self._velocities, grads):
                m.assign_add((g - m) * broadcast(1 - beta1, g))
                v.assign_add((tf.square(g) - v) * broadcast(1 - beta2, g))
                variable.assign_sub((m * broadcast(alpha, g))
                                    / (tf.sqrt(v) + broadcast(values["epsilon"], g)))

        def sgd(grads, rate):
            """Keras' SGD, and the toolkit's momentum SGD (``programs._momentum_sgd_class``)."""
            for variable, m, g in zip(variables, self._momentums, grads):
                step = g * broadcast(rate, g)
                if self._update == "sgd":
                    variable.assign_sub(step)
                    continue
                momentum = broadcast(values["momentum"], g)
                m.assign(m * momentum - step)
                variable.assign_add(m * momentum - step if self._update == "nesterov" else m)

        @tf.function(input_signature=[
            tf.TensorSpec([None, size, self._batch], tf.int64), tf.TensorSpec([size], tf.bool),
            tf.TensorSpec([4, size], tf.float32)])
        def train_steps(indices, alive, carry):
            loss_sum, norm_sum, norm_max, clipped = tf.unstack(carry)
            done = tf.zeros([size], tf.int32)
            i, n = tf.constant(0), tf.shape(indices)[0]
            while i < n and tf.reduce_any(alive):
                value, norm, was_clipped = step(indices[i], alive)
                i += 1
                loss_sum = tf.where(alive, loss_sum + value, loss_sum)
                norm_sum = tf.where(alive, norm_sum + norm, norm_sum)
                norm_max = tf.where(alive, tf.maximum(norm_max, norm), norm_max)
                clipped = tf.where(alive, clipped + was_clipped, clipped)
                done += tf.cast(alive, tf.int32)
                alive = alive & tf.math.is_finite(value) & tf.math.is_finite(norm)
            return done, tf.stack([loss_sum, norm_sum, norm_max, clipped]), alive

        return train_steps

    def train_steps(self, indices: np.ndarray, alive: np.ndarray, carry: np.ndarray):
        """Up to ``len(indices)`` steps of the trials still ``alive``: ``(steps done [P],
        sums [4, P], alive after [P])`` (see :func:`~playbook_kit.training.steps.run_steps`
        for what the sums are)."""
        import tensorflow as tf

        done, sums, alive = self._loop(tf.constant(indices), tf.constant(alive),
                                       tf.constant(carry, tf.float32))
        return done.numpy(), sums.numpy(), alive.numpy()
