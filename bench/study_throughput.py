"""Study throughput: a playbook-kit study vs keras-tuner's RandomSearch, side by side.

Both search the same space (``learning_rate`` log in [1e-4, 1e-1], ``width`` in
{32, 64, 128}) of the same digits MLP (``playbook_kit.build_model``, Adam, batch 64) with
the same trial budget and the same number of optimizer steps per trial:

* ours: ``pk.run_study(..., algorithm="quasi_random")`` with
  ``max_train_steps = epochs * ceil(n_train / 64)`` and evaluation once per epoch's
  worth of steps (``eval_every = ceil(n_train / 64)``), best-2 checkpoints kept;
* keras-tuner as its documentation shows it: a hypermodel function that builds and
  compiles the model, ``kt.RandomSearch(..., objective="val_accuracy")`` and
  ``tuner.search(x, y, epochs=epochs, validation_data=(x_val, y_val), verbose=0)`` with
  numpy arrays.

Each side writes its own project directory in a temporary folder; one untimed warm-up
trial of each runs first so that neither pays TensorFlow's start-up. Prints each side's
wall time, trials per hour and best validation accuracy.

Both sides count the same thing: every trial of the budget, however it ended (each side
runs all ``trials`` of its budget; a trial of ours that turns infeasible stops early, as
the toolkit does, and still counts, just as a diverged keras-tuner trial counts). Feasible
trials are reported in their own column: ours by the toolkit's rule (``study.feasible``),
keras-tuner's as the trials that have a score and a finite final training loss.

    python bench/study_throughput.py          # 10 trials of 10 epochs each side
    python bench/study_throughput.py --full   # 30 trials of 20 epochs each side
"""
import argparse
import math
import tempfile
import time
from pathlib import Path

import playbook_kit as pk

BATCH_SIZE = 64


def space():
    return (pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-1, scale="log")
            .nuisance("width", values=[32, 64, 128]))


def keras_tuner_search(workload, trials, epochs, directory, name, seed=0):
    """keras-tuner's documented way: hypermodel function, RandomSearch, search on arrays."""
    import keras
    import keras_tuner as kt

    data = workload.dataset

    def build(hp):
        config = workload.config({
            "learning_rate": hp.Float("learning_rate", 1.0e-4, 1.0e-1, sampling="log"),
            "width": hp.Choice("width", [32, 64, 128])})
        model = pk.build_model(config, data.input_shape, data.num_classes)
        model.compile(optimizer=keras.optimizers.Adam(config["learning_rate"]),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        return model

    tuner = kt.RandomSearch(build, objective="val_accuracy", max_trials=trials, seed=seed,
                            directory=str(directory), project_name=name, overwrite=True)
    tuner.search(data.x_train, data.y_train, batch_size=BATCH_SIZE, epochs=epochs,
                 validation_data=(data.x_val, data.y_val), verbose=0)
    trials_run = list(tuner.oracle.trials.values())
    feasible = [t for t in trials_run if t.score is not None and math.isfinite(t.score)
                and t.metrics.exists("loss") and math.isfinite(t.metrics.get_last_value("loss"))]
    scored = [t.score for t in trials_run if t.score is not None and math.isfinite(t.score)]
    return len(trials_run), len(feasible), max(scored) if scored else float("nan")


def ours_search(workload, trials, steps, eval_every, directory, name, seed=0, pack=None):
    extra = {} if pack is None else {"pack": pack}
    study = pk.run_study(workload, space(), max_trials=trials, max_train_steps=steps,
                         eval_every=eval_every, algorithm="quasi_random", seed=seed,
                         directory=directory, name=name, progress=False, **extra)
    return (len(study.trials), len(study.feasible),
            float(study.feasible["objective"].max()) if len(study.feasible) else float("nan"))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--pack", type=int, default=None,
                        help="the study's pack (default: the toolkit's; 1: one by one)")
    args = parser.parse_args()
    pk.setup(seed=0)
    workload = pk.Workload(pk.load_digits(), defaults={"batch_size": BATCH_SIZE})
    trials = 30 if args.full else 10
    epochs = 20 if args.full else 10
    steps_per_epoch = math.ceil(len(workload.dataset.y_train) / BATCH_SIZE)
    steps = epochs * steps_per_epoch
    print(f"{trials} trials each side, {steps} optimizer steps per trial ({epochs} epochs of "
          f"{steps_per_epoch} steps, batch {BATCH_SIZE}), validation every "
          f"{steps_per_epoch} steps")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours_search(workload, 1, steps_per_epoch, steps_per_epoch, tmp, "warmup_ours")
        keras_tuner_search(workload, 1, 1, tmp, "warmup_kt")

        started = time.perf_counter()
        ours_n, ours_ok, ours_best = ours_search(workload, trials, steps, steps_per_epoch, tmp,
                                                 "ours", pack=args.pack)
        ours_s = time.perf_counter() - started

        started = time.perf_counter()
        kt_n, kt_ok, kt_best = keras_tuner_search(workload, trials, epochs, tmp, "keras_tuner")
        kt_s = time.perf_counter() - started

    for side, n in (("playbook-kit", ours_n), ("keras-tuner", kt_n)):
        if n != trials:
            raise RuntimeError(f"{side} ran {n} trials, not the budget of {trials}")
    ours_rate = ours_n / ours_s * 3600
    kt_rate = kt_n / kt_s * 3600
    print(f"{'':24} {'trials':>6} {'feasible':>8} {'wall s':>8} {'trials/hour':>12} "
          f"{'best val_accuracy':>18}")
    print(f"{'playbook-kit run_study':24} {ours_n:>6} {ours_ok:>8} {ours_s:>8.1f} "
          f"{ours_rate:>12.0f} {ours_best:>18.4f}")
    print(f"{'keras-tuner RandomSearch':24} {kt_n:>6} {kt_ok:>8} {kt_s:>8.1f} "
          f"{kt_rate:>12.0f} {kt_best:>18.4f}")
    print(f"trials_per_hour_ratio={ours_rate / kt_rate:.2f}x (all {trials} trials each side; "
          f"feasible {ours_ok} vs {kt_ok}) (target >=6x)")


if __name__ == "__main__":
    main()
