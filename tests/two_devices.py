"""Trials on a CPU split into two logical devices, run in a fresh process (TensorFlow fixes
its devices when it starts): ``python tests/two_devices.py OUT.json``. The test module
:mod:`test_distribute` reads what this writes."""
import json
import sys
import tempfile
from pathlib import Path

# name: (config, devices); digits MLP, two hidden layers, no dropout.
SCENARIOS = {
    "none": {},
    "clip_l2": {"clip_norm": 0.5, "l2": 1.0e-3},
    "momentum": {"optimizer": "momentum", "learning_rate": 3.0e-2},  # not scale-invariant
    "sync_batch": {"normalization": "sync_batch"},
    "batch": {"normalization": "batch"},
    "ghost_batch": {"normalization": "ghost_batch", "ghost_batch_size": 16},
}


def curves(result) -> dict:
    return {f"{split}/{metric}/{step}": value
            for step, split, metric, value in result.curves.itertuples(index=False)}


def moving_statistics_spread(pk, workload) -> float:
    """The largest difference between the replicas' copies of batch norm's moving
    statistics after a two-device loop of plain (unsynchronized) batch norm."""
    import tensorflow as tf

    from playbook_kit.training import distribute
    from playbook_kit.training.trainer import clip_gradients

    config = workload.config({"normalization": "batch", "devices": 2})
    strategy = distribute.strategy_for(config)
    with strategy.scope():
        model = workload.build_model(config)
        optimizer = pk.build_optimizer(config, 10)
        optimizer.build(model.trainable_variables)
    stream = workload.dataset.train_stream(config["batch_size"], 0)
    loop = distribute.train_steps(strategy, model, optimizer,
                                  distribute.distribute_stream(strategy, stream),
                                  workload.make_loss(), config["batch_size"],
                                  lambda grads: clip_gradients(grads, None))
    from playbook_kit.training.steps import zero_carry

    loop(tf.constant(5), zero_carry())
    spread = 0.0
    for variable in model.non_trainable_variables:
        first, second = strategy.experimental_local_results(variable.value)
        spread = max(spread, float(tf.reduce_max(tf.abs(first - second))))
    return spread


def main(out: str) -> None:
    import playbook_kit as pk

    pk.setup(seed=0, logical_cpus=2)
    workload = pk.Workload(pk.load_digits(seed=0),
                           defaults={"width": 32, "depth": 2, "learning_rate": 3.0e-3})
    from playbook_kit.training.distribute import local_devices

    report = {"devices": local_devices(), "curves": {}, "errors": {}}
    for name, config in SCENARIOS.items():
        for devices in (1, 2):
            result = pk.train_trial(workload, {**config, "devices": devices}, seed=1,
                                    max_train_steps=60, eval_every=20)
            report["curves"][f"{name}/{devices}"] = curves(result)
    report["moving_statistics_spread"] = moving_statistics_spread(pk, workload)
    folder = Path(tempfile.mkdtemp())
    config = {"normalization": "batch", "devices": 2}
    result = pk.train_trial(workload, config, seed=1, max_train_steps=40, eval_every=20,
                            checkpoint_dir=folder / "checkpoints")
    restored = pk.restore_checkpoint(workload, result)  # built on one device
    report["checkpoint"] = [result.objective, result.best_metrics["val_loss"],
                            pk.evaluate_model(workload, restored, config=config),
                            sorted(result.checkpoints)]
    for name, config in {"devices": {"devices": 3}, "batch_size": {"devices": "all", "batch_size": 63},
                         "ghost": {"devices": 2, "normalization": "ghost_batch",
                                   "ghost_batch_size": 64}}.items():
        try:
            pk.train_trial(workload, config, checkpoint_dir=folder / name, max_train_steps=5,
                           eval_every=5)
        except ValueError as error:
            report["errors"][name] = [str(error), (folder / name).exists()]
    Path(out).write_text(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
