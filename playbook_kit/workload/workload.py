"""The workload and its configs: data + model + loss + metrics + objective, and the
fields a config may hold.

A *workload* is data + model family (:mod:`~playbook_kit.workload.families`, or the user's own
builder or keras-tuner hypermodel) + optimizer and schedule
(:mod:`~playbook_kit.workload.optimizers`) + objective; a *config* is one set of hyperparameter
values. :func:`resolve_config` fills a config from the workload's defaults and validates
every value before any work starts, with errors that name the field, the value and what
is allowed. A user's model has its own namespace: the config holds the toolkit's fields
that apply to it and the user's own names (:meth:`Workload.from_hypermodel`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..core.validation import not_allowed
from .config_fields import (  # noqa: F401 (the config's fields, importable from here too)
    CONFIG_FIELDS, FAMILY_FIELDS, OPTIMIZER_FIELDS, TRAINING_FIELDS, resolve_config,
)
from .families import (  # noqa: F401 (the workload's parts, importable from here too)
    _CUSTOM_MODELS, ACTIVATIONS, MODELS, NORMALIZATIONS, build_model, register_model,
)
from .keras_models import (  # noqa: F401
    ConfigReads, build_on_sample, check_compile, compiled_metric_names, is_compiled,
    tailored_space,
)
from .objectives import WorkloadError, importable_path, resolve_callable
from .optimizers import (  # noqa: F401
    OPTIMIZERS, build_optimizer, learning_rate_schedule, optimizer_fields,
)


OBJECTIVES = {"val_accuracy": "max", "val_loss": "min"}

ENGINES = ("auto", "compiled", "fit")


@dataclass
class Workload:
    """Data, model, loss, metrics, default config and objective shared by every trial.

    Args:
        dataset: a :class:`~playbook_kit.data.arrays.Dataset` (arrays), a
            :class:`~playbook_kit.data.streams.PipelineDataset` (``tf.data``, streamed files,
            a ``keras.utils.PyDataset``), or a data builder ``data(config) -> dataset``
            (or its ``"module:function"`` path) so that a study can tune a parameter of
            the input: each trial's data is built from its config.
        defaults: config values every trial starts from.
        objective: ``val_loss`` or ``val_<metric>`` for one of the recorded metrics
            (``val_<output>_<metric>`` for a model of several outputs, as Keras names it).
        extra_keys: config fields of the user's own (a builder's hyperparameters).
        model: ``None`` for the config's registered family (``config["model"]``), a
            builder ``build(config) -> keras.Model``, or its importable
            ``"module:function"`` path (what a study stores so that workers rebuild it).
            A model the builder compiled trains with its own optimizer, loss and metrics
            (the toolkit's schedule, warmup and clipping still apply); an uncompiled one
            with the config's optimizer and this workload's loss and metrics.
        loss: ``None`` (the compiled model's loss; else the families' logits with integer
            labels), a name Keras knows, a ``keras.losses.Loss``, a callable returning
            one loss per example, or a dict or list of those for a model of several
            outputs (with ``loss_weights``, as in ``model.compile``).
        metrics: names or ``keras.metrics.Metric`` objects (a dict or list per output for
            several outputs); ``None`` means the compiled model's, else ``["accuracy"]``
            with the default loss, none otherwise.
        direction: ``"min"`` / ``"max"``; inferred from the objective's name when unset.
        loss_weights: per-output weights of a multi-output loss (``model.compile``'s).
        class_weight: ``{class index: weight}`` applied to the training loss, as
            Keras' ``fit`` does with ``class_weight``.
        engine: ``"auto"`` (the compiled step loop where it trains the model exactly,
            Keras' ``model.fit`` otherwise), ``"compiled"`` or ``"fit"`` to force one
            (see :mod:`playbook_kit.training.engines`).

    Raises:
        WorkloadError: an unknown engine, a model that is neither None, a builder nor a
            ``"module:function"`` path, an objective the workload does not record, or a
            ``class_weight`` that is not a dict of weights; the message names the field.

    Example::

        workload = pk.Workload(pk.load_digits(), defaults={"model": "mlp", "width": 64})
        regression = pk.Workload(data, model="my_models:regressor", loss="mse",
                                 metrics=["mae"], objective="val_mae", extra_keys=("units",))
    """

    dataset: object
    defaults: dict = field(default_factory=dict)
    objective: str = "val_accuracy"
    extra_keys: tuple = ()
    model: object = None
    loss: object = None
    metrics: object = None
    direction: str | None = None
    loss_weights: object = None
    class_weight: dict | None = None
    engine: str = "auto"

    def __post_init__(self):
        from .hypermodel import HypermodelBuilder
        from .objectives import objective_direction

        self.defaults = dict(self.defaults)
        self.extra_keys = tuple(self.extra_keys)
        if self.engine not in ENGINES:
            raise not_allowed("engine", self.engine, f"use one of {', '.join(ENGINES)}",
                              error=WorkloadError)
        self.class_weight = _check_class_weight(self.class_weight)
        if self.model is not None and not (callable(self.model) or isinstance(self.model, str)):
            raise not_allowed("model", self.model, "use None (a registered family), a builder "
                              "build(config) -> keras.Model or its 'module:function' path",
                              error=WorkloadError)
        self.builder = resolve_callable(self.model, "model") if self.model is not None else None
        self.fields = tuple(CONFIG_FIELDS)
        hypermodel = isinstance(self.builder, HypermodelBuilder)
        self.data_builder = None
        self.data_reads = set()
        if callable(self.dataset) or isinstance(self.dataset, str):
            self.data_builder = resolve_callable(self.dataset, "data")
            self._data_cache: dict = {}
            self.data_reads: set = set()
            if hypermodel:
                self._hypermodel_namespace()
            self.dataset = self.data_for(self.config())
        if hypermodel:
            self.builder.find_fit_hyperparameters(self.dataset)
            self._hypermodel_namespace()
        self._compile_names = None
        self._multi_output = isinstance(self.loss, (dict, list, tuple)) or \
            self.loss_weights is not None
        self._from_compile = self.builder is not None and self.loss is None
        if self.metrics is None:
            self.metrics = ["accuracy"] if self.loss is None else []
        self.metrics = self.metrics if isinstance(self.metrics, dict) else list(self.metrics)
        self._loss = None if self._multi_output else _loss_of(self.loss)
        recorded = self._recorded(probe=self._from_compile)
        if self.objective not in recorded and self.builder is not None:
            recorded = self._recorded(probe=True)
        if self.objective not in recorded:
            raise WorkloadError(f"objective={self.objective!r} is not among the recorded "
                                f"validation metrics; use one of {', '.join(recorded)}")
        self.direction = objective_direction(self.objective, self.direction)
        self.config()

    @classmethod
    def from_hypermodel(cls, hypermodel, dataset, *, roles: dict | None = None,
                        defaults: dict | None = None, objective: str | None = None,
                        loss=None, metrics=None, optimizer=None, direction: str | None = None,
                        engine: str = "auto", class_weight: dict | None = None,
                        hyperparameters=None, tune_new_entries: bool = True):
        """A keras-tuner hypermodel used as it is: ``(workload, search space)``.

        Its hyperparameters keep their names and meanings (``hp.Boolean("dropout")`` is
        the hypermodel's dropout switch, not the toolkit's rate); those declared in a
        ``HyperModel.fit`` are found too, and such a hypermodel trains on the ``fit``
        engine, which runs its ``fit``. The model trains with its compiled optimizer,
        loss and metrics. Two mappings reach the trainer: the hyperparameter that sets
        the compiled optimizer's learning rate is tuned as ``learning_rate`` (so
        ``hp.Float("lr", ...)`` appears as ``learning_rate``), and one named
        ``batch_size`` is the trainer's batch size.

        Args:
            hypermodel: a ``build(hp)`` function, a ``keras_tuner.HyperModel`` or its
                importable ``"module:name"`` path (what lets workers rebuild it).
            dataset: as for :class:`Workload`.
            roles: playbook roles by hyperparameter name (``scientific``, ``nuisance``,
                ``fixed``); unnamed ones are nuisance (``hp.Fixed`` and a one-value
                ``hp.Choice``: fixed).
            defaults, objective, direction, engine, class_weight: as for
                :class:`Workload`; the objective defaults to ``val_accuracy`` when the
                compile records accuracy, else ``val_loss``.
            loss, metrics, optimizer: override the hypermodel's compile, as keras-tuner's
                tuner arguments of those names do (the rest of its compile kept); for a
                hypermodel that does not compile its model, its loss and metrics.
            hyperparameters, tune_new_entries: as keras-tuner's tuner arguments: a
                ``keras_tuner.HyperParameters`` whose entries replace the hypermodel's of
                the same name (``hp.Fixed`` fixes one), and with
                ``tune_new_entries=False`` every other one is fixed at its default.

        Returns:
            ``(Workload, SearchSpace)``.
        """
        from .hypermodel import HypermodelBuilder
        from ..search.space import SearchSpace

        builder = HypermodelBuilder(hypermodel, dataset=dataset, compile_overrides={
            "loss": loss, "metrics": metrics, "optimizer": optimizer})
        if not builder.compiles_loss and loss is None:
            raise WorkloadError("the hypermodel does not compile its model with a loss; give "
                                "loss= (a name, a keras.losses.Loss or a callable)")
        if not builder.compiles_loss and optimizer is not None:
            raise WorkloadError("optimizer= overrides a hypermodel's compile, and this one "
                                "does not compile its model; set the config's optimizer "
                                "field (defaults=) instead")
        if builder.compiles_loss:
            loss = metrics = None
        names = builder.config_names
        space = SearchSpace.from_keras_tuner(
            tailored_space(builder.hyperparameters, hyperparameters, tune_new_entries))
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
        common = dict(dataset=dataset, defaults=dict(defaults or {}), model=builder,
                      loss=loss, metrics=metrics, engine=engine, class_weight=class_weight)
        if objective is None:
            probe = cls(objective="val_loss", direction="min", **common)
            objective = "val_accuracy" if "accuracy" in probe.metric_names else "val_loss"
        return cls(objective=objective, direction=direction, **common), space

    def _hypermodel_namespace(self) -> None:
        """A hypermodel's hyperparameters are its own names: none is validated as a
        toolkit field, except ``batch_size``, which is the trainer's batch (the one
        mapping besides the learning-rate alias). The toolkit's fields that still apply
        are the training ones it does not declare, and the optimizer's when its model
        comes uncompiled."""
        names = list(self.builder.config_names.values())
        compiled = self.builder.compiles_optimizer
        applies = TRAINING_FIELDS + (() if compiled else OPTIMIZER_FIELDS)
        self.fields = tuple(f for f in applies if f not in names or f == "batch_size")
        own = [n for n in names if n not in self.fields]
        self.extra_keys = tuple(dict.fromkeys([*self.extra_keys, *own]))
        if compiled:  # studies stored before the namespace kept the compiled optimizer here
            for key in ("optimizer", "momentum", "one_minus_momentum"):
                if key not in names:
                    self.defaults.pop(key, None)
        self.extra_keys = tuple(k for k in self.extra_keys if k not in self.fields)

    def _recorded(self, probe: bool) -> list[str]:
        names = self.metric_names if not probe else self._probe_names()
        return ["val_loss"] + [f"val_{n}" for n in names]

    def _probe_names(self) -> list[str]:
        """The metric names of the default model's compile (built on a sample batch), or
        of the workload's metrics when the model comes uncompiled."""
        if self._compile_names is None:
            model = self.build_model(self.config())
            self._compile_names = compiled_metric_names(model) if is_compiled(model) \
                else self._static_metric_names()
        return self._compile_names

    def _static_metric_names(self) -> list[str]:
        from .objectives import make_metrics

        if self._multi_output:
            return []
        return list(make_metrics(self.metrics, self._loss))

    def data_for(self, config: dict):
        """The trial's dataset: the data builder's for this config (the last one kept),
        else the workload's dataset."""
        if self.data_builder is None:
            return self.dataset
        key = repr(sorted(config.items()))
        if key not in self._data_cache:
            self._data_cache.clear()
            reads = ConfigReads(config)
            self._data_cache[key] = self.data_builder(reads)
            self.data_reads.update(reads.seen)
        return self._data_cache[key]

    @property
    def data_source(self) -> dict | None:
        """The data's loader spec as a study stores it (None with a data builder, whose
        path the study stores in its parts)."""
        return None if self.data_builder is not None else getattr(self.dataset, "source", None)

    @property
    def metric_names(self) -> list[str]:
        """The recorded metrics besides ``loss``, in order (a compiled model's, as Keras
        names them, once a model was built)."""
        if self._compile_names is not None:
            return list(self._compile_names)
        if self._multi_output or self._from_compile:
            return self._probe_names()
        return self._static_metric_names()

    def make_loss(self):
        """The workload's :class:`~playbook_kit.workload.objectives.Loss` (for an uncompiled model
        of one output)."""
        return self._loss

    def make_metrics(self) -> dict:
        """Fresh metric objects by name (zero state), one set per trial."""
        from .objectives import make_metrics

        return make_metrics(self.metrics, self._loss)

    def build_model(self, config: dict):
        """The trial's model, built (its variables made, on a sample batch when it is
        built lazily): the builder's, or the config's registered family."""
        return self.build(config)[0]

    def build(self, config: dict):
        """``(model, the config fields that reached it)``: those the builder read (or the
        hypermodel declared) and those the trainer applies (see :meth:`reached_config`)."""
        import keras

        if self.builder is None:
            data = self.data_for(config)
            return build_model(config, data.input_shape, data.num_classes), tuple(config)
        reads = ConfigReads(config)
        model = self.builder(reads)
        if not isinstance(model, keras.Model):
            raise WorkloadError(f"model builder {_callable_name(self.builder)} returned "
                                f"{type(model).__name__}; it must return a keras.Model")
        reached = getattr(self.builder, "last_reached", None)
        reached = tuple(reads.seen) if reached is None else tuple(reached)
        if self._multi_output and not is_compiled(model):
            model.compile(optimizer=build_optimizer(config, 1), loss=self.loss,
                          loss_weights=self.loss_weights, metrics=self.metrics or None)
        check_compile(self, model)
        build_on_sample(model, self.data_for(config))
        if self._compile_names is None and is_compiled(model):
            self._compile_names = compiled_metric_names(model)
        return model, reached

    def reached_config(self, config: dict, reached, model) -> dict:
        """The recorded config of a trial: for a registered family the whole config; for
        a user's model the fields its builder read (a hypermodel's declared
        hyperparameters), those a data builder read, and the trainer's (the optimizer's
        only for a model that came uncompiled), not the families' unused ones."""
        if self.builder is None:
            return dict(config)
        applied = [f for f in TRAINING_FIELDS if f in self.fields]
        if not is_compiled(model) and "optimizer" in config:
            applied += list(optimizer_fields(config["optimizer"]))
            if config.get("one_minus_momentum") is not None:
                applied.append("one_minus_momentum")
        keys = set(reached) | set(applied) | self.data_reads
        return {k: v for k, v in config.items() if k in keys}

    def spec(self) -> dict | None:
        """How to rebuild the model, loss and metrics in another process (JSON-ready;
        None for a registered family with the default loss and metrics).

        A builder defined in a notebook or ``__main__`` has no importable path: it is
        stored as ``None`` with ``model_importable=False``, and rebuilding fails clearly.
        """
        from .objectives import serialize

        if self.builder is None and self.loss is None and self.metrics == ["accuracy"] \
                and self.data_builder is None and self.engine == "auto" \
                and self.class_weight is None:
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
        extra = {key: value for key, value in (
            ("loss_weights", self.loss_weights), ("engine", self.engine),
            ("class_weight", None if self.class_weight is None else
             {str(k): v for k, v in self.class_weight.items()})) if value not in (None, "auto")}
        metrics = {k: _serialize_all(v) for k, v in self.metrics.items()} \
            if isinstance(self.metrics, dict) else _serialize_all(self.metrics)
        loss = {k: serialize(v) for k, v in self.loss.items()} if isinstance(self.loss, dict) \
            else [serialize(v) for v in self.loss] if isinstance(self.loss, (list, tuple)) \
            else serialize(self.loss)
        return {**data, "model": model, "model_importable": importable,
                "loss": loss, "metrics": metrics, "direction": self.direction, **extra}

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
        return resolve_config({**defaults, **overrides}, extra_keys=self.extra_keys,
                              fields=self.fields)

    def settings(self, config: dict) -> dict:
        """The trainer's view of a config: every training and optimizer field, at its
        default where this workload has no such field (a hypermodel declares its own)."""
        out = {name: spec[2] for name, spec in CONFIG_FIELDS.items()
               if name in TRAINING_FIELDS or name in OPTIMIZER_FIELDS}
        out.update({k: config[k] for k in self.fields if k in config})
        return out


def _serialize_all(values):
    from .objectives import serialize

    if isinstance(values, (list, tuple)):
        return [_serialize_all(v) for v in values]
    return serialize(values)


def _loss_of(spec):
    from .objectives import Loss

    return Loss(spec)


def _check_class_weight(class_weight):
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict) or not class_weight or not all(
            str(k).lstrip("-").isdigit() and isinstance(v, (int, float))
            and not isinstance(v, bool) and math.isfinite(v) and v >= 0
            for k, v in class_weight.items()):
        raise not_allowed("class_weight", class_weight,
                          "use a dict {class index: weight >= 0}, as model.fit takes",
                          error=WorkloadError)
    return {int(k): float(v) for k, v in class_weight.items()}


def rebuild_parts(parts: dict | None, study: str = "") -> dict:
    """:class:`Workload` arguments from a stored :meth:`Workload.spec` (None: defaults).

    A model or data builder that was defined in a notebook has no importable path:
    rebuilding it in another process (a worker, a later session) raises, naming the
    study. With a stored data builder the result holds ``dataset`` (its path)."""
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

        overrides = {k: _deserialize_all(v, "loss" if k == "loss" else "metric")
                     for k, v in (model.get("compile") or {}).items() if k != "optimizer"}
        if (model.get("compile") or {}).get("optimizer") is not None:
            import keras

            overrides["optimizer"] = keras.optimizers.get(model["compile"]["optimizer"])
        model = HypermodelBuilder(model["hypermodel"], model.get("aliases"),
                                  compile_overrides=overrides)
    out = {"dataset": parts["data"]} if parts.get("data") else {}
    out.update({key: parts[key] for key in ("loss_weights", "class_weight", "engine")
                if parts.get(key) is not None})
    return {**out, "model": model, "loss": _deserialize_all(parts.get("loss"), "loss"),
            "metrics": _deserialize_all(parts.get("metrics") or [], "metric"),
            "direction": parts.get("direction")}


def _deserialize_all(stored, what: str):
    from .objectives import deserialize

    if isinstance(stored, list):
        return [_deserialize_all(v, what) for v in stored]
    if isinstance(stored, dict) and not {"class_name", "function", "unrebuildable"} & set(stored):
        return {k: _deserialize_all(v, what) for k, v in stored.items()}
    return deserialize(stored, what)


def _callable_name(function) -> str:
    return getattr(function, "__qualname__", None) or repr(function)
