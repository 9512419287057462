"""Many processes for one study: keras-tuner's chief/worker mode launched on this machine.

``launch_workers`` starts N workers, each with its share of the cores
(``worker_environments``) and, with GPUs, one GPU each, then waits for all of them. The
first worker also serves the oracle (keras-tuner's chief) from a thread, which ends once
no trial runs and every worker was told to stop: a separate chief process would import
TensorFlow just to hand out trials, a whole process's start-up on a machine with few
cores.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..core.validation import not_allowed


def free_port() -> int:
    """A free TCP port on loopback for the chief oracle."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_environments(workers: int, threads_per_worker: int | None = None,
                        port: int | None = None, gpus: int = 0,
                        cores: int | None = None) -> list[dict]:
    """The environment variables of each worker; the first also serves the oracle.

    Each worker gets ``threads_per_worker`` TensorFlow threads, by default an equal share
    of the CPU cores this process may use (``cores // workers``, at least 1), set both as
    variables and by its ``setup``, so that a setting the launching process inherited
    (``OMP_NUM_THREADS`` from a notebook's ``setup``, say) cannot oversubscribe the cores;
    with GPUs, worker ``i`` sees GPU ``i % gpus`` only. The oracle's thread in the first
    worker sleeps between the few calls it answers per trial, so it takes no core share.
    """
    from ..core.runtime import available_cores
    from ._keras_tuner import HOST_VARIABLE, WORKERS_VARIABLE

    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise not_allowed("workers", workers, "use an integer >= 1")
    if threads_per_worker is not None and (not isinstance(threads_per_worker, int)
                                           or threads_per_worker < 1):
        raise not_allowed("threads_per_worker", threads_per_worker,
                          "use an integer >= 1 or None (an equal share of the CPU cores)")
    threads = threads_per_worker or max(1, (cores or available_cores()) // workers)
    base = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port),
            "TF_CPP_MIN_LOG_LEVEL": "2", WORKERS_VARIABLE: str(workers),
            "TF_NUM_INTRAOP_THREADS": str(threads),
            "TF_NUM_INTEROP_THREADS": str(min(threads, 2)), "OMP_NUM_THREADS": str(threads)}
    return [{**base, "KERASTUNER_TUNER_ID": f"tuner{i}", HOST_VARIABLE: str(int(i == 0)),
             **({"CUDA_VISIBLE_DEVICES": str(i % gpus)} if gpus else {})}
            for i in range(workers)]


def launch_workers(spec_path: str | Path, directory: str | Path, workers: int,
                   threads_per_worker: int | None = None, port: int | None = None,
                   timeout: float | None = None) -> list[int]:
    """Run a study file with keras-tuner's chief/worker mode on this machine.

    Starts ``workers`` worker processes with the environments of
    :func:`worker_environments` (an equal share of the cores each; the first serves the
    oracle on 127.0.0.1), waits for all of them and returns their exit codes. A worker
    that is lost does not stop the others: its trial is handed to another worker once its
    heartbeat is older than the lease (:data:`~playbook_kit.training.trial_state.LEASE_S`), which
    continues it from its resumable state, and the study ends with exactly its budget.
    If the first worker (the oracle's host) is lost, the others give up after
    :data:`~playbook_kit.search._keras_tuner.ORACLE_WAIT_S` and exit asking for a
    restart (the launcher stops any left :data:`HOST_GRACE_S` later); the same command
    resumes. On a cluster, start the same command with the
    ``KERASTUNER_*`` variables set by your scheduler, one process with
    ``KERASTUNER_TUNER_ID=chief`` (see the README).
    """
    from ._keras_tuner import CHIEF_POLL_S, oracle_wait_seconds

    envs = worker_environments(workers, threads_per_worker, port or free_port(), _gpu_count())
    command = [sys.executable, "-m", "playbook_kit.cli", "study", str(spec_path),
               "--directory", str(directory), "--no-progress", "--threads"]
    procs = []
    try:
        for env in envs:
            procs.append(subprocess.Popen(command + [env["TF_NUM_INTRAOP_THREADS"]],
                                          env={**os.environ, **env}))
        deadline = None if timeout is None else time.monotonic() + timeout
        host_lost = None
        while any(p.poll() is None for p in procs):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"study workers still running after {timeout} s")
            if procs[0].poll() not in (None, 0) and host_lost is None:
                host_lost = time.monotonic()  # the others give up on its oracle in time
            if host_lost is not None and \
                    time.monotonic() - host_lost > oracle_wait_seconds() + HOST_GRACE_S:
                break
            time.sleep(CHIEF_POLL_S)
        return [p.poll() if p.poll() is not None else -1 for p in procs]
    finally:
        for process in procs:
            if process.poll() is None:
                process.kill()
                process.wait()


HOST_GRACE_S = 30.0
"""After the oracle's host is lost, the other workers give up on it within the oracle
wait; the launcher stops any still running this much later."""


def _gpu_count() -> int:
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
        return len([line for line in out.stdout.splitlines() if line.startswith("GPU")])
    except (OSError, subprocess.SubprocessError):
        return 0
