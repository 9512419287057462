"""One runner per study: the lock file a live process holds on a study directory.

Two processes running one study (the same notebook open in two kernels, a command run
twice) would both run the whole budget, writing the same trial folders. So the process
that runs a study, or in chief/worker mode the one that serves its oracle, holds
``<study>/playbook_runner.lock`` while it runs: JSON (with a schema version) naming its
process id, host, start time, command and its last heartbeat. A second runner, from
Python, the command line or a notebook, is refused before any work with
:class:`StudyLocked`, one line saying who holds the study and how to run it on several
processes instead (``--workers``, or workers joining its chief). Workers joining a chief
(keras-tuner's ``KERASTUNER_*`` mode, the launcher's other workers) take no lock: their
chief, or the launcher's first worker, holds it for the study.

A lock left by a process that was killed is taken over, so that it never blocks a
resume:

* on the same host (same host name and boot), at once when its process is gone: no such
  process id, a zombie, or a process id reused by a later process (its start time
  differs from the one recorded);
* from another host, once its heartbeat is older than :data:`STALE_AFTER_S`. The holder
  rewrites the lock every :data:`HEARTBEAT_S` seconds from a thread, so a live holder's
  heartbeat is never older than that plus the time one write takes.

The lock is created with a hard link from a complete temporary file (``os.link`` fails
when the lock exists, on local disks and NFS alike), so that a reader never sees half a
lock; a stale lock is moved aside under a name of its own before the new one is made, so
that of two processes taking it over at once only one succeeds.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sys
import threading
import time
from pathlib import Path

from ..core.files import atomic_write

__all__ = ["LOCK_FILE", "HEARTBEAT_S", "STALE_AFTER_S", "LOCK_SCHEMA_VERSION", "StudyLock",
           "StudyLocked", "holder", "check_free", "stale_reason"]

LOCK_FILE = "playbook_runner.lock"
LOCK_SCHEMA_VERSION = 1
HEARTBEAT_S = 15.0
"""How often the holder rewrites its heartbeat (toolkit's choice: one small write every
15 s is nothing next to a trial, even on a shared file system)."""
STALE_AFTER_S = 120.0
"""A lock from another host whose heartbeat is older than this is taken over (toolkit's
choice: eight heartbeats missed. A process can only miss them when it is stopped or its
host is gone or cut off; one paused for longer loses the study, and stops at its next
trial's end, saying so)."""

PARALLEL_HINT = ("to run it on several processes, use `playbook-kit study FILE --workers N` "
                 "or start workers that join its chief (KERASTUNER_* variables, README: "
                 "'Studies from the command line')")


class StudyLocked(RuntimeError):
    """A study that another live process is running: one line naming that process."""


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (Linux), None where unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19]) if len(fields) > 19 else None


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start_ticks) -> bool:
    """Whether process ``pid`` on this host is the live process recorded in a lock."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    if _state(pid) == "Z":
        return False  # killed, not yet reaped
    now = _start_ticks(pid)
    return start_ticks is None or now is None or now == start_ticks


def _now() -> float:
    return time.time()


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def holder(project: str | Path) -> dict | None:
    """The lock's content (who runs the study), None when no process holds it. A lock
    file that cannot be read as a lock (hand-edited, from a foreign tool) reads as
    ``{"damaged": reason}``, which :func:`stale_reason` treats as stale."""
    return _read(Path(project) / LOCK_FILE)


def _read(path: Path) -> dict | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as error:
        return {"damaged": str(error)}
    try:
        data = json.loads(text)
    except ValueError:
        return {"damaged": "not JSON"}
    if not isinstance(data, dict) or not {"pid", "host", "token", "heartbeat"} <= set(data):
        return {"damaged": "a field is missing"}
    return data


def stale_reason(lock: dict, now: float | None = None) -> str | None:
    """Why ``lock`` (from :func:`holder`) is stale and may be taken over, None while its
    process may still be running the study (see the module for the rules)."""
    if "damaged" in lock:
        return f"the lock file is damaged ({lock['damaged']})"
    now = _now() if now is None else now
    if lock["host"] == socket.gethostname():
        boot = _boot_id()
        if lock.get("boot_id") and boot and lock["boot_id"] != boot:
            return f"host {lock['host']} was restarted since"
        if not _alive(int(lock["pid"]), lock.get("start_ticks")):
            return f"process {lock['pid']} on {lock['host']} is gone"
        return None
    age = now - float(lock["heartbeat"])
    if age > STALE_AFTER_S:
        return (f"process {lock['pid']} on {lock['host']} last showed a heartbeat "
                f"{age:.0f} s ago (more than {STALE_AFTER_S:.0f} s)")
    return None


def refusal(project: Path, lock: dict, now: float | None = None) -> str:
    """The one line that refuses a second runner."""
    now = _now() if now is None else now
    same_host = lock["host"] == socket.gethostname()
    if int(lock["pid"]) == os.getpid() and same_host:
        who = "this process already runs it"
    else:
        who = f"process {lock['pid']} on host {lock['host']} runs it"
    since = _iso(float(lock.get("started", lock["heartbeat"])))
    takeover = ("taken over as soon as that process is gone" if same_host else
                f"taken over once its heartbeat ({now - float(lock['heartbeat']):.0f} s ago) "
                f"is older than {STALE_AFTER_S:.0f} s")
    command = f" ({lock['command']})" if lock.get("command") else ""
    return (f"study {project.name!r} in {project} is locked: {who}{command} since {since}; "
            f"a second runner would repeat its trials: {PARALLEL_HINT}. Its lock "
            f"({LOCK_FILE}) is {takeover}")


def check_free(project: str | Path) -> None:
    """Raise :class:`StudyLocked` when a live process holds the study (a launcher's
    check before it starts workers)."""
    project = Path(project)
    lock = holder(project)
    if lock is not None and stale_reason(lock) is None:
        raise StudyLocked(refusal(project, lock))


class StudyLock:
    """The lock on one study directory, held by this process between :meth:`acquire`
    and :meth:`release` (a context manager does both), its heartbeat rewritten from a
    daemon thread. ``role`` says why this process holds it (``"runner"``, ``"chief"``,
    ``"oracle host"``); ``stolen`` becomes a one-line reason when another process took
    the lock over (this one was paused beyond :data:`STALE_AFTER_S`)."""

    def __init__(self, project: str | Path, role: str = "runner"):
        self.project = Path(project)
        self.path = self.project / LOCK_FILE
        self.role = role
        self.token = secrets.token_hex(8)
        self.taken_over: str | None = None
        self.stolen: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = _now()
        self._made_folder = False

    def _content(self) -> dict:
        return {"schema_version": LOCK_SCHEMA_VERSION, "pid": os.getpid(),
                "host": socket.gethostname(), "boot_id": _boot_id(),
                "start_ticks": _start_ticks(os.getpid()), "role": self.role,
                "started": self._started, "started_at": _iso(self._started),
                "heartbeat": _now(), "command": " ".join(sys.argv)[:200],
                "token": self.token}

    def _create(self) -> bool:
        """Make the lock from a complete temporary file; False when one exists."""
        if not self.project.exists():
            with contextlib.suppress(FileExistsError):
                self.project.mkdir(parents=True)
                self._made_folder = True
        tmp = self.path.with_name(f".{LOCK_FILE}.{os.getpid()}-{self.token}.tmp")
        tmp.write_text(json.dumps(self._content(), indent=1))
        try:
            os.link(tmp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def _take_over(self, stale: dict) -> None:
        """Move the stale lock aside under a name of its own; if what moved is not the
        stale lock (another process took it over first and made its own), put it back."""
        aside = self.path.with_name(f".{LOCK_FILE}.{self.token}.stale")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another process moved it first
        moved = _read(aside)
        if moved is not None and moved.get("token") != stale.get("token"):
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.path)
        aside.unlink(missing_ok=True)

    def acquire(self) -> "StudyLock":
        """Take the lock, taking over a stale one; :class:`StudyLocked` when a live
        process holds it."""
        for _ in range(5):
            if self._create():
                self._start_heartbeat()
                return self
            lock = holder(self.project)
            if lock is None:
                continue  # released meanwhile
            reason = stale_reason(lock)
            if reason is None:
                raise StudyLocked(refusal(self.project, lock))
            self.taken_over = reason
            self._take_over(lock)
        raise StudyLocked(f"study {self.project.name!r} in {self.project}: could not take "
                          f"its lock ({LOCK_FILE}) after 5 tries; other processes keep "
                          "taking it over: run one of them")

    def rewrite(self) -> None:
        """Write the lock again (after keras-tuner's ``overwrite`` removed the folder)."""
        if holder(self.project) is None:
            self._create()

    def _start_heartbeat(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="playbook-kit-lock",
                                        daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):  # a full or vanished disk: try again later
                self.heartbeat()

    def heartbeat(self) -> None:
        """Rewrite the lock's heartbeat, or note that another process took it over."""
        lock = holder(self.project)
        if lock is None:
            self.rewrite()
            return
        if lock.get("token") != self.token:
            self.stolen = (f"study {self.project.name!r}: process {lock.get('pid')} on "
                           f"host {lock.get('host')} took over its lock (this process "
                           f"showed no heartbeat for more than {STALE_AFTER_S:.0f} s); "
                           "this process stops running it")
            self._stop.set()
            return
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps({**lock, "heartbeat": _now()}, indent=1))

    def release(self) -> None:
        """Stop the heartbeat and remove the lock if it is still this process's."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        lock = holder(self.project)
        if lock is not None and lock.get("token") == self.token:
            self.path.unlink(missing_ok=True)
        if self._made_folder:  # a study refused before any work leaves no folder
            with contextlib.suppress(OSError):
                self.project.rmdir()

    def __enter__(self) -> "StudyLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

