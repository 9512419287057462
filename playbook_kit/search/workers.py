"""Many processes for one study: keras-tuner's chief/worker mode launched on this machine.

``launch_workers`` starts a chief (the oracle, one thread, no GPU) and N workers, each with
its share of the cores (``worker_environments``) and, with GPUs, one GPU each, then waits
for all of them; the chief ends once no trial runs and every worker was told to stop.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A free TCP port on loopback for the chief oracle."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_environments(workers: int, threads_per_worker: int | None = None,
                        port: int | None = None, gpus: int = 0,
                        cores: int | None = None) -> list[dict]:
    """The environment variables of the chief (first) and of each worker.

    Each worker gets ``threads_per_worker`` TensorFlow threads, by default an equal share
    of the CPU cores this process may use (``cores // workers``, at least 1), set both as variables and by its
    ``setup``, so that a setting the launching process inherited (``OMP_NUM_THREADS``
    from a notebook's ``setup``, say) cannot oversubscribe the cores; with GPUs, worker
    ``i`` sees GPU ``i % gpus`` only. The chief only serves the oracle: one thread, no
    GPU (a TensorFlow process that sees a GPU reserves memory on it).
    """
    from ..runtime import available_cores
    from ._keras_tuner import WORKERS_VARIABLE

    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers={workers!r} is not allowed; use an integer >= 1")
    if threads_per_worker is not None and (not isinstance(threads_per_worker, int)
                                           or threads_per_worker < 1):
        raise ValueError(f"threads_per_worker={threads_per_worker!r} is not allowed; use an "
                         "integer >= 1 or None (an equal share of the CPU cores)")
    threads = threads_per_worker or max(1, (cores or available_cores()) // workers)
    base = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port),
            "TF_CPP_MIN_LOG_LEVEL": "2", WORKERS_VARIABLE: str(workers)}

    def environment(tuner_id, count, devices):
        env = {**base, "KERASTUNER_TUNER_ID": tuner_id, "TF_NUM_INTRAOP_THREADS": str(count),
               "TF_NUM_INTEROP_THREADS": str(min(count, 2)), "OMP_NUM_THREADS": str(count)}
        if devices is not None:
            env["CUDA_VISIBLE_DEVICES"] = devices
        return env

    chief = environment("chief", 1, "" if gpus else None)
    return [chief] + [environment(f"tuner{i}", threads, str(i % gpus) if gpus else None)
                      for i in range(workers)]


def launch_workers(spec_path: str | Path, directory: str | Path, workers: int,
                   threads_per_worker: int | None = None, port: int | None = None,
                   timeout: float | None = None) -> list[int]:
    """Run a study file with keras-tuner's chief/worker mode on this machine.

    Starts a chief oracle on 127.0.0.1 and ``workers`` worker processes with the
    environments of :func:`worker_environments` (an equal share of the cores each), waits
    for all of them and returns their exit codes (the chief's last). On a cluster, start
    the same command with the ``KERASTUNER_*`` variables set by your scheduler (see the
    README).
    """
    from ._keras_tuner import CHIEF_POLL_S

    chief_env, *worker_envs = worker_environments(workers, threads_per_worker,
                                                  port or free_port(), _gpu_count())
    command = [sys.executable, "-m", "playbook_kit.cli", "study", str(spec_path),
               "--directory", str(directory), "--no-progress", "--threads"]
    chief = subprocess.Popen(command + [chief_env["TF_NUM_INTRAOP_THREADS"]],
                             env={**os.environ, **chief_env})
    procs = []
    try:
        for env in worker_envs:
            procs.append(subprocess.Popen(command + [env["TF_NUM_INTRAOP_THREADS"]],
                                          env={**os.environ, **env}))
        deadline = None if timeout is None else time.monotonic() + timeout
        while any(p.poll() is None for p in procs):
            if chief.poll() not in (None, 0):
                break  # the chief died: the workers would wait for it forever
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"study workers still running after {timeout} s")
            time.sleep(CHIEF_POLL_S)
        try:  # the chief exits once every worker has been told to stop
            chief.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        return [p.poll() if p.poll() is not None else -1 for p in procs] + \
            [chief.poll() if chief.poll() is not None else -1]
    finally:
        for process in [*procs, chief]:
            if process.poll() is None:
                process.kill()
                process.wait()


def _gpu_count() -> int:
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
        return len([line for line in out.stdout.splitlines() if line.startswith("GPU")])
    except (OSError, subprocess.SubprocessError):
        return 0
