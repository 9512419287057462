"""The Binder badge works: binder/ installs everything the package needs, the way Binder
(repo2docker) builds the image, and the first notebook runs there.

repo2docker, for a repository with binder/requirements.txt and binder/runtime.txt: creates a
Python environment of runtime.txt's version, runs `pip install -r binder/requirements.txt`,
then `binder/postBuild` in the repository root; a session starts through `binder/start`.
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
VERSION = re.search(r'^__version__ = "([^"]+)"', (ROOT / "playbook_kit" / "__init__.py")
                    .read_text(), re.M).group(1)
# Binder installs CPU TensorFlow (a smaller image); it provides the same `tensorflow` module.
BINDER_NAMES = {"tensorflow": "tensorflow-cpu"}
QUICKSTART_PARAMETERS = {"max_train_steps": 50, "eval_every": 25, "learning_rate": 1.0e-2,
                         "width": 16}
INSTALL_S = 1800
NOTEBOOK_S = 600


def requirements(lines) -> dict[str, str]:
    """name -> version specifier of requirement lines (comments and blanks skipped)."""
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            found[requirement.name.lower()] = str(requirement.specifier)
    return found


def test_binder_requirements_are_the_package_dependencies_and_its_notebooks_extra():
    declared = requirements(PROJECT["dependencies"]
                            + PROJECT["optional-dependencies"]["notebooks"])
    expected = {BINDER_NAMES.get(name, name): spec for name, spec in declared.items()}
    binder = requirements((BINDER / "requirements.txt").read_text().splitlines())
    assert binder == expected
    assert "pip install --no-deps -e ." in (BINDER / "postBuild").read_text()


def test_binder_runtime_is_a_python_the_package_supports():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.[0-9]+", runtime), runtime
    assert runtime.removeprefix("python-") in SpecifierSet(PROJECT["requires-python"])


def binder_python() -> str:
    """The interpreter of runtime.txt's version, as Binder would pick it."""
    version = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    found = shutil.which(f"python{version}")
    if found is None:
        message = f"no python{version} (binder/runtime.txt) on this machine"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def run(command, cwd, env, timeout):
    done = subprocess.run(command, cwd=cwd, env=env, timeout=timeout, capture_output=True,
                          text=True)
    assert done.returncode == 0, (f"{' '.join(map(str, command))} exited with {done.returncode}:"
                                  f"\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


@pytest.mark.binder
def test_a_fresh_binder_environment_imports_the_package_and_runs_the_quickstart(tmp_path):
    """Minutes: a full TensorFlow install (from pip's cache or a local index when there)."""
    repository = tmp_path / "repository"
    shutil.copytree(ROOT, repository, ignore=shutil.ignore_patterns(
        ".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache",
        ".ipynb_checkpoints", ".whl", ".gl"))
    environment = tmp_path / "environment"
    subprocess.run([binder_python(), "-m", "venv", str(environment)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND", "PYTHONHOME"}}
    env["PATH"] = os.pathsep.join([str(environment / "bin"), env.get("PATH", "")])
    env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))

    run(["pip", "install", "--quiet", "-r", "binder/requirements.txt"], repository, env,
        INSTALL_S)
    run(["bash", "binder/postBuild"], repository, env, INSTALL_S)
    python = environment / "bin" / "python"
    assert Path(run([python, "-c", "import sys; print(sys.prefix)"], repository, env, 60)
                .strip()) == environment
    check = subprocess.run(["pip", "check"], cwd=repository, env=env, timeout=120,
                           capture_output=True, text=True)
    assert check.stdout == (f"playbook-kit {VERSION} requires tensorflow, which is "
                            "not installed.\n"), \
        "pip finds only the tensorflow-cpu substitution (postBuild's --no-deps) missing"
    where = run(["bash", "binder/start", "python", "-c",
                 "import playbook_kit, tensorflow; print(playbook_kit.__file__)"],
                repository, env, 300)
    assert Path(where.strip()) == repository / "playbook_kit" / "__init__.py"
    lab = Version(run(["jupyter-lab", "--version"], repository, env, 120).strip())
    binder = requirements((BINDER / "requirements.txt").read_text().splitlines())
    assert lab in SpecifierSet(binder["jupyterlab"]), "the badge opens JupyterLab (labpath=)"

    output = tmp_path / "quickstart"
    parameters = [a for name, value in {**QUICKSTART_PARAMETERS,
                                        "output_dir": str(output)}.items()
                  for a in ("-p", name, str(value))]
    run(["bash", str(repository / "binder" / "start"), "papermill", "00_quickstart.ipynb",
         str(tmp_path / "run.ipynb"), "-k", "python3", "--cwd", ".", *parameters],
        repository / "notebooks", env, NOTEBOOK_S)
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["steps_completed"] == 50 and metrics["config"]["width"] == 16
    cells = json.loads((tmp_path / "run.ipynb").read_text())["cells"]
    printed = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
    assert "\u2713 the baseline beats chance (10%) at least three times over\n" in printed
