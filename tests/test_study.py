import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

STEPS, EVAL = 40, 20


@pytest.fixture(scope="module")
def space(pk):
    return (pk.SearchSpace().scientific("depth", values=[1, 2])
            .nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log").fixed("activation", "relu"))


def points(space, n, seed=0):
    from playbook_kit.search.points import quasi_random_points

    return quasi_random_points(space, n, seed=seed)


def configs_of(study, names):
    trials = study.trials.assign(k=study.trials["trial_id"].astype(int)).sort_values("k")
    return [{n: row[n] for n in names} for _, row in trials.iterrows()]


def same_configs(found, expected):
    assert len(found) == len(expected)
    for a, b in zip(found, expected):
        assert a["depth"] == b["depth"]
        assert a["learning_rate"] == pytest.approx(b["learning_rate"], rel=1e-9)


def test_study_stores_playbook_data_and_resumes_without_rerunning(pk, digits_workload, space,
                                                                   tmp_path):
    study = pk.run_study(digits_workload, space, max_trials=3, max_train_steps=STEPS,
                         eval_every=EVAL, directory=tmp_path, name="depth", progress=False)
    assert list(study.trials["status"]) == ["completed"] * 3
    assert study.objective == "val_accuracy" and study.direction == "max"
    assert dict(zip(study.hyperparameters["name"], study.hyperparameters["role"])) == {
        "depth": "scientific", "learning_rate": "nuisance", "activation": "fixed"}
    same_configs(configs_of(study, ["depth", "learning_rate"]), points(space, 3))
    assert set(study.curves["split"]) == {"train", "validation", "optimizer"}
    assert study.curves.groupby("trial_id")["step"].max().eq(STEPS).all()
    trial_dir = tmp_path / "depth" / "trial_0"
    record = json.loads((trial_dir / "playbook.json").read_text())
    assert record["schema_version"] == 1 and record["runs"][0]["best_step"] in (20, 40)
    checkpoints = list((trial_dir / "checkpoints").rglob("*.weights.h5"))
    assert len(checkpoints) == 3  # keep_best=2 plus the last
    stamp = (trial_dir / "playbook.json").stat().st_mtime_ns

    resumed = pk.run_study(digits_workload, space, max_trials=5, max_train_steps=STEPS,
                           eval_every=EVAL, directory=tmp_path, name="depth", progress=False)
    assert len(resumed.trials) == 5
    assert (trial_dir / "playbook.json").stat().st_mtime_ns == stamp
    same_configs(configs_of(resumed, ["depth", "learning_rate"]), points(space, 5))
    assert digits_workload.dataset.test_reads == 0


def test_seed_changes_the_point_set(pk, digits_workload, space, tmp_path):
    a = pk.run_study(digits_workload, space, max_trials=2, max_train_steps=20, eval_every=20,
                     directory=tmp_path, name="a", seed=0, progress=False)
    b = pk.run_study(digits_workload, space, max_trials=2, max_train_steps=20, eval_every=20,
                     directory=tmp_path, name="b", seed=1, progress=False)
    assert not set(a.trials["learning_rate"].round(12)) & set(b.trials["learning_rate"].round(12))


def test_infeasible_trials_never_abort_and_are_recorded(pk, digits_workload, tmp_path):
    diverging = (pk.SearchSpace().fixed("optimizer", "sgd")
                 .nuisance("learning_rate", 1.0e-2, 1.0e6, scale="log"))
    study = pk.run_study(digits_workload, diverging, max_trials=8, max_train_steps=STEPS,
                         eval_every=EVAL, directory=tmp_path, name="lr", progress=False)
    assert len(study.trials) == 8
    infeasible = study.trials[study.trials["status"] == "infeasible"]
    assert len(infeasible) >= 4
    assert infeasible["reason"].str.contains("diverged|NaN").all()
    assert infeasible["objective"].isna().all()
    assert (infeasible["learning_rate"] > study.feasible["learning_rate"].max()).all()


def test_repeats_keep_every_run(pk, digits_workload, space, tmp_path):
    study = pk.run_study(digits_workload, space, max_trials=2, max_train_steps=20, eval_every=20,
                         directory=tmp_path, name="rep", repeats=3, progress=False)
    assert study.runs.groupby("trial_id").size().tolist() == [3, 3]
    assert study.runs.groupby("trial_id")["seed"].nunique().tolist() == [3, 3]
    first = study.runs[study.runs["trial_id"] == study.trials["trial_id"][0]]
    assert study.trials["objective"][0] == pytest.approx(first["objective"].mean())
    assert study.trials["objective_std"][0] == pytest.approx(first["objective"].std(ddof=1),
                                                             nan_ok=True)
    assert study.curves.groupby("trial_id")["seed"].nunique().tolist() == [3, 3]


def test_bad_study_fails_before_any_work(pk, digits_workload, space, tmp_path):
    bad = pk.SearchSpace().nuisance("lr", 1e-3, 1e-1, scale="log")
    with pytest.raises(ValueError, match="'lr'"):
        pk.run_study(digits_workload, bad, max_trials=2, max_train_steps=20, eval_every=20,
                     directory=tmp_path, name="bad", progress=False)
    assert not (tmp_path / "bad").exists()
    with pytest.raises(ValueError, match="algorithm"):
        pk.run_study(digits_workload, space, max_trials=2, max_train_steps=20, eval_every=20,
                     directory=tmp_path, name="x", algorithm="hyperband", progress=False)
    pk.run_study(digits_workload, space, max_trials=1, max_train_steps=20, eval_every=20,
                 directory=tmp_path, name="fixed", progress=False)
    with pytest.raises(ValueError, match="max_train_steps"):
        pk.run_study(digits_workload, space, max_trials=2, max_train_steps=40, eval_every=20,
                     directory=tmp_path, name="fixed", progress=False)


def write_spec(path, name, max_trials, steps=STEPS, **extra):
    spec = {"name": name, "data": {"name": "digits"}, "defaults": {"width": 32},
            "space": {"depth": {"role": "scientific", "values": [1, 2]},
                      "learning_rate": {"role": "nuisance", "range": [1.0e-3, 1.0e-1],
                                        "scale": "log"}},
            "max_trials": max_trials, "max_train_steps": steps, "eval_every": EVAL, **extra}
    path.write_text(yaml.safe_dump(spec))
    return path


_spawned: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _reap_spawned():
    """A test that fails mid-study leaves no runner or worker behind it."""
    yield
    while _spawned:
        process = _spawned.pop()
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def cli(*args, env=None, **kwargs):
    process = subprocess.Popen([sys.executable, "-m", "playbook_kit.cli", *map(str, args)],
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, **kwargs)
    _spawned.append(process)
    return process


def completed_trials(project: Path) -> list[str]:
    done = []
    for path in project.glob("trial_*/trial.json"):
        try:
            if json.loads(path.read_text())["status"] == "COMPLETED":
                done.append(path.parent.name)
        except (ValueError, OSError):
            pass
    return done


def test_kill_9_mid_study_then_resume_gives_the_full_budget(pk, tmp_path):
    """Trials one by one (``pack: 1``), so that the kill falls between two of them."""
    spec = write_spec(tmp_path / "study.yaml", "killed", max_trials=6, steps=200, pack=1)
    project = tmp_path / "out" / "killed"
    process = cli("study", spec, "--directory", tmp_path / "out", "--no-progress")
    deadline = time.time() + 240
    while len(completed_trials(project)) < 2 and time.time() < deadline:
        if process.poll() is not None:
            pytest.fail(f"study ended before the kill: {process.stdout.read()}")
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    survived = {name: (project / name / "playbook.json").read_bytes()
                for name in completed_trials(project)}
    assert 2 <= len(survived) < 6
    resumed = cli("study", spec, "--directory", tmp_path / "out", "--no-progress")
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    study = pk.load_study(project)
    assert sorted(study.trials["trial_id"].astype(int)) == list(range(6))
    assert (study.trials["status"] == "completed").all()
    configs = [tuple(c.values()) for c in configs_of(study, ["depth", "learning_rate"])]
    assert len(set(configs)) == 6
    for name, content in survived.items():
        assert (project / name / "playbook.json").read_bytes() == content
    space = pk.SearchSpace.from_dict(yaml.safe_load(spec.read_text())["space"])
    same_configs(configs_of(study, ["depth", "learning_rate"]), points(space, 6))


class _Killed(BaseException):
    """A SIGKILL stand-in: nothing after it runs, no ``except Exception`` catches it."""


def kill_at_oracle_save(monkeypatch, trial_id, status, passed):
    """Stop the study at a write of ``oracle.json`` after the write of trial
    ``trial_id``'s ``trial.json`` with ``status``, letting ``passed`` such writes through
    first: the state a SIGKILL leaves between keras-tuner's files."""
    from playbook_kit.search import oracle_base

    real, seen = oracle_base.write_json, []

    def write_json(path, data):
        if path.endswith("oracle.json") and seen:
            if len(seen) > passed:
                raise _Killed()
            seen.append(path)
        real(path, data)
        if path.endswith(f"trial_{trial_id}/trial.json") and data["status"] == status:
            seen.append(path)

    monkeypatch.setattr(oracle_base, "write_json", write_json)


@pytest.mark.parametrize("status, passed, end_order, ongoing", [
    ("RUNNING", 0, ["0"], {}),  # trial 1 created on disk, unknown to the saved oracle
    ("COMPLETED", 0, ["0"], {"tuner0": "1"}),  # trial 1 ended on disk, ongoing in the oracle
    ("COMPLETED", 1, ["0", "1"], {"tuner0": "1"}),  # ended in both, still listed as ongoing
])
def test_resume_after_a_kill_between_a_trial_file_and_the_oracle_state(
        pk, digits_workload, space, tmp_path, monkeypatch, status, passed, end_order, ongoing):
    """Trials one by one (``pack=1``): the kill falls between keras-tuner's files of one
    trial."""
    run = dict(max_trials=3, max_train_steps=20, eval_every=20, directory=tmp_path,
               name="killed", progress=False, pack=1)
    with monkeypatch.context() as patch:
        kill_at_oracle_save(patch, "1", status, passed)
        with pytest.raises(_Killed):
            pk.run_study(digits_workload, space, **run)
    project = tmp_path / "killed"
    oracle = json.loads((project / "oracle.json").read_text())
    assert json.loads((project / "trial_1" / "trial.json").read_text())["status"] == status
    assert (oracle["end_order"], oracle["ongoing_trials"]) == (end_order, ongoing)
    survived = {p.parent.name: p.read_bytes() for p in project.glob("trial_*/playbook.json")}
    assert sorted(survived) == (["trial_0"] if status == "RUNNING" else ["trial_0", "trial_1"])

    study = pk.run_study(digits_workload, space, **run)
    assert list(study.trials["trial_id"]) == ["0", "1", "2"]
    assert list(study.trials["status"]) == ["completed"] * 3
    assert study.runs.groupby("trial_id").size().tolist() == [1, 1, 1]
    same_configs(configs_of(study, ["depth", "learning_rate"]), points(space, 3))
    for name, content in survived.items():
        assert (project / name / "playbook.json").read_bytes() == content
    oracle = json.loads((project / "oracle.json").read_text())
    assert (oracle["start_order"], oracle["end_order"]) == (["0", "1", "2"], ["0", "1", "2"])
    assert (oracle["ongoing_trials"], oracle["retry_queue"]) == ({}, [])
    assert oracle["run_times"] == {"0": 1, "1": 1, "2": 1}


def test_reconcile_state_lets_the_trial_files_win():
    from types import SimpleNamespace

    from playbook_kit.search.oracle_base import reconcile_state

    trials = {k: SimpleNamespace(trial_id=k, status=s) for k, s in
              [("00", "COMPLETED"), ("01", "FAILED"), ("02", "COMPLETED"), ("03", "RUNNING"),
               ("04", "RUNNING"), ("05", "RUNNING")]}
    state = {"ongoing_trials": {"tuner0": "02", "tuner1": "01", "tuner2": "03"},
             "start_order": ["00", "01", "02", "03"], "end_order": ["00", "01"],
             "run_times": {"00": 1, "01": 1}, "seed": 0}
    reconciled, rerun = reconcile_state(state, trials)
    assert rerun == ["04", "05"]
    assert reconciled == {"ongoing_trials": {"tuner2": "03"},
                          "start_order": ["00", "01", "02", "03", "04", "05"],
                          "end_order": ["00", "01", "02"],
                          "run_times": {"00": 1, "01": 1, "02": 1}, "seed": 0}
    assert state["end_order"] == ["00", "01"]  # the stored state itself is left as read


def test_two_workers_run_every_trial_exactly_once_the_first_serving_the_oracle(pk, tmp_path):
    spec = write_spec(tmp_path / "study.yaml", "parallel", max_trials=6, steps=STEPS)
    run = cli("study", spec, "--directory", tmp_path / "out", "--workers", "2", "--threads", "1")
    output, _ = run.communicate(timeout=400)
    assert run.returncode == 0, output
    assert "2 workers finished; exit codes [0, 0]" in output
    project = tmp_path / "out" / "parallel"
    study = pk.load_study(project)
    assert sorted(study.trials["trial_id"].astype(int)) == list(range(6))
    assert (study.trials["status"] == "completed").all()
    assert study.runs.groupby("trial_id").size().eq(1).all()
    ran_by = [json.loads(p.read_text())["tuner_id"]
              for p in sorted(project.glob("trial_*/playbook.json"))]
    assert len(ran_by) == 6 and set(ran_by) == {"tuner0", "tuner1"}, ran_by
    space = pk.SearchSpace.from_dict(yaml.safe_load(spec.read_text())["space"])
    same_configs(configs_of(study, ["depth", "learning_rate"]), points(space, 6))
    # the files a chief process writes, written by the worker that served the oracle
    assert sorted(p.name for p in project.iterdir() if p.is_file()) == [
        "chief.json", "oracle.json", "playbook_study.json", "tuner0.json", "tuner1.json"]
    oracle = json.loads((project / "oracle.json").read_text())
    assert (sorted(oracle["end_order"]), oracle["ongoing_trials"]) == (
        [str(k) for k in range(6)], {})

    # resumed with a larger budget: the host reloads the oracle and reruns a damaged trial
    kept = {k: (project / f"trial_{k}" / "playbook.json").read_bytes() for k in (0, 1, 3, 4, 5)}
    (project / "trial_2" / "playbook.json").write_text("{")
    run = cli("study", spec, "--directory", tmp_path / "out", "--workers", "2", "--threads", "1",
              "--max-trials", "8")
    output, _ = run.communicate(timeout=400)
    assert run.returncode == 0, output
    assert "trial_2/playbook.json: is damaged" in output and "rerunning trial 2" in output
    study = pk.load_study(project)
    assert sorted(study.trials["trial_id"].astype(int)) == list(range(8))
    assert (study.trials["status"] == "completed").all()
    assert study.runs.groupby("trial_id").size().eq(1).all()
    assert {k: (project / f"trial_{k}" / "playbook.json").read_bytes() for k in kept} == kept
    same_configs(configs_of(study, ["depth", "learning_rate"]), points(space, 8))


def worker_pid(launcher: int, tuner_id: str) -> int | None:
    """The process id of the launcher's worker with this ``KERASTUNER_TUNER_ID``."""
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (proc / "environ").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == launcher and f"KERASTUNER_TUNER_ID={tuner_id}".encode() in environ:
            return int(proc.name)
    return None


def _mid_trial_states(project: Path) -> set:
    """Trials that wrote a resumable state and have no record yet (running)."""
    return {p.parents[2].name for p in project.glob("trial_*/checkpoints/seed-*/state-*")
            if not (p.parents[2] / "playbook.json").exists()}


def _kill_mid_trial(run, project, tuner_id):
    """SIGKILL to the worker ``tuner_id`` of ``run`` once both workers are mid-trial, each
    with a resumable state on disk."""
    deadline = time.time() + 240
    while len(_mid_trial_states(project)) < 2 and time.time() < deadline:
        if run.poll() is not None:
            pytest.fail(f"study ended before the kill: {run.stdout.read()}")
        time.sleep(0.05)
    os.kill(worker_pid(run.pid, tuner_id), signal.SIGKILL)


def test_a_lost_worker_is_not_a_lost_study(pk, tmp_path):
    """SIGKILL to a worker mid-trial: the other worker goes on, takes the lost trial over
    once its heartbeat is older than the lease and continues it from its state; the
    study ends with exactly its budget, each trial once."""
    spec = write_spec(tmp_path / "study.yaml", "killed", max_trials=6, steps=1500,
                      checkpoint_every=50)
    project = tmp_path / "out" / "killed"
    run = cli("study", spec, "--directory", tmp_path / "out", "--workers", "2", "--threads",
              "1", env={"PLAYBOOK_KIT_LEASE_S": "2", "PLAYBOOK_KIT_HEARTBEAT_S": "0.2"})
    _kill_mid_trial(run, project, "tuner1")
    output, _ = run.communicate(timeout=400)
    assert run.returncode == 0, output
    assert "2 workers finished; exit codes [0, -9]" in output
    assert "1 worker(s) lost; their trials were continued by the others" in output
    study = pk.load_study(project)
    assert sorted(study.trials["trial_id"].astype(int)) == list(range(6))
    assert (study.trials["status"] == "completed").all()
    assert study.runs.groupby("trial_id").size().eq(1).all()
    assert (study.runs["resumed_from"] != "").sum() == 1  # the lost worker's trial
    space = pk.SearchSpace.from_dict(yaml.safe_load(spec.read_text())["space"])
    same_configs(configs_of(study, ["depth", "learning_rate"]), points(space, 6))


def test_a_lost_oracle_host_stops_the_others_cleanly_and_a_rerun_resumes(pk, tmp_path):
    """SIGKILL to the worker that serves the oracle: the other waits a bounded time for
    it, then exits asking for a restart; the same command finishes the study."""
    spec = write_spec(tmp_path / "study.yaml", "host", max_trials=6, steps=1500,
                      checkpoint_every=50)
    project = tmp_path / "out" / "host"
    env = {"PLAYBOOK_KIT_ORACLE_WAIT_S": "3"}
    run = cli("study", spec, "--directory", tmp_path / "out", "--workers", "2", "--threads",
              "1", env=env)
    _kill_mid_trial(run, project, "tuner0")
    output, _ = run.communicate(timeout=300)
    assert run.returncode == 1, output
    assert "exit codes [-9, 75]" in output
    assert "did not answer for 3 s (its process was lost); restart the study" in output
    assert "run the same command again to continue" in output
    resumed = cli("study", spec, "--directory", tmp_path / "out", "--workers", "2",
                  "--threads", "1", env=env)
    output, _ = resumed.communicate(timeout=400)
    assert resumed.returncode == 0, output
    study = pk.load_study(project)
    assert sorted(study.trials["trial_id"].astype(int)) == list(range(6))
    assert (study.trials["status"] == "completed").all()
    assert study.runs.groupby("trial_id").size().eq(1).all()


@pytest.fixture
def stand_in_processes(monkeypatch):
    """``launch_workers`` with each process replaced by a tiny Python stand-in.

    ``behaviour`` maps a ``KERASTUNER_TUNER_ID`` to the stand-in's code; every process
    started is kept in ``started`` so a test can check that none is left running.
    """
    from playbook_kit.search import workers as study_module

    real_popen, started, behaviour = subprocess.Popen, [], {}

    def popen(command, env=None, **kwargs):
        code = behaviour[env["KERASTUNER_TUNER_ID"]]
        process = real_popen([sys.executable, "-c", code], env=env, **kwargs)
        started.append(process)
        return process

    monkeypatch.setattr(study_module, "_gpu_count", lambda: 0)
    monkeypatch.setattr(study_module.subprocess, "Popen", popen)
    return behaviour, started


SLEEP = "import time; time.sleep(120)"


def test_launcher_stops_every_process_when_the_timeout_passes(stand_in_processes, tmp_path):
    from playbook_kit.search.workers import launch_workers

    behaviour, started = stand_in_processes
    behaviour.update(tuner0=SLEEP, tuner1=SLEEP)
    with pytest.raises(TimeoutError, match=r"study workers still running after 0.5 s"):
        launch_workers(tmp_path / "study.yaml", tmp_path, workers=2, timeout=0.5)
    assert len(started) == 2
    assert [p.returncode for p in started] == [-signal.SIGKILL] * 2


def test_a_crashed_worker_leaves_the_others_running(stand_in_processes, tmp_path):
    """A worker that is not the oracle's host crashes: the host goes on (it takes the lost
    trial over) and the launcher waits for it."""
    from playbook_kit.search.workers import launch_workers

    behaviour, started = stand_in_processes
    behaviour.update(tuner0="import time; time.sleep(1)", tuner1="import sys; sys.exit(3)")
    assert launch_workers(tmp_path / "study.yaml", tmp_path, workers=2) == [0, 3]


def test_a_lost_host_stops_the_others_after_the_oracle_wait(stand_in_processes, tmp_path,
                                                            monkeypatch):
    """The oracle's host crashes: the others give up on its oracle after the oracle wait
    (these stand-ins do not), and the launcher stops them a grace later."""
    from playbook_kit.search import workers

    monkeypatch.setenv("PLAYBOOK_KIT_ORACLE_WAIT_S", "0.2")
    monkeypatch.setattr(workers, "HOST_GRACE_S", 0.2)
    behaviour, started = stand_in_processes
    behaviour.update(tuner0="import sys; sys.exit(3)", tuner1=SLEEP)
    assert workers.launch_workers(tmp_path / "study.yaml", tmp_path, workers=2) == [3, -1]
    assert [p.returncode for p in started] == [3, -signal.SIGKILL]


def test_study_command_fails_when_a_worker_fails(monkeypatch, tmp_path, capsys):
    from playbook_kit.cli import main
    from playbook_kit.search import workers as study_module

    monkeypatch.setattr(study_module, "launch_workers", lambda *args, **kwargs: [0, 1])
    spec = write_spec(tmp_path / "study.yaml", "failing", max_trials=2)
    assert main(["study", str(spec), "--directory", str(tmp_path / "out"), "--workers", "2"]) == 1
    assert "2 workers finished; exit codes [0, 1]" in capsys.readouterr().out


def test_plain_keras_tuner_directory_loads(pk, tmp_path, plain_keras_tuner):
    tuner = plain_keras_tuner(max_trials=3, max_units=32, epochs=2)
    study = pk.load_study(tmp_path / "plain")
    assert len(study.trials) == 3 and (study.trials["status"] == "completed").all()
    assert study.objective == "val_accuracy" and study.direction == "max"
    assert set(study.hyperparameters["name"]) == {"units", "lr"}
    scales = dict(zip(study.hyperparameters["name"], study.hyperparameters["scale"]))
    assert scales == {"units": "integer", "lr": "log"}
    assert set(study.hyperparameters["role"]) == {"unknown"}
    best = max(t.score for t in tuner.oracle.trials.values())
    assert study.trials["objective"].max() == pytest.approx(best)
    epochs = study.curves[(study.curves["metric"] == "accuracy")
                          & (study.curves["split"] == "validation")]
    # keras-tuner keeps each metric's best epoch only: one point per trial, at epoch 0 or 1
    assert epochs.groupby("trial_id").size().eq(1).all() and set(epochs["step"]) <= {0, 1}
    best_row = study.trials.loc[study.trials["objective"].idxmax()]
    assert epochs.set_index("trial_id")["value"][best_row["trial_id"]] == pytest.approx(
        best_row["objective"])
    from playbook_kit.cli import main

    assert main(["audit", str(tmp_path / "plain"), "--output", str(tmp_path / "report")]) == 0
    report = (tmp_path / "report" / "audit.md").read_text()
    assert "infeasible fraction" in report and "search space boundaries" in report
    checks = (tmp_path / "report" / "checks.csv").read_text()
    assert checks.splitlines()[0].startswith("check,status")


def test_cli_reports_version_and_bad_study_files(tmp_path, capsys):
    from playbook_kit import __version__
    from playbook_kit.cli import main

    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"name": "x", "space": {}, "max_trials": 0,
                                   "max_train_steps": 10, "eval_every": 5}))
    assert main(["study", str(bad), "--directory", str(tmp_path)]) == 2
    assert "max_trials=0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_study_on_other_data_is_rebuilt_from_its_stored_source(pk, tmp_path):
    data = pk.make_synthetic(n_samples=400, n_features=6, n_informative=4, n_classes=3, seed=2)
    workload = pk.Workload(data, defaults={"width": 16})
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-2, scale="log")
    study = pk.run_study(workload, space, max_trials=2, max_train_steps=20, eval_every=10,
                         directory=tmp_path, name="synthetic", progress=False)
    stored = json.loads((tmp_path / "synthetic" / "playbook_study.json").read_text())
    assert stored["data"]["name"] == "synthetic" and stored["data"]["n_features"] == 6
    best = study.best_trials(1)["trial_id"].iloc[0]
    final = pk.final_evaluation(study, best)
    assert final["metrics"]["test_examples"] == data.summary()["test"] == 80
    assert final["metrics"]["val_accuracy"] == pytest.approx(
        study.trials.set_index("trial_id").loc[best, "objective"])
    runs = pk.retrain(study, best, seeds=2, progress=False)
    assert len(runs.runs) == 2 and (runs.runs["status"] == "completed").all()
    other = pk.Workload(pk.make_synthetic(n_samples=400, n_features=6, n_informative=4,
                                          n_classes=3, seed=3), defaults={"width": 16})
    with pytest.raises(ValueError, match="data="):
        pk.run_study(other, space, max_trials=3, max_train_steps=20, eval_every=10,
                     directory=tmp_path, name="synthetic", progress=False)


def test_a_crashing_trial_is_failed_with_its_error_not_running(pk, digits, tmp_path):
    import keras

    def wrong_head(config, input_shape, num_classes):
        """Too few outputs, except at the default width (where the dry run looks)."""
        inputs = keras.Input(input_shape)
        outputs = num_classes - (5 if config["width"] != 128 else 0)
        return keras.Model(inputs, keras.layers.Dense(outputs)(
            keras.layers.Flatten()(inputs)))

    pk.register_model("wrong_head", wrong_head)
    workload = pk.Workload(digits, defaults={"model": "wrong_head"})
    space = pk.SearchSpace().nuisance("width", 16, 32, scale="integer")
    study = pk.run_study(workload, space, max_trials=1, max_train_steps=10, eval_every=5,
                         directory=tmp_path, name="crash", progress=False)
    row = study.trials.iloc[0]
    assert row["status"] == "failed" and "InvalidArgumentError" in row["reason"]
    everywhere = pk.Workload(digits, defaults={"model": "wrong_head", "width": 16})
    with pytest.raises(pk.WorkloadError, match=r"^labels \(shape \(8,\), values 1\.\.9\) do "
                       r"not fit the model's output of shape \(8, 5\)"):
        pk.run_study(everywhere, space, max_trials=1, max_train_steps=10, eval_every=5,
                     directory=tmp_path, name="crash_everywhere", progress=False)
    assert not (tmp_path / "crash_everywhere").exists()


@pytest.mark.parametrize("declare,field", [
    (lambda s: s.scientific("optimizer", values=["adam", "nesterov"])
     .nuisance("beta_1", 0.8, 0.99, parent="optimizer", parent_values=["adam"]), "beta_1"),
    (lambda s: s.nuisance("dropout", 0.0, 1.0), "dropout"),
    (lambda s: s.nuisance("warmup_steps", 0, 100, scale="integer"), "warmup_steps"),
])
def test_every_branch_and_bound_is_checked_before_any_work(pk, digits_workload, tmp_path,
                                                           declare, field):
    space = declare(pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-2, scale="log"))
    with pytest.raises(ValueError, match=f"'{field}'"):
        pk.run_study(digits_workload, space, max_trials=4, max_train_steps=50, eval_every=10,
                     directory=tmp_path, name="bad", progress=False)
    assert not (tmp_path / "bad").exists()
