"""keras-tuner's private names, in one place.

keras-tuner 1.4 exports most of what we use through public paths
(``keras_tuner.engine.base_tuner.BaseTuner``, ``keras_tuner.engine.trial.TrialStatus``,
``keras_tuner.engine.hyperparameters``, ``keras_tuner.oracles``), and the rest of the
package uses only those. Five things have no public path: whether this process is a
chief/worker participant (``keras_tuner.src.distribute.utils``), the ``DEBUG`` switch
that makes keras-tuner print a traceback for every failed (here: infeasible) trial
(``keras_tuner.src.config``), the oracle's retry queue (``Oracle._retry_queue``),
through which a trial with a damaged record (or a lost worker's) runs again, the chief's
gRPC service (``keras_tuner.src.distribute.oracle_chief``, ``keras_tuner.src.protos``),
which :func:`serve_chief` runs with a shorter wait than keras-tuner's own loop (and
:func:`serve_chief_in_thread` from a worker's process), and the worker's client
(``keras_tuner.src.distribute.oracle_client``: its calls' hour-long timeout, which
:func:`reconnect_quickly` bounds). They are reached here only, so that a keras-tuner
upgrade that moves them breaks one module.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

__all__ = ["CHIEF_POLL_S", "GIL_SWITCH_S", "HOST_VARIABLE", "IDLE_WAIT_S", "ORACLE_WAIT_S",
           "RECONNECT_MS", "WORKERS_VARIABLE", "as_chief", "hosts_oracle", "is_chief",
           "is_lost_oracle", "is_worker", "oracle_wait_seconds", "quiet_failed_trials",
           "reconnect_quickly", "retry_trial", "serve_chief", "serve_chief_in_thread"]

CHIEF_POLL_S = 0.05
WORKERS_VARIABLE = "PLAYBOOK_KIT_WORKERS"
HOST_VARIABLE = "PLAYBOOK_KIT_HOSTS_ORACLE"
GIL_SWITCH_S = 0.0005
RECONNECT_MS = 100
ORACLE_WAIT_S = 120.0
"""The toolkit's choice: a worker gives up on an oracle that has not answered a call for
two minutes (its process is lost), and exits asking for a restart."""
IDLE_WAIT_S = 1.0


def is_worker() -> bool:
    """Whether this process is a worker of a chief/worker study (``KERASTUNER_*``
    variables set, and not the chief)."""
    from keras_tuner.src.distribute import utils

    return utils.has_chief_oracle() and not utils.is_chief_oracle()


def is_chief() -> bool:
    """Whether this process is the chief oracle of a chief/worker study."""
    from keras_tuner.src.distribute import utils

    return utils.is_chief_oracle()


def hosts_oracle() -> bool:
    """Whether this worker also serves the study's oracle, from a thread
    (``PLAYBOOK_KIT_HOSTS_ORACLE=1``, set by ``launch_workers`` on its first worker)."""
    return is_worker() and os.environ.get(HOST_VARIABLE) == "1"


@contextlib.contextmanager
def as_chief():
    """This process seen as the chief while the block runs (keras-tuner reads
    ``KERASTUNER_TUNER_ID`` when a tuner is built and when it saves), so that the worker
    that hosts the oracle builds and saves the chief's tuner exactly as a chief process
    would; the worker's own id is restored after."""
    tuner_id = os.environ["KERASTUNER_TUNER_ID"]
    os.environ["KERASTUNER_TUNER_ID"] = "chief"
    try:
        yield
    finally:
        os.environ["KERASTUNER_TUNER_ID"] = tuner_id


@contextlib.contextmanager
def quiet_failed_trials():
    """keras-tuner without a printed traceback per failed trial (infeasible trials are
    expected in a study and recorded with their reason)."""
    from keras_tuner.src import config

    debug, config.DEBUG = config.DEBUG, False
    try:
        yield
    finally:
        config.DEBUG = debug


def retry_trial(oracle, trial_id: str) -> None:
    """Put a finished trial back on the oracle's retry queue, so that the next
    ``create_trial`` hands out the same trial (id and config) again instead of a new
    one. keras-tuner does this itself only for trials that were running at a crash; its
    queue (``Oracle._retry_queue``) has no public interface."""
    if trial_id not in oracle._retry_queue:
        oracle._retry_queue.append(trial_id)
    oracle.end_order = [t for t in oracle.end_order if t != trial_id]


def serve_chief(oracle, workers: int | None = None, poll_s: float = CHIEF_POLL_S,
                sleep=time.sleep) -> None:
    """Serve ``oracle`` to the workers over gRPC until the study has ended.

    keras-tuner's own loop (``oracle_chief.start_server``) looks once a second whether
    a worker has been told to stop, and after that only every 20 s whether the others
    are done, so its chief outlives the last trial by up to 20 s. Here the check runs
    every ``poll_s`` seconds (sleeping in between, so the chief uses next to no CPU).
    The study has ended when no trial is running and every worker asked for a trial
    and was told to stop, or was lost (the oracle's ``lost_workers``: no trial and no
    call for longer than the lease): with ``workers`` given (the launcher sets
    ``PLAYBOOK_KIT_WORKERS``), that many distinct workers, so a worker that starts
    late is not left waiting on a chief that has already gone. The oracle's state is
    saved once more at the end, so that a resumed study does not requeue the last trial.
    """
    from concurrent import futures

    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief
    from keras_tuner.src.engine import trial as trial_module

    class Servicer(oracle_chief.OracleServicer):
        """keras-tuner's service, noting which workers were told to stop."""

        def __init__(self, oracle):
            super().__init__(oracle)
            self.stopped: set[str] = set()

        def CreateTrial(self, request, context):
            trial = self.oracle.create_trial(request.tuner_id)
            if trial.status == trial_module.TrialStatus.STOPPED:
                self.stop_triggered = True
                self.stopped.add(request.tuner_id)
            return protos.get_service().CreateTrialResponse(trial=trial.to_proto())

    if workers is None and os.environ.get(WORKERS_VARIABLE):
        workers = int(os.environ[WORKERS_VARIABLE])
    servicer = Servicer(oracle)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    server.add_insecure_port(f"{os.environ['KERASTUNER_ORACLE_IP']}:"
                             f"{os.environ['KERASTUNER_ORACLE_PORT']}")
    server.start()
    lost = getattr(oracle, "lost_workers", set)
    try:
        while not (servicer.stop_triggered and len(servicer.stopped | lost()) >= (workers or 1)
                   and oracle_chief.exit_chief(oracle)):
            sleep(poll_s)
        oracle.save()  # keras-tuner saved before it dropped the last trial from those running
    finally:
        server.stop(grace=None)


def reconnect_quickly(client) -> None:
    """Give a worker's oracle client a channel that retries a refused connection every
    ``RECONNECT_MS`` ms, calls that give up after :data:`ORACLE_WAIT_S` (keras-tuner's
    wait an hour: a worker whose oracle's process is lost would hang), and a pause of
    :data:`IDLE_WAIT_S` after an ``IDLE`` answer (the oracle asks a worker to wait while
    others run the last trials; keras-tuner asks again at once). keras-tuner's channel uses
    gRPC's default backoff (1 s, growing 1.6x per try): workers start together with the
    oracle's host and often ask before it listens, and then waited 1 + 1.6 + 2.6 + 4.1 s,
    about 9 s of a one-minute study."""
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_client
    from keras_tuner.src.engine import trial as trial_module

    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    options = [("grpc.initial_reconnect_backoff_ms", RECONNECT_MS),
               ("grpc.min_reconnect_backoff_ms", RECONNECT_MS),
               ("grpc.max_reconnect_backoff_ms", RECONNECT_MS)]
    client.stub = protos.get_service_grpc().OracleStub(grpc.insecure_channel(address, options))
    oracle_client.TIMEOUT = oracle_wait_seconds()
    ask = getattr(client, "create_trial", None)
    if ask is None:
        return

    def create_trial(tuner_id):
        trial = ask(tuner_id)
        if trial.status == trial_module.TrialStatus.IDLE:
            time.sleep(IDLE_WAIT_S)
        return trial

    client.create_trial = create_trial


def oracle_wait_seconds() -> float:
    """How long a worker waits for the study's oracle to answer a call before it gives up
    (``PLAYBOOK_KIT_ORACLE_WAIT_S``; :data:`ORACLE_WAIT_S`)."""
    return float(os.environ.get("PLAYBOOK_KIT_ORACLE_WAIT_S", ORACLE_WAIT_S))


def is_lost_oracle(error) -> bool:
    """Whether ``error`` is a call to the study's oracle that got no answer in time (its
    process or node is gone)."""
    import grpc

    return isinstance(error, grpc.RpcError) and error.code() in (
        grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)


def serve_chief_in_thread(oracle, workers: int | None = None):
    """Start :func:`serve_chief` on a background thread; returns a function that waits for
    it to end (every worker told to stop, no trial running) and re-raises its error.

    A chief process would import TensorFlow (keras-tuner imports Keras) only to hand out
    trials: on a machine with few cores, serving from a worker saves a whole process's
    start-up. The thread sleeps between its polls and answers a few calls per trial.
    This process's own trials hold the GIL in their Python parts, and a call waits for
    each hand-over of it (every 5 ms by default), so the switch interval drops to
    ``GIL_SWITCH_S`` (measured here under load: another worker's ``get_trial`` took
    40 to 180 ms on average at 5 ms, 19 to 46 ms at 0.5 ms).
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))
    errors: list[BaseException] = []

    def serve():
        try:
            serve_chief(oracle, workers)
        except BaseException as error:  # re-raised by wait(), in the worker's thread
            errors.append(error)

    thread = threading.Thread(target=serve, name="playbook-kit-oracle", daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if errors:
            raise errors[0]

    return wait
