"""Chief/worker studies on one machine: each process's threads, and a chief that ends
as soon as the last worker is done (no timed assertions: polls are counted)."""
import os
import subprocess
import sys
import threading

import pytest


def test_each_worker_gets_an_equal_share_of_the_cores_and_the_first_hosts_the_oracle():
    from playbook_kit.search.workers import worker_environments

    workers = worker_environments(2, port=5000, cores=8)
    assert [(w["KERASTUNER_TUNER_ID"], w["PLAYBOOK_KIT_HOSTS_ORACLE"], w["TF_NUM_INTRAOP_THREADS"],
             w["TF_NUM_INTEROP_THREADS"], w["OMP_NUM_THREADS"]) for w in workers] == [
        ("tuner0", "1", "4", "2", "4"), ("tuner1", "0", "4", "2", "4")]
    assert {e["PLAYBOOK_KIT_WORKERS"] for e in workers} == {"2"}
    assert {e["KERASTUNER_ORACLE_PORT"] for e in workers} == {"5000"}
    assert all("CUDA_VISIBLE_DEVICES" not in e for e in workers)


def test_on_two_cores_two_workers_get_one_thread_each():
    from playbook_kit.search.workers import worker_environments

    envs = worker_environments(2, port=5000, cores=2)
    assert [e["TF_NUM_INTRAOP_THREADS"] for e in envs] == ["1", "1"]
    assert [e["TF_NUM_INTEROP_THREADS"] for e in envs] == ["1", "1"]


def test_with_gpus_each_worker_sees_one():
    from playbook_kit.search.workers import worker_environments

    workers = worker_environments(3, threads_per_worker=2, port=5000, gpus=2, cores=16)
    assert [w["CUDA_VISIBLE_DEVICES"] for w in workers] == ["0", "1", "0"]
    assert [w["TF_NUM_INTRAOP_THREADS"] for w in workers] == ["2", "2", "2"]


@pytest.mark.parametrize("workers, threads, message", [
    (0, None, "workers=0 is not allowed; use an integer >= 1"),
    (True, None, "workers=True is not allowed; use an integer >= 1"),
    (2, 0, "threads_per_worker=0 is not allowed; use an integer >= 1 or None"),
])
def test_bad_worker_settings_are_refused(workers, threads, message):
    from playbook_kit.search.workers import worker_environments

    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        worker_environments(workers, threads, port=5000)


def test_launcher_gives_each_process_its_threads_over_inherited_settings(monkeypatch,
                                                                          tmp_path):
    from playbook_kit.search import workers as study_module

    real_popen, started = subprocess.Popen, []

    def popen(command, env=None, **kwargs):
        started.append((command, env))
        return real_popen([sys.executable, "-c", "pass"], env=env, **kwargs)

    monkeypatch.setenv("OMP_NUM_THREADS", "8")  # as left by a notebook's setup()
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})  # 4 of 16 cores
    monkeypatch.setattr(study_module, "_gpu_count", lambda: 0)
    monkeypatch.setattr(study_module.subprocess, "Popen", popen)
    codes = study_module.launch_workers(tmp_path / "s.yaml", tmp_path, workers=2)
    assert codes == [0, 0]
    assert [(env["KERASTUNER_TUNER_ID"], command[-2:], env["OMP_NUM_THREADS"])
            for command, env in started] == [("tuner0", ["--threads", "2"], "2"),
                                             ("tuner1", ["--threads", "2"], "2")]


def test_a_worker_process_runs_tensorflow_with_its_thread_counts():
    from playbook_kit.search.workers import worker_environments

    _, worker = worker_environments(2, port=5000, cores=2)
    code = ("import os, playbook_kit as pk; pk.setup(threads=1, style=False); "
            "import tensorflow as tf; "
            "print(tf.config.threading.get_intra_op_parallelism_threads(), "
            "tf.config.threading.get_inter_op_parallelism_threads(), "
            "os.environ['OMP_NUM_THREADS'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "8", **worker}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1", "1"]


def test_chief_serves_until_every_worker_was_told_to_stop(pk, monkeypatch, tmp_path):
    """With keras-tuner's rule the chief would end once one worker was stopped and no
    trial ran, leaving a worker that asks later waiting on no one; ours waits for both,
    checking every ``CHIEF_POLL_S`` (each poll is released by the test, in lock step)."""
    import keras_tuner as kt
    from keras_tuner.src.distribute.oracle_client import OracleClient

    from playbook_kit.search._keras_tuner import CHIEF_POLL_S, serve_chief
    from playbook_kit.search.oracles import make_oracle
    from playbook_kit.search.workers import free_port

    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(free_port()))
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    oracle = make_oracle("quasi_random", pk.SearchSpace().nuisance("learning_rate", 1e-3, 1e-1),
                         max_trials=1, objective=kt.Objective("val_accuracy", "max"))
    oracle._set_project_dir(str(tmp_path), "chief")
    waits, polled, go = [], threading.Semaphore(0), threading.Semaphore(0)

    def sleep(seconds):
        waits.append(seconds)
        polled.release()
        assert go.acquire(timeout=60)

    chief = threading.Thread(target=serve_chief, args=(oracle, 2),
                             kwargs={"sleep": sleep}, daemon=True)
    chief.start()
    assert polled.acquire(timeout=60)
    client = OracleClient(oracle)
    trial = client.create_trial("tuner0")
    assert (trial.status, trial.trial_id) == ("RUNNING", "0")
    client.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    trial.status = "COMPLETED"
    client.end_trial(trial)
    assert client.create_trial("tuner0").status == "STOPPED"
    go.release()
    assert polled.acquire(timeout=60)  # checked again with one worker stopped: still serving
    assert chief.is_alive()
    assert client.create_trial("tuner1").status == "STOPPED"
    go.release()
    chief.join(timeout=60)
    assert not chief.is_alive()
    assert waits == [CHIEF_POLL_S, CHIEF_POLL_S]


def test_setup_skips_the_final_garbage_collection_at_exit():
    code = ("import atexit, gc, playbook_kit as pk; pk.setup(seed=0, style=False); "
            "before = gc.get_freeze_count(); atexit._run_exitfuncs(); "
            "print(before, gc.get_freeze_count() > 1000)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True"]


def test_the_oracle_thread_hands_its_error_to_the_waiting_worker(pk, monkeypatch):
    """A chief thread that fails must fail its worker's study, not leave it waiting; its
    process hands the GIL over every 0.5 ms so that other workers' calls wait less."""
    from playbook_kit.search._keras_tuner import serve_chief_in_thread

    monkeypatch.delenv("KERASTUNER_ORACLE_IP", raising=False)
    switch = sys.getswitchinterval()
    try:
        wait = serve_chief_in_thread(oracle=None, workers=1)
        assert sys.getswitchinterval() == 0.0005
        with pytest.raises(KeyError, match="KERASTUNER_ORACLE_IP"):
            wait()
    finally:
        sys.setswitchinterval(switch)


def test_the_launcher_reads_a_study_file_without_importing_tensorflow(tmp_path):
    """The launcher starts the workers before anything heavy: importing TensorFlow
    (3 to 5 CPU s) there would delay every worker's start on a machine with few cores."""
    spec = tmp_path / "study.yaml"
    spec.write_text("name: s\ndata: {name: digits}\nobjective: val_accuracy\n"
                    "space:\n  depth: {role: scientific, values: [1, 2]}\n"
                    "algorithm: quasi_random\nmax_trials: 2\nmax_train_steps: 20\n"
                    "eval_every: 10\n")
    code = ("import sys\nfrom playbook_kit.search.study import StudySpec\n"
            "from playbook_kit.search.workers import launch_workers\n"
            f"StudySpec.from_yaml({str(spec)!r})\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert (result.returncode, result.stdout) == (0, "[]\n"), result.stderr


def test_a_worker_asks_a_late_oracle_again_every_tenth_of_a_second(monkeypatch):
    """A worker that asks before the oracle's host listens retries every RECONNECT_MS
    (100 ms), not after gRPC's default backoff (1 s, then 1.6x longer each time), which
    cost the workers about 9 s of a one-minute study (bench/workers.py)."""
    import grpc

    from playbook_kit.search import _keras_tuner

    made = []
    real = grpc.insecure_channel
    monkeypatch.setattr(grpc, "insecure_channel",
                        lambda target, options=None: made.append((target, dict(options)))
                        or real(target, options))
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "50123")
    client = type("Client", (), {})()
    _keras_tuner.reconnect_quickly(client)
    assert made == [("127.0.0.1:50123", {"grpc.initial_reconnect_backoff_ms": 100,
                                         "grpc.min_reconnect_backoff_ms": 100,
                                         "grpc.max_reconnect_backoff_ms": 100})]
    assert hasattr(client.stub, "GetSpace") and hasattr(client.stub, "CreateTrial")


def test_the_workers_bench_ceilings_are_one_process_time_over_the_least_workers_time():
    """bench/workers.py bounds the ratio it measures: the workers cannot finish before their
    CPU seconds spread over all cores, nor, sharing one start-up, before one process's
    start-up plus their trials' CPU seconds spread over all cores."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "bench" / "workers.py"
    spec = importlib.util.spec_from_file_location("workers_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    one = {"wall": 14.0, "cpu": 18.0, "cpu_before_first": 5.0, "cpu_in_trials": 13.0}
    many = {"wall": 13.0, "cpu": 24.0, "cpu_before_first": None, "cpu_in_trials": 12.0}
    ceilings = bench.ceilings(one, many, cores=2)
    assert ceilings == {"these workers": pytest.approx(14.0 / 12.0),
                        "one start-up": pytest.approx(14.0 / (5.0 + 6.0))}
    assert bench.ceilings(one, many, cores=4)["these workers"] == pytest.approx(14.0 / 6.0)
