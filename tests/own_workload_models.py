"""Model builders for the own-workload tests, importable by path (as a study stores them)."""


def regression_mlp(config):
    """Dense -> BatchNormalization -> ReLU -> Dropout -> Dense(1), with an L2 penalty."""
    import keras

    inputs = keras.Input((10,))
    x = keras.layers.Dense(config["width"], kernel_regularizer=keras.regularizers.L2(1e-3))(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Dropout(config["dropout"])(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def two_inputs(config):
    """Two named inputs, concatenated: ``{"a": (3,), "b": (2,)}`` -> one logit."""
    import keras

    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    x = keras.layers.Concatenate()([a, b])
    x = keras.layers.Dense(config["width"], activation="relu")(x)
    return keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(x))


def binary_logit(config):
    import keras

    inputs = keras.Input((30,))
    x = keras.layers.Dense(config["width"], activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def not_a_model(config):
    return "a string"


def binary_logit_4(config):
    """Four features -> one probability (sigmoid), for string losses."""
    import keras

    inputs = keras.Input((4,))
    x = keras.layers.Dense(config["width"], activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
