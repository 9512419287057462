"""Workers: one process vs a chief and two workers on loopback, same study, side by side.

The same study file (digits MLP, width 64, batch 64; ``depth`` in {1, 2, 3} and a
log-scaled ``learning_rate``; 16 quasi-random trials) runs as ``playbook-kit study FILE``
(one process) and as ``playbook-kit study FILE --workers 2`` (a chief oracle and two
worker processes started by ``launch_workers``), each into its own temporary folder.
Both are timed from the command's start to its exit, TensorFlow start-up included,
because that is what a user waits for. Prints, for each side, the wall time and trials
per hour, then where the workers' time went, read from the trial records (each stores
the ``tuner_id`` that ran it and its ``duration_s``; a record's file time is when the
trial ended): each worker's start-up until its first trial began, its time inside trials,
its time between trials, and the time from the last trial's end to the command's exit.

    python bench/workers.py                # 16 trials of 1,500 steps (about a minute)
    python bench/workers.py --full         # 64 trials of 1,500 steps
    python bench/workers.py --steps 300    # short trials: start-up weighs more
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

WORKERS = 2


def study_file(path: Path, trials: int, steps: int) -> Path:
    spec = {"name": "workers", "data": {"name": "digits"},
            "defaults": {"model": "mlp", "width": 64, "batch_size": 64},
            "objective": "val_accuracy",
            "space": {"depth": {"role": "scientific", "values": [1, 2, 3]},
                      "learning_rate": {"role": "nuisance", "range": [1.0e-4, 1.0e-2],
                                        "scale": "log"}},
            "algorithm": "quasi_random", "max_trials": trials, "max_train_steps": steps,
            "eval_every": max(1, steps // 10), "seed": 0}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run(spec: Path, directory: Path, workers: int) -> tuple[float, float, float]:
    """Run the study command; returns (start, end) as wall-clock times and the CPU
    seconds its processes used (a figure the other load on a shared machine moves less)."""
    command = [sys.executable, "-m", "playbook_kit.cli", "study", str(spec),
               "--directory", str(directory), "--no-progress"]
    if workers:
        command += ["--workers", str(workers)]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return start, end, cpu


def timeline(project: Path, start: float, end: float) -> dict:
    """Per tuner: start-up (command start to first trial start), time in trials, time
    between trials, and tail (last trial end to command exit), in seconds."""
    by_tuner: dict = {}
    for path in project.glob("trial_*/playbook.json"):
        record = json.loads(path.read_text())
        finished = path.stat().st_mtime
        by_tuner.setdefault(record["tuner_id"], []).append(
            (finished - record["duration_s"], finished))
    out = {}
    for tuner, spans in sorted(by_tuner.items()):
        spans.sort()
        inside = sum(b - a for a, b in spans)
        out[tuner] = {"trials": len(spans), "startup_s": spans[0][0] - start,
                      "in_trials_s": inside,
                      "between_s": spans[-1][1] - spans[0][0] - inside,
                      "tail_s": end - spans[-1][1]}
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="64 trials instead of 16")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--steps", type=int, default=1500, help="steps per trial")
    args = parser.parse_args()
    trials, steps = args.trials or (64 if args.full else 16), args.steps
    print(f"{os.cpu_count()} CPU cores; {trials} trials of {steps} steps; "
          f"one process vs chief + {WORKERS} workers")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = study_file(tmp / "workers.yaml", trials, steps)
        for label, workers in (("one process", 0), (f"{WORKERS} workers", WORKERS)):
            directory = tmp / label.replace(" ", "-")
            start, end, cpu = run(spec, directory, workers)
            wall = end - start
            rates[label] = trials / wall * 3600
            print(f"{label:>12}: {wall:6.1f} s  {rates[label]:7.0f} trials/hour  "
                  f"({cpu:5.1f} CPU s in all its processes)")
            for tuner, t in timeline(directory / "workers", start, end).items():
                print(f"{'':>14}{tuner}: {t['trials']:2d} trials, start-up "
                      f"{t['startup_s']:5.2f} s, in trials {t['in_trials_s']:5.2f} s, between "
                      f"trials {t['between_s']:5.2f} s, after the last {t['tail_s']:5.2f} s")
    ratio = rates[f"{WORKERS} workers"] / rates["one process"]
    print(f"workers_speedup={ratio:.2f}x (target >=1.3x)")


if __name__ == "__main__":
    main()
