"""Workers: one process vs two workers on loopback, same study, side by side.

The same study file (digits MLP, width 64, batch 64; ``depth`` in {1, 2, 3} and a
log-scaled ``learning_rate``; 16 quasi-random trials) runs as ``playbook-kit study FILE``
(one process) and as ``playbook-kit study FILE --workers 2`` (two worker processes
started by ``launch_workers``, the first also serving the oracle), each into its own
temporary folder. Both are timed from the command's start to its exit, TensorFlow
start-up included, because that is what a user waits for. Prints, for each side, the
wall time and trials per hour, then where each process's time went, read from the trial
records (each stores the ``tuner_id`` that ran it and its ``duration_s``; a record's file
time is when the trial ended): its start-up until its first trial began, its time inside
trials, its time between trials, and the time from its last trial's end to the command's
exit; and the CPU seconds of each process (the launcher, each worker), split at the
worker's first trial: CPU time moves less than wall time when other work shares the cores.
From those, two ceilings on the ratio, measured in the same run, each one process's wall
time over the least time the workers could take on these cores: with their CPU seconds
spread perfectly over the cores (their CPU seconds / cores), and, for workers that shared
one start-up (forked after it, say), with one process's CPU seconds before its first trial
plus the workers' CPU seconds from their first trials on / cores. Beating both takes a
cheaper start-up or cheaper trials, not a better way of spreading them over the cores.

    python bench/workers.py                # 16 trials of 1,500 steps (about a minute)
    python bench/workers.py --steps 300    # short trials: start-up weighs more
    python bench/workers.py --repeats 3    # both sides 3 times, alternating: median, range
    python bench/workers.py --full         # 64 trials of 1,500 steps
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

WORKERS = 2

# Loaded by every Python process the bench starts (through PYTHONPATH): samples the
# process's CPU seconds every 0.1 s and writes them at exit, named by the tuner it runs.
CPU_PROBE = """
import atexit, json, os, resource, threading, time

def _cpu():
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime

_samples = [(time.time(), _cpu())]

def _sample():
    while True:
        time.sleep(0.1)
        _samples.append((time.time(), _cpu()))

def _write():
    _samples.append((time.time(), _cpu()))
    role = os.environ.get("KERASTUNER_TUNER_ID", "command")
    with open(os.path.join(os.environ["WORKERS_BENCH_CPU"], f"{role}-{os.getpid()}.json"),
              "w") as out:
        json.dump({"role": role, "samples": _samples}, out)

threading.Thread(target=_sample, daemon=True).start()
atexit.register(_write)
"""


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


def run(spec: Path, directory: Path, workers: int, probe: Path,
        cpu_dir: Path) -> tuple[float, float, float]:
    """Run the study command; returns (start, end) as wall-clock times and the CPU
    seconds its processes used (a figure the other load on a shared machine moves less).
    ``probe`` (a folder with the CPU probe) goes first on the processes' PYTHONPATH; their
    CPU samples land in ``cpu_dir``."""
    command = [sys.executable, "-m", "playbook_kit.cli", "study", str(spec),
               "--directory", str(directory), "--no-progress"]
    if workers:
        command += ["--workers", str(workers)]
    path = os.pathsep.join(p for p in (str(probe), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "WORKERS_BENCH_CPU": str(cpu_dir)}
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env)
    end = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return start, end, cpu


def trial_spans(project: Path) -> dict:
    """Per tuner, the (start, end) wall-clock times of its trials, in order."""
    by_tuner: dict = {}
    for path in project.glob("trial_*/playbook.json"):
        record = json.loads(path.read_text())
        finished = path.stat().st_mtime
        by_tuner.setdefault(record["tuner_id"], []).append(
            (finished - record["duration_s"], finished))
    return {tuner: sorted(spans) for tuner, spans in sorted(by_tuner.items())}


def timeline(spans: dict, start: float, end: float) -> dict:
    """Per tuner: start-up (command start to first trial start), time in trials, time
    between trials, and tail (last trial end to command exit), in seconds."""
    out = {}
    for tuner, tuner_spans in spans.items():
        inside = sum(b - a for a, b in tuner_spans)
        out[tuner] = {"trials": len(tuner_spans), "startup_s": tuner_spans[0][0] - start,
                      "in_trials_s": inside,
                      "between_s": tuner_spans[-1][1] - tuner_spans[0][0] - inside,
                      "tail_s": end - tuner_spans[-1][1]}
    return out


def cpu_by_process(cpu_dir: Path, spans: dict,
                   single: bool) -> list[tuple[str, float, float | None]]:
    """Per process: (role, CPU seconds in all, CPU seconds before its first trial began).

    The ``single`` process's role is "command" and it runs tuner0's trials; with
    workers, "command" is the launcher (no trials)."""
    rows = []
    for path in sorted(cpu_dir.glob("*.json")):
        probe = json.loads(path.read_text())
        samples = probe["samples"]
        tuner = "tuner0" if single else probe["role"]
        first = spans[tuner][0][0] if tuner in spans else None
        before = None if first is None else max(
            (cpu for t, cpu in samples if t <= first), default=0.0)
        rows.append((probe["role"], samples[-1][1], before))
    return rows


def run_side(label: str, spec: Path, tmp: Path, workers: int, probe: Path) -> dict:
    """Run one side once, print its breakdown; returns its wall seconds, trials per hour,
    CPU seconds in all its processes, the CPU seconds of the processes that ran trials from
    their first trials on, and (one process only) its CPU seconds before its first trial."""
    directory = tmp / label.replace(" ", "-")
    cpu_dir = tmp / f"cpu-{label.replace(' ', '-')}"
    cpu_dir.mkdir(parents=True)
    start, end, cpu = run(spec, directory, workers, probe, cpu_dir)
    wall, trials = end - start, len(list((directory / "workers").glob("trial_*")))
    rate = trials / wall * 3600
    print(f"{label:>12}: {wall:6.1f} s  {rate:7.0f} trials/hour  "
          f"({cpu:5.1f} CPU s in all its processes)")
    spans = trial_spans(directory / "workers")
    for tuner, t in timeline(spans, start, end).items():
        print(f"{'':>14}{tuner}: {t['trials']:2d} trials, start-up "
              f"{t['startup_s']:5.2f} s, in trials {t['in_trials_s']:5.2f} s, between "
              f"trials {t['between_s']:5.2f} s, after the last {t['tail_s']:5.2f} s")
    parts, before_first, in_trials = [], None, 0.0
    for role, total, before in cpu_by_process(cpu_dir, spans, single=not workers):
        name = "launcher" if workers and role == "command" else role
        if not workers:
            before_first = before
        if before is not None:
            in_trials += total - before
        split = "" if before is None else f" ({before:.1f} before its first trial)"
        parts.append(f"{name} {total:.1f}{split}")
    print(f"{'':>14}CPU s: " + "; ".join(parts))
    shutil.rmtree(directory)
    return {"wall": wall, "rate": rate, "cpu": cpu, "cpu_before_first": before_first,
            "cpu_in_trials": in_trials}


def ceilings(one: dict, many: dict, cores: int) -> dict:
    """The two ceilings on the workers' ratio (see the module's docstring)."""
    return {"these workers": one["wall"] / (many["cpu"] / cores),
            "one start-up": one["wall"] / (one["cpu_before_first"]
                                           + many["cpu_in_trials"] / cores)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="64 trials instead of 16")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--steps", type=int, default=1500, help="steps per trial")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run both sides this many times, alternating")
    args = parser.parse_args()
    trials, steps = args.trials or (64 if args.full else 16), args.steps
    print(f"{os.cpu_count()} CPU cores; {trials} trials of {steps} steps; "
          f"one process vs {WORKERS} workers; load average {os.getloadavg()[0]:.1f}")
    cores = len(os.sched_getaffinity(0))
    ratios, bounds = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = study_file(tmp / "workers.yaml", trials, steps)
        probe = tmp / "probe"
        probe.mkdir()
        (probe / "sitecustomize.py").write_text(CPU_PROBE)
        for repeat in range(args.repeats):
            one = run_side("one process", spec, tmp / f"run{repeat}", 0, probe)
            many = run_side(f"{WORKERS} workers", spec, tmp / f"run{repeat}", WORKERS, probe)
            ratios.append(many["rate"] / one["rate"])
            run_bounds = ceilings(one, many, cores)
            for name, bound in run_bounds.items():
                bounds.setdefault(name, []).append(bound)
            print(f"run {repeat + 1}: {ratios[-1]:.2f}x; ceilings on {cores} cores: " + ", ".join(
                f"{name} {bound:.2f}x" for name, bound in run_bounds.items())
                + f"; load average {os.getloadavg()[0]:.1f}")
    if len(ratios) > 1:
        print(f"runs: {', '.join(f'{r:.2f}x' for r in ratios)}; ceilings: " + "; ".join(
            f"{name} {', '.join(f'{b:.2f}x' for b in values)}" for name, values in bounds.items()))
    for name, values in bounds.items():
        print(f"ceiling_{name.replace(' ', '_').replace('-', '')}={statistics.median(values):.2f}x "
              f"(median of {len(values)}, range {min(values):.2f}x to {max(values):.2f}x)")
    print(f"workers_speedup={statistics.median(ratios):.2f}x "
          f"(median of {len(ratios)}, range {min(ratios):.2f}x to {max(ratios):.2f}x; "
          "target >=1.3x)")


if __name__ == "__main__":
    main()
