"""Trainer vs the default keras-tuner way of training, side by side in one run.

Trains the same 10 digits-MLP configs (a) with ``playbook_kit.train_trial`` and (b) as a
keras-tuner user does by default: numpy arrays into ``model.fit`` with
``validation_data``, epochs and ``verbose=0``. Both take the same number of optimizer
steps and evaluate the validation set as often (once per epoch's worth of steps).
Prints both wall times, their ratio and both mean best validation accuracies.

    python bench/trainer_overhead.py          # ~18 epochs per config (a minute or two)
    python bench/trainer_overhead.py --full   # ~60 epochs per config
"""
import argparse
import math
import time

import numpy as np

import playbook_kit as pk


def configs(n=10):
    rates = np.geomspace(3.0e-4, 1.0e-2, n // 2)
    return [{"learning_rate": float(lr), "width": width} for width in (64, 128) for lr in rates]


def keras_default(workload, config, seed, epochs):
    import keras

    pk.seed_everything(seed)
    keras.backend.clear_session()
    data = workload.dataset
    model = pk.build_model(config, data.input_shape, data.num_classes)
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(data.x_train, data.y_train, batch_size=config["batch_size"],
                        epochs=epochs, validation_data=(data.x_val, data.y_val), verbose=0)
    return max(history.history["val_accuracy"])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    pk.setup(seed=0)
    workload = pk.Workload(pk.load_digits(), defaults={"batch_size": 64})
    epochs = 60 if args.full else 18
    steps_per_epoch = math.ceil(len(workload.dataset.y_train) / 64)
    steps = epochs * steps_per_epoch
    runs = [workload.config(c) for c in configs()]
    print(f"{len(runs)} configs, {steps} optimizer steps each ({epochs} epochs of "
          f"{steps_per_epoch} steps), validation every {steps_per_epoch} steps")

    started = time.perf_counter()
    ours = [pk.train_trial(workload, c, seed=0, max_train_steps=steps,
                           eval_every=steps_per_epoch).objective for c in runs]
    trainer_s = time.perf_counter() - started

    started = time.perf_counter()
    theirs = [keras_default(workload, c, 0, epochs) for c in runs]
    keras_s = time.perf_counter() - started

    print(f"trainer:            {trainer_s:7.1f} s  mean best val_accuracy {np.mean(ours):.4f}")
    print(f"keras fit default:  {keras_s:7.1f} s  mean best val_accuracy {np.mean(theirs):.4f}")
    print(f"accuracy difference (trainer - keras): {np.mean(ours) - np.mean(theirs):+.4f} "
          f"(per-config std of difference {np.std(np.subtract(ours, theirs)):.4f})")
    print(f"speedup_vs_keras_fit={keras_s / trainer_s:.2f}x (target >=2x)")


if __name__ == "__main__":
    main()
