"""Long trials that survive: a killed trial continues from its resumable state, bit for bit
on the compiled engine (and here, on CPU, on the fit engine too), whatever step it was
killed at and even during a state's write; a state from another trial or a damaged one is
never loaded; SIGTERM stops a study cleanly and a rerun finishes it exactly."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

STEPS, EVERY = 50, 10
BASE = {"width": 32, "learning_rate": 3.0e-3, "dropout": 0.2}


class Kill(BaseException):
    """Stands for SIGKILL: raised where the process would die, nothing cleaned up."""


@pytest.fixture
def workloads(pk, digits):
    return {engine: pk.Workload(digits, defaults=BASE, engine=engine)
            for engine in ("compiled", "fit")}


def train(pk, workload, directory=None, **kw):
    return pk.train_trial(workload, {}, 0, max_train_steps=STEPS, eval_every=EVERY,
                          checkpoint_dir=directory, **kw)


def kill_after_write(monkeypatch, at_step):
    """Make the process 'die' just after the state at ``at_step`` is on disk."""
    from playbook_kit.training import trial_state

    real = trial_state.TrialState.write

    def write(self, step, *args, **kwargs):
        cost = real(self, step, *args, **kwargs)
        if step == at_step:
            raise Kill()
        return cost

    monkeypatch.setattr(trial_state.TrialState, "write", write)


def weights(path):
    import h5py

    out = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: out.append((name, np.asarray(obj)))
                     if isinstance(obj, h5py.Dataset) else None)
    return out


def same_checkpoints(a: Path, b: Path):
    files = sorted(p.name for p in a.glob("*.weights.h5"))
    assert files == sorted(p.name for p in b.glob("*.weights.h5"))
    for name in files:
        for (na, va), (nb, vb) in zip(weights(a / name), weights(b / name)):
            assert na == nb and np.array_equal(va, vb)


@pytest.mark.parametrize("engine,every,kills", [
    ("compiled", 7, [7, 14, 21, 35, 42]),  # inside chunks and at their ends
    ("fit", 10, [10, 30]),                  # the fit engine writes at the ends of chunks
])
def test_a_killed_trial_continues_bit_for_bit(pk, workloads, tmp_path, monkeypatch, engine,
                                              every, kills):
    workload = workloads[engine]
    whole = train(pk, workload, tmp_path / "whole", checkpoint_every=every)
    assert whole.curves.equals(train(pk, workload).curves)  # states change nothing
    for at_step in kills:
        directory = tmp_path / f"killed_at_{at_step}"
        with monkeypatch.context() as patch:
            kill_after_write(patch, at_step)
            with pytest.raises(Kill):
                train(pk, workload, directory, checkpoint_every=every)
        assert [p.name for p in directory.glob("state-*")] == [f"state-{at_step:010d}"]
        resumed = train(pk, workload, directory, checkpoint_every=every)
        assert resumed.resumed_from == [at_step] and resumed.engine == engine
        assert resumed.curves.equals(whole.curves), at_step
        assert (resumed.best_step, resumed.objective) == (whole.best_step, whole.objective)
        same_checkpoints(directory, tmp_path / "whole")
        assert not list(directory.glob("state-*"))  # a finished trial keeps none


def test_a_kill_during_a_state_write_leaves_the_previous_state(pk, workloads, tmp_path,
                                                                 monkeypatch):
    """Killed inside the write of the state at step 14: the folder being written is never
    taken for a state, the one at step 7 is, and the run still ends bit for bit."""
    from playbook_kit.core import files

    workload = workloads["compiled"]
    whole = train(pk, workload)
    real = files.os.replace

    def replace(source, target):
        if Path(target).name == f"state-{14:010d}":
            raise Kill()
        return real(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(files.os, "replace", replace)
        patch.setattr(shutil, "rmtree", lambda *a, **k: None)  # a kill cleans nothing up
        with pytest.raises(Kill):
            train(pk, workload, tmp_path, checkpoint_every=7)
    assert [p.name for p in tmp_path.glob("state-*")] == [f"state-{7:010d}"]
    assert len(list(tmp_path.glob(".state-*.tmp"))) == 1  # the half-written one
    resumed = train(pk, workload, tmp_path, checkpoint_every=7)
    assert resumed.resumed_from == [7] and resumed.curves.equals(whole.curves)
    assert not list(tmp_path.glob(".state-*"))


def test_a_state_from_another_trial_or_damaged_is_never_loaded(pk, workloads, tmp_path,
                                                                monkeypatch):
    workload = workloads["compiled"]
    whole = train(pk, workload)
    with monkeypatch.context() as patch:
        kill_after_write(patch, 20)
        with pytest.raises(Kill):
            train(pk, workload, tmp_path, checkpoint_every=10)
    other = pk.train_trial(workload, {"learning_rate": 1e-2}, 0, max_train_steps=STEPS,
                           eval_every=EVERY, checkpoint_dir=tmp_path, checkpoint_every=10)
    assert other.resumed_from == [] and other.resume_note == (
        f"restarted from step 0: its state state-{20:010d} was written for another config")
    with monkeypatch.context() as patch:
        kill_after_write(patch, 20)
        with pytest.raises(Kill):
            train(pk, workload, tmp_path / "b", checkpoint_every=10)
    state = next((tmp_path / "b").glob("state-*"))
    (state / "ckpt.index").write_bytes(b"not a checkpoint")
    restarted = train(pk, workload, tmp_path / "b", checkpoint_every=10)
    assert restarted.resume_note == (f"restarted from step 0: its state state-{20:010d} "
                                     "cannot be read (StateError)") or \
        restarted.resume_note.startswith(f"restarted from step 0: its state state-{20:010d} "
                                         "cannot be read")
    assert restarted.curves.equals(whole.curves)


def test_a_full_disk_leaves_the_previous_state_and_names_the_folder(pk, workloads, tmp_path,
                                                                     monkeypatch):
    import errno

    import tensorflow as tf

    workload = workloads["compiled"]
    real = tf.train.Checkpoint.write
    calls = []

    def write(self, prefix, *args, **kwargs):
        calls.append(prefix)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, prefix, *args, **kwargs)

    monkeypatch.setattr(tf.train.Checkpoint, "write", write)
    with pytest.raises(OSError, match=r"cannot write the trial's resumable state to "
                                      rf"{tmp_path} \(No space left on device\); the "
                                      r"previous state is intact"):
        train(pk, workload, tmp_path, checkpoint_every=10)
    assert [p.name for p in tmp_path.glob("state-*")] == [f"state-{10:010d}"]
    assert not list(tmp_path.glob(".state-*"))


def test_checkpoint_every_is_checked_before_any_work(pk, workloads):
    for bad in (0, -3, "soon", "10h", 2.5, True):
        with pytest.raises(ValueError, match=r"^checkpoint_every=.* is not allowed; use None "
                                             r"\(the default\), 'off', a number of steps"):
            train(pk, workloads["compiled"], checkpoint_every=bad)


def test_the_default_interval_spares_short_trials(pk, workloads, tmp_path, monkeypatch):
    """At the default interval a trial shorter than about 100 state writes writes none."""
    from playbook_kit.training import trial_state

    writes = []
    real = trial_state.TrialState.write
    monkeypatch.setattr(trial_state.TrialState, "write",
                        lambda self, step, *a, **k: writes.append(step) or real(
                            self, step, *a, **k))
    train(pk, workloads["compiled"], tmp_path)
    assert writes == []
    short = trial_state.Interval(None, 1_000)  # 0.008 s a step: 8 s in all
    assert not any(short.due(step, step * 0.008) for step in range(1, 1_001))
    longer = trial_state.Interval(None, 1_000)  # 0.02 s a step: 20 s, a state after 10 s
    assert [step for step in range(1, 1_001) if longer.due(step, step * 0.02)][0] == 500
    interval = trial_state.Interval(None, 100_000)  # 0.031 s a step: 3,100 s in all
    assert not interval.due(1_000, 31.0)
    assert interval.due(10_000, 310.0)  # 10% of the trial; under 10 minutes
    interval.written(10_000, 310.0, cost=1.0)
    assert not interval.due(12_000, 372.0) and interval.due(20_000, 620.0)
    hours = trial_state.Interval(None, 1_000_000)  # 3.6 s a step: 1,000 hours in all
    assert not hours.due(100, 360.0) and hours.due(167, 601.2)  # every 10 minutes


STUDY = {"name": "long", "max_trials": 2, "max_train_steps": 800, "eval_every": 100,
         "space": {"learning_rate": {"role": "nuisance", "low": 1.0e-3, "high": 1.0e-2,
                                     "scale": "log"}},
         "defaults": {"width": 64, "depth": 2}, "checkpoint_every": 100}


def _cli(study_file, directory):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]),
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "playbook_kit.cli", "study", str(study_file),
                             "--directory", str(directory), "--no-progress"],
                            env=env, stderr=subprocess.PIPE, text=True)


def _wait_for_state(directory, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list(Path(directory).glob("long/trial_*/checkpoints/seed-*/state-*")):
            return
        time.sleep(0.05)
    raise AssertionError("no state was written")


def test_sigterm_stops_a_study_cleanly_and_a_rerun_finishes_it_exactly(pk, tmp_path):
    """The CLI asked to stop writes the running trial's state and exits with the distinct
    code; the study shows the trial interrupted, not failed; the same command continues
    it, and the study equals one never stopped."""
    import yaml

    from playbook_kit.training.trial_state import EXIT_INTERRUPTED

    study_file = tmp_path / "long.yaml"
    study_file.write_text(yaml.safe_dump(STUDY))
    process = _cli(study_file, tmp_path / "stopped")
    _wait_for_state(tmp_path / "stopped")
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert time.monotonic() - started < 30  # Kubernetes' default grace period
    assert "run the same command again to continue" in err
    stopped = pk.load_study(tmp_path / "stopped" / "long")
    assert "interrupted" in set(stopped.trials["status"])
    assert "failed" not in set(stopped.trials["status"])
    rerun = _cli(study_file, tmp_path / "stopped")
    assert rerun.wait(timeout=300) == 0
    pk.run_spec(pk.StudySpec.from_yaml(study_file), tmp_path / "whole", progress=False)
    a, b = (pk.load_study(tmp_path / d / "long") for d in ("stopped", "whole"))
    assert list(a.trials["status"]) == ["completed"] * 2
    assert a.curves.equals(b.curves)
    assert (a.runs["resumed_from"] != "").sum() == 1
    assert "1 run resumed from its state after 1 interruption" in pk.audit(
        a, figures=False).summary


def test_a_second_sigterm_exits_at_once(tmp_path):
    import yaml

    study_file = tmp_path / "long.yaml"
    study_file.write_text(yaml.safe_dump({**STUDY, "max_train_steps": 100_000}))
    process = _cli(study_file, tmp_path)
    _wait_for_state(tmp_path)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode in (-signal.SIGTERM, 75)
    states = list(tmp_path.glob("long/trial_*/checkpoints/seed-*/state-*"))
    assert states and all((s / "state.json").exists() for s in states)
    json.loads((states[-1] / "state.json").read_text())


def test_a_recipe_resumes_at_the_run_it_was_in(pk, digits, tmp_path, monkeypatch):
    """The warmup sweep killed in its second run: run again, it reads the first back,
    continues the second from its state, and gives the same table as one never killed."""
    from playbook_kit.training import trainer

    workload = pk.Workload(digits, defaults={"width": 32, "learning_rate": 1e-2})
    sweep = lambda directory: pk.warmup_sweep(
        workload, unstable_base_learning_rate=1e-2, warmup_steps=[0, 20, 40],
        constant_steps=40, eval_every=5, stop_at_first_stable=False, directory=directory)
    whole = sweep(None)
    from playbook_kit.training import trial_state

    real_write = trial_state.TrialState.write

    def write(self, step, *args, **kwargs):  # dies in the second run (60 steps) at step 30
        cost = real_write(self, step, *args, **kwargs)
        if self.directory.name == "warmup_steps-20" and step == 30:
            raise Kill()
        return cost

    with monkeypatch.context() as patch:
        patch.setattr(trial_state.TrialState, "write", write)
        real = trainer.train_trial
        patch.setattr(trainer, "train_trial",
                      lambda *a, **k: real(*a, **{**k, "checkpoint_every": 10}))
        with pytest.raises(Kill):
            sweep(tmp_path)
    assert [p.name for p in (tmp_path / "warmup_steps-20").glob("state-*")] == [
        f"state-{30:010d}"]
    trained = []
    real = trainer.train_trial
    monkeypatch.setattr(trainer, "train_trial",
                        lambda *a, **k: trained.append(a[1]["warmup_steps"]) or real(*a, **k))
    resumed = sweep(tmp_path)
    assert trained == [20, 40]  # the first run read back, the second continued
    assert resumed.table.equals(whole.table)
    assert resumed.runs[1].resumed_from == [30]
    assert [r.curves.equals(w.curves) for r, w in zip(resumed.runs, whole.runs)] == [True] * 3
