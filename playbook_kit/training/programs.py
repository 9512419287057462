"""Compiled programs reused across same-shaped trials, so that a trial costs its steps.

A *program* is a model, its optimizer, the compiled train loop and the compiled
evaluation pass. Tracing them costs about 0.25 s for a small model, more than 300 of its
steps; a study that varies optimizer and regularization hyperparameters over one
architecture (the common playbook round) would pay it for every trial. Instead the
programs are kept in a small LRU cache (:data:`CACHE_SIZE` entries, so memory stays
flat) keyed by a *structure signature*: the workload, the built model's structure (its
layers' configs, value-only hyperparameters left out, and its variables' shapes), the
optimizer class and what changes its update's structure (momentum zero or not,
Nesterov), clipping on or off, the training batches' and evaluation batches' shapes.

Everything else is fed as VALUES, variables read inside the compiled functions:
learning rate and the schedule (base, kind, warmup, ``max_train_steps``, decay factor),
``beta1``, ``beta2``, ``epsilon``, momentum, weight decay, the clipping threshold, and,
in the toolkit's own :func:`~playbook_kit.workload.workload.build_model`, dropout rate and L2
strength (zero and non-zero stay structural). The train iterator and the evaluation
batches are arguments of the compiled functions: a new trial's iterator does not retrace.

Each trial still builds its model fresh after seeding, and the program takes ALL of its
variables (weights, batch-norm statistics, dropout seed state) and values; the optimizer
and metrics start from their initial state. So a trial's result is the same whether its
program was cached or new: a pure function of (workload, config, seed).

A model whose compiled functions run a stateful random op (``tf.random.uniform`` in a
layer's ``call``, say; Keras' own layers are stateless) gets a new program each trial:
the op's seed is fixed when its function is traced and its counter runs on.

A user's model (``Workload(model=...)``, a keras-tuner hypermodel, a registered family)
reuses a program only when its built structure AND its config match (besides the
optimizer's values): the toolkit cannot tell which of its config fields the builder
bakes in, so a user's dropout rate, for one, is structural.

``playbook_kit.setup(reuse_programs=False)`` (or :func:`set_reuse`) turns reuse off:
every trial then builds a new program after ``keras.backend.clear_session()``.

A trial over several devices (config field ``devices``, :mod:`playbook_kit.training.distribute`)
builds its own program, with its variables mirrored on the replicas: such trials run
for long enough that tracing is a small share of their time.

Memory: a dropped program (pushed out of the cache, built with reuse off or for several
devices) and a fit-engine trial's model are freed whole, by what
:mod:`playbook_kit.training.graph_release` lets go of TensorFlow's hold on them.
"""
from __future__ import annotations

import contextlib
import json
import weakref
from collections import OrderedDict

from ..core import runtime
from ..workload.families import MODELS
from ..workload.optimizers import build_optimizer, learning_rate_schedule
from .steps import run_steps

CACHE_SIZE = 4
"""Programs kept (toolkit's choice): a round's study rarely has more than a few shapes,
and each entry holds a model, its optimizer state and traced graphs."""

STATEFUL_RANDOM_OPS = frozenset({
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal",
    "ParameterizedTruncatedNormal", "RandomShuffle", "Multinomial", "RandomGamma",
    "RandomPoisson", "RandomPoissonV2", "RandomCrop",
    "StatefulUniform", "StatefulUniformInt", "StatefulUniformFullInt",
    "StatefulStandardNormal", "StatefulStandardNormalV2", "StatefulTruncatedNormal",
    "StatefulRandomBinomial", "RngSkip", "RngReadAndSkip"})
"""TensorFlow ops whose random stream is state outside the model's variables: a counter
in the op's kernel (``tf.random.uniform`` and kin without ``stateless_``) or a
``tf.random.Generator``. Keras' own random ops are stateless, seeded from variables the
model holds."""

# Config fields read as values by every program, never part of the signature.
VALUE_FIELDS = ("learning_rate", "schedule", "warmup_steps", "decay_factor", "momentum",
                "one_minus_momentum", "beta1", "beta2", "epsilon", "weight_decay", "clip_norm")
_ADAM_VALUES = {"beta1": "beta_1", "beta2": "beta_2", "epsilon": "epsilon"}

_STATE: dict = {"cache": OrderedDict(), "built": 0}


def set_reuse(enabled: bool) -> None:
    """Turn program reuse on or off for this process. Off, each trial builds a new program
    and leaves the cache alone (:func:`clear` empties it)."""
    runtime.set_reuse_programs(enabled)


def reuse_enabled() -> bool:
    return runtime._STATE["reuse_programs"]


def clear() -> None:
    """Forget every cached program."""
    _STATE["cache"].clear()


def programs_built() -> int:
    """How many programs this process has built (each one traces its functions once)."""
    return _STATE["built"]


def clip_gradients(grads, clip_norm):
    """Global-norm clipping: ``(grads, norm before clipping, 1.0 if clipped else 0.0)``.

    Gradients whose global norm exceeds ``clip_norm`` (a number or a variable) are scaled
    down to it; others pass unchanged. ``clip_norm=None`` never clips.
    """
    import tensorflow as tf

    norm = tf.linalg.global_norm(grads)
    if clip_norm is None:
        return grads, norm, tf.constant(0.0)
    clipped, _ = tf.clip_by_global_norm(grads, clip_norm, use_norm=norm)
    return clipped, norm, tf.cast(norm > clip_norm, tf.float32)


def make_evaluator(model, loss=None, metrics=None):
    """A compiled pass over evaluation batches: ``(mean loss, {metric: value}, count)``.

    ``loss``: a :class:`~playbook_kit.workload.objectives.Loss` (default: cross-entropy on
    logits); ``metrics``: metric objects by name (default: accuracy). The batches are
    stacked tensors ``(xs, ys, weights[, sample_weights])`` (see
    :func:`~playbook_kit.data.arrays.eval_batches`) or a ``tf.data.Dataset`` of
    ``(x, y, weight)``; padding examples carry zero weight, so each real example counts
    exactly once in the loss and in every metric. Sample weights weight the loss (mean
    over the examples of weight times loss, as Keras reduces it), not the metrics (as
    Keras' ``metrics``). The loss is the data loss: regularization losses
    (``model.losses``) count in training steps only, so that validation losses compare
    across penalty strengths.
    """
    import tensorflow as tf

    from ..workload.objectives import Loss, make_metrics

    loss = loss or Loss()
    metrics = metrics if metrics is not None else make_metrics(["accuracy"], loss)

    def step(x, y, w, sw, loss_sum, count):
        outputs = model(x, training=False)
        for metric in metrics.values():
            metric.update_state(y, outputs, sample_weight=w)
        weight = w if sw is None else w * sw
        return loss_sum + tf.reduce_sum(loss.per_example(y, outputs) * weight), \
            count + tf.reduce_sum(w)

    @tf.function(reduce_retracing=True)
    def evaluate(batches):
        for metric in metrics.values():
            metric.reset_state()
        loss_sum, count = tf.constant(0.0), tf.constant(0.0)
        if isinstance(batches, tf.data.Dataset):
            for batch in batches:
                loss_sum, count = step(*batch[:3], batch[3] if len(batch) == 4 else None,
                                       loss_sum, count)
        else:
            xs, ys, ws = batches[:3]
            sws = batches[3] if len(batches) == 4 else None
            for i in tf.range(tf.shape(ws)[0]):
                x, y = (tf.nest.map_structure(lambda t: t[i], data) for data in (xs, ys))
                loss_sum, count = step(x, y, ws[i], None if sws is None else sws[i],
                                       loss_sum, count)
        return loss_sum / count, {n: m.result() for n, m in metrics.items()}, count

    return evaluate


def toolkit_loss(model, loss):
    """``loss_of(x, y, y_pred, sample_weight)`` for a model trained with the workload's
    :class:`~playbook_kit.workload.objectives.Loss`: the batch mean of the per-example loss
    (times the sample weights, as Keras reduces it) plus the regularization losses."""
    import tensorflow as tf

    def loss_of(x, y, y_pred, sample_weight):
        values = loss.per_example(y, y_pred)
        if sample_weight is not None:
            values = values * tf.cast(sample_weight, values.dtype)
        value = tf.reduce_mean(values)
        if model.losses:
            value += tf.add_n(model.losses)
        return value

    return loss_of


def make_train_loop(model, optimizer, clip_norm, loss_of):
    """The compiled loop ``train_steps(iterator, n, carry)``: up to ``n`` steps from
    ``iterator`` (batches ``(x, y)`` or ``(x, y, sample_weight)``), stopping early at a
    non-finite loss or gradient norm, its sums going on from ``carry``
    (:func:`~playbook_kit.training.steps.run_steps`). Returns ``(steps done, loss sum, gradient
    norm sum, gradient norm max, steps clipped, finite)``. ``clip_norm``: None, a number or a variable (read at
    each step); ``loss_of(x, y, y_pred, sample_weight)``: the loss to minimize
    (:func:`toolkit_loss`, or :func:`~playbook_kit.training.keras_steps.compiled_loss`).

    Under loss scaling (a ``LossScaleOptimizer``, which ``compile`` gives a
    ``mixed_float16`` model) the gradients of the scaled loss are unscaled for the norm,
    and a step whose gradients overflow is skipped by the optimizer, as in Keras: only a
    non-finite loss stops the trial."""
    import tensorflow as tf

    from .keras_steps import forward, is_loss_scaled, unpack

    variables = model.trainable_variables
    scaled = is_loss_scaled(optimizer)

    @tf.function(reduce_retracing=True)
    def train_steps(iterator, n, carry):
        def next_step():
            x, y, sample_weight = unpack(next(iterator))
            with tf.GradientTape() as tape:
                outputs = forward(model, x, training=True)
                value = loss_of(x, y, outputs, sample_weight)
                scaled_value = optimizer.scale_loss(value)
            grads = tape.gradient(scaled_value, variables)
            if scaled:
                scale = tf.cast(optimizer.dynamic_scale, tf.float32)
                norm = tf.linalg.global_norm(grads) / scale
                norm = tf.where(tf.math.is_finite(norm), norm, 0.0)
                was_clipped = tf.constant(0.0)
            else:
                grads, norm, was_clipped = clip_gradients(grads, clip_norm)
            optimizer.apply_gradients(zip(grads, variables))
            return tf.cast(value, tf.float32), norm, was_clipped

        return run_steps(n, next_step, carry)

    return train_steps


class Program:
    """One model, its optimizer and their compiled functions, fed a trial's values.

    ``settings``: the trainer's view of the trial's config
    (:meth:`~playbook_kit.workload.workload.Workload.settings`). A model that comes compiled
    trains through its compile (:mod:`playbook_kit.training.keras_steps`): a clone of its optimizer
    with the toolkit's schedule around its learning rate, its compiled loss, its metrics.
    """

    def __init__(self, workload, settings: dict, model, max_train_steps: int, strategy=None,
                 iterator=None):
        import tensorflow as tf

        from . import keras_steps
        from ..workload.keras_models import is_compiled

        self.workload, self.model = workload, model
        self.keras = is_compiled(model)
        if self.keras:
            check_compiled_optimizer(model.optimizer, settings, strategy)
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            self.values = {name: tf.Variable(0.0, trainable=False, dtype=tf.float32)
                           for name in ("momentum", "weight_decay", "clip_norm", *_ADAM_VALUES)}
            if self.keras and keras_steps.own_schedule(model.optimizer):
                self.schedule = None
                self.optimizer = keras_steps.clone_optimizer(
                    model.optimizer, keras_steps.learning_rate_of(model.optimizer))
            elif self.keras:
                self.schedule = learning_rate_schedule(
                    {**settings, "learning_rate": compiled_rate(model)}, max_train_steps)
                self.optimizer = keras_steps.clone_optimizer(model.optimizer, self.schedule)
            else:
                self.schedule = learning_rate_schedule(settings, max_train_steps)
                self.optimizer = _value_optimizer(settings, self.schedule, self.values)
                if model.dtype_policy.name == "mixed_float16":  # as compile() would
                    import keras

                    self.optimizer = keras.optimizers.LossScaleOptimizer(self.optimizer)
                    check_compiled_optimizer(self.optimizer, settings, strategy)
            self.optimizer.build(model.trainable_variables)
        self._optimizer_start = [v.numpy() for v in self.optimizer.variables]
        clip_norm = None if settings["clip_norm"] is None else self.values["clip_norm"]
        loss_of = keras_steps.compiled_loss(model) if self.keras else \
            toolkit_loss(model, workload.make_loss())
        if strategy is None:
            loop = self._loop = make_train_loop(model, self.optimizer, clip_norm, loss_of)
        else:  # the replicas' loop reads the trial's distributed iterator
            from .distribute import train_steps

            loop = train_steps(strategy, model, self.optimizer, iterator, workload.make_loss(),
                               settings["batch_size"],
                               lambda grads: clip_gradients(grads, clip_norm))
            self._loop = lambda _iterator, n, carry: loop(n, carry)
        self.evaluate = keras_steps.keras_evaluator(model) if self.keras else \
            make_evaluator(model, workload.make_loss(), workload.make_metrics())
        self._compiled = (loop, self.evaluate)
        self.rate_schedule = self.schedule or keras_steps.learning_rate_of(model.optimizer)
        self._scalars = (self.schedule.variables if self.schedule is not None else []) + \
            list(self.values.values())
        self._assign(settings, max_train_steps, model)
        self._random_state = None
        _STATE["built"] += 1

    def train_steps(self, iterator, n, carry=None):
        """Up to ``n`` steps from ``iterator``, the chunk's sums going on from ``carry``
        (a new chunk's zeros when None): see :func:`make_train_loop`."""
        from .steps import zero_carry

        return self._loop(iterator, n, zero_carry() if carry is None else carry)

    def learning_rates(self, steps: list) -> list:
        """The learning rate at each of ``steps`` (the toolkit's schedule, or the
        compiled optimizer's own)."""
        import tensorflow as tf

        return [float(self.rate_schedule(tf.constant(float(step)))) for step in steps]

    def holds_random_state(self) -> bool:
        """Whether the compiled functions run a stateful random op
        (:data:`STATEFUL_RANDOM_OPS`): its seed was fixed when the function was traced,
        under the first trial's seed, and its counter runs on across trials, so such a
        program is not reused. Read from the traced graphs once, after the first trial."""
        if self._random_state is None:
            self._random_state = any(
                _graph_ops(concrete) & STATEFUL_RANDOM_OPS for function in self._compiled
                for concrete in function._list_all_concrete_functions())
        return self._random_state

    def start_trial(self, settings: dict, model, max_train_steps: int) -> None:
        """Take a freshly built (seeded) model's variables and values, reset the optimizer
        and feed the config's values: the program is then as a new one would be.

        Eager assignments to the variables' TensorFlow handles (about 0.1 ms each):
        cheaper than tracing one compiled assignment per program, for the studies this
        cache serves (a few dozen trials per shape)."""
        for target, source in zip(self.model.variables, model.variables):
            _handle(target).assign(_handle(source))
        from ..workload.layers import hyperparameter_values  # imports Keras: not at module import

        for target, source in zip(hyperparameter_values(self.model),
                                  hyperparameter_values(model)):
            target.assign(source)
        for variable, start in zip(self.optimizer.variables, self._optimizer_start):
            _handle(variable).assign(start)
        self._assign(settings, max_train_steps, model)

    def _settings(self, settings, max_train_steps, model) -> list:
        values = [0.0 if settings.get(name) is None else float(settings[name])
                  for name in self.values]
        if self.schedule is None:
            return values
        rate = compiled_rate(model) if self.keras else settings["learning_rate"]
        return self.schedule.settings(rate, settings["schedule"], max_train_steps,
                                      settings["warmup_steps"],
                                      settings["decay_factor"]) + values

    def _assign(self, settings, max_train_steps, model):
        for variable, value in zip(self._scalars,
                                   self._settings(settings, max_train_steps, model)):
            variable.assign(value)


def compiled_rate(model) -> float:
    """The learning rate a compiled model's optimizer was given (a float)."""
    import keras

    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def check_compiled_optimizer(optimizer, settings: dict, strategy) -> None:
    """Refuse, before training, what the compiled engine cannot add to a compiled
    optimizer: the toolkit's schedule over the user's own schedule, the toolkit's
    clipping under loss scaling, several devices."""
    from .keras_steps import is_loss_scaled, own_schedule
    from ..core.validation import not_allowed
    from ..workload.objectives import WorkloadError

    if own_schedule(optimizer) and (settings["schedule"] != "constant"
                                    or settings["warmup_steps"] or settings["decay_factor"]):
        raise WorkloadError("the model's optimizer has a learning-rate schedule of its own; "
                            "the toolkit's schedule, warmup_steps and decay_factor cannot "
                            "apply on top of it: leave them at their defaults")
    if is_loss_scaled(optimizer) and settings["clip_norm"] is not None:
        raise not_allowed("clip_norm", settings["clip_norm"], "under loss scaling (a "
                          "mixed_float16 model) give your optimizer global_clipnorm= instead",
                          error=WorkloadError)
    if strategy is not None:
        raise not_allowed("devices", strategy.num_replicas_in_sync, "a compiled model "
                          "trains on one device yet: use devices=1", error=WorkloadError)


def _graph_ops(concrete) -> set:
    """The op types in a traced function and every function it calls (loop bodies...)."""
    graph = concrete.graph.as_graph_def()
    ops = {node.op for node in graph.node}
    for function in graph.library.function:
        ops.update(node.op for node in function.node_def)
    return ops


@contextlib.contextmanager
def watch_stateful_random():
    """Record, in the list it yields, each stateful random op (:data:`STATEFUL_RANDOM_OPS`)
    run eagerly inside the block: those are what the kernel cache's counters serve."""
    from tensorflow.python.framework import op_callbacks

    seen: list = []

    def record(op_type, inputs, attrs, outputs, op_name=None, graph=None):
        if op_type in STATEFUL_RANDOM_OPS:
            seen.append(op_type)

    op_callbacks.add_op_callback(record)
    try:
        yield seen
    finally:
        op_callbacks.remove_op_callback(record)


def _handle(variable):
    """A Keras variable's TensorFlow variable (assigning through it skips Keras' checks)."""
    return getattr(variable, "value", variable)


def _momentum_sgd_class():
    import keras
    from keras import ops

    class MomentumSGD(keras.optimizers.SGD):
        """Keras' SGD with momentum (and Nesterov) read from a value: Keras' own tests
        ``momentum != 0`` in Python, which a variable cannot answer when traced."""

        def update_step(self, gradient, variable, learning_rate):
            learning_rate = ops.cast(learning_rate, variable.dtype)
            gradient = ops.cast(gradient, variable.dtype)
            m = self.momentums[self._get_variable_index(variable)]
            momentum = ops.cast(self.momentum_value, variable.dtype)
            self.assign(m, ops.subtract(ops.multiply(m, momentum),
                                        ops.multiply(gradient, learning_rate)))
            if self.nesterov:
                self.assign_add(variable, ops.subtract(ops.multiply(m, momentum),
                                                       ops.multiply(gradient, learning_rate)))
            else:
                self.assign_add(variable, m)

    return MomentumSGD


def _value_optimizer(config: dict, schedule, values: dict):
    """The config's optimizer (:func:`~playbook_kit.workload.workload.build_optimizer`) reading its
    hyperparameters from ``values``."""
    kind = config["optimizer"]
    if kind in ("momentum", "nesterov") and config["momentum"] != 0:
        optimizer = _momentum_sgd_class()(schedule, momentum=0.5, nesterov=kind == "nesterov")
        optimizer.momentum_value = values["momentum"]
        return optimizer
    optimizer = build_optimizer({**config, "momentum": 0.0}, 1, schedule)
    if kind in ("adam", "nadam", "adamw"):
        for field, attribute in _ADAM_VALUES.items():
            setattr(optimizer, attribute, values[field])
    if kind == "adamw":
        optimizer.weight_decay = values["weight_decay"]
    return optimizer


def signature(workload, config: dict, settings: dict, model, iterator,
              eval_splits: dict) -> str:
    """What must match for a trial to reuse a program (see the module's docstring)."""
    import tensorflow as tf

    from .keras_steps import compile_signature, optimizer_signature
    from ..workload.keras_models import is_compiled

    kind = settings["optimizer"]
    shapes = {split: [(tuple(t.shape), str(t.dtype)) for t in tf.nest.flatten(batches)]
              if not isinstance(batches, tf.data.Dataset) else repr(batches.element_spec)
              for split, batches in eval_splits.items()}
    parts = {"model": _structure(model),
             "optimizer": [kind, kind in ("momentum", "nesterov") and settings["momentum"] != 0],
             "clip": settings["clip_norm"] is not None,
             "train": repr(iterator.element_spec), "eval": repr(shapes)}
    if is_compiled(model):
        parts["optimizer"] = optimizer_signature(model.optimizer)
        parts["compile"] = compile_signature(model)
    if workload.builder is not None or config.get("model") not in MODELS:
        parts["config"] = repr(sorted((k, v) for k, v in config.items() if k not in VALUE_FIELDS))
    return json.dumps(parts, sort_keys=True, default=repr)


def structure_key(model) -> str:
    """The built model's structure as the program cache keys it (value-only
    hyperparameters left out), as one string."""
    return json.dumps(_structure(model), sort_keys=True, default=repr)


def assign(target, value) -> None:
    """Set a Keras variable from a tensor, through its TensorFlow variable."""
    _handle(target).assign(value)


def _structure(model) -> list:
    layers = []
    for layer in model._flatten_layers(include_self=False):
        try:
            config = layer.get_config()
        except NotImplementedError:
            config = None
        if type(layer).__name__ == "ValueDropout":
            config.pop("rate")
        layers.append([type(layer).__name__, _scrub(config)])
    variables = [[tuple(v.shape), str(v.dtype), bool(v.trainable)] for v in model.variables]
    return [type(model).__name__, layers, variables]


def _scrub(config):
    """A layer config without names (they count up in a process) or ``ValueL2`` strengths."""
    if isinstance(config, dict):
        if config.get("class_name") == "ValueL2":
            return "ValueL2"
        return {k: _scrub(v) for k, v in config.items() if k != "name"}
    if isinstance(config, (list, tuple)):
        return [_scrub(v) for v in config]
    return config


def program_for(workload, config: dict, settings: dict, model, iterator, eval_splits: dict,
                max_train_steps: int, strategy=None) -> Program:
    """The trial's program, ready for its first step: a cached one of the same signature
    (taking ``model``'s fresh variables and the config's values), else a new one built
    around ``model`` and cached (the least recently used one dropped beyond
    :data:`CACHE_SIZE`). A trial over several devices (a ``strategy``) gets a new program,
    and so does one whose cached program holds random state
    (:meth:`Program.holds_random_state`)."""
    cache = _STATE["cache"]
    if not reuse_enabled() or strategy is not None:
        return Program(workload, settings, model, max_train_steps, strategy, iterator)
    key = (id(workload), signature(workload, config, settings, model, iterator, eval_splits))
    program = cache.get(key)
    if program is not None and program.workload is workload \
            and not program.holds_random_state():
        cache.move_to_end(key)
        program.start_trial(settings, model, max_train_steps)
        return program
    program = Program(workload, settings, model, max_train_steps)
    cache[key] = program
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return program


_SAVE_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> plan


def save_weights(model, path) -> None:
    """``model.save_weights(path)`` (a Keras ``.weights.h5`` file) without Keras' walk of
    the model's attributes on every save.

    Keras finds what to save by walking every attribute of every layer, about 10 of the
    16 ms a save of a small model costs; a study writes a few checkpoints per trial of
    the same program's model. The first save of a model records what the walk wrote (the
    groups, their metadata, and the variable behind each dataset) and later saves replay
    that, through Keras' own store, so the files are the same. A model that stores
    anything but variables is saved by Keras each time.
    """
    from keras.src.saving import saving_lib

    plan = _SAVE_PLANS.get(model)
    if plan is None:
        plan = _record_save_plan(model, saving_lib)
        _SAVE_PLANS[model] = plan
    if plan is False:
        model.save_weights(path)
        return
    store = saving_lib.H5IOStore(str(path), mode="w")
    try:
        for inner_path, metadata, items in plan:
            entry = store.make(inner_path, metadata=metadata)
            for key, variable in items:
                entry[key] = variable
    finally:
        store.close()


def _record_save_plan(model, saving_lib):
    """``[(inner path, metadata, [(key, variable), ...]), ...]`` in Keras' order, or
    False when an entry holds something other than a variable."""
    import io

    import keras

    plan = []

    class Recorder(saving_lib.H5IOStore):
        def make(self, path, metadata=None):
            plan.append((path, metadata, []))
            return self

        def __setitem__(self, key, value):
            plan[-1][2].append((key, value))

        def close(self):
            pass

    saving_lib._save_state(model, weights_store=Recorder(io.BytesIO(), mode="w"),
                           assets_store=None, inner_path="", visited_saveables=set())
    if not all(isinstance(v, keras.Variable) for _, _, items in plan for _, v in items):
        return False
    return [(path, metadata, items) for path, metadata, items in plan if items or metadata]
