"""Per-trial overhead: a trial's wall time minus the time of its steps and evaluations.

Runs a study-like sequence of same-shaped trials (digits MLP, width 64, batch 64, 300
steps, evaluation every 25 steps: the trainer's defaults) whose learning rate and
``beta1`` change from trial to trial, first with compiled programs reused (the default),
then the same configs with ``reuse_programs=False``, in one process. Inside each trial
the compiled train loop and evaluation calls are timed (a wrapper around the trial's
program); the trial's overhead is its wall time minus those calls. The first trial's
calls include tracing, which is overhead: its overhead is its wall time minus the
median steps-and-evaluations time of the warm trials (same steps, same program shape).

Prints the median overhead of the warm trials, the cold (first) trial's, and the same
without reuse; the last line is the warm median against the target.

    python bench/trial_overhead.py          # 8 trials each way
    python bench/trial_overhead.py --full   # 30 trials each way
"""
import argparse
import statistics
import time

import numpy as np

import playbook_kit as pk
from playbook_kit.training import programs

STEPS = 300


def configs(n):
    rates = np.geomspace(3.0e-4, 1.0e-2, n)
    return [{"learning_rate": float(lr), "beta1": 0.9 if i % 2 else 0.8}
            for i, lr in enumerate(rates)]


class Timer:
    """Wraps each program's compiled calls and adds up their time."""

    def __init__(self):
        self.seconds = 0.0
        self.wrapped = set()
        self.original = programs.program_for

    def program_for(self, *args, **kwargs):
        program = self.original(*args, **kwargs)
        if id(program) not in self.wrapped:
            self.wrapped.add(id(program))
            program.train_steps = self.timed(program.train_steps)
            program.evaluate = self.timed(program.evaluate)
        return program

    def timed(self, function):
        def call(*args):
            start = time.perf_counter()
            out = function(*args)
            self.seconds += time.perf_counter() - start
            return out
        return call


def run(workload, runs, timer):
    rows = []
    for config in runs:
        timer.seconds = 0.0
        start = time.perf_counter()
        result = pk.train_trial(workload, config, seed=0, max_train_steps=STEPS)
        rows.append((time.perf_counter() - start, timer.seconds, result.objective))
    return rows


def summary(rows):
    """(cold overhead, warm median overhead, warm steps-and-evaluations median). The cold
    trial's own calls include tracing (overhead): it is measured against the warm median."""
    walls, timed, _ = zip(*rows)
    warm = [w - t for w, t in zip(walls[1:], timed[1:])]
    steps = statistics.median(timed[1:])
    return walls[0] - steps, statistics.median(warm), steps


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    pk.setup(seed=0)
    workload = pk.Workload(pk.load_digits(), defaults={"batch_size": 64, "width": 64})
    runs = configs(30 if args.full else 8)
    timer = Timer()
    programs.program_for = timer.program_for
    programs.clear()
    reused = run(workload, runs, timer)
    programs.set_reuse(False)
    fresh = run(workload, runs, timer)
    programs.set_reuse(True)
    if [r[2] for r in reused] != [r[2] for r in fresh]:
        raise SystemExit("reused and fresh programs gave different results")
    print(f"{len(runs)} trials each way: digits MLP width 64, batch 64, {STEPS} steps, "
          f"evaluation every 25 steps")
    cold, warm, steps = summary(reused)
    walls = [r[0] for r in reused]
    print(f"reused programs:      trial wall median {statistics.median(walls[1:]):.3f} s, "
          f"its steps and evaluations {steps:.3f} s; overhead: cold (first) trial {cold:.3f} s, "
          f"warm trials median {warm:.3f} s")
    fresh_walls = [r[0] for r in fresh]
    print(f"reuse_programs=False: trial wall median {statistics.median(fresh_walls):.3f} s; "
          f"overhead (wall - reused steps and evaluations) median "
          f"{statistics.median(fresh_walls) - steps:.3f} s")
    print(f"per_trial_overhead_s={warm:.3f} (target <=0.1)")


if __name__ == "__main__":
    main()
