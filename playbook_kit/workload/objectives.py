"""Workload parts for any task: the loss, the metrics and the objective's direction.

Tasks covered by name: multi-class (integer labels: ``sparse_categorical_crossentropy``;
one-hot: ``categorical_crossentropy``), binary and multi-label (``binary_crossentropy``),
regression (``mse``, ``mae``, ``huber``), and any other loss name Keras knows
(``log_cosh``, ``kl_divergence``, ``binary_focal_crossentropy``...); any
``keras.losses.Loss`` object or a callable ``loss(y_true, y_pred)`` returning one value per
example works too. Per-example losses
(not a batch mean) are what let evaluation weight padded examples by zero.

Metrics are Keras metric objects or names; ``"accuracy"``, ``"auc"``, ``"precision"``
and ``"recall"`` follow the loss (sparse, one-hot or binary labels; logits or
probabilities). The objective is ``val_<metric>`` or ``val_loss``; its direction is
inferred from the name where that is unambiguous, else it must be given.
"""
from __future__ import annotations

import re

from ..core.validation import not_allowed

class WorkloadError(ValueError):
    """A workload that cannot work for any config (a builder that returns no Keras model,
    labels that do not fit the output): raised, never recorded as an infeasible trial.

    Example::

        try:
            pk.dry_run(workload)
        except pk.WorkloadError as error:
            print(error)   # "labels of shape (8, 3) do not fit the model's output ..."
    """


def resolve_callable(value, field_name: str):
    """A callable, or one named by an importable ``"module:function"`` path."""
    import importlib

    if callable(value):
        return value
    module, _, attribute = value.partition(":")
    if not module or not attribute:
        raise not_allowed(field_name, value, "use 'module:function'", error=WorkloadError)
    try:
        found = importlib.import_module(module)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        raise WorkloadError(f"{field_name}={value!r} cannot be imported ({error}); make the "
                            "module importable (on PYTHONPATH) in every process that "
                            "rebuilds the workload") from None
    return found


def importable_path(function) -> str | None:
    """``"module:function"`` when another process can import ``function``, else None
    (defined in a notebook, ``__main__`` or inside another function)."""
    module = getattr(function, "__module__", None)
    qualname = getattr(function, "__qualname__", "")
    if not module or module == "__main__" or "<" in qualname:
        return None
    try:
        if resolve_callable(f"{module}:{qualname}", "model") is not function:
            return None
    except WorkloadError:
        return None
    return f"{module}:{qualname}"


LOSS_NAMES = {
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "binary_crossentropy": "BinaryCrossentropy",
    "mse": "MeanSquaredError", "mean_squared_error": "MeanSquaredError",
    "mae": "MeanAbsoluteError", "mean_absolute_error": "MeanAbsoluteError",
    "huber": "Huber",
}
_LABELS = {"SparseCategoricalCrossentropy": "sparse", "CategoricalCrossentropy": "one_hot",
           "CategoricalFocalCrossentropy": "one_hot", "BinaryCrossentropy": "binary",
           "BinaryFocalCrossentropy": "binary"}
_KERAS_LOSSES: dict = {}


def keras_loss(name: str):
    """A ``keras.losses.Loss`` for any loss name Keras knows (``"log_cosh"``,
    ``"kl_divergence"``, ``"binary_focal_crossentropy"``, ``"Huber"``...): the class whose
    default name it is, else ``keras.losses.get``'s function wrapped as a Loss."""
    import keras

    if not _KERAS_LOSSES:
        for attribute in dir(keras.losses):
            cls = getattr(keras.losses, attribute)
            if isinstance(cls, type) and issubclass(cls, keras.losses.Loss):
                try:
                    _KERAS_LOSSES[cls().name] = cls
                except TypeError:  # a class that needs arguments (a wrapper)
                    pass
    if name in _KERAS_LOSSES:
        return _KERAS_LOSSES[name]()
    try:
        found = keras.losses.get(name)
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise not_allowed("loss", name, "use a loss name Keras knows "
                          f"({', '.join(list(LOSS_NAMES)[:4])}, log_cosh, kl_divergence, "
                          "...), a keras.losses.Loss or a callable returning one loss per "
                          "example")
    if isinstance(found, keras.losses.Loss):
        return found
    return keras.losses.LossFunctionWrapper(found, name=name)
MINIMIZED = ("loss", "error", "mae", "mse", "rmse", "mape", "msle", "crossentropy", "hinge",
             "divergence", "huber")
MAXIMIZED = ("accuracy", "acc", "auc", "precision", "recall", "f1", "iou", "r2")


def objective_direction(objective: str, direction: str | None = None) -> str:
    """``"min"`` or ``"max"`` for an objective such as ``val_auc``: ``direction`` when
    given, else inferred from the metric's name (loss, error, mae, mse: min; accuracy,
    auc, precision, recall: max); a name that says neither must come with a direction."""
    if direction is not None:
        if direction not in ("min", "max"):
            raise not_allowed("direction", direction, "use 'min' or 'max'")
        return direction
    words = set(re.split(r"[^a-z0-9]+", objective.lower().removeprefix("val_")))
    words |= {objective.lower().removeprefix("val_")}
    low = any(w in MINIMIZED for w in words) or "loss" in objective.lower()
    high = any(w in MAXIMIZED for w in words) or "accuracy" in objective.lower()
    if low == high:
        raise ValueError(f"objective={objective!r}: its direction cannot be inferred from the "
                         "name; give direction='min' or direction='max'")
    return "min" if low else "max"


class Loss:
    """A loss as per-example values: ``per_example(y_true, y_pred) -> (batch,)``."""

    def __init__(self, spec=None):
        import keras

        self.spec = spec
        if spec is None:
            spec = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        elif isinstance(spec, str):
            spec = getattr(keras.losses, LOSS_NAMES[spec])() if spec in LOSS_NAMES \
                else keras_loss(spec)
        elif not callable(spec):
            raise not_allowed("loss", spec,
                              "use a loss name, a keras.losses.Loss or a callable")
        self.function = spec
        self.kind = _LABELS.get(type(spec).__name__, "other")
        self.from_logits = bool(getattr(spec, "from_logits", False))
        self.name = getattr(spec, "name", None) or getattr(spec, "__name__", type(spec).__name__)

    def per_example(self, y_true, y_pred):
        import tensorflow as tf
        import keras

        if y_pred.dtype.is_floating and y_pred.dtype != tf.float32:
            y_pred = tf.cast(y_pred, tf.float32)  # a mixed-precision head: loss in float32, as Keras
        if isinstance(self.function, keras.losses.Loss):
            if self.kind != "sparse":
                y_true = tf.cast(y_true, y_pred.dtype)
            values = self.function.call(y_true, y_pred)
        else:
            values = self.function(y_true, y_pred)
        values = tf.convert_to_tensor(values)
        rank = values.shape.rank
        if rank is not None and rank > 1:
            values = tf.reduce_mean(values, axis=list(range(1, rank)))
        return values



_ACCURACY = {"sparse": "SparseCategoricalAccuracy", "one_hot": "CategoricalAccuracy"}


def make_metrics(specs, loss: Loss) -> dict:
    """Fresh metric objects by recorded name (``val_<name>`` in the curves).

    ``specs``: names or ``keras.metrics.Metric`` objects (cloned, so each trial starts
    from zero state). A name Keras does not know raises ``ValueError`` naming it.
    """
    import keras

    out = {}
    for spec in specs:
        if isinstance(spec, str):
            name, metric = spec, _named_metric(spec, loss)
        elif isinstance(spec, keras.metrics.Metric):
            name, metric = spec.name, _clone(spec)
        elif callable(spec):
            name = getattr(spec, "__name__", "metric")
            metric = keras.metrics.MeanMetricWrapper(spec, name=name)
        else:
            raise not_allowed("metrics entry", spec, "use a metric name, a "
                              "keras.metrics.Metric or a callable")
        if name == "loss" or name in out:
            raise not_allowed("metrics entry", name, "each metric name must be unique and not "
                              "'loss'", why="'loss' is always recorded")
        out[name] = metric
    return out


def _named_metric(name: str, loss: Loss):
    import keras

    threshold = 0.0 if loss.from_logits else 0.5
    key = name.lower()
    if key in ("accuracy", "acc"):
        if loss.kind in _ACCURACY:
            return getattr(keras.metrics, _ACCURACY[loss.kind])(name=name)
        if loss.kind == "binary":
            return keras.metrics.BinaryAccuracy(name=name, threshold=threshold)
        raise not_allowed("metrics entry", name, "accuracy needs a classification loss; use "
                          "e.g. 'mae' or 'mse'", why=f"the loss is {loss.name!r}")
    if key == "auc":
        return keras.metrics.AUC(name=name, from_logits=loss.from_logits)
    if key in ("precision", "recall"):
        cls = keras.metrics.Precision if key == "precision" else keras.metrics.Recall
        return cls(name=name, thresholds=threshold)
    try:
        metric = keras.metrics.get(name)
    except ValueError:
        raise ValueError(f"metrics entry {name!r} is not a metric Keras knows; use a Keras "
                         "metric name (accuracy, auc, precision, recall, mae, mse, "
                         "root_mean_squared_error, ...) or a keras.metrics.Metric") from None
    if isinstance(metric, keras.metrics.Metric):
        return _clone(metric, name)
    return keras.metrics.MeanMetricWrapper(metric, name=name)


def _clone(metric, name=None):
    config = metric.get_config()
    if name is not None:
        config["name"] = name
    try:
        return type(metric).from_config(config)
    except Exception:  # a user metric that cannot rebuild itself: reset and reuse it
        metric.reset_state()
        return metric


def serialize(spec):
    """A loss or metric as stored with a study: a name as given, a Keras object as its
    Keras serialization, a plain function as its ``"module:function"`` path."""
    import keras

    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, (keras.losses.Loss, keras.metrics.Metric)):
        return keras_config_data(keras.saving.serialize_keras_object(spec))
    path = importable_path(spec)
    return {"function": path} if path else {"unrebuildable": repr(spec)}


def deserialize(stored, what: str):
    """The inverse of :func:`serialize`; a part that cannot be rebuilt raises naming it."""
    import keras

    if stored is None or isinstance(stored, str):
        return stored
    if "unrebuildable" in stored:
        raise WorkloadError(f"{what} {stored['unrebuildable']} was defined where no other "
                            "process can import it; define it in a module and pass it as "
                            "'module:function', or pass workload= in this process")
    if "function" in stored:
        return resolve_callable(stored["function"], what)
    try:
        return keras.saving.deserialize_keras_object(stored)
    except Exception as error:
        raise WorkloadError(f"{what} {stored.get('class_name', stored)!r} cannot be rebuilt "
                            f"({error}); pass workload= in this process") from None


def keras_config_data(value):
    """A Keras serialization as plain data to store: dicts, lists and Python scalars as
    they are, anything else by its ``repr``."""
    if isinstance(value, dict):
        return {str(k): keras_config_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [keras_config_data(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
