"""Packed trials against the same trials one by one, side by side, in one process.

A nuisance study of one architecture: ``--trials`` trials of the digits MLP (Adam, batch
64) whose learning rate, ``beta1``, ``epsilon`` and schedule are drawn quasi-randomly
(``pk.SearchSpace``, Halton), each with its own seed, ``--steps`` steps and an evaluation
every ``--steps / 4``. Each round trains the whole set twice, with
``pk.train_pack(pack=--pack)`` and with ``pack=1`` (each trial alone, as ``train_trial``),
the order alternating between rounds after one untimed warm-up of each. Prints each
round's trials per minute both ways and the ratio (packed / alone), their median and
range, and whether every curve value of every trial is bit-identical.

The ceiling beside it: one trial's ``--steps`` steps alone, timed in its compiled loop
without evaluations or records, against a whole trial's time alone: what a trial costs
besides its steps (its model's build, evaluations, record) a pack still pays per trial,
so the trial's time over that rest bounds what packing the steps can gain.

    python bench/packed_trials.py                        # 32 trials, 600 steps, 3 rounds
    python bench/packed_trials.py --width 128 --trials 16
"""
import argparse
import statistics
import time

import numpy as np

import playbook_kit as pk
from playbook_kit.search.points import quasi_random_points


def configs(workload, trials: int) -> list:
    space = (pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-2, scale="log")
             .nuisance("beta1", 0.8, 0.95).nuisance("epsilon", 1.0e-8, 1.0e-4, scale="log")
             .nuisance("schedule", values=["constant", "cosine", "linear"]))
    return quasi_random_points(space, trials, seed=0)


def run(workload, points, steps, pack) -> tuple[float, list]:
    began = time.perf_counter()
    results = pk.train_pack(workload, points, list(range(len(points))),
                            max_train_steps=steps, eval_every=steps // 4, pack=pack)
    seconds = time.perf_counter() - began
    assert all(r.status == "completed" for r in results), [r.reason for r in results]
    return seconds, [r.curves["value"].to_numpy() for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--pack", type=int, default=32)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pk.setup(seed=0)
    workload = pk.Workload(pk.load_digits(seed=0), defaults={"width": args.width})
    points = configs(workload, args.trials)
    run(workload, points, 40, args.pack)
    run(workload, points[:2], 40, 1)
    ratios, identical = [], True
    print(f"{args.trials} trials of the digits MLP (width {args.width}), {args.steps} steps "
          f"each, pack={args.pack} against one by one")
    for round_ in range(args.rounds):
        order = (args.pack, 1) if round_ % 2 == 0 else (1, args.pack)
        timed = {pack: run(workload, points, args.steps, pack) for pack in order}
        (packed, curves), (alone, reference) = timed[args.pack], timed[1]
        identical &= all(np.array_equal(a, b, equal_nan=True)
                         for a, b in zip(curves, reference))
        ratios.append(alone / packed)
        print(f"round {round_ + 1}: packed {60 * args.trials / packed:7.1f} trials/min, "
              f"alone {60 * args.trials / alone:7.1f} trials/min: {alone / packed:.2f}x")
    print(f"packed over alone: {statistics.median(ratios):.2f}x median "
          f"({min(ratios):.2f}-{max(ratios):.2f}) over {args.rounds} rounds; curves "
          f"bit-identical: {identical}")
    ceiling(workload, points[0], args.steps, alone / args.trials)


def ceiling(workload, point, steps, trial_seconds) -> None:
    """One trial's steps alone (its compiled loop, no evaluation), against the time a
    whole trial took alone: the share of a trial that packing the steps can shrink."""
    import tensorflow as tf

    from playbook_kit.training.compiled_engine import trial_program
    from playbook_kit.training.trainer import seeded_model

    config = workload.config(point)
    model = seeded_model(workload, config, 0)[0]
    program, iterator, _ = trial_program(workload, config, 0, model, steps)
    program.train_steps(iterator, tf.constant(10))
    began = time.perf_counter()
    program.train_steps(iterator, tf.constant(steps))
    step_seconds = time.perf_counter() - began
    rest = trial_seconds - step_seconds
    print(f"ceiling: a trial alone took {trial_seconds:.3f} s, its {steps} steps "
          f"{step_seconds:.3f} s ({1e3 * step_seconds / steps:.3f} ms/step); the rest "
          f"({rest:.3f} s a trial: its model's build, evaluations and record) a pack still "
          f"pays per trial, so packing the steps to nothing would gain "
          f"{trial_seconds / max(rest, 1e-9):.2f}x")


if __name__ == "__main__":
    main()
