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


def cancer_hypermodel(hp):
    """A keras-tuner build(hp) as users write it: compiles with its own learning rate."""
    import keras

    model = keras.Sequential([keras.Input((30,))])
    for i in range(hp.Int("layers", 1, 3)):
        model.add(keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"))
    if hp.Boolean("use_dropout"):
        with hp.conditional_scope("use_dropout", [True]):
            model.add(keras.layers.Dropout(hp.Float("rate", 0.1, 0.5)))
    model.add(keras.layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log")),
                  loss="binary_crossentropy", metrics=["accuracy", "auc"])
    return model


def _hypermodel_class():
    import keras_tuner as kt

    class Cancer(kt.HyperModel):
        def build(self, hp):
            return cancer_hypermodel(hp)

    return Cancer


CancerHyperModel = _hypermodel_class()
cancer_hyper_instance = CancerHyperModel()


def noisy_diabetes(config):
    """A data builder: diabetes with Gaussian label noise of std ``config["label_noise"]``
    added to the training split only (a data hyperparameter)."""
    import numpy as np
    from sklearn.datasets import load_diabetes

    import playbook_kit as pk

    x, y = load_diabetes(return_X_y=True)
    data = pk.split_arrays("diabetes", (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std(),
                           task="regression")
    rng = np.random.default_rng(0)
    data.y_train = data.y_train + np.float32(config["label_noise"]) * rng.normal(
        size=data.y_train.shape).astype(np.float32)
    return data


def digits_hypermodel(hp):
    """A keras-tuner build(hp) on the digits (8x8 images), compiled with its own learning
    rate: the hypermodel of the study stored by an earlier version (tests/data/legacy)."""
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(hp.Int("units", 8, 32, step=8),
                                                 activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model
