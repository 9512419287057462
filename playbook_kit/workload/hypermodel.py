"""A keras-tuner hypermodel used unchanged as a model builder.

:class:`HypermodelBuilder` wraps a ``build(hp)`` function or a ``keras_tuner.HyperModel``:
it finds every hyperparameter the hypermodel declares (``hp.Float``, ``hp.Int``,
``hp.Choice``, ``hp.Boolean``, conditional scopes, those that only an ``Int``-driven loop
or another branch declares, and those a ``HyperModel.fit`` declares) and, called with a
trial's config, builds the model with those values, as keras-tuner would.

The hypermodel's hyperparameters are its own: ``hp.Boolean("dropout")`` is a switch of
the user's model, not the toolkit's dropout rate, and no toolkit rule validates it
(:meth:`~playbook_kit.workload.workload.Workload.from_hypermodel`). Two mappings reach the
trainer, both documented there: the Float hyperparameter that sets the compiled
optimizer's learning rate under another name (``hp.Float("lr", ...)``) is found (by
building once at another value) and called ``learning_rate``, and one named
``batch_size`` is the trainer's batch.
"""
from __future__ import annotations

import contextlib

from ..core.validation import not_allowed
from .objectives import WorkloadError, importable_path, resolve_callable


class HypermodelBuilder:
    """``build(config) -> keras.Model`` from a keras-tuner hypermodel (see the module).

    Args:
        hypermodel: a ``build(hp)`` function, a ``keras_tuner.HyperModel`` or its
            importable ``"module:name"`` path.
        aliases: ``{config name: hyperparameter name}`` as stored with a study (found
            again when None).
        dataset: the workload's data, to find the hyperparameters a ``HyperModel.fit``
            declares (its ``fit`` is run once on a sample batch with a model whose
            ``fit`` records its arguments and trains nothing).
    """

    def __init__(self, hypermodel, aliases: dict | None = None, dataset=None,
                 compile_overrides: dict | None = None):
        import keras_tuner as kt

        self.path = hypermodel if isinstance(hypermodel, str) else None
        hypermodel = resolve_callable(hypermodel, "hypermodel") if self.path else hypermodel
        if isinstance(hypermodel, kt.HyperModel):
            self.build_hp = hypermodel.build
        elif callable(hypermodel):
            self.build_hp = hypermodel
        else:
            raise not_allowed("hypermodel", hypermodel, "use a build(hp) function, a "
                              "keras_tuner.HyperModel or its 'module:name' path",
                              error=WorkloadError)
        if self.path is None:
            self.path = importable_path(hypermodel)
        self.hypermodel = hypermodel
        self.compile_overrides = {k: v for k, v in (compile_overrides or {}).items()
                                  if v is not None}
        self.overrides_fit = isinstance(hypermodel, kt.HyperModel) and \
            type(hypermodel).fit is not kt.HyperModel.fit
        self.hyperparameters = discover(self.build_hp)
        self.fit_names: list = []
        self.fit_arguments: dict = {}
        self._fit_found = False
        raw = self.build_hp(kt.HyperParameters())
        self.compiles_loss = bool(getattr(raw, "compiled", False)) and \
            (raw.get_compile_config() or {}).get("loss") is not None
        if not self.compiles_loss:  # the workload's loss and metrics, not overrides
            self.compile_overrides = {}
        default = self._override_compile(raw)
        self.compiles_optimizer = getattr(default, "optimizer", None) is not None
        self.aliases = dict(aliases) if aliases is not None else self._learning_rate_alias()
        self.last_reached = None
        self.last_hyperparameters = None
        if dataset is not None:
            self.find_fit_hyperparameters(dataset)

    def find_fit_hyperparameters(self, dataset) -> None:
        """Run the hypermodel's ``fit`` once with a recording model, on a few examples, to
        find the hyperparameters it declares and the ``model.fit`` arguments it sets
        (``batch_size``, ``shuffle``, ...). Nothing is trained."""
        import keras_tuner as kt

        if not self.overrides_fit or self._fit_found or not hasattr(dataset, "sample_batch"):
            return
        self._fit_found = True
        x, y = dataset.sample_batch(4)
        hps = kt.HyperParameters()
        for hp in self.hyperparameters.space:
            hps._register(hp)
        recorder = _FitRecorder(self.default_model())
        try:
            self.hypermodel.fit(hps, recorder, x, y, validation_data=(x, y), epochs=1,
                                steps_per_epoch=1, callbacks=[], verbose=0)
        except Exception as error:
            raise WorkloadError(f"the hypermodel's fit() fails on a sample batch: "
                                f"{type(error).__name__}: {error}") from None
        known = {hp.name for hp in self.hyperparameters.space}
        for hp in hps.space:
            if hp.name not in known:
                with _scopes(self.hyperparameters, hp.conditions):
                    self.hyperparameters._register(hp)
                self.fit_names.append(hp.name)
        self.fit_arguments = recorder.arguments

    def __call__(self, config: dict):
        import keras_tuner as kt

        hps = kt.HyperParameters()
        names = {hp.name for hp in self.hyperparameters.space}
        for key, value in config.items():
            name = self.aliases.get(key, key)
            if name in names:
                hps.values[name] = value
        model = self._override_compile(self.build_hp(hps))
        back = {v: k for k, v in self.aliases.items()}
        self.last_reached = [back.get(hp.name, hp.name) for hp in hps.space] + \
            [back.get(name, name) for name in self.fit_names]
        self.last_hyperparameters = hps
        return model

    def _override_compile(self, model):
        """Compile again with the overridden ``optimizer``, ``loss`` or ``metrics``, the
        rest as the hypermodel compiled it (what keras-tuner's tuner arguments of those
        names do)."""
        import keras

        if not self.compile_overrides or not getattr(model, "compiled", False):
            return model
        config = model.get_compile_config() or {}
        restore = lambda value: None if value is None else \
            keras.saving.deserialize_keras_object(value) if isinstance(value, dict) else \
            [restore(v) for v in value] if isinstance(value, list) else value
        optimizer = self.compile_overrides.get("optimizer")
        optimizer = keras.optimizers.get(optimizer) if isinstance(optimizer, str) else \
            type(optimizer).from_config(optimizer.get_config()) if optimizer is not None \
            else model.optimizer
        model.compile(optimizer=optimizer,
                      loss=self.compile_overrides.get("loss", model.loss),
                      loss_weights=config.get("loss_weights"),
                      metrics=self.compile_overrides.get("metrics",
                                                         restore(config.get("metrics"))),
                      weighted_metrics=restore(config.get("weighted_metrics")))
        return model

    @property
    def config_names(self) -> dict:
        """Hyperparameter name -> config field (``lr`` -> ``learning_rate``)."""
        back = {v: k for k, v in self.aliases.items()}
        return {hp.name: back.get(hp.name, hp.name) for hp in self.hyperparameters.space}

    def default_model(self):
        import keras_tuner as kt

        return self._override_compile(self.build_hp(kt.HyperParameters()))

    def _learning_rate_alias(self) -> dict:
        """``{"learning_rate": name}`` for the Float hyperparameter that sets the compiled
        optimizer's learning rate under another name (empty when none does)."""
        import keras_tuner as kt

        if not self.compiles_optimizer:
            return {}
        base_rate = _learning_rate(self.default_model().optimizer)
        names = {hp.name for hp in self.hyperparameters.space}
        for hp in self.hyperparameters.space:
            if "learning_rate" in names or not isinstance(
                    hp, kt.engine.hyperparameters.Float):
                continue
            hps = kt.HyperParameters()
            hps.values[hp.name] = hp.max_value if hp.default != hp.max_value else hp.min_value
            model = self.build_hp(hps)
            if getattr(model, "optimizer", None) is not None and \
                    _learning_rate(model.optimizer) != base_rate:
                return {"learning_rate": hp.name}
        return {}

    def spec(self) -> dict:
        """How a study stores it: the hypermodel's importable path, the aliases and any
        compile overrides."""
        import keras

        from .objectives import keras_config_data, serialize

        out = {"hypermodel": self.path, "aliases": self.aliases}
        if self.compile_overrides:
            out["compile"] = {
                key: [serialize(m) for m in value] if isinstance(value, (list, tuple))
                else keras_config_data(keras.saving.serialize_keras_object(value))
                if key == "optimizer" and not isinstance(value, str) else serialize(value)
                for key, value in self.compile_overrides.items()}
        return out


class _FitRecorder:
    """A model whose ``fit`` records its keyword arguments and trains nothing (what a
    ``HyperModel.fit`` is run with to find its hyperparameters)."""

    def __init__(self, model):
        self._model = model
        self.arguments: dict = {}

    def fit(self, *args, **kwargs):
        import keras

        self.arguments = {k: v for k, v in kwargs.items()
                          if k not in ("callbacks", "validation_data", "epochs",
                                       "steps_per_epoch", "verbose")}
        return keras.callbacks.History()

    def __getattr__(self, name):
        return getattr(self._model, name)


def _learning_rate(optimizer) -> float:
    import keras

    rate = keras.ops.convert_to_numpy(optimizer.learning_rate)
    return float(str(rate.astype("float32")))  # 1e-4, not float32's 9.9999997e-05


def _alternatives(hp) -> list:
    """The values a hyperparameter is built at to find what it gates: each value of a
    ``Choice``, both of a ``Boolean``, the ends of an ``Int`` (whose maximum drives the
    longest loop, ``for i in range(hp.Int("num_layers", 1, 3))``)."""
    from keras_tuner.engine import hyperparameters as kinds

    if isinstance(hp, kinds.Boolean):
        return [False, True]
    if isinstance(hp, kinds.Choice):
        return list(hp.values)
    if isinstance(hp, kinds.Int):
        return [hp.min_value, hp.max_value]
    return []


def discover(build_hp):
    """Every hyperparameter a ``build(hp)`` declares, whatever branch or loop declares it:
    build with the defaults, then once with each other alternative of each ``Choice``,
    ``Boolean`` and ``Int`` (:func:`_alternatives`), until nothing new appears."""
    import keras_tuner as kt

    found = kt.HyperParameters()
    build_hp(found)
    tried = {(hp.name, repr(hp.default)) for hp in found.space}  # the default build's
    while True:
        todo = [(hp.name, value) for hp in found.space for value in _alternatives(hp)
                if (hp.name, repr(value)) not in tried]
        if not todo:
            return found
        for name, value in todo:
            tried.add((name, repr(value)))
            hps = kt.HyperParameters()
            hps.values[name] = value
            build_hp(hps)
            known = {h.name for h in found.space}
            for hp in hps.space:
                if hp.name not in known:
                    with _scopes(found, hp.conditions):
                        found._register(hp)


def _scopes(hps, conditions):
    stack = contextlib.ExitStack()
    for condition in conditions:
        stack.enter_context(hps.conditional_scope(condition.name, condition.values))
    return stack
