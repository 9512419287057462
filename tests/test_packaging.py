"""What the package declares: one version, the core a training script needs, the extras,
and the notebooks that the build copies into the wheel. Building and installing the wheel
is tests/test_wheel.py."""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

import playbook_kit
from playbook_kit.teaching import notebooks

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11+")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
NOTEBOOK_EXTRA = {"jupyterlab", "ipywidgets", "ipykernel", "papermill"}


def names(requirements) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def test_the_version_is_written_once_in_the_package():
    assert "version" not in PROJECT and PROJECT["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "playbook_kit.__version__"}
    version = Version(playbook_kit.__version__)
    written = [p for p in ROOT.rglob("*.py") if not {".venv", "build", "mutants"} & set(p.parts)
               and re.search(r"^__version__ = ", p.read_text(), re.M)]
    assert written == [ROOT / "playbook_kit" / "__init__.py"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"\n## {version.base_version} " in changelog or \
        f"\n## {version.base_version}\n" in changelog, "the changelog has this version"


def test_the_core_is_what_a_training_script_needs_and_the_notebooks_are_an_extra():
    core = names(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    assert core >= {"tensorflow", "keras", "keras-tuner", "pandas", "matplotlib"}
    assert not core & NOTEBOOK_EXTRA
    assert names(extras["notebooks"]) == NOTEBOOK_EXTRA
    assert names(extras["docs"]) >= {"sphinx", "myst-nb"}
    assert names(extras["test"]) >= {"pytest", "pytest-xdist", "nbval", "selenium", "build",
                                     "twine"}
    assert "playbook-kit[notebooks,docs]" in extras["test"], "the tests run the notebooks "\
        "and build the docs"
    assert extras["dev"] == ["playbook-kit[notebooks,docs,test]"]
    assert "-e '.[dev]'" in (ROOT / "Makefile").read_text()


def test_a_training_script_runs_without_the_notebooks_extra(tmp_path):
    """Setup, data, a trial, a study, its audit and plots, with JupyterLab, ipywidgets,
    ipykernel, papermill and IPython made unimportable, as in an environment holding only
    the core: nothing of the notebooks extra is needed (Keras and seaborn import IPython
    and ipywidgets only when present)."""
    script = """
import importlib.abc, sys
BLOCKED = {"jupyterlab", "ipywidgets", "ipykernel", "papermill", "IPython",
           "jupyter_client", "nbformat"}

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NotInstalled())
import playbook_kit as pk
pk.setup(seed=0)
workload = pk.Workload(pk.load_digits(), defaults={"width": 16})
pk.train_trial(workload, max_train_steps=4, eval_every=2)
space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
study = pk.run_study(workload, space, max_trials=2, max_train_steps=4, eval_every=2,
                     directory=sys.argv[1], name="s", progress=True)
pk.audit(study); pk.plot_axes(study); pk.boundary_check(study)
print("trials:", len(study.trials))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "trials: 2"


def test_the_build_ships_the_files_the_package_looks_for():
    """setup.py copies the guided files into the wheel by the same patterns that
    playbook_kit.teaching.notebooks lists and copies; the sdist carries them for that build."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    shipped = next(ast.literal_eval(node.value) for node in ast.walk(tree)
                   if isinstance(node, ast.Assign) and node.targets[0].id == "SHIPPED")
    assert shipped == notebooks.GUIDED_FILES
    manifest = (ROOT / "MANIFEST.in").read_text()
    assert "recursive-include notebooks [0-9][0-9]_*.ipynb *.yaml" in manifest
    assert "include CHANGELOG.md" in manifest
