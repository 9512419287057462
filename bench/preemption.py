"""Preemption: a study of long trials killed with SIGKILL at random moments and resumed,
against the same study never killed, side by side.

Three runs of the same study file (``playbook-kit study``, a fresh process each):

* ``off``: resumable states turned off (``--checkpoint-every off``);
* ``default``: the default state interval (:class:`playbook_kit.training.trial_state.Interval`);
* ``killed``: the default interval, killed with SIGKILL at ``--kills`` moments drawn at
  random (seeded) inside the ``default`` run's duration, each time started again with the
  same command, until the study is complete.

Prints the cost of writing states at the default interval (the states' write time over the
trials' training time, from the trial records, and the training time of ``default`` over
``off``), the work each kill lost (steps trained after the last state, and their time)
beside the interval the default rule chose, and whether the killed study's curves equal
the others'. The last line is the overhead.

    python bench/preemption.py          # 3 trials of 12,000 steps of a digits MLP (~3 min)
    python bench/preemption.py --full   # 3 trials of 40,000 steps (states are written)

Each run notes its step every second (``PLAYBOOK_KIT_HEARTBEAT_S=1``, 10 s by default) so
that the work a kill lost is measured to the second.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]


def study_file(folder: Path, trials: int, steps: int) -> Path:
    spec = {"name": "long", "data": {"name": "digits"}, "max_trials": trials,
            "max_train_steps": steps, "eval_every": max(steps // 20, 1),
            "defaults": {"width": 256, "depth": 3},
            "space": {"learning_rate": {"role": "nuisance", "low": 1.0e-4, "high": 3.0e-3,
                                        "scale": "log"}}}
    path = folder / "long.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def command(spec: Path, directory: Path, *extra) -> list[str]:
    return [sys.executable, "-m", "playbook_kit.cli", "study", str(spec), "--directory",
            str(directory), "--no-progress", "--threads", "2", *extra]


ENV = {"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PLAYBOOK_KIT_HEARTBEAT_S": "1"}


def run(spec, directory, *extra) -> float:
    env = {**os.environ, **ENV}
    started = time.perf_counter()
    subprocess.run(command(spec, directory, *extra), env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_killed(spec, directory, kill_times) -> tuple[int, float]:
    """Run, SIGKILL at each of ``kill_times`` (seconds into that attempt), start again;
    returns (attempts, wall seconds)."""
    env = {**os.environ, **ENV}
    started, attempts = time.perf_counter(), 0
    for delay in [*kill_times, None]:
        attempts += 1
        process = subprocess.Popen(command(spec, directory), env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if delay is None:
            if process.wait() != 0:
                raise RuntimeError("the last attempt failed")
            break
        try:
            process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
    return attempts, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--kills", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import playbook_kit as pk

    trials, steps = (3, 40_000) if args.full else (3, 12_000)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = study_file(tmp, trials, steps)
        off_wall = run(spec, tmp / "off", "--checkpoint-every", "off")
        default_wall = run(spec, tmp / "default")
        startup = 6.0  # TensorFlow's import and the study's start-up, before any step
        kill_times = sorted(rng.uniform(startup, default_wall, size=args.kills))
        attempts, killed_wall = run_killed(spec, tmp / "killed", kill_times)
        studies = {name: pk.load_study(tmp / name / "long")
                   for name in ("off", "default", "killed")}
    train = {name: float(s.runs["duration_s"].sum()) for name, s in studies.items()}
    records = studies["default"].runs
    state_s = float(records["state_seconds"].sum())
    killed = studies["killed"].runs
    step_s = train["off"] / (trials * steps)
    lost = [int(v) for v in killed["lost_steps"]]
    resumed = [str(v) for v in killed["resumed_from"] if str(v)]
    same = all(studies["killed"].curves.equals(studies[n].curves) for n in ("off", "default"))
    print(f"{trials} trials of {steps} steps (digits MLP 256x3), step {step_s * 1e3:.2f} ms; "
          f"kills at {', '.join(f'{t:.1f}' for t in kill_times)} s into an attempt")
    print(f"{'run':>8} {'wall s':>8} {'train s':>8}")
    for name, wall in (("off", off_wall), ("default", default_wall), ("killed", killed_wall)):
        print(f"{name:>8} {wall:>8.1f} {train[name]:>8.1f}")
    print(f"states written at the default interval: {int(records['states_written'].sum())}, "
          f"{state_s:.2f} s of writing over {train['default']:.1f} s of training; "
          f"training time default/off {train['default'] / train['off']:.3f}")
    writes = records[records["states_written"] > 0]
    cost = float(writes["state_seconds"].sum() / writes["states_written"].sum()) \
        if len(writes) else None
    trial_s = train["off"] / trials
    from playbook_kit.training.trial_state import FIRST_WRITE_S

    first = max(min(600.0, 0.1 * trial_s), 100 * FIRST_WRITE_S)
    interval = max(first, max(min(600.0, 0.1 * trial_s), 100 * (cost or FIRST_WRITE_S)))
    print(f"{attempts} attempts; runs resumed at steps: {resumed or 'none'}; work lost per "
          f"killed run: {[n for n in lost if n]} steps "
          f"({[round(n * step_s, 1) for n in lost if n]} s); the default interval here: "
          f"{interval:.0f} s (max of 10% of a {trial_s:.0f} s trial and 100 x a "
          f"{(cost or FIRST_WRITE_S):.2f} s write, {FIRST_WRITE_S} s assumed before the "
          "first); a trial shorter than that writes no state and a kill loses the trial so "
          "far")
    worst = max([n * step_s for n in lost] or [0.0])
    if worst > interval + 2.0:  # noted every second
        raise SystemExit(f"a kill lost {worst:.1f} s, more than the interval")
    print(f"curves of the killed study equal the uninterrupted ones: {same}")
    if not same:
        raise SystemExit("the killed study's curves differ")
    print(f"state_overhead={100 * state_s / max(train['default'], 1e-9):.2f}% "
          f"(target <=3%)")


if __name__ == "__main__":
    main()
