"""A keras-tuner hypermodel used unchanged as a model builder (issue 10, item 2).

:class:`HypermodelBuilder` wraps a ``build(hp)`` function or a
``keras_tuner.HyperModel``: it finds the hyperparameters the hypermodel declares
(``hp.Float``, ``hp.Int``, ``hp.Choice``, ``hp.Boolean``, conditional scopes) and,
called with a trial's config, builds the model with those values. If the hypermodel
compiles its model, its loss, metrics, optimizer type and learning rate are read from
it, so that :meth:`~playbook_kit.workload.Workload.from_hypermodel` uses them.

The trainer builds the optimizer from the config, so a hyperparameter that sets the
compiled optimizer's learning rate under another name (``hp.Float("lr", ...)``) is
found (by building once at another value) and tuned as the config's ``learning_rate``.
"""
from __future__ import annotations

from .objectives import WorkloadError, importable_path, resolve_callable

OPTIMIZER_NAMES = {"Adam": "adam", "Nadam": "nadam", "AdamW": "adamw"}


class HypermodelBuilder:
    """``build(config) -> keras.Model`` from a keras-tuner hypermodel (see the module)."""

    def __init__(self, hypermodel, aliases: dict | None = None):
        import keras_tuner as kt

        self.path = hypermodel if isinstance(hypermodel, str) else None
        hypermodel = resolve_callable(hypermodel, "hypermodel") if self.path else hypermodel
        if isinstance(hypermodel, kt.HyperModel):
            self.build_hp = hypermodel.build
        elif callable(hypermodel):
            self.build_hp = hypermodel
        else:
            raise WorkloadError(f"hypermodel={hypermodel!r} is not allowed; use a build(hp) "
                                "function, a keras_tuner.HyperModel or its 'module:name' path")
        if self.path is None:
            self.path = importable_path(hypermodel)
        self.hypermodel = hypermodel
        self.hyperparameters = discover(self.build_hp)
        self.aliases = dict(aliases) if aliases is not None else self._learning_rate_alias()

    def __call__(self, config: dict):
        import keras_tuner as kt

        hps = kt.HyperParameters()
        names = {hp.name for hp in self.hyperparameters.space}
        for key, value in config.items():
            name = self.aliases.get(key, key)
            if name in names:
                hps.values[name] = value
        return self.build_hp(hps)

    @property
    def config_names(self) -> dict:
        """Hyperparameter name -> config field (``lr`` -> ``learning_rate``)."""
        back = {v: k for k, v in self.aliases.items()}
        return {hp.name: back.get(hp.name, hp.name) for hp in self.hyperparameters.space}

    def default_model(self):
        import keras_tuner as kt

        return self.build_hp(kt.HyperParameters())

    def compiled(self) -> dict:
        """What the default model's ``compile`` set: loss, metrics, optimizer, lr."""
        import keras

        model = self.default_model()
        if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
            return {}
        config = model.get_compile_config() or {}
        out = {}
        if config.get("loss") is not None:
            loss = config["loss"]
            out["loss"] = loss if isinstance(loss, str) else \
                keras.saving.deserialize_keras_object(loss)
        metrics = config.get("metrics") or []
        out["metrics"] = [m if isinstance(m, str) else keras.saving.deserialize_keras_object(m)
                          for m in (metrics if isinstance(metrics, list) else [metrics])]
        optimizer = model.optimizer
        kind = type(optimizer).__name__
        if kind == "SGD":
            momentum = float(optimizer.momentum)
            out["optimizer"] = "nesterov" if optimizer.nesterov else \
                "momentum" if momentum > 0 else "sgd"
            if momentum > 0:
                out["momentum"] = momentum
        elif kind in OPTIMIZER_NAMES:
            out["optimizer"] = OPTIMIZER_NAMES[kind]
        out["learning_rate"] = _learning_rate(optimizer)
        return out

    def _learning_rate_alias(self) -> dict:
        """``{"learning_rate": name}`` for the Float hyperparameter that sets the compiled
        optimizer's learning rate under another name (empty when none does)."""
        import keras_tuner as kt

        base = self.default_model()
        if getattr(base, "optimizer", None) is None:
            return {}
        base_rate = _learning_rate(base.optimizer)
        for hp in self.hyperparameters.space:
            if hp.name == "learning_rate" or not isinstance(hp, kt.engine.hyperparameters.Float):
                continue
            hps = kt.HyperParameters()
            hps.values[hp.name] = hp.max_value if hp.default != hp.max_value else hp.min_value
            model = self.build_hp(hps)
            if getattr(model, "optimizer", None) is not None and \
                    _learning_rate(model.optimizer) != base_rate:
                return {"learning_rate": hp.name}
        return {}

    def spec(self) -> dict:
        """How a study stores it: the hypermodel's importable path and the aliases."""
        return {"hypermodel": self.path, "aliases": self.aliases}


def _learning_rate(optimizer) -> float:
    import keras

    rate = keras.ops.convert_to_numpy(optimizer.learning_rate)
    return float(str(rate.astype("float32")))  # 1e-4, not float32's 9.9999997e-05


def discover(build_hp):
    """Every hyperparameter a ``build(hp)`` declares, conditional branches included:
    build with the defaults, then once with each value of each ``Choice`` and
    ``Boolean`` (the usual parents of conditional scopes), until nothing new appears."""
    import keras_tuner as kt

    found = kt.HyperParameters()
    build_hp(found)
    tried = set()
    while True:
        todo = [(hp.name, value) for hp in found.space
                if isinstance(hp, (kt.engine.hyperparameters.Choice,
                                   kt.engine.hyperparameters.Boolean))
                for value in (hp.values if hasattr(hp, "values") else [False, True])
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
    import contextlib

    stack = contextlib.ExitStack()
    for condition in conditions:
        stack.enter_context(hps.conditional_scope(condition.name, condition.values))
    return stack
