"""A conformance corpus: Keras code as the keras.io guides and the keras-tuner docs teach
it, each pattern run unchanged as a 2-trial study (or refused before training), each
asserting the effect of what the user wrote.

Every pattern declares where it is taught, the engine its trials must run on
(``compiled``, ``fit``, or ``refused``) and the effect it checks; ``tests/test_keras_code.py``
runs them, and ``tools/compatibility_table.py`` writes the compatibility table of
the own-model guide from these declarations, which the runs measure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

STEPS, EVERY = 4, 2


@dataclass
class Pattern:
    name: str
    taught: str
    engine: str
    checks: str
    run: Callable


CORPUS: list[Pattern] = []


def pattern(name, taught, engine, checks):
    def register(function):
        CORPUS.append(Pattern(name, taught, engine, checks, function))
        return function
    return register


# ------------------------------------------------------------------------ helpers

def digits(pk, flat=False, one_hot=False, n=None):
    import keras
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.astype("float32")[:n] / 16.0
    x = x.reshape(len(x), -1) if flat else x
    y = bunch.target[:n]
    return pk.split_arrays("digits", x, keras.utils.to_categorical(y, 10) if one_hot else y)


def cancer(pk, **split):
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return pk.split_arrays("cancer", (x - x.mean(0)) / x.std(0), y, **split)


def study(pk, workload, space, tmp_path, name, **kw):
    kw.setdefault("max_trials", 2)
    return pk.run_study(workload, space, max_train_steps=kw.pop("steps", STEPS),
                        eval_every=kw.pop("every", EVERY), directory=tmp_path, name=name,
                        progress=False, **kw)


def engines_of(study):
    return set(study.runs["engine"])


def curve_value(study, trial_id, split, metric, step=None):
    c = study.curves
    rows = c[(c["trial_id"].astype(str) == str(trial_id)) & (c["split"] == split)
             & (c["metric"] == metric)]
    return float(rows.sort_values("step")["value"].iloc[0 if step == "first" else -1]
                 if step in (None, "first") else rows[rows["step"] == step]["value"].iloc[0])


class RecordFit:
    """Records the keyword arguments Keras' ``Model.fit`` receives."""

    def __init__(self, monkeypatch):
        import keras

        self.calls = []
        real = keras.Model.fit

        def fit(model, *args, **kwargs):
            self.calls.append(kwargs)
            return real(model, *args, **kwargs)

        monkeypatch.setattr(keras.Model, "fit", fit)


# ------------------------------------------------------------- keras-tuner guides

def getting_started_build_model(hp):
    """keras-io guides/keras_tuner/getting_started.py, unchanged."""
    from tensorflow import keras
    from tensorflow.keras import layers

    model = keras.Sequential()
    model.add(layers.Flatten())
    model.add(
        layers.Dense(
            # Tune number of units.
            units=hp.Int("units", min_value=32, max_value=512, step=32),
            # Tune the activation function to use.
            activation=hp.Choice("activation", ["relu", "tanh"]),
        )
    )
    # Tune whether to use dropout.
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(10, activation="softmax"))
    # Define the optimizer learning rate as a hyperparameter.
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pattern("build(hp): Sequential without Input, hp.Boolean('dropout'), hp.Float('lr'), "
         "one-hot labels", "keras-io guides/keras_tuner/getting_started.py", "compiled",
         "one-hot labels kept (10 classes); `dropout` adds a Dropout layer; `lr` is the "
         "learning rate the optimizer trained with")
def _getting_started(pk, tmp_path, monkeypatch):
    import keras

    data = digits(pk, one_hot=True)
    assert (data.labels, data.num_classes) == ("one_hot", 10)
    workload, space = pk.Workload.from_hypermodel(getting_started_build_model, data)
    assert set(space.names) == {"units", "activation", "dropout", "learning_rate"}
    configs = [{"units": 32, "activation": "relu", "dropout": False, "learning_rate": 1e-3},
               {"units": 64, "activation": "tanh", "dropout": True, "learning_rate": 5e-3}]
    result = study(pk, workload, space, tmp_path, "gs", algorithm="list", configs=configs)
    assert list(result.trials["status"]) == ["completed"] * 2
    assert engines_of(result) == {"compiled"}
    for trial_id, config in zip(result.trials["trial_id"], configs):
        assert curve_value(result, trial_id, "optimizer", "learning_rate", 0) == \
            np.float32(config["learning_rate"])
        model = workload.build_model(pk.config_of(result, trial_id))
        dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
        assert len(dropouts) == int(config["dropout"])
        assert model.layers[1].units == config["units"]


def layer_loop_build_model(hp):
    """keras-io guides/keras_tuner/getting_started.py (the layer loop), unchanged."""
    from tensorflow import keras
    from tensorflow.keras import layers

    model = keras.Sequential()
    model.add(layers.Flatten())
    # Tune the number of layers.
    for i in range(hp.Int("num_layers", 1, 3)):
        model.add(
            layers.Dense(
                # Tune number of units separately.
                units=hp.Int(f"units_{i}", min_value=32, max_value=512, step=32),
                activation=hp.Choice("activation", ["relu", "tanh"]),
            )
        )
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add(layers.Dense(10, activation="softmax"))
    learning_rate = hp.Float("lr", min_value=1e-4, max_value=1e-2, sampling="log")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pattern("layer count from an Int: `for i in range(hp.Int('num_layers', 1, 3))` with "
         "`units_{i}`", "keras-io guides/keras_tuner/getting_started.py", "compiled",
         "units_1 and units_2 are in the space; units_1 sets the second layer's width; a "
         "one-layer trial's record has no units_1")
def _layer_loop(pk, tmp_path, monkeypatch):
    data = digits(pk, one_hot=True)
    workload, space = pk.Workload.from_hypermodel(layer_loop_build_model, data)
    assert {"units_0", "units_1", "units_2"} <= set(space.names)
    common = {"units_0": 32, "units_2": 32, "activation": "relu", "dropout": False,
              "learning_rate": 1e-3}
    configs = [{**common, "num_layers": 1, "units_1": 64},
               {**common, "num_layers": 2, "units_1": 96}]
    result = study(pk, workload, space, tmp_path, "loop", algorithm="list", configs=configs)
    assert engines_of(result) == {"compiled"}
    assert list(result.trials["status"]) == ["completed"] * 2
    from playbook_kit.studies.store import read_trial_record

    records = [read_trial_record(tmp_path / "loop" / f"trial_{t}")
               for t in result.trials["trial_id"]]
    assert "units_1" not in records[0]["config"] and records[1]["config"]["units_1"] == 96
    model = workload.build_model(records[1]["config"])
    assert [layer.units for layer in model.layers[1:3]] == [32, 96]


def _shuffle_hypermodel():
    import keras_tuner
    from tensorflow import keras
    from tensorflow.keras import layers

    class MyHyperModel(keras_tuner.HyperModel):
        def build(self, hp):
            model = keras.Sequential()
            model.add(layers.Flatten())
            model.add(
                layers.Dense(
                    units=hp.Int("units", min_value=32, max_value=512, step=32),
                    activation="relu",
                )
            )
            model.add(layers.Dense(10, activation="softmax"))
            model.compile(
                optimizer="adam",
                loss="categorical_crossentropy",
                metrics=["accuracy"],
            )
            return model

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(
                *args,
                # Tune whether to shuffle the data in each epoch.
                shuffle=hp.Boolean("shuffle"),
                **kwargs,
            )

    return MyHyperModel()


@pattern("`kt.HyperModel` whose `fit` tunes `shuffle`",
         "keras-io guides/keras_tuner/getting_started.py", "fit",
         "`shuffle` is in the space and Keras' fit receives each trial's value")
def _hypermodel_fit_shuffle(pk, tmp_path, monkeypatch):
    data = digits(pk, one_hot=True)
    workload, space = pk.Workload.from_hypermodel(_shuffle_hypermodel(), data)
    assert set(space.names) == {"units", "shuffle"}
    fits = RecordFit(monkeypatch)
    configs = [{"units": 32, "shuffle": False}, {"units": 32, "shuffle": True}]
    result = study(pk, workload, space, tmp_path, "shuffle", algorithm="list", configs=configs)
    assert engines_of(result) == {"fit"}
    assert list(result.trials["status"]) == ["completed"] * 2
    assert [call["shuffle"] for call in fits.calls[-2:]] == [False, True]
    assert (result.runs["engine_reason"] == "fit: the hypermodel's fit() trains the model").all()


def _batch_size_hypermodel():
    import keras
    import keras_tuner as kt

    class BatchSizeHyperModel(kt.HyperModel):
        """A hypermodel tuning ``batch_size`` in ``fit`` (keras-tuner issues 122, 613)."""

        def build(self, hp):
            model = keras.Sequential([
                keras.layers.Flatten(),
                keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
                keras.layers.Dense(10)])
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, batch_size=hp.Choice("batch_size", [16, 32, 64]),
                             **kwargs)

    return BatchSizeHyperModel()


@pattern("`kt.HyperModel` whose `fit` tunes `batch_size`",
         "keras-io guides/keras_tuner/custom_tuner.py; keras-tuner issues 122, 613", "fit",
         "`batch_size` is the trainer's batch: Keras' fit receives each trial's value")
def _hypermodel_fit_batch_size(pk, tmp_path, monkeypatch):
    data = digits(pk)
    workload, space = pk.Workload.from_hypermodel(_batch_size_hypermodel(), data)
    assert list(space["batch_size"].values) == [16, 32, 64]
    fits = RecordFit(monkeypatch)
    result = study(pk, workload, space, tmp_path, "bs", algorithm="list",
                   configs=[{"units": 16, "batch_size": 16}, {"units": 16, "batch_size": 64}])
    assert engines_of(result) == {"fit"}
    assert [call["batch_size"] for call in fits.calls[-2:]] == [16, 64]
    assert list(result.trials["batch_size"]) == [16, 64]


def _early_stopping_hypermodel():
    import keras
    import keras_tuner as kt

    class EarlyStoppingHyperModel(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(10)])
            model.compile(optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-6, 1e-5)),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, callbacks=(), **kwargs):
            stop = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=10.0,
                                                 patience=0)
            return model.fit(*args, callbacks=[*callbacks, stop], **kwargs)

    return EarlyStoppingHyperModel()


@pattern("callbacks of one's own in `HyperModel.fit` (`EarlyStopping`)",
         "keras-io guides/keras_tuner/getting_started.py (callbacks in fit)", "fit",
         "the user's EarlyStopping runs: each trial ends completed at its first evaluation")
def _hypermodel_fit_callbacks(pk, tmp_path, monkeypatch):
    data = digits(pk)
    workload, space = pk.Workload.from_hypermodel(_early_stopping_hypermodel(), data)
    result = study(pk, workload, space, tmp_path, "early", steps=8, every=2)
    assert list(result.trials["status"]) == ["completed"] * 2
    assert engines_of(result) == {"fit"}
    last = result.curves.groupby("trial_id")["step"].max()
    assert (last < 8).all(), last


def tailored_build_model(hp):
    """keras-io guides/keras_tuner/tailor_the_search_space.py, unchanged (its model has
    no output layer of 10: the study trains it as written)."""
    from tensorflow import keras
    from tensorflow.keras import layers

    model = keras.Sequential()
    model.add(layers.Flatten())
    model.add(
        layers.Dense(
            units=hp.Int("units", min_value=32, max_value=128, step=32, default=64)
        )
    )
    if hp.Boolean("dropout"):
        model.add(layers.Dropout(rate=0.25))
    model.add
    model.compile(
        optimizer=keras.optimizers.Adam(
            learning_rate=hp.Choice("learning_rate", values=[1e-2, 1e-3, 1e-4])
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


@pattern("tailor the space: `hyperparameters=` with `hp.Fixed`, `tune_new_entries=False`, "
         "a compile override (`loss=`, `metrics=`)", "keras-io guides/keras_tuner/tailor_the_search_space.py",
         "compiled", "the given entries replace the found ones, the rest are fixed at their "
         "defaults, the overridden loss trains")
def _tailor(pk, tmp_path, monkeypatch):
    import keras
    import keras_tuner

    data = digits(pk)
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", min_value=1e-4, max_value=1e-2, sampling="log")
    workload, space = pk.Workload.from_hypermodel(
        tailored_build_model, data, hyperparameters=hp, tune_new_entries=False)
    assert space.varied == ["learning_rate"] and space["units"].value == 64
    fixed = keras_tuner.HyperParameters()
    fixed.Fixed("learning_rate", value=1e-4)
    _, space2 = pk.Workload.from_hypermodel(tailored_build_model, data, hyperparameters=fixed)
    assert space2["learning_rate"].value == 1e-4 and "units" in space2.varied
    result = study(pk, workload, space, tmp_path, "tailor")
    assert engines_of(result) == {"compiled"}
    assert result.trials["units"].tolist() == [64, 64]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    overridden, _ = pk.Workload.from_hypermodel(tailored_build_model, data, loss=loss,
                                                metrics=["accuracy"])
    model = overridden.build_model(overridden.config())
    assert model.loss is loss and overridden.metric_names == ["accuracy"]
    assert pk.train_trial(overridden, {}, 0, max_train_steps=STEPS,
                          eval_every=EVERY).status == "completed"


def model_type_build_model(hp):
    """A ``model_type`` Choice with conditional scopes and ``hp.Fixed``."""
    import keras

    model_type = hp.Choice("model_type", ["mlp", "cnn"])
    inputs = keras.Input((8, 8, 1))
    if model_type == "mlp":
        with hp.conditional_scope("model_type", ["mlp"]):
            x = keras.layers.Flatten()(inputs)
            x = keras.layers.Dense(hp.Int("mlp_units", 16, 64, step=16), activation="relu")(x)
    else:
        with hp.conditional_scope("model_type", ["cnn"]):
            x = keras.layers.Conv2D(hp.Int("filters", 4, 16, step=4), 3, activation="relu")(
                inputs)
            x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10)(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(hp.Fixed("learning_rate", 3e-3)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pattern("`hp.Fixed`, `hp.conditional_scope` under a `model_type` Choice",
         "keras-io guides/keras_tuner/tailor_the_search_space.py; KerasTuner conditional "
         "hyperparameters", "compiled",
         "each branch's hyperparameters have model_type as parent; the fixed rate trains")
def _conditional(pk, tmp_path, monkeypatch):
    data = digits(pk)
    workload, space = pk.Workload.from_hypermodel(model_type_build_model, data)
    table = space.to_frame().set_index("name")
    assert table.loc["mlp_units", "parent"] == "model_type"
    assert table.loc["filters", "parent_values"] == ["cnn"]
    assert space["learning_rate"].value == 3e-3
    result = study(pk, workload, space, tmp_path, "types", algorithm="list",
                   configs=[{"model_type": "mlp", "mlp_units": 16},
                            {"model_type": "cnn", "filters": 4}])
    assert list(result.trials["status"]) == ["completed"] * 2
    assert result.trials["filters"].isna().tolist() == [True, False]


def optimizer_choice_build_model(hp):
    """An ``optimizer`` Choice of names, as keras-io's custom_tuner and GRN/VSN examples
    write it."""
    import keras

    model = keras.Sequential([keras.layers.Flatten(),
                              keras.layers.Dense(hp.Int("units", 16, 32, step=16),
                                                 activation=hp.Choice("activation",
                                                                      ["relu", "leaky_relu"])),
                              keras.layers.Dense(10)])
    model.compile(optimizer=hp.Choice("optimizer", ["adam", "rmsprop", "adadelta"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


@pattern("hp names that are common words: `optimizer` (adam, rmsprop, adadelta), "
         "`activation` ('leaky_relu')", "keras-io guides/keras_tuner/custom_tuner.py; "
         "examples/structured_data/class_with_grn_and_vsn_with_hyperparameters_tuning.py",
         "compiled", "each trial trains with the optimizer class it chose")
def _optimizer_choice(pk, tmp_path, monkeypatch):
    from playbook_kit.training import programs

    data = digits(pk)
    workload, space = pk.Workload.from_hypermodel(optimizer_choice_build_model, data)
    assert list(space["optimizer"].values) == ["adam", "rmsprop", "adadelta"]
    classes = []
    for optimizer in ("rmsprop", "adadelta"):
        result = pk.train_trial(workload, {"optimizer": optimizer, "activation": "leaky_relu"},
                                0, max_train_steps=STEPS, eval_every=EVERY)
        assert result.status == "completed" and result.engine == "compiled"
        program = next(reversed(programs._STATE["cache"].values()))
        classes.append(type(program.optimizer).__name__)
    assert classes == ["RMSprop", "Adadelta"]
    result = study(pk, workload, space, tmp_path, "optimizers")
    assert list(result.trials["status"]) == ["completed"] * 2


@pattern("`keras_tuner.applications.HyperXception` (a one-value Choice)",
         "keras-io guides/keras_tuner/getting_started.py, tailor_the_search_space.py",
         "compiled", "`initial_strides` is fixed; two trials of a small Xception train")
def _hyper_xception(pk, tmp_path, monkeypatch):
    import keras
    from keras_tuner.applications import HyperXception

    rng = np.random.default_rng(0)
    x = rng.random((60, 32, 32, 3)).astype("float32")
    data = pk.split_arrays("images", x, keras.utils.to_categorical(rng.integers(0, 3, 60), 3))
    workload, space = pk.Workload.from_hypermodel(
        HyperXception(input_shape=(32, 32, 3), classes=3), data,
        defaults={"batch_size": 8, "conv2d_num_filters": 32, "sep_num_filters": 128,
                  "num_residual_blocks": 2, "pooling": "avg", "dense_use_bn": 0})
    assert space["initial_strides"].value == 2
    small = {"activation": "relu", "conv2d_num_filters": 32, "kernel_size": 3,
             "sep_num_filters": 128, "num_residual_blocks": 2, "num_dense_layers": 1,
             "pooling": "avg", "dropout_rate": 0.0, "dense_use_bn": 0}
    result = study(pk, workload, space, tmp_path, "xception", steps=2, every=1,
                   algorithm="list", configs=[{**small, "learning_rate": 1e-3},
                                              {**small, "learning_rate": 1e-4}])
    assert list(result.trials["status"]) == ["completed"] * 2
    assert engines_of(result) == {"compiled"}


@pattern("`keras_tuner.applications.HyperResNet` (an `optimizer` Choice holding rmsprop)",
         "keras-io guides/keras_tuner/getting_started.py", "compiled",
         "its `optimizer` choices are the hypermodel's own: trials train with RMSprop")
def _hyper_resnet(pk, tmp_path, monkeypatch):
    import keras
    from keras_tuner.applications import HyperResNet

    from playbook_kit.training import programs

    rng = np.random.default_rng(0)
    x = rng.random((40, 32, 32, 3)).astype("float32")
    data = pk.split_arrays("images", x, keras.utils.to_categorical(rng.integers(0, 2, 40), 2))
    workload, space = pk.Workload.from_hypermodel(
        HyperResNet(input_shape=(32, 32, 3), classes=2), data,
        defaults={"batch_size": 8, "optimizer": "rmsprop"})
    assert list(space["optimizer"].values) == ["adam", "rmsprop", "sgd"]
    base = {"version": "v2", "conv3_depth": 4, "conv4_depth": 6, "pooling": "avg",
            "optimizer": "rmsprop"}
    result = study(pk, workload, space, tmp_path, "resnet", steps=1, every=1,
                   algorithm="list", configs=[{**base, "learning_rate": 0.01},
                                              {**base, "learning_rate": 0.001}])
    assert engines_of(result) == {"compiled"}
    assert set(result.trials["status"]) <= {"completed", "infeasible"}
    program = next(reversed(programs._STATE["cache"].values()))
    assert type(program.optimizer).__name__ == "RMSprop"


# ----------------------------------------------------------- models and training

def _custom_train_step_model(units):
    """keras-io guides/custom_train_step_in_tensorflow.py's first ``CustomModel``, with a
    counter of its calls added in a subclass (its own code runs through ``super()``)."""
    import keras
    import tensorflow as tf

    class CustomModel(keras.Model):
        def train_step(self, data):
            # Unpack the data. Its structure depends on your model and
            # on what you pass to `fit()`.
            x, y = data

            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)  # Forward pass
                # Compute the loss value
                # (the loss function is configured in `compile()`)
                loss = self.compute_loss(y=y, y_pred=y_pred)

            # Compute gradients
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)

            # Update weights
            self.optimizer.apply(gradients, trainable_vars)

            # Update metrics (includes the metric that tracks the loss)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)

            # Return a dict mapping metric names to current value
            return {m.name: m.result() for m in self.metrics}

    class Counted(CustomModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.calls = keras.Variable(0, dtype="int64", trainable=False)

        def train_step(self, data):
            self.calls.assign_add(1)
            return super().train_step(data)

    inputs = keras.Input(shape=(64,))
    hidden = keras.layers.Dense(units, activation="relu")(inputs)
    return Counted(inputs, keras.layers.Dense(10)(hidden))


BUILT: list = []


def custom_train_step_builder(config):
    import keras

    model = _custom_train_step_model(config["width"])
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    BUILT.append(model)
    return model


@pattern("a model overriding `train_step`",
         "keras-io guides/custom_train_step_in_tensorflow.py", "fit",
         "the model's own train_step ran exactly max_train_steps times in each trial")
def _custom_train_step(pk, tmp_path, monkeypatch):
    data = digits(pk, flat=True)
    workload = pk.Workload(data, model=custom_train_step_builder,
                           defaults={"width": 32, "learning_rate": 1e-3})
    BUILT.clear()
    result = pk.train_trial(workload, {}, 0, max_train_steps=STEPS, eval_every=EVERY)
    assert (result.engine, result.engine_reason) == ("fit", "fit: the model overrides train_step")
    assert int(BUILT[-1].calls.numpy()) == STEPS
    space = pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2, scale="log")
    run = study(pk, workload, space, tmp_path, "train_step")
    assert engines_of(run) == {"fit"} and list(run.trials["status"]) == ["completed"] * 2
    assert int(BUILT[-1].calls.numpy()) == STEPS
    forced = pk.Workload(data, model=custom_train_step_builder, engine="compiled",
                         defaults={"width": 32, "learning_rate": 1e-3})
    with __import__("pytest").raises(pk.WorkloadError, match=(
            r"^the model overrides train_step: the fit engine runs it; engine='compiled' "
            r"cannot \(use engine='auto' or 'fit'\)$")):
        study(pk, forced, space, tmp_path, "forced")
    assert not (tmp_path / "forced").exists()


def lower_level_builder(config):
    """keras-io custom_train_step_in_tensorflow.py "Going lower-level": compile() sets only
    the optimizer; the loss and the metrics are the model's own."""
    import keras
    import tensorflow as tf

    class CustomModel(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = keras.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data

            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)  # Forward pass
                # Compute our own loss
                loss = self.loss_fn(y, y_pred)

            # Compute gradients
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)

            # Update weights
            self.optimizer.apply(gradients, trainable_vars)

            # Compute our own metrics
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {
                "loss": self.loss_tracker.result(),
                "mae": self.mae_metric.result(),
            }

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = keras.Input(shape=(10,))
    outputs = keras.layers.Dense(1)(keras.layers.Dense(config["width"])(inputs))
    model = CustomModel(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]))
    return model


@pattern("`train_step` with its own loss and metrics, `compile(optimizer=...)` only",
         "keras-io guides/custom_train_step_in_tensorflow.py (going lower-level)", "refused",
         "refused before training: its default test_step has no loss to evaluate (Keras' "
         "evaluate fails the same way); the message says so")
def _lower_level(pk, tmp_path, monkeypatch):
    import pytest
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    data = pk.split_arrays("diabetes", (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std(),
                           task="regression")
    workload = pk.Workload(data, model=lower_level_builder, objective="val_mae",
                           defaults={"width": 16, "learning_rate": 1e-2})
    space = pk.SearchSpace().nuisance("learning_rate", 1e-2, 3e-2, scale="log")
    with pytest.raises(pk.WorkloadError, match=(
            r"^the model's evaluation fails on the fit engine \(its test_step\): "
            r"ValueError: No loss to compute")):
        study(pk, workload, space, tmp_path, "lower")
    assert not (tmp_path / "lower").exists()


def custom_test_step_builder(config):
    """keras-io custom_train_step_in_tensorflow.py "Providing your own evaluation step"."""
    import keras

    class CustomModel(keras.Model):
        def test_step(self, data):
            # Unpack the data
            x, y = data
            # Compute predictions
            y_pred = self(x, training=False)
            # Updates the metrics tracking the loss
            loss = self.compute_loss(y=y, y_pred=y_pred)
            # Update the metrics.
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            # Return a dict mapping metric names to current value.
            # Note that it will include the loss (tracked in self.metrics).
            return {m.name: m.result() for m in self.metrics}

    class Counted(CustomModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.calls = keras.Variable(0, dtype="int64", trainable=False)

        def test_step(self, data):
            self.calls.assign_add(1)
            return super().test_step(data)

    inputs = keras.Input(shape=(64,))
    model = Counted(inputs, keras.layers.Dense(10)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    BUILT.append(model)
    return model


@pattern("a model overriding `test_step`",
         "keras-io guides/custom_train_step_in_tensorflow.py", "fit",
         "the model's own test_step computed every evaluation")
def _custom_test_step(pk, tmp_path, monkeypatch):
    data = digits(pk, flat=True)
    workload = pk.Workload(data, model=custom_test_step_builder)
    BUILT.clear()
    result = pk.train_trial(workload, {}, 0, max_train_steps=STEPS, eval_every=EVERY)
    assert result.engine_reason == "fit: the model overrides test_step"
    assert int(BUILT[-1].calls.numpy()) > 0
    space = pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2, scale="log")
    assert engines_of(study(pk, workload, space, tmp_path, "test_step")) == {"fit"}


def compute_loss_builder(config):
    """A model overriding ``compute_loss`` (Keras 3's hook for a custom loss): the
    compiled loop calls it, as Keras' train_step does."""
    import keras

    class WithPenalty(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.calls = keras.Variable(0, dtype="int64", trainable=False)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            self.calls.assign_add(1)
            loss = super().compute_loss(x, y, y_pred, sample_weight, training)
            return loss + 0.0 * keras.ops.sum(y_pred)

    inputs = keras.Input(shape=(64,))
    model = WithPenalty(inputs, keras.layers.Dense(10)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    BUILT.append(model)
    return model


@pattern("a model overriding `compute_loss`", "Keras API: Model.compute_loss", "compiled",
         "the compiled loop runs the model's compute_loss at each step")
def _compute_loss(pk, tmp_path, monkeypatch):
    data = digits(pk, flat=True)
    workload = pk.Workload(data, model=compute_loss_builder)
    space = pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2, scale="log")
    result = study(pk, workload, space, tmp_path, "compute_loss")
    assert engines_of(result) == {"compiled"}
    from playbook_kit.training import programs

    program = next(reversed(programs._STATE["cache"].values()))
    assert int(program.model.calls.numpy()) >= STEPS


def eager_builder(config):
    import keras

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], run_eagerly=True)
    return model


@pattern("`compile(..., run_eagerly=True)`", "Keras API: Model.compile", "fit",
         "Keras runs it eagerly, as written")
def _run_eagerly(pk, tmp_path, monkeypatch):
    workload = pk.Workload(digits(pk, flat=True), model=eager_builder)
    result = study(pk, workload, pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2,
                                                           scale="log"), tmp_path, "eager")
    assert engines_of(result) == {"fit"}
    assert set(result.runs["engine_reason"]) == {
        "fit: the model is compiled with run_eagerly=True"}


def subclassed_builder(config):
    """keras-io guides/making_new_layers_and_models_via_subclassing.py: a subclassed
    model, built lazily at its first call."""
    import keras

    class MLPBlock(keras.layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.linear_1 = keras.layers.Dense(units)
            self.linear_2 = keras.layers.Dense(10)

        def call(self, inputs):
            x = self.linear_1(keras.ops.reshape(inputs, (-1, 64)))
            x = keras.activations.relu(x)
            return self.linear_2(x)

    class Classifier(keras.Model):
        def __init__(self, units):
            super().__init__()
            self.block = MLPBlock(units)

        def call(self, inputs):
            return self.block(inputs)

    return Classifier(config["width"])


@pattern("a subclassed `keras.Model` with `call` (built lazily)",
         "keras-io guides/making_new_layers_and_models_via_subclassing.py", "compiled",
         "built on a sample batch before training; its weights change and the loss falls")
def _subclassed(pk, tmp_path, monkeypatch):
    data = digits(pk)
    workload = pk.Workload(data, model=subclassed_builder,
                           defaults={"width": 32, "learning_rate": 1e-2})
    result = study(pk, workload, pk.SearchSpace().nuisance("width", 16, 32, scale="integer"),
                   tmp_path, "subclassed", steps=20, every=10)
    assert engines_of(result) == {"compiled"}
    for trial_id in result.trials["trial_id"]:
        assert curve_value(result, trial_id, "train", "loss") < \
            curve_value(result, trial_id, "train", "loss", "first")


def multi_output_builder(config):
    """keras-io guides/functional_api.py: a ticket's priority and department from its
    title and body, a loss per output, ``loss_weights``."""
    import keras
    from keras import layers

    num_tags, num_words, num_departments = 12, 100, 4
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.Embedding(num_words, 8)(title_input)
    body_features = layers.Embedding(num_words, 8)(body_input)
    title_features = layers.LSTM(config["width"])(title_features)
    body_features = layers.LSTM(4)(body_features)
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    model = keras.Model(inputs=[title_input, body_input, tags_input],
                        outputs={"priority": priority_pred, "department": department_pred})
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
              "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
        loss_weights={"priority": 1.0, "department": 0.2},
        metrics={"department": ["accuracy"]})
    return model


@pattern("functional model of several inputs and outputs, a loss dict and `loss_weights`",
         "keras-io guides/functional_api.py; guides/training_with_built_in_methods.py",
         "compiled", "val_priority_loss and val_department_loss are recorded, val_loss is "
         "1.0 x priority + 0.2 x department, val_department_accuracy is the objective")
def _multi_output(pk, tmp_path, monkeypatch):
    import keras

    rng = np.random.default_rng(0)
    n = 200
    x = (rng.integers(0, 100, (n, 6)), rng.integers(0, 100, (n, 10)),
         rng.integers(0, 2, (n, 12)).astype("float32"))
    y = {"priority": rng.random((n, 1)).astype("float32"),
         "department": keras.utils.to_categorical(rng.integers(0, 4, n), 4)}
    data = pk.split_arrays("tickets", x, y, task="other")
    workload = pk.Workload(data, model=multi_output_builder, defaults={"width": 4},
                           objective="val_department_accuracy")
    result = study(pk, workload, pk.SearchSpace().nuisance("width", 2, 6, scale="integer"),
                   tmp_path, "tickets")
    assert engines_of(result) == {"compiled"}
    assert list(result.trials["status"]) == ["completed"] * 2
    for trial_id in result.trials["trial_id"]:
        total = curve_value(result, trial_id, "validation", "loss")
        parts = (curve_value(result, trial_id, "validation", "priority_loss"),
                 curve_value(result, trial_id, "validation", "department_loss"))
        assert total == __import__("pytest").approx(1.0 * parts[0] + 0.2 * parts[1], rel=1e-5)


def small_dense(config):
    import keras

    inputs = keras.Input((5,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


@pattern("`sample_weight` as a third element of `tf.data` elements",
         "keras-io guides/training_with_built_in_methods.py", "compiled",
         "weights of 2 double the first step's training loss")
def _sample_weight_tf_data(pk, tmp_path, monkeypatch):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def splits(weight):
        w = np.full(300, weight, "float32")
        make = lambda s: tf.data.Dataset.from_tensor_slices((x[s], y[s], w[s])).batch(32)
        return make(slice(0, 200)), make(slice(200, 250)), make(slice(250, 300))

    losses = []
    for weight in (1.0, 2.0):
        workload = pk.Workload(pk.from_tf_data(*splits(weight)), model=small_dense)
        result = pk.train_trial(workload, {}, 0, max_train_steps=1, eval_every=1)
        losses.append(result.curves.query("metric == 'minibatch_loss'")["value"].iloc[0])
    assert losses[1] == __import__("pytest").approx(2 * losses[0], rel=1e-6)
    workload = pk.Workload(pk.from_tf_data(*splits(2.0)), model=small_dense)
    assert engines_of(study(pk, workload, pk.SearchSpace().nuisance(
        "learning_rate", 1e-3, 1e-2, scale="log"), tmp_path, "weighted")) == {"compiled"}


@pattern("`sample_weight` arrays beside the features",
         "keras-io guides/training_with_built_in_methods.py", "compiled",
         "weights of 3 triple the validation loss before training; accuracy is unweighted")
def _sample_weight_arrays(pk, tmp_path, monkeypatch):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.reshape(len(bunch.images), -1) / 16.0
    results = []
    for weight in (1.0, 3.0):
        data = pk.split_arrays("digits", x, bunch.target,
                               sample_weight=np.full(len(x), weight))
        results.append(pk.train_trial(pk.Workload(data), {}, 0, max_train_steps=1,
                                      eval_every=1))
    first = [r.curves.query("step == 0 and split == 'validation'").set_index("metric")["value"]
             for r in results]
    assert first[1]["loss"] == __import__("pytest").approx(3 * first[0]["loss"], rel=1e-5)
    assert first[1]["accuracy"] == first[0]["accuracy"]
    workload = pk.Workload(data)
    assert engines_of(study(pk, workload, pk.SearchSpace().nuisance(
        "learning_rate", 1e-3, 1e-2, scale="log"), tmp_path, "weighted")) == {"compiled"}


@pattern("`class_weight`", "keras-io examples/structured_data/imbalanced_classification.py",
         "compiled", "class weights of 2 double the first step's training loss; "
                     "{0: 1, 1: 10} changes the trained model")
def _class_weight(pk, tmp_path, monkeypatch):
    data = cancer(pk)
    base = dict(model="keras_code:binary_builder", loss="binary_crossentropy",
                metrics=["accuracy"])
    losses = []
    for weights in (None, {0: 2.0, 1: 2.0}):
        result = pk.train_trial(pk.Workload(data, class_weight=weights, **base), {}, 0,
                                max_train_steps=1, eval_every=1)
        losses.append(result.curves.query("metric == 'minibatch_loss'")["value"].iloc[0])
    assert losses[1] == __import__("pytest").approx(2 * losses[0], rel=1e-6)
    workload = pk.Workload(data, class_weight={0: 1.0, 1: 10.0}, **base)
    result = study(pk, workload, pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2,
                                                           scale="log"), tmp_path, "weighted")
    assert engines_of(result) == {"compiled"}
    plain = pk.train_trial(pk.Workload(data, **base), pk.config_of(result, "0"), 0,
                           max_train_steps=STEPS, eval_every=EVERY)
    assert plain.objective != result.trials["objective"].iloc[0] or \
        plain.final_metrics["val_loss"] != pk.load_study(tmp_path / "weighted").curves.query(
            "trial_id == '0' and split == 'validation' and metric == 'loss'")["value"].iloc[-1]


def binary_builder(config):
    import keras

    inputs = keras.Input((30,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))


def _py_dataset_class():
    import keras

    class DigitsSequence(keras.utils.PyDataset):
        """keras-io training_with_built_in_methods.py's ``PyDataset`` pattern."""

        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size
            self.reads = 0

        def __len__(self):
            return int(np.ceil(len(self.x) / float(self.batch_size)))

        def __getitem__(self, idx):
            self.reads += 1
            batch_x = self.x[idx * self.batch_size:(idx + 1) * self.batch_size]
            batch_y = self.y[idx * self.batch_size:(idx + 1) * self.batch_size]
            return batch_x, batch_y

    return DigitsSequence


@pattern("`keras.utils.PyDataset`", "keras-io guides/training_with_built_in_methods.py",
         "fit", "trains exactly max_train_steps batches from the dataset's __getitem__")
def _py_dataset(pk, tmp_path, monkeypatch):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.reshape(len(bunch.images), -1) / 16.0).astype("float32")
    sequence = _py_dataset_class()
    train = sequence(x[:1000], bunch.target[:1000], 32)
    data = pk.from_py_dataset(train, sequence(x[1000:1400], bunch.target[1000:1400], 64),
                              sequence(x[1400:], bunch.target[1400:], 64), num_classes=10)
    workload = pk.Workload(data, defaults={"width": 16})
    train.reads = 0
    result = pk.train_trial(workload, {}, 0, max_train_steps=40, eval_every=20)
    assert result.engine == "fit" and result.steps_completed == 40
    assert train.reads >= 40
    assert engines_of(study(pk, workload, pk.SearchSpace().nuisance(
        "learning_rate", 1e-3, 1e-2, scale="log"), tmp_path, "pyds")) == {"fit"}


def structured_builder(config):
    """keras-io structured_data_classification_from_scratch.py: a Normalization layer
    adapted on the training features inside the builder."""
    import keras
    from sklearn.datasets import load_breast_cancer

    x, _ = load_breast_cancer(return_X_y=True)
    normalizer = keras.layers.Normalization()
    normalizer.adapt(x.astype("float32"))
    inputs = keras.Input((30,))
    hidden = keras.layers.Dense(config["width"], activation="relu")(normalizer(inputs))
    hidden = keras.layers.Dropout(0.5)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    return model


@pattern("`Normalization.adapt` inside the model builder",
         "keras-io examples/structured_data/structured_data_classification_from_scratch.py",
         "compiled", "the adapted mean and variance are what trains, unchanged by training")
def _normalization(pk, tmp_path, monkeypatch):
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    data = pk.split_arrays("cancer", x, y)
    workload = pk.Workload(data, model=structured_builder, defaults={"width": 8})
    result = pk.train_trial(workload, {}, 0, max_train_steps=STEPS, eval_every=EVERY)
    model = pk.restore_checkpoint(workload, result)
    normalizer = model.layers[1]
    assert np.allclose(normalizer.mean.numpy().ravel(), x.mean(0), rtol=1e-4)
    assert result.engine == "compiled"
    assert engines_of(study(pk, workload, pk.SearchSpace().nuisance(
        "width", 4, 16, scale="integer"), tmp_path, "structured")) == {"compiled"}


def _texts(seed=0, n=240):
    rng = np.random.default_rng(seed)
    good, bad = ["good", "great", "fine", "superb"], ["bad", "awful", "poor", "dull"]
    labels = rng.integers(0, 2, n)
    texts = np.array([" ".join(rng.choice(good if label else bad, 3).tolist() + ["movie"])
                      for label in labels])
    return texts, labels


def text_builder(config):
    """keras-io examples/nlp/text_classification_from_scratch.py, in small: raw strings
    into a TextVectorization layer inside the model."""
    import keras

    texts, _ = _texts()
    vectorize = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(texts)
    inputs = keras.Input(shape=(1,), dtype="string")
    x = vectorize(inputs)
    x = keras.layers.Embedding(20, config["width"])(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pattern("string inputs with `TextVectorization` inside the model",
         "keras-io guides/preprocessing_layers.py; examples/nlp/text_classification_from_scratch.py",
         "compiled", "features stay strings (padding is the empty string); the study learns "
                     "the words")
def _text(pk, tmp_path, monkeypatch):
    texts, labels = _texts()
    data = pk.split_arrays("reviews", texts[:, None], labels)
    assert data.x_train.dtype.kind in "OU"
    workload = pk.Workload(data, model=text_builder,
                           defaults={"width": 8, "learning_rate": 3e-2})
    result = study(pk, workload, pk.SearchSpace().nuisance("width", 4, 8, scale="integer"),
                   tmp_path, "reviews", steps=30, every=10)
    assert engines_of(result) == {"compiled"}
    assert result.trials["objective"].max() > 0.9


def lookup_builder(config):
    """keras-io guides/preprocessing_layers.py: a string feature through ``StringLookup``
    one-hot, beside a numeric feature, inputs by name."""
    import keras

    lookup = keras.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot")
    color = keras.Input(shape=(1,), dtype="string", name="color")
    size = keras.Input(shape=(1,), name="size")
    x = keras.layers.concatenate([lookup(color), size])
    x = keras.layers.Dense(config["width"], activation="relu")(x)
    return keras.Model({"color": color, "size": size}, keras.layers.Dense(2)(x))


@pattern("a dict of named inputs with a string column through `StringLookup`",
         "keras-io guides/preprocessing_layers.py", "compiled",
         "the string column reaches the lookup as strings; the study learns from it")
def _string_lookup(pk, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    colors = rng.choice(["a", "b", "c"], 300)
    x = {"color": colors[:, None], "size": rng.normal(size=(300, 1)).astype("float32")}
    data = pk.split_arrays("colors", x, (colors == "b").astype(int))
    workload = pk.Workload(data, model=lookup_builder,
                           defaults={"width": 8, "learning_rate": 3e-2})
    result = study(pk, workload, pk.SearchSpace().nuisance("width", 4, 8, scale="integer"),
                   tmp_path, "colors", steps=30, every=10)
    assert engines_of(result) == {"compiled"}
    assert result.trials["objective"].max() > 0.9


def _sequences(seed, n):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    seqs = [rng.integers(1, 20, rng.integers(2, 9)) for _ in range(n)]
    labels = np.array([int(len(s) > 5) for s in seqs])
    dataset = tf.data.Dataset.from_generator(
        lambda: zip(seqs, labels), output_signature=(tf.TensorSpec((None,), tf.int64),
                                                     tf.TensorSpec((), tf.int64)))
    return dataset.padded_batch(16)


def sequence_builder(config):
    import keras

    inputs = keras.Input(shape=(None,), dtype="int64")
    x = keras.layers.Embedding(20, config["width"], mask_zero=True)(inputs)
    x = keras.layers.LSTM(4)(x)
    return keras.Model(inputs, keras.layers.Dense(2)(x))


@pattern("variable-length sequences batched with `padded_batch`",
         "keras-io examples/nlp (sequence models); tf.data padded_batch", "compiled",
         "the user's padded batches are kept (lengths vary between batches) and train")
def _padded_batch(pk, tmp_path, monkeypatch):
    data = pk.from_tf_data(_sequences(1, 160), _sequences(2, 48), _sequences(3, 48))
    assert data.kept_batches and data.input_shape == (None,)
    workload = pk.Workload(data, model=sequence_builder, defaults={"width": 4})
    result = study(pk, workload, pk.SearchSpace().nuisance("width", 2, 4, scale="integer"),
                   tmp_path, "sequences")
    assert engines_of(result) == {"compiled"}
    assert list(result.trials["status"]) == ["completed"] * 2


BACKBONE: list = []


def frozen_backbone_builder(config):
    """keras-io guides/transfer_learning.py: a frozen base with BatchNormalization called
    with ``training=False``, a new head on top."""
    import keras

    base_model = BACKBONE[0]
    base_model.trainable = False
    inputs = keras.Input(shape=(64,))
    x = base_model(inputs, training=False)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


@pattern("a frozen pretrained backbone with BatchNormalization in inference mode",
         "keras-io guides/transfer_learning.py", "compiled",
         "the backbone's weights and batch-norm statistics are unchanged by training")
def _frozen_backbone(pk, tmp_path, monkeypatch):
    import keras

    data = digits(pk, flat=True)
    base = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16),
                             keras.layers.BatchNormalization(), keras.layers.Activation("relu")])
    base.layers[1].moving_mean.assign(np.full(16, 0.5, "float32"))
    BACKBONE[:] = [base]
    before = [w.copy() for w in base.get_weights()]
    workload = pk.Workload(data, model=frozen_backbone_builder,
                           defaults={"learning_rate": 1e-2})
    result = pk.train_trial(workload, {}, 0, max_train_steps=10, eval_every=5)
    trained = pk.restore_checkpoint(workload, result, "best")
    after = trained.layers[1].get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after))
    assert engines_of(study(pk, workload, pk.SearchSpace().nuisance(
        "learning_rate", 1e-3, 1e-2, scale="log"), tmp_path, "frozen")) == {"compiled"}


def mixed_precision_builder(config):
    """tensorflow/docs mixed_precision guide: ``mixed_float16``, a float32 softmax head."""
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        inputs = keras.Input(shape=(64,), name="digits")
        x = keras.layers.Dense(config["width"], activation="relu", name="dense_1")(inputs)
        x = keras.layers.Dense(10, name="dense_logits")(x)
        outputs = keras.layers.Activation("softmax", dtype="float32", name="predictions")(x)
        model = keras.Model(inputs=inputs, outputs=outputs)
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return model


@pattern("mixed precision (`mixed_float16`, a float32 head)",
         "tensorflow/docs site/en/guide/mixed_precision.ipynb", "compiled",
         "trains with loss scaling (LossScaleOptimizer) in float16, evaluates in float32")
def _mixed_precision(pk, tmp_path, monkeypatch):
    from playbook_kit.training import programs

    workload = pk.Workload(digits(pk, flat=True), model=mixed_precision_builder,
                           defaults={"width": 32})
    result = pk.train_trial(workload, {}, 0, max_train_steps=STEPS, eval_every=EVERY)
    program = next(reversed(programs._STATE["cache"].values()))
    assert type(program.optimizer).__name__ == "LossScaleOptimizer"
    assert program.model.layers[1].compute_dtype == "float16"
    assert result.status == "completed" and np.isfinite(result.objective)
    assert engines_of(study(pk, workload, pk.SearchSpace().nuisance(
        "width", 16, 32, scale="integer"), tmp_path, "mixed")) == {"compiled"}


@pattern("metric objects with names (`AUC(name='auc')`, `FalseNegatives(name='fn')`), "
         "`from_logits=True`", "keras-io examples/structured_data/imbalanced_classification.py",
         "compiled", "val_auc is the objective, val_fn is recorded, the loss takes logits")
def _named_metrics(pk, tmp_path, monkeypatch):
    import keras

    workload = pk.Workload(
        cancer(pk), model="keras_code:logit_builder",
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.AUC(name="auc", from_logits=True),
                 keras.metrics.FalseNegatives(name="fn")], objective="val_auc")
    assert workload.direction == "max"
    result = study(pk, workload, pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2,
                                                           scale="log"), tmp_path, "auc")
    assert {"auc", "fn"} <= set(result.curves["metric"])
    assert engines_of(result) == {"compiled"}


def logit_builder(config):
    import keras

    inputs = keras.Input((30,))
    return keras.Model(inputs, keras.layers.Dense(1)(inputs))


@pattern("any Keras loss name: `binary_focal_crossentropy`, `kl_divergence`, `log_cosh`",
         "Keras losses API", "compiled", "each name gives that Keras loss, in the workload "
                                         "and in a compile")
def _loss_names(pk, tmp_path, monkeypatch):
    import keras

    data = cancer(pk)
    expected = {"binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
                "kl_divergence": keras.losses.KLDivergence,
                "log_cosh": keras.losses.LogCosh}
    for name, cls in expected.items():
        workload = pk.Workload(data, model=binary_builder, loss=name, objective="val_loss")
        assert isinstance(workload.make_loss().function, cls)
        assert pk.train_trial(workload, {}, 0, max_train_steps=STEPS,
                              eval_every=EVERY).status == "completed"
    result = study(pk, pk.Workload(data, model=binary_builder, loss="log_cosh",
                                   objective="val_loss"),
                   pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2, scale="log"),
                   tmp_path, "log_cosh")
    assert engines_of(result) == {"compiled"}


@pattern("the toolkit's own families with a Keras activation and optimizer name "
         "(`leaky_relu`, `rmsprop`)", "Keras activations and optimizers APIs", "compiled",
         "the mlp family builds LeakyReLU layers and trains with RMSprop")
def _family_keras_names(pk, tmp_path, monkeypatch):
    from playbook_kit.training import programs

    workload = pk.Workload(digits(pk), defaults={"activation": "leaky_relu",
                                                 "optimizer": "rmsprop", "width": 16})
    model = workload.build_model(workload.config())
    assert any(getattr(layer, "activation", None).__name__ == "leaky_relu"
               for layer in model.layers if hasattr(layer, "activation"))
    result = study(pk, workload, pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2,
                                                           scale="log"), tmp_path, "family")
    assert list(result.trials["status"]) == ["completed"] * 2
    program = next(reversed(programs._STATE["cache"].values()))
    assert type(program.optimizer).__name__ == "RMSprop"


# ------------------------------------------------------------------------- labels

@pattern("one-hot and multi-hot label arrays with the default task",
         "keras-io guides/keras_tuner/getting_started.py (to_categorical labels)", "compiled",
         "3 one-hot classes are 3 classes, kept one-hot; multi-hot rows are refused naming "
         "task='multilabel'; the default loss on one-hot labels names categorical_crossentropy")
def _labels(pk, tmp_path, monkeypatch):
    import keras
    import pytest

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype("float32")
    classes = np.repeat([0, 1, 2], 100)
    data = pk.split_arrays("three", x, keras.utils.to_categorical(classes, 3))
    assert (data.num_classes, data.labels) == (3, "one_hot")
    assert sorted(set(data.y_train.argmax(1))) == [0, 1, 2]
    multi = keras.utils.to_categorical(classes, 3)
    multi[:, 0] = 1
    with pytest.raises(ValueError, match=r"multi-hot .*pass task='multilabel'"):
        pk.split_arrays("multi", x, multi)
    with pytest.raises(pk.WorkloadError, match=r"one-hot but loss .* give "
                                               r"loss='categorical_crossentropy'"):
        pk.dry_run(pk.Workload(data, defaults={"width": 8}))
    workload = pk.Workload(data, defaults={"width": 8}, metrics=["accuracy"],
                           loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    result = study(pk, workload, pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-2,
                                                           scale="log"), tmp_path, "three")
    assert list(result.trials["status"]) == ["completed"] * 2


def width_builder(config):
    import keras

    inputs = keras.Input((64,))
    return keras.Model(inputs, keras.layers.Dense(10)(inputs))


@pattern("a searched hyperparameter the model builder never reads",
         "(a mistake the toolkit must not hide)", "refused",
         "refused before training, naming the hyperparameter and why it would not reach "
         "the model; no trial is stored")
def _unread(pk, tmp_path, monkeypatch):
    import pytest

    workload = pk.Workload(digits(pk, flat=True), model=width_builder)
    space = pk.SearchSpace().nuisance("width", 8, 64, scale="integer")
    with pytest.raises(ValueError, match=r"^hyperparameter 'width' of study 'unread' would "
                                         r"not reach the model: the model builder never "
                                         r"reads config\['width'\]"):
        study(pk, workload, space, tmp_path, "unread")
    assert not (tmp_path / "unread").exists()
