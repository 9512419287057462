"""One runner per study (issue 22): a live process's lock refuses a second runner before
any work, from Python and the command line; a lock left by a killed process is taken
over; workers joining a chief take none. No test waits on a clock: stale heartbeats are
written into fake locks, and a live holder is a subprocess that holds until told."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from playbook_kit.studies import study_lock
from playbook_kit.studies.study_lock import LOCK_FILE, STALE_AFTER_S, StudyLock, StudyLocked

ROOT = Path(__file__).parents[1]
HOLD = ("import sys; from playbook_kit.studies.study_lock import StudyLock; "
        "lock = StudyLock(sys.argv[1]).acquire(); print('held', flush=True); "
        "sys.stdin.read(); lock.release()")


@pytest.fixture
def holder_process(tmp_path):
    """A live process holding the lock of study ``tmp_path / 's'`` until its stdin closes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path / "s")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               env=env)
    assert process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.stdin.close()
        process.wait(timeout=60)


def fake_lock(project: Path, **fields) -> dict:
    """A lock file as a process would have left it, with ``fields`` changed."""
    lock = {"schema_version": 1, "pid": os.getpid(), "host": socket.gethostname(),
            "boot_id": study_lock._boot_id(), "start_ticks": study_lock._start_ticks(os.getpid()),
            "role": "runner", "started": time.time(), "heartbeat": time.time(),
            "command": "python old.py", "token": "0123456789abcdef", **fields}
    project.mkdir(parents=True, exist_ok=True)
    (project / LOCK_FILE).write_text(json.dumps(lock))
    return lock


def dead_pid() -> int:
    """The id of a process that has exited (and was reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def small_study(pk, digits_workload, directory, **extra):
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-2, scale="log")
    return pk.run_study(digits_workload, space, max_trials=2, max_train_steps=10,
                        eval_every=5, directory=directory, name="s", progress=False, **extra)


def test_a_second_runner_is_refused_before_any_work_while_the_holder_lives(
        pk, digits_workload, tmp_path, holder_process, capsys):
    from playbook_kit.cli import main

    project = tmp_path / "s"
    with pytest.raises(StudyLocked) as refused:
        small_study(pk, digits_workload, tmp_path)
    message = str(refused.value)
    assert "\n" not in message
    assert f"process {holder_process.pid} on host {socket.gethostname()}" in message
    assert "--workers N" in message and "KERASTUNER_" in message
    assert sorted(p.name for p in project.iterdir()) == [LOCK_FILE]  # no work done

    spec = tmp_path / "s.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "s", "data": {"name": "digits"}, "max_trials": 2, "max_train_steps": 10,
        "eval_every": 5, "space": {"learning_rate": {"role": "nuisance",
                                                     "range": [1.0e-3, 1.0e-2]}}}))
    for extra in ([], ["--workers", "2"]):  # the launcher checks before starting a worker
        assert main(["study", str(spec), "--directory", str(tmp_path), "--no-progress",
                     *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(holder_process.pid) in err, err
    assert sorted(p.name for p in project.iterdir()) == [LOCK_FILE]

    holder_process.stdin.close()  # the holder ends and releases: the study runs
    assert holder_process.wait(timeout=60) == 0
    study = small_study(pk, digits_workload, tmp_path)
    assert list(study.trials["status"]) == ["completed"] * 2
    assert not (project / LOCK_FILE).exists()


def test_a_lock_left_by_a_dead_process_is_taken_over_and_released(pk, digits_workload,
                                                                  tmp_path):
    fake_lock(tmp_path / "s", pid=dead_pid(), start_ticks=None)
    study = small_study(pk, digits_workload, tmp_path)
    assert list(study.trials["status"]) == ["completed"] * 2
    assert not (tmp_path / "s" / LOCK_FILE).exists()
    assert not list((tmp_path / "s").glob(f".{LOCK_FILE}*"))  # nothing left aside


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_a_reused_process_id_does_not_hold_the_lock(tmp_path):
    """The lock's process id now belongs to a later process (this one: its start time
    differs from the one recorded): the lock is stale."""
    lock = fake_lock(tmp_path / "s", start_ticks=study_lock._start_ticks(os.getpid()) - 1)
    assert "is gone" in study_lock.stale_reason(lock)
    with StudyLock(tmp_path / "s") as taken:
        assert "is gone" in taken.taken_over
        assert json.loads((tmp_path / "s" / LOCK_FILE).read_text())["token"] == taken.token


def test_another_hosts_lock_is_taken_over_only_when_its_heartbeat_is_old(tmp_path):
    project = tmp_path / "s"
    fake_lock(project, host="node-elsewhere", pid=1, heartbeat=time.time() - 20)
    with pytest.raises(StudyLocked, match=r"process 1 on host node-elsewhere runs it .*"
                       rf"once its heartbeat \(2\d s ago\) is older than {STALE_AFTER_S:.0f} s"):
        StudyLock(project).acquire()
    fake_lock(project, host="node-elsewhere", pid=1,
              heartbeat=time.time() - STALE_AFTER_S - 5)
    with StudyLock(project) as taken:
        assert "last showed a heartbeat" in taken.taken_over
    assert not (project / LOCK_FILE).exists()


@pytest.mark.parametrize("content", ["{", "[]", '{"pid": 3}'])
def test_a_damaged_lock_is_taken_over(tmp_path, content):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / LOCK_FILE).write_text(content)
    with StudyLock(tmp_path / "s") as taken:
        assert "damaged" in taken.taken_over


def test_a_second_runner_in_the_same_process_is_refused(tmp_path):
    """Two runs of one study in one process (a notebook's threads): the second is
    refused, naming this process; releasing leaves no lock."""
    with StudyLock(tmp_path / "s"):
        with pytest.raises(StudyLocked, match="this process already runs it"):
            StudyLock(tmp_path / "s").acquire()
    assert not (tmp_path / "s" / LOCK_FILE).exists()


def test_the_heartbeat_refreshes_the_lock_and_notices_a_take_over(tmp_path):
    from playbook_kit.search.study import _after_trial

    lock = StudyLock(tmp_path / "s").acquire()
    path = tmp_path / "s" / LOCK_FILE
    first = json.loads(path.read_text())
    stale = {**first, "heartbeat": first["heartbeat"] - 100}
    path.write_text(json.dumps(stale))
    lock.heartbeat()
    assert json.loads(path.read_text())["heartbeat"] > stale["heartbeat"]
    _after_trial(lock, tmp_path / "s", None, "max")  # still ours: the study goes on
    path.write_text(json.dumps({**first, "token": "someone else", "pid": 4242}))
    lock.heartbeat()
    with pytest.raises(StudyLocked, match="process 4242 .* took over its lock"):
        _after_trial(lock, tmp_path / "s", None, "max")
    lock.release()
    assert json.loads(path.read_text())["token"] == "someone else"  # not ours to remove


@pytest.fixture
def keras_tuner_role(monkeypatch):
    """Set keras-tuner's chief/worker variables for one process role."""
    def set_role(tuner_id, hosts_oracle=False):
        monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
        monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
        monkeypatch.setenv("KERASTUNER_TUNER_ID", tuner_id)
        if hosts_oracle:
            monkeypatch.setenv("PLAYBOOK_KIT_HOSTS_ORACLE", "1")
    return set_role


def test_workers_joining_a_chief_take_no_lock_and_the_oracle_holds_it(tmp_path,
                                                                      keras_tuner_role):
    from playbook_kit.search.study import _runner_lock

    project = tmp_path / "s"
    keras_tuner_role("chief")
    chief = _runner_lock(project)
    assert json.loads((project / LOCK_FILE).read_text())["role"] == "chief"
    keras_tuner_role("tuner1")
    assert _runner_lock(project) is None  # joins the chief that holds the lock
    chief.release()
    keras_tuner_role("tuner0", hosts_oracle=True)  # the launcher's first worker
    host = _runner_lock(project)
    assert json.loads((project / LOCK_FILE).read_text())["role"] == "oracle host"
    host.release()


def test_a_worker_is_refused_by_a_single_runners_lock(tmp_path, holder_process,
                                                      keras_tuner_role):
    """A process running the study alone (role ``runner``) has no oracle to join."""
    from playbook_kit.search.study import _runner_lock

    keras_tuner_role("tuner1")
    with pytest.raises(StudyLocked, match=f"process {holder_process.pid}"):
        _runner_lock(tmp_path / "s")
