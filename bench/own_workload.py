"""The trainer against ``model.fit`` on the user's own workloads (issue 10, item 8).

Two workloads: a regression model (scikit-learn's diabetes, a user builder, MSE loss,
MAE metric) on arrays, and a binary classifier on CSV files streamed from disk
(``pk.stream_csv``). Each is trained for the same steps with the same evaluations (the
validation split every ``eval_every`` steps) by ``pk.train_trial`` and by
``model.fit``; the figure is fit's time over the trainer's, taken where both reach
about the same validation loss (printed beside it). The trainer also evaluates a
training sample at each evaluation, which fit does not: the ratio is conservative.

``python bench/own_workload.py`` runs a small size in about a minute; ``--full`` runs
ten times the steps.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import playbook_kit as pk  # noqa: E402


def regression_builder(config):
    import keras

    inputs = keras.Input((10,))
    x = keras.layers.Dense(config["width"], activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(x))


def csv_builder(config):
    import keras

    inputs = keras.Input((8,))
    x = keras.layers.Dense(config["width"], activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))


def diabetes():
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return pk.split_arrays("diabetes", (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std(),
                           task="regression")


def csv_files(folder: Path, rows: int) -> dict:
    import pandas as pd

    rng = np.random.default_rng(0)
    paths = {}
    for split, n in (("train", rows), ("validation", rows // 4), ("test", rows // 4)):
        x = rng.normal(size=(n, 8))
        frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(8)])
        frame["target"] = (x[:, 0] + x[:, 1] - x[:, 2] > 0).astype(int)
        paths[split] = folder / f"{split}.csv"
        frame.to_csv(paths[split], index=False)
    return paths


def with_trainer(workload, steps, eval_every):
    start = time.perf_counter()
    result = pk.train_trial(workload, {}, seed=0, max_train_steps=steps, eval_every=eval_every)
    seconds = time.perf_counter() - start
    return seconds, result.final_metrics["val_loss"]


def with_fit(workload, steps, eval_every):
    import keras

    pk.seed_everything(0)
    keras.backend.clear_session()
    config = workload.config()
    data = workload.dataset
    model = workload.build_model(config)
    model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]),
                  loss=workload.make_loss().function, metrics=workload.metrics)
    train = data.train_stream(config["batch_size"], 0)
    if isinstance(data, pk.PipelineDataset):  # the same batches the trainer evaluates
        validation = data.validation.batch(data.eval_size(config["batch_size"]))
        validation = validation.take(data.eval_batches) if data.eval_batches else validation
    else:
        validation = (data.x_val, data.y_val)
    start = time.perf_counter()
    history = model.fit(train, steps_per_epoch=eval_every, epochs=steps // eval_every,
                        validation_data=validation, verbose=0)
    seconds = time.perf_counter() - start
    return seconds, history.history["val_loss"][-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="ten times the steps")
    args = parser.parse_args()
    pk.setup(seed=0)
    scale = 10 if args.full else 1
    steps, eval_every = 400 * scale, 25
    ratios = []
    with tempfile.TemporaryDirectory() as folder:
        paths = csv_files(Path(folder), 4000 * scale)
        workloads = {
            "regression (arrays)": pk.Workload(
                diabetes(), defaults={"width": 32, "learning_rate": 3.0e-3},
                model=regression_builder, loss="mse", metrics=["mae"], objective="val_loss"),
            "binary (CSV streamed)": pk.Workload(
                pk.stream_csv(paths["train"], paths["validation"], paths["test"],
                              label="target", eval_batches=4),
                defaults={"width": 32, "learning_rate": 3.0e-3}, model=csv_builder,
                loss="binary_crossentropy", metrics=["accuracy"], objective="val_loss"),
        }
        for name, workload in workloads.items():
            with_trainer(workload, eval_every * 2, eval_every)  # trace once, as fit does below
            trainer_s, trainer_loss = with_trainer(workload, steps, eval_every)
            fit_s, fit_loss = with_fit(workload, steps, eval_every)
            ratio = fit_s / trainer_s
            ratios.append(ratio)
            print(f"{name}: trainer {trainer_s:.2f}s (val_loss {trainer_loss:.4f}), "
                  f"model.fit {fit_s:.2f}s (val_loss {fit_loss:.4f}): {ratio:.2f}x")
    print(f"speedup_vs_keras_fit={min(ratios):.1f}x (target >=2x)")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
