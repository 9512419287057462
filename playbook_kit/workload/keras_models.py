"""What the toolkit reads from a user's Keras code: whether a model was compiled, how to
build a lazily built one before training, its compiled metrics' names, which config
fields a model builder read, and keras-tuner's tailoring of a hypermodel's space."""
from __future__ import annotations

from .objectives import WorkloadError


def tailored_space(found, given, tune_new_entries: bool):
    """keras-tuner's tailoring of a search space: ``given`` hyperparameters replace the
    found ones of the same name; without ``tune_new_entries`` the others are fixed at
    their defaults."""
    import keras_tuner as kt

    if given is None and tune_new_entries:
        return found
    given_names = {hp.name: hp for hp in (given.space if given is not None else [])}
    out = kt.HyperParameters()
    for hp in found.space:
        if hp.name in given_names:
            replacement = given_names[hp.name]
        elif tune_new_entries:
            replacement = hp
        else:
            replacement = kt.engine.hyperparameters.Fixed(hp.name, hp.default)
        replacement.conditions = hp.conditions
        out._register(replacement)
    return out


class ConfigReads(dict):
    """A config that records which fields a model builder read."""

    def __init__(self, config):
        super().__init__(config)
        self.seen: list = []

    def _saw(self, key):
        if key not in self.seen:
            self.seen.append(key)

    def __getitem__(self, key):
        self._saw(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._saw(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._saw(key)
        return super().__contains__(key)

    def keys(self):
        for key in super().keys():
            self._saw(key)
        return super().keys()

    def items(self):
        self.keys()
        return super().items()

    def values(self):
        self.keys()
        return super().values()

    def __iter__(self):
        self.keys()
        return super().__iter__()

    def copy(self):
        self.keys()
        return dict(self)


def is_compiled(model) -> bool:
    """Whether the model was compiled (by its builder, or by the toolkit for a loss that
    only ``compile`` expresses)."""
    return bool(getattr(model, "compiled", False)) and getattr(model, "optimizer", None) \
        is not None


def build_on_sample(model, data) -> None:
    """Make a lazily built model's variables (a ``Sequential`` without ``Input``, a
    subclassed model) and a compiled model's loss and metric state, as ``fit`` does
    before its first step, from the shapes of a sample batch."""
    unbuilt = not all(layer.built for layer in model._flatten_layers())
    compiled = is_compiled(model)
    if not unbuilt and not compiled:
        return
    batch = data.sample_batch(2)
    try:
        if compiled:
            model._symbolic_build(data_batch=batch)
        else:
            model(batch[0], training=False)
    except Exception as error:
        raise WorkloadError(f"the model cannot be built on the data's features "
                            f"({_spec_text(batch[0])}): {type(error).__name__}: "
                            f"{str(error).splitlines()[0] if str(error) else ''}") from None


def compiled_metric_names(model) -> list[str]:
    """The metrics a compiled model records besides ``loss``, as Keras names them
    (``accuracy``; ``<output>_loss`` and ``<output>_<metric>`` for several outputs)."""
    return [name for name in model.get_metrics_result() if name != "loss"]


def _spec_text(x) -> str:
    import tensorflow as tf

    return str(tf.nest.map_structure(lambda t: tuple(getattr(t, "shape", ())), x))


def plain_compile(value):
    """A compile argument compared by what it means: names lower-cased, serialized
    objects without their generated names."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, dict):
        return {k: plain_compile(v) for k, v in value.items()
                if k not in ("name", "registered_name", "module", "dtype", "build_config")}
    if isinstance(value, (list, tuple)):
        return [plain_compile(v) for v in value]
    return value


def shown_compile(value) -> str:
    if isinstance(value, dict) and "class_name" in value:
        return value["class_name"]
    if isinstance(value, list):
        return "[" + ", ".join(shown_compile(v) for v in value) + "]"
    return repr(value)


def check_compile(workload, model) -> None:
    """A model its builder compiled trains with its own loss and metrics: a workload
    that names others is refused, so that no one of the two is silently ignored."""
    import keras

    from .objectives import serialize

    if not is_compiled(model) or workload._multi_output:
        return
    compile_config = model.get_compile_config() or {}
    if compile_config.get("loss") is None and \
            type(model).train_step is keras.Model.train_step:
        raise WorkloadError("the model is compiled without a loss; compile it with one, "
                            "or leave it uncompiled and give loss= to the Workload")
    for what in ("loss", "metrics"):
        mine = getattr(workload, what)
        if what == "loss" and mine is None or what == "metrics" and \
                mine in (["accuracy"], []) and workload.loss is None:
            continue
        theirs = compile_config.get(what)
        theirs = [] if theirs is None and what == "metrics" else theirs
        mine = serialize(mine) if what == "loss" else [serialize(m) for m in mine]
        if plain_compile(theirs) != plain_compile(mine):
            raise WorkloadError(
                f"the model is compiled with {what}={shown_compile(theirs)} but the "
                f"workload gives {what}={shown_compile(mine)}; give the {what} in one "
                "place (the model's compile is what trains)")
