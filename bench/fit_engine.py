"""The fit engine against keras-tuner, side by side: a model with its own ``train_step``.

Both sides tune the same hypermodel, unchanged: keras-io's ``CustomModel`` (the first
example of guides/custom_train_step_in_tensorflow.py, a ``train_step`` of its own) as a
digits MLP, ``units`` in {32, 64, 128} and a log-scaled learning rate, Adam, batch 64,
with the same trial budget and the same optimizer steps per trial:

* ours: ``pk.Workload.from_hypermodel(build)``, whose trials run on the fit engine (the
  model overrides ``train_step``), ``pk.run_study(..., algorithm="quasi_random")`` with
  ``max_train_steps = epochs * ceil(n_train / 64)`` and an evaluation per epoch's worth of
  steps;
* keras-tuner as its documentation shows it: ``kt.RandomSearch(build,
  objective="val_accuracy")`` and ``tuner.search(x, y, epochs=epochs,
  validation_data=(x_val, y_val))`` on numpy arrays.

One untimed warm-up trial of each runs first. Prints each side's wall time, trials per
hour and best validation accuracy; the last line is the throughput ratio.

    python bench/fit_engine.py          # 10 trials of 10 epochs each side
    python bench/fit_engine.py --full   # 30 trials of 20 epochs each side
"""
import argparse
import math
import tempfile
import time
from pathlib import Path

import playbook_kit as pk

BATCH_SIZE = 64


def build(hp):
    """keras-io's CustomModel (its own train_step) around a digits MLP."""
    import keras
    import tensorflow as tf

    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred)
            trainable_vars = self.trainable_variables
            gradients = tape.gradient(loss, trainable_vars)
            self.optimizer.apply(gradients, trainable_vars)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = keras.Input(shape=(8, 8, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(hp.Choice("units", [32, 64, 128]), activation="relu")(x)
    model = CustomModel(inputs, keras.layers.Dense(10)(x))
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log")),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def keras_tuner_search(data, trials, epochs, directory, name, seed=0):
    import keras_tuner as kt

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=trials, seed=seed,
                            directory=str(directory), project_name=name, overwrite=True)
    tuner.search(data.x_train, data.y_train, batch_size=BATCH_SIZE, epochs=epochs,
                 validation_data=(data.x_val, data.y_val), verbose=0)
    scores = [t.score for t in tuner.oracle.trials.values()
              if t.score is not None and math.isfinite(t.score)]
    return len(tuner.oracle.trials), max(scores) if scores else float("nan")


def ours_search(data, trials, steps, eval_every, directory, name, seed=0):
    workload, space = pk.Workload.from_hypermodel(build, data,
                                                  defaults={"batch_size": BATCH_SIZE})
    study = pk.run_study(workload, space, max_trials=trials, max_train_steps=steps,
                         eval_every=eval_every, algorithm="quasi_random", seed=seed,
                         directory=directory, name=name, progress=False)
    engines = set(study.runs["engine"])
    if engines != {"fit"}:
        raise RuntimeError(f"the trials ran on {engines}, not the fit engine")
    best = float(study.feasible["objective"].max()) if len(study.feasible) else float("nan")
    return len(study.trials), best


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    pk.setup(seed=0)
    data = pk.load_digits()
    trials = 30 if args.full else 10
    epochs = 20 if args.full else 10
    steps_per_epoch = math.ceil(len(data.y_train) / BATCH_SIZE)
    steps = epochs * steps_per_epoch
    print(f"{trials} trials each side, {steps} optimizer steps per trial ({epochs} epochs of "
          f"{steps_per_epoch} steps, batch {BATCH_SIZE}), validation every "
          f"{steps_per_epoch} steps; the model overrides train_step")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours_search(data, 1, steps_per_epoch, steps_per_epoch, tmp, "warmup_ours")
        keras_tuner_search(data, 1, 1, tmp, "warmup_kt")
        started = time.perf_counter()
        ours_n, ours_best = ours_search(data, trials, steps, steps_per_epoch, tmp, "ours")
        ours_s = time.perf_counter() - started
        started = time.perf_counter()
        kt_n, kt_best = keras_tuner_search(data, trials, epochs, tmp, "keras_tuner")
        kt_s = time.perf_counter() - started
    ours_rate, kt_rate = ours_n / ours_s * 3600, kt_n / kt_s * 3600
    print(f"{'':28} {'trials':>6} {'wall s':>8} {'trials/hour':>12} {'best val_accuracy':>18}")
    print(f"{'playbook-kit (fit engine)':28} {ours_n:>6} {ours_s:>8.1f} {ours_rate:>12.0f} "
          f"{ours_best:>18.4f}")
    print(f"{'keras-tuner RandomSearch':28} {kt_n:>6} {kt_s:>8.1f} {kt_rate:>12.0f} "
          f"{kt_best:>18.4f}")
    print(f"fit_engine_trials_per_hour_ratio={ours_rate / kt_rate:.2f}x (best val_accuracy "
          f"{ours_best:.4f} vs {kt_best:.4f}) (target >=1.5x)")


if __name__ == "__main__":
    main()
