"""The toolkit's model families, chosen by a config's ``model`` field: an MLP, a small
CNN and a pre-norm ResNet, all outputting logits, plus any family a user registers."""
from __future__ import annotations

from typing import Callable

from ..core.validation import not_allowed

MODELS = ("mlp", "cnn", "resnet")
NORMALIZATIONS = ("none", "batch", "sync_batch", "layer", "ghost_batch")
ACTIVATIONS = ("relu", "gelu", "tanh", "elu", "selu", "swish", "sigmoid")
"""The activations listed in errors; any name ``keras.activations.get`` takes is allowed."""
_CUSTOM_MODELS: dict[str, Callable] = {}


def register_model(name: str, build: Callable) -> None:
    """Add a model family: ``build(config, input_shape, num_classes) -> keras.Model``.

    Errors raised while building for a given config make that trial infeasible, as the
    playbook's implicit constraints do, instead of stopping the study.

    Args:
        name: the family's name, used as the config field ``model``.
        build: ``build(config, input_shape, num_classes)`` returning a Keras model whose
            outputs are logits.

    Returns:
        None.

    Raises:
        ValueError: ``name`` is empty, not a string, or one of the built-in families.

    Example::

        def wide_and_shallow(config, input_shape, num_classes):
            return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                                     keras.layers.Dense(4 * config["width"], activation="relu"),
                                     keras.layers.Dense(num_classes)])

        pk.register_model("wide", wide_and_shallow)
        workload = pk.Workload(data, defaults={"model": "wide", "width": 32})
    """
    if not isinstance(name, str) or not name or name in MODELS:
        raise not_allowed("model name", name, "use a new non-empty name other than "
                          f"{', '.join(MODELS)}")
    _CUSTOM_MODELS[name] = build


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

    Dropout rate and L2 strength are values (:class:`~playbook_kit.workload.layers.ValueDropout`,
    :class:`~playbook_kit.workload.layers.ValueL2`): configs that differ only in them (both > 0,
    or both 0) build the same structure and share one compiled program.

    Args:
        config: a complete config (:func:`resolve_config` fills one in).
        input_shape: one example's shape.
        num_classes: outputs of the last layer.

    Returns:
        keras.Model: the family's model (``mlp``, ``cnn``, ``resnet`` or a registered one).

    Raises:
        ValueError: ``cnn`` on input that is not an image; or what a registered family's
            builder raises.
        KeyError: a config that lacks a field (resolve it first).

    Example::

        model = pk.build_model(pk.resolve_config({"model": "mlp", "depth": 2}), (64,), 10)
    """
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
