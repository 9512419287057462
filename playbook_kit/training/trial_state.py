"""A running trial's resumable state: a trial killed at 90% continues from its last state.

A trial writes its state at intervals (``checkpoint_every``) into its checkpoint folder,
as one folder ``state-<step>`` written whole or not at all
(:func:`~playbook_kit.core.files.atomic_directory`): the model's and the optimizer's variables
(the dropout seeds included: Keras keeps them in variables), the data position (the
train iterator's own checkpoint: its shuffle buffer, its random state and its place in
the epoch; a pipeline that ``tf.data`` cannot checkpoint is replayed up to the step),
and a JSON file with everything else: the step, the curves so far, the best-k
checkpoints' state, the divergence rule's initial loss and the running sums of the chunk
in progress (:func:`~playbook_kit.training.steps.run_steps`). The previous state is removed once
the next is on disk; a finished trial keeps none.

A state is loaded only into the trial it was written for: its identity (the toolkit's
version, the config, the seed, the steps, the engine, the shapes of the variables) must
match, else the trial restarts from step 0 and its record says why. So is a state that
cannot be read.

SIGTERM (what SLURM, Kubernetes and preemptible machines send first) is a request to stop
(:func:`stop_on_sigterm`): the running trial writes its state at the next step boundary
and raises :class:`TrialInterrupted`, which the study runner turns into a clean exit
(the CLI exits with :data:`EXIT_INTERRUPTED`). A second SIGTERM, or SIGINT, exits at
once; the state on disk is then the last complete one.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path

STATE_VERSION = 1
EXIT_INTERRUPTED = 75
"""The CLI's exit code for a study stopped on request with its state written (EX_TEMPFAIL:
run the same command again to continue)."""
DEFAULT_SECONDS = 600.0
"""The toolkit's choice: a state at least every 10 minutes of training..."""
DEFAULT_FRACTION = 0.1
"""...or every 10% of the trial's expected training time, whichever comes first..."""
MIN_COST_RATIO = 100.0
"""...but never more often than 100 times the time the last state took to write (at most
1% of the training time), and not before the trial has trained that long: a trial shorter
than about 100 state writes (10 s for the digits MLPs here) writes none, and loses at most
that much if it is killed."""
FIRST_WRITE_S = 0.1
"""The write time assumed before the first state is written (measured here: 0.10 s for a
digits MLP of 256 x 3 with its data iterator, bench/preemption.py)."""
HEARTBEAT_S = 10.0
"""How often (seconds) a running trial notes its step in ``progress.json``: the work a
kill loses is the steps since the last state up to the last note, and a study's lease on a
worker's trial runs from the last note."""

HEARTBEAT_FILE = "heartbeat"
LEASE_S = 120.0
"""The toolkit's choice: a worker's trial whose heartbeat (touched every
:data:`HEARTBEAT_S` by a thread of the worker, whatever its trial is doing) is older than
this is taken as lost (the worker's process or node is gone) and handed to the next worker
that asks, which continues it from its resumable state. Twelve missed beats: a live but
loaded worker is never taken for lost. ``PLAYBOOK_KIT_LEASE_S`` overrides it."""

_STOP = threading.Event()


def heartbeat_seconds() -> float:
    return float(os.environ.get("PLAYBOOK_KIT_HEARTBEAT_S", HEARTBEAT_S))


def lease_seconds() -> float:
    return float(os.environ.get("PLAYBOOK_KIT_LEASE_S", LEASE_S))


@contextlib.contextmanager
def keep_beating(trial_dir):
    """Touch ``trial_dir/heartbeat`` now and every :func:`heartbeat_seconds` from a thread
    while the block runs: the study's oracle knows the trial's worker is alive."""
    path = Path(trial_dir) / HEARTBEAT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    done = threading.Event()

    def beat():
        while True:
            with contextlib.suppress(OSError):
                path.touch()
            if done.wait(heartbeat_seconds()):
                return

    thread = threading.Thread(target=beat, name="playbook-kit-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def heartbeat_age(trial_dir) -> float | None:
    """Seconds since the trial's worker last beat (None: no heartbeat yet)."""
    try:
        return time.time() - (Path(trial_dir) / HEARTBEAT_FILE).stat().st_mtime
    except OSError:
        return None


class TrialInterrupted(BaseException):
    """A trial stopped on request (SIGTERM) after writing its state at ``step``; not a
    failure (a ``BaseException``, so that keras-tuner does not record it as one): run the
    same study again to continue."""

    def __init__(self, step: int, path, message: str | None = None):
        super().__init__(message or f"stopped on request at step {step}; its state is in "
                                    f"{path}")
        self.step, self.path = step, path


class StateError(Exception):
    """A stored state that cannot be loaded into this trial."""


def stop_requested() -> bool:
    return _STOP.is_set()


def request_stop() -> None:
    """Ask the running trial to write its state and stop at its next step boundary."""
    _STOP.set()


@contextlib.contextmanager
def stop_on_sigterm():
    """While the block runs, SIGTERM asks the running trial to stop cleanly
    (:func:`request_stop`); a second SIGTERM, or SIGINT, exits at once. Outside the main
    thread, or where signals cannot be set, the block runs unchanged."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def at_once(signum, frame):
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.kill(os.getpid(), signum)

    def on_term(signum, frame):
        if _STOP.is_set():
            at_once(signum, frame)
            return
        request_stop()
        signal.signal(signal.SIGINT, at_once)

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _STOP.clear()


def check_every(value):
    """``checkpoint_every`` as the trainer takes it: ``None`` (the default interval, see
    :class:`Interval`), ``"off"``, a number of steps (an int >= 1), or seconds of training
    time as ``"<n>s"`` or ``"<n>min"``. Returns ``("steps", n)``, ``("seconds", s)``,
    ``("auto", None)`` or ``("off", None)``."""
    from ..core.validation import not_allowed

    allowed = ("use None (the default), 'off', a number of steps >= 1, or training time "
               "as '<n>s' or '<n>min'")
    if value is None:
        return ("auto", None)
    if value == "off":
        return ("off", None)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return ("steps", int(value))
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|min)\s*", value)
        if match and float(match.group(1)) > 0:
            scale = 60.0 if match.group(2) == "min" else 1.0
            return ("seconds", float(match.group(1)) * scale)
    raise not_allowed("checkpoint_every", value, allowed)


class Interval:
    """When the next state is due (see :func:`check_every`). By default
    (:data:`DEFAULT_SECONDS`, :data:`DEFAULT_FRACTION`, :data:`MIN_COST_RATIO`): at most
    10 minutes or 10% of the trial's expected training time apart, whichever is less, and
    never more often than 100 times the last write's cost."""

    def __init__(self, every, max_train_steps: int):
        self.kind, self.value = check_every(every)
        self.max_train_steps = max_train_steps
        self.write_cost = FIRST_WRITE_S
        self.last_step, self.last_seconds = 0, 0.0

    def due(self, step: int, seconds: float) -> bool:
        """Whether a state is due at ``step`` after ``seconds`` of training time."""
        if self.kind == "off" or step <= self.last_step:
            return False
        if self.kind == "steps":
            return step - self.last_step >= self.value
        since = seconds - self.last_seconds
        if self.kind == "seconds":
            return since >= self.value
        expected = seconds / step * self.max_train_steps
        target = min(DEFAULT_SECONDS, DEFAULT_FRACTION * expected)
        return since >= max(target, MIN_COST_RATIO * self.write_cost)

    def steps_left(self, step: int) -> int | None:
        """Steps from ``step`` to the next state when it is due by steps (else None), so
        that a call of the compiled loop ends there."""
        return self.value - (step - self.last_step) if self.kind == "steps" else None

    def written(self, step: int, seconds: float, cost: float) -> None:
        self.last_step, self.last_seconds, self.write_cost = step, seconds, cost


class TrialState:
    """The resumable state of one run (one seed) of a trial, kept in ``directory``
    (its checkpoint folder). ``identity``: what must match for a state to be loaded."""

    def __init__(self, directory, identity: dict):
        self.directory = Path(directory)
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=repr))
        self._last_beat = 0.0

    def states(self) -> list[Path]:
        """Complete state folders, oldest first."""
        if not self.directory.is_dir():
            return []
        found = [p for p in self.directory.iterdir()
                 if p.is_dir() and p.name.startswith("state-") and (p / "state.json").exists()]
        return sorted(found, key=lambda p: p.name)

    def load(self) -> tuple[dict | None, str]:
        """``(payload, "")`` of the latest state written for this trial, ``(None, "")``
        when there is none, ``(None, why)`` when there is one that cannot be used."""
        states = self.states()
        if not states:
            return None, ""
        path = states[-1]
        try:
            payload = json.loads((path / "state.json").read_text())
        except (OSError, ValueError) as error:
            return None, f"its state {path.name} is damaged ({type(error).__name__})"
        if payload.get("identity") != self.identity:
            mine, theirs = self.identity, payload.get("identity") or {}
            keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            return None, (f"its state {path.name} was written for another "
                          f"{', '.join(keys) or 'trial'}")
        payload["path"] = str(path)
        return payload, ""

    def restore(self, payload: dict, variables: list, iterator=None) -> None:
        """Read a loaded state's variables (and the iterator's position) in place; raises
        :class:`StateError` when they cannot be read."""
        import tensorflow as tf

        objects = {"variables": [_handle(v) for v in variables]}
        if iterator is not None and payload.get("data") == "iterator":
            objects["iterator"] = iterator
        try:
            tf.train.Checkpoint(**objects).read(
                str(Path(payload["path"]) / "ckpt")).assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 - any unreadable state restarts the trial
            raise StateError(f"its state {Path(payload['path']).name} cannot be read "
                             f"({type(error).__name__})") from None

    def write(self, step: int, variables: list, iterator, payload: dict) -> float:
        """Write the state at ``step`` (whole or not at all), then remove the older ones.
        Returns the seconds it took. The iterator's position is checkpointed when
        ``tf.data`` can; otherwise the payload says ``data: replay`` (the pipeline is
        replayed up to the step on resume). A write that fails (a full disk) raises
        ``OSError`` naming the folder and leaves the previous state as it was."""
        started = time.perf_counter()
        handles = [_handle(v) for v in variables]
        try:
            self._write(step, handles, iterator, payload)
        except OSError as error:  # a full disk, say: the previous state stays as it was
            raise OSError(error.errno, f"cannot write the trial's resumable state to "
                          f"{self.directory} ({error.strerror or error}); the previous "
                          "state is intact") from None
        for old in self.states()[:-1]:
            shutil.rmtree(old, ignore_errors=True)
        self._remove_partial()
        return time.perf_counter() - started

    def _write(self, step, handles, iterator, payload) -> None:
        import tensorflow as tf

        from ..core.files import atomic_directory, json_number

        with atomic_directory(self.directory / f"state-{step:010d}") as tmp:
            data = "iterator" if iterator is not None else "replay"
            try:
                objects = {"iterator": iterator} if iterator is not None else {}
                tf.train.Checkpoint(variables=handles, **objects).write(str(tmp / "ckpt"))
            except (tf.errors.OpError, TypeError, ValueError):  # tf.data cannot save it
                data = "replay"
                for leftover in tmp.iterdir():
                    leftover.unlink()
                tf.train.Checkpoint(variables=handles).write(str(tmp / "ckpt"))
            record = {**payload, "step": int(step), "data": data, "identity": self.identity,
                      "state_version": STATE_VERSION}
            (tmp / "state.json").write_text(json.dumps(record, default=json_number))

    def beat(self, step: int, force: bool = False) -> None:
        """Note the step reached, at most every :data:`HEARTBEAT_S` seconds."""
        from ..core.files import atomic_write

        now = time.time()
        if not force and now - self._last_beat < HEARTBEAT_S:
            return
        self._last_beat = now
        with atomic_write(self.directory / "progress.json") as tmp:
            Path(tmp).write_text(json.dumps({"step": int(step), "time": now}))

    def noted_step(self) -> int | None:
        """The last step a run of this trial noted (see :meth:`beat`), or None."""
        try:
            return int(json.loads((self.directory / "progress.json").read_text())["step"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def clear(self) -> None:
        """Remove every state and the progress note (a finished trial keeps none)."""
        for path in self.states():
            shutil.rmtree(path, ignore_errors=True)
        self._remove_partial()
        (self.directory / "progress.json").unlink(missing_ok=True)

    def _remove_partial(self) -> None:
        if self.directory.is_dir():
            for path in self.directory.glob(".state-*.tmp"):
                shutil.rmtree(path, ignore_errors=True)


def _handle(variable):
    return getattr(variable, "value", variable)

