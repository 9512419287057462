"""The Binder badge works: binder/ installs everything the package needs, the way Binder
(repo2docker) builds the image, and the first notebook runs there.

repo2docker, for a repository with binder/requirements.txt and binder/runtime.txt: creates a
Python environment of runtime.txt's version, runs `pip install -r binder/requirements.txt`,
then `binder/postBuild` in the repository root; a session starts through `binder/start`.
"""
import json
import re
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.fresh_environment import INSTALL_S, copy_repository, run

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


@pytest.mark.binder
@pytest.mark.xdist_group("fresh_environment")
def test_a_fresh_binder_environment_imports_the_package_and_runs_the_quickstart(
        fresh_environment, tmp_path):
    """Minutes: a full TensorFlow install (from pip's cache or a local index when there),
    shared with the wheel test (tests/fresh_environment.py)."""
    repository = copy_repository(tmp_path / "repository")
    env = fresh_environment.env
    run(["bash", "binder/postBuild"], repository, env, INSTALL_S)
    python = fresh_environment.python
    assert Path(run([python, "-c", "import sys; print(sys.prefix)"], repository, env, 60)
                .strip()) == fresh_environment.prefix
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
