"""Workload parts chosen by name in a config: model families, optimizers, schedules.

A *workload* is data + model family + optimizer + schedule + objective; a *config* is one
set of hyperparameter values. :func:`resolve_config` fills a config from the workload's
defaults and validates every value before any work starts, with errors that name the
field, the value and what is allowed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from .objectives import WorkloadError, importable_path, resolve_callable


MODELS = ("mlp", "cnn", "resnet")
NORMALIZATIONS = ("none", "batch", "sync_batch", "layer", "ghost_batch")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "nadam", "adamw")
SCHEDULES = ("constant", "linear", "cosine")
ACTIVATIONS = ("relu", "gelu", "tanh", "elu", "selu", "swish", "sigmoid")
OBJECTIVES = {"val_accuracy": "max", "val_loss": "min"}

# name: (type, check, default, allowed-text); check returns True for a valid value.
_POSITIVE = (lambda v: v > 0, "a number > 0")
_UNIT_OPEN = (lambda v: 0 < v < 1, "a number in (0, 1)")
CONFIG_FIELDS: dict[str, tuple] = {
    "model": (str, lambda v: v in MODELS or v in _CUSTOM_MODELS, "mlp",
              "one of " + ", ".join(MODELS) + " or a registered model"),
    "width": (int, lambda v: 1 <= v <= 8192, 128, "an integer in [1, 8192]"),
    "depth": (int, lambda v: 0 <= v <= 64, 1, "an integer in [0, 64]"),
    "activation": (str, lambda v: v in ACTIVATIONS, "relu", "one of " + ", ".join(ACTIVATIONS)),
    "normalization": (str, lambda v: v in NORMALIZATIONS, "none",
                      "one of " + ", ".join(NORMALIZATIONS)),
    "ghost_batch_size": (int, lambda v: v >= 2, 64, "an integer >= 2"),
    "dropout": (float, lambda v: 0 <= v < 1, 0.0, "a number in [0, 1)"),
    "l2": (float, lambda v: v >= 0, 0.0, "a number >= 0"),
    "zero_init_residual": (bool, lambda v: True, True, "True or False"),
    "optimizer": (str, lambda v: v in OPTIMIZERS, "adam", "one of " + ", ".join(OPTIMIZERS)),
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
_CUSTOM_MODELS: dict[str, Callable] = {}


def register_model(name: str, build: Callable) -> None:
    """Add a model family: ``build(config, input_shape, num_classes) -> keras.Model``.

    Errors raised while building for a given config make that trial infeasible, as the
    playbook's implicit constraints do, instead of stopping the study.
    """
    if not isinstance(name, str) or not name or name in MODELS:
        raise ValueError(f"model name {name!r} is not allowed; use a new non-empty name "
                         f"other than {', '.join(MODELS)}")
    _CUSTOM_MODELS[name] = build


@dataclass
class Workload:
    """Data, model, loss, metrics, default config and objective shared by every trial.

    Args:
        dataset: a :class:`~playbook_kit.data.Dataset` (arrays), a
            :class:`~playbook_kit.streams.PipelineDataset` (``tf.data``, streamed files),
            or a data builder ``data(config) -> dataset`` (or its ``"module:function"``
            path) so that a study can tune a parameter of the input: each trial's data
            is built from its config.
        defaults: config values every trial starts from.
        objective: ``val_loss`` or ``val_<metric>`` for one of ``metrics``.
        extra_keys: config fields of the user's own (a builder's hyperparameters).
        model: ``None`` for the config's registered family (``config["model"]``), a
            builder ``build(config) -> keras.Model``, or its importable
            ``"module:function"`` path (what a study stores so that workers rebuild it).
        loss: ``None`` (families' logits, integer labels), a name
            (:data:`~playbook_kit.objectives.LOSS_NAMES`), a ``keras.losses.Loss`` or a
            callable returning one loss per example.
        metrics: names or ``keras.metrics.Metric`` objects; ``None`` means
            ``["accuracy"]`` with the default loss, none otherwise.
        direction: ``"min"`` / ``"max"``; inferred from the objective's name when unset.
    """

    dataset: object
    defaults: dict = field(default_factory=dict)
    objective: str = "val_accuracy"
    extra_keys: tuple = ()
    model: object = None
    loss: object = None
    metrics: object = None
    direction: str | None = None

    def __post_init__(self):
        from .objectives import Loss, make_metrics, objective_direction

        self.defaults = dict(self.defaults)
        self.extra_keys = tuple(self.extra_keys)
        self.data_builder = None
        if callable(self.dataset) or isinstance(self.dataset, str):
            self.data_builder = resolve_callable(self.dataset, "data")
            self._data_cache: dict = {}
            self.dataset = self.data_for(resolve_config(self.defaults, self.extra_keys))
        if self.model is not None and not (callable(self.model) or isinstance(self.model, str)):
            raise WorkloadError(f"model={self.model!r} is not allowed; use None (a registered "
                                "family), a builder build(config) -> keras.Model or its "
                                "'module:function' path")
        self.builder = resolve_callable(self.model, "model") if self.model is not None else None
        self._loss = Loss(self.loss)
        if self.metrics is None:
            self.metrics = ["accuracy"] if self.loss is None else []
        self.metrics = list(self.metrics)
        names = list(make_metrics(self.metrics, self._loss))
        recorded = ["val_loss"] + [f"val_{n}" for n in names]
        if self.objective not in recorded:
            raise WorkloadError(f"objective={self.objective!r} is not among the recorded "
                                f"validation metrics; use one of {', '.join(recorded)}")
        self.direction = objective_direction(self.objective, self.direction)
        resolve_config(self.defaults, extra_keys=self.extra_keys)

    @classmethod
    def from_hypermodel(cls, hypermodel, dataset, *, roles: dict | None = None,
                        defaults: dict | None = None, objective: str | None = None,
                        loss=None, metrics=None, direction: str | None = None):
        """A keras-tuner hypermodel used as it is: ``(workload, search space)``.

        Args:
            hypermodel: a ``build(hp)`` function, a ``keras_tuner.HyperModel`` or its
                importable ``"module:name"`` path (what lets workers rebuild it).
            roles: playbook roles by hyperparameter name (``scientific``, ``nuisance``,
                ``fixed``); unnamed ones are nuisance (``hp.Fixed``: fixed).
            defaults, loss, metrics, objective, direction: as for :class:`Workload`;
                when the hypermodel compiles its model, its loss and metrics are used
                unless given, and its optimizer's type and learning rate become
                defaults that the space (or ``defaults``) overrides.
        """
        from .hypermodel import HypermodelBuilder
        from .search.space import SearchSpace

        builder = HypermodelBuilder(hypermodel)
        compiled = builder.compiled()
        loss = loss if loss is not None else compiled.get("loss")
        if loss is None:
            raise WorkloadError("the hypermodel does not compile its model with a loss; give "
                                "loss= (a name, a keras.losses.Loss or a callable)")
        metrics = list(metrics) if metrics is not None else compiled.get("metrics", [])
        start = {k: compiled[k] for k in ("optimizer", "learning_rate", "momentum")
                 if k in compiled}
        names = builder.config_names
        space = SearchSpace.from_keras_tuner(builder.hyperparameters)
        entries = space.to_dict()
        for entry in entries["hyperparameters"]:
            entry["name"] = names[entry["name"]]
            if entry.get("parent") is not None:
                entry["parent"] = names[entry["parent"]]
            if roles and entry["name"] in roles and "value" not in entry:
                entry["role"] = roles[entry["name"]]
        unknown = sorted(set(roles or {}) - set(names.values()))
        if unknown:
            raise WorkloadError(f"roles name {unknown[0]!r}, which the hypermodel does not "
                                f"declare; it declares {', '.join(names.values())}")
        space = SearchSpace.from_dict(entries)
        if objective is None:
            probe = cls(dataset, {**start, **(defaults or {})}, "val_loss",
                        [n for n in names.values() if n not in CONFIG_FIELDS], builder,
                        loss, metrics, "min")
            objective = "val_accuracy" if "accuracy" in probe.metric_names else "val_loss"
        workload = cls(dataset, {**start, **(defaults or {})}, objective,
                       [n for n in names.values() if n not in CONFIG_FIELDS], builder, loss,
                       metrics, direction)
        return workload, space

    def data_for(self, config: dict):
        """The trial's dataset: the data builder's for this config (the last one kept),
        else the workload's dataset."""
        if self.data_builder is None:
            return self.dataset
        key = repr(sorted(config.items()))
        if key not in self._data_cache:
            self._data_cache.clear()
            self._data_cache[key] = self.data_builder(dict(config))
        return self._data_cache[key]

    @property
    def data_source(self) -> dict | None:
        """The data's loader spec as a study stores it (None with a data builder: the
        study stores the builder's path in its parts)."""
        return None if self.data_builder is not None else getattr(self.dataset, "source", None)

    @property
    def metric_names(self) -> list[str]:
        """The recorded metrics besides ``loss``, in order."""
        from .objectives import make_metrics

        return list(make_metrics(self.metrics, self._loss))

    def make_loss(self):
        """The workload's :class:`~playbook_kit.objectives.Loss`."""
        return self._loss

    def make_metrics(self) -> dict:
        """Fresh metric objects by name (zero state), one set per trial."""
        from .objectives import make_metrics

        return make_metrics(self.metrics, self._loss)

    def build_model(self, config: dict):
        """The trial's model: the builder's, or the config's registered family."""
        import keras

        if self.builder is None:
            data = self.data_for(config)
            return build_model(config, data.input_shape, data.num_classes)
        model = self.builder(config)
        if not isinstance(model, keras.Model):
            raise WorkloadError(f"model builder {_callable_name(self.builder)} returned "
                                f"{type(model).__name__}; it must return a keras.Model")
        return model

    def spec(self) -> dict | None:
        """How to rebuild the model, loss and metrics in another process (JSON-ready;
        None for a registered family with the default loss and metrics).

        A builder defined in a notebook or ``__main__`` has no importable path: it is
        stored as ``None`` with ``model_importable=False``, and rebuilding fails clearly.
        """
        from .objectives import serialize

        if self.builder is None and self.loss is None and self.metrics == ["accuracy"] \
                and self.data_builder is None:
            return None  # a registered family with the default loss: nothing to store
        model = self.model if isinstance(self.model, str) else (
            importable_path(self.builder) if self.builder is not None else None)
        importable = self.builder is None or model is not None
        if hasattr(self.builder, "hyperparameters"):  # a keras-tuner hypermodel
            model = self.builder.spec()
            importable = model["hypermodel"] is not None
        data = {}
        if self.data_builder is not None:
            path = importable_path(self.data_builder)
            data = {"data": path, "data_importable": path is not None}
        return {**data, "model": model, "model_importable": importable,
                "loss": serialize(self.loss), "metrics": [serialize(m) for m in self.metrics],
                "direction": self.direction}

    def config(self, overrides: dict | None = None) -> dict:
        """The workload defaults updated with ``overrides``, validated.

        ``momentum`` and ``one_minus_momentum`` are one hyperparameter: an override of
        either replaces a default of the other.
        """
        overrides = dict(overrides or {})
        defaults = dict(self.defaults)
        for name, other in (("momentum", "one_minus_momentum"),
                            ("one_minus_momentum", "momentum")):
            if overrides.get(name) is not None:
                defaults.pop(other, None)
        return resolve_config({**defaults, **overrides}, extra_keys=self.extra_keys)


def resolve_config(config: dict, extra_keys=()) -> dict:
    """Fill defaults and validate a config; raise ``ValueError`` naming the bad field."""
    if not isinstance(config, dict):
        raise ValueError(f"config must be a dict, got {type(config).__name__}")
    unknown = [k for k in config if k not in CONFIG_FIELDS and k not in extra_keys]
    if unknown:
        raise ValueError(f"config field {unknown[0]!r} is unknown; allowed fields are "
                         f"{', '.join(sorted(CONFIG_FIELDS))} (or declare extra_keys)")
    resolved = {}
    for name, (kind, check, default, allowed) in CONFIG_FIELDS.items():
        value = config.get(name, default)
        if value is None:
            if name in ("one_minus_momentum", "clip_norm"):
                resolved[name] = None
                continue
            raise ValueError(f"config field {name!r}=None is not allowed; use {allowed}")
        value = _coerce(name, value, kind, allowed)
        if not check(value):
            raise ValueError(f"config field {name!r}={value!r} is not allowed; use {allowed}")
        resolved[name] = value
    if resolved["one_minus_momentum"] is not None:
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
    raise ValueError(f"config field {name!r}={value!r} is not allowed; use {allowed}")


def rebuild_parts(parts: dict | None, study: str = "") -> dict:
    """:class:`Workload` arguments from a stored :meth:`Workload.spec` (None: defaults).

    A model or data builder that was defined in a notebook has no importable path:
    rebuilding it in another process (a worker, a later session) raises, naming the
    study. With a stored data builder the result holds ``dataset`` (its path)."""
    from .objectives import deserialize

    if not parts:
        return {}
    for what in ("model", "data"):
        if not parts.get(f"{what}_importable", True):
            raise WorkloadError(f"study {study!r} was run with a {what} builder defined in a "
                                "notebook or __main__, which this process cannot import; "
                                "pass workload= in the process that defined it, or define "
                                f"the builder in a module and give it as 'module:function'")
    model = parts.get("model")
    if isinstance(model, dict):
        from .hypermodel import HypermodelBuilder

        model = HypermodelBuilder(model["hypermodel"], model.get("aliases"))
    out = {"dataset": parts["data"]} if parts.get("data") else {}
    return {**out, "model": model, "loss": deserialize(parts.get("loss"), "loss"),
            "metrics": [deserialize(m, "metric") for m in parts.get("metrics") or []],
            "direction": parts.get("direction")}


def _callable_name(function) -> str:
    return getattr(function, "__qualname__", None) or repr(function)


# --- models -------------------------------------------------------------------------

def _norm_layer(config):
    import keras
    from .layers import GhostBatchNormalization

    kind = config["normalization"]
    if kind == "batch":
        return keras.layers.BatchNormalization()
    if kind == "sync_batch":
        return keras.layers.BatchNormalization(synchronized=True)
    if kind == "layer":
        return keras.layers.LayerNormalization()
    if kind == "ghost_batch":
        return GhostBatchNormalization(config["ghost_batch_size"])
    return None


def _apply(x, *layers):
    for layer in layers:
        if layer is not None:
            x = layer(x)
    return x


def build_model(config: dict, input_shape: tuple, num_classes: int):
    """Build the config's model family; outputs logits for ``num_classes`` classes.

    Dropout rate and L2 strength are values (:class:`~playbook_kit.layers.ValueDropout`,
    :class:`~playbook_kit.layers.ValueL2`): configs that differ only in them (both > 0,
    or both 0) build the same structure and share one compiled program."""
    import keras

    name = config["model"]
    if name in _CUSTOM_MODELS:
        return _CUSTOM_MODELS[name](config, input_shape, num_classes)
    from .layers import ValueDropout, ValueL2

    regularizer = lambda: ValueL2(config["l2"]) if config["l2"] > 0 else None
    dense = lambda units, **kw: keras.layers.Dense(units, kernel_regularizer=regularizer(), **kw)
    conv = lambda units, **kw: keras.layers.Conv2D(units, 3, padding="same",
                                                   kernel_regularizer=regularizer(), **kw)
    activation = lambda: keras.layers.Activation(config["activation"])
    dropout = lambda: ValueDropout(config["dropout"]) if config["dropout"] > 0 else None
    inputs = keras.Input(input_shape)
    width, depth = config["width"], config["depth"]
    if name == "mlp":
        x = keras.layers.Flatten()(inputs)
        for _ in range(depth):
            x = _apply(x, dense(width), _norm_layer(config), activation(), dropout())
    elif name == "cnn":
        if len(input_shape) != 3:
            raise ValueError(f"config field 'model'='cnn' needs image input (height, width, "
                             f"channels); this dataset's input shape is {input_shape}")
        x = inputs
        for block in range(depth):
            x = _apply(x, conv(width * 2 ** min(block, 2)), _norm_layer(config), activation())
            if x.shape[1] >= 2 and x.shape[2] >= 2:
                x = keras.layers.MaxPooling2D()(x)
        x = _apply(keras.layers.GlobalAveragePooling2D()(x) if len(x.shape) == 4 else x,
                   dropout())
    else:  # resnet: pre-norm residual blocks x + f(Norm(x)), the playbook's placement
        image = len(input_shape) == 3
        layer = conv if image else dense
        x = layer(width)(inputs if image else keras.layers.Flatten()(inputs))
        for _ in range(depth):
            last_init = "zeros" if config["zero_init_residual"] else "glorot_uniform"
            branch = _apply(x, _norm_layer(config), activation(), layer(width),
                            _norm_layer(config), activation(), dropout(),
                            layer(width, kernel_initializer=last_init))
            x = keras.layers.Add()([x, branch])
        x = _apply(x, _norm_layer(config), activation())
        if image:
            x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = dense(num_classes)(x)
    return keras.Model(inputs, outputs, name=f"{name}_d{depth}_w{width}")


# --- optimizers and schedules ---------------------------------------------------------

def learning_rate_schedule(config: dict, max_train_steps: int):
    """The config's schedule as a Keras ``LearningRateSchedule`` (see :class:`PlaybookSchedule`)."""
    return _schedule_class()(config["learning_rate"], config["schedule"], max_train_steps,
                             config["warmup_steps"], config["decay_factor"])


def build_optimizer(config: dict, max_train_steps: int, schedule=None):
    """A Keras optimizer from the playbook's hyperparameter names (``schedule``: the
    config's learning-rate schedule when the caller already built it)."""
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
    return keras.optimizers.AdamW(lr, weight_decay=config["weight_decay"], **adam_args)


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
        :mod:`~playbook_kit.programs`).
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
                raise ValueError(f"config field 'schedule'={kind!r} is not allowed; use one of "
                                 f"{', '.join(SCHEDULES)}")
            if warmup_steps >= max_train_steps and warmup_steps > 0:
                raise ValueError(f"config field 'warmup_steps'={warmup_steps} is not allowed; use "
                                 f"fewer than max_train_steps={max_train_steps}")
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
