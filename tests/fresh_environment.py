"""One fresh virtual environment for the tests that install playbook-kit as a user would:
the Binder test (``binder/``) and the wheel test (``python -m build``'s wheel).

Creating it is the slow part (a TensorFlow install, from pip's cache or a local index when
there), so the session makes it once: Binder's runtime Python, ``binder/requirements.txt``
(the core dependencies and the notebooks extra, with ``tensorflow-cpu``), outside the
source tree, with a ``HOME`` of its own. Each test then installs playbook-kit into it the
way it checks (Binder's editable ``postBuild``, or the wheel), replacing the other's.

Most of that install is waiting on the package index, not computing (125 s, 57 CPU s,
measured here), so under pytest-xdist the controller, idle while its workers test, creates
the environment in the background from the moment a worker collects a test that needs it
(:func:`prepare_in_background`, called by the root ``conftest.py``); the worker that runs
those tests waits for it, and creates it itself if the background one failed.
"""
from __future__ import annotations

import os
import shutil
import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
INSTALL_S = 1800
BUILD_S = 900
TOUR_S = 2400
IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
    ".ipynb_checkpoints", ".whl", ".gl", "mutants", "_build", "_notebooks")


def binder_python() -> str:
    """The interpreter of binder/runtime.txt's version, as Binder would pick it."""
    version = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    found = shutil.which(f"python{version}")
    if found is None:
        message = f"no python{version} (binder/runtime.txt) on this machine"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(command, cwd, env, timeout) -> str:
    """Run a command; its stdout, or a failed assertion showing both of its outputs."""
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, timeout=timeout,
                          capture_output=True, text=True)
    assert done.returncode == 0, (f"{' '.join(map(str, command))} exited with "
                                  f"{done.returncode}:\n{done.stdout[-3000:]}\n"
                                  f"{done.stderr[-3000:]}")
    return done.stdout


def copy_repository(target: Path) -> Path:
    """The source tree as a fresh clone has it (no environments, runs or builds)."""
    shutil.copytree(ROOT, target, ignore=IGNORED)
    return target


@dataclass
class FreshEnvironment:
    """A virtual environment and the process environment that runs inside it."""

    prefix: Path
    env: dict
    work: Path

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.prefix / "bin" / name


def environment(work: Path) -> FreshEnvironment:
    """The environment that :func:`create` makes in ``work``, created or not."""
    prefix = work / "environment"
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND", "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join([str(prefix / "bin"), env.get("PATH", "")])
    env["HOME"] = str(work / "home")
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    return FreshEnvironment(prefix, env, work)


def create(work: Path) -> FreshEnvironment:
    fresh = environment(work)
    subprocess.run([binder_python(), "-m", "venv", str(fresh.prefix)], check=True,
                   timeout=300)
    (work / "home").mkdir()
    run([fresh.bin("pip"), "install", "--quiet", "-r", BINDER / "requirements.txt"],
        work, fresh.env, INSTALL_S)
    return fresh


BACKGROUND = "fresh-environment"
"""The folder, in the controller's base temporary folder (the parent of each worker's),
where :func:`prepare_in_background` creates the environment."""
NEEDS_IT = ("tests/test_wheel.py::", "tests/test_binder.py::test_a_fresh_")
_started = threading.Lock()


def prepare_in_background(basetemp: Path, collected: list[str]) -> None:
    """Start creating the session's environment in a thread of the xdist controller, once,
    when ``collected`` (a worker's test ids) holds a test that uses it. The thread writes
    ``done.json`` (whether it worked, and the error if not) beside it."""
    if not any(i.startswith(NEEDS_IT) for i in collected) or not _started.acquire(False):
        return
    work = basetemp / BACKGROUND

    def make() -> None:
        try:
            create(work)
            done = {"created": True}
        except BaseException as error:  # noqa: BLE001 - pytest.skip included: the worker retries
            done = {"created": False, "error": f"{type(error).__name__}: {error}"}
        (work / "done.json").write_text(json.dumps(done))

    work.mkdir()
    threading.Thread(target=make, name="fresh-environment", daemon=True).start()


def from_background(basetemp: Path) -> FreshEnvironment | None:
    """The environment the controller created (waiting for it), or None when none was
    started or its creation failed."""
    work = basetemp / BACKGROUND
    if not work.is_dir():
        return None
    deadline = time.monotonic() + INSTALL_S
    while not (work / "done.json").exists():
        if time.monotonic() > deadline:
            return None
        time.sleep(1)
    return environment(work) if json.loads((work / "done.json").read_text())["created"] \
        else None


@pytest.fixture(scope="session")
def fresh_environment(request, tmp_path_factory) -> FreshEnvironment:
    """The session's fresh environment (see the module docstring): the one the xdist
    controller created in the background, else one created now."""
    if hasattr(request.config, "workerinput"):
        fresh = from_background(tmp_path_factory.getbasetemp().parent)
        if fresh is not None:
            return fresh
    return create(tmp_path_factory.mktemp("fresh"))


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """``python -m build`` of a fresh copy of the source tree: the sdist, then the wheel
    from it (an sdist that lacks a file the wheel needs fails here)."""
    work = tmp_path_factory.mktemp("build")
    source = copy_repository(work / "source")
    run([sys.executable, "-m", "build", "--outdir", work / "dist", source], work, None,
        BUILD_S)
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    return sdist, wheel


@pytest.fixture(scope="session")
def wheel_tour(fresh_environment, built, tmp_path_factory):
    """The wheel installed (not editable) in the fresh environment, and the tour it runs
    from a folder outside the source tree: (the user's folder, the tour's folder, the
    tour command's output)."""
    _, wheel = built
    env = fresh_environment.env
    run([fresh_environment.bin("pip"), "install", "--quiet", "--no-deps",
         "--force-reinstall", wheel], fresh_environment.work, env, INSTALL_S)
    user = tmp_path_factory.mktemp("user")
    done = subprocess.run([fresh_environment.bin("playbook-kit"), "tour", "--output", "runs"],
                          cwd=user, env=env, capture_output=True, text=True, timeout=TOUR_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (tour,) = (user / "runs").glob("tour-*")
    return user, tour, done.stdout



@pytest.fixture(scope="session")
def executed_tour(request, tmp_path_factory) -> Path:
    """A folder where ``playbook-kit tour`` executed every guided notebook, for the docs
    build: the wheel's tour when this session runs the wheel tests (``make test``), else the
    newest complete ``runs/tour-*`` (``make tour``'s), else a tour run now (minutes)."""
    from playbook_kit.teaching.notebooks import NOTEBOOK_DIR, list_notebooks, run_tour

    if any(item.get_closest_marker("wheel") for item in request.session.items):
        return request.getfixturevalue("wheel_tour")[1]
    stems = [p.stem for p in list_notebooks(NOTEBOOK_DIR)]
    complete = [p for p in sorted((ROOT / "runs").glob("tour-*"), reverse=True)
                if all((p / s / f"{s}.ipynb").is_file() for s in stems)]
    return complete[0] if complete else run_tour(tmp_path_factory.mktemp("tour"))
