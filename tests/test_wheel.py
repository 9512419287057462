"""The sdist and the wheel, as a user gets them: ``python -m build`` from a fresh copy of
the source tree builds both (the wheel from the sdist), ``twine check`` passes them, the
wheel carries the guided notebooks, and installed into a fresh environment (not editable,
outside the source tree) it copies the notebooks, runs the tour and a study from the
command line."""
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from playbook_kit.teaching.notebooks import (NOTEBOOK_DIR, guided_files, list_notebooks,
                                             truncated_cells)
from tests.fresh_environment import run

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r'^__version__ = "([^"]+)"', (ROOT / "playbook_kit" / "__init__.py")
                    .read_text(), re.M).group(1)
GUIDED = sorted(p.as_posix() for p in guided_files(NOTEBOOK_DIR))
# Binder's requirements install CPU TensorFlow, which provides the same module.
SUBSTITUTES = {"tensorflow": "tensorflow-cpu"}
STUDY = """name: tiny
data: {name: digits}
defaults: {model: mlp, width: 16}
objective: val_accuracy
space:
  learning_rate: {role: nuisance, range: [1.0e-3, 1.0e-1], scale: log}
algorithm: quasi_random
max_trials: 3
max_train_steps: 40
eval_every: 20
seed: 0
"""

pytestmark = [pytest.mark.wheel, pytest.mark.xdist_group("fresh_environment")]


def test_the_sdist_and_the_wheel_pass_twine_check_and_carry_the_notebooks(built):
    sdist, wheel = built
    assert wheel.name == f"playbook_kit-{VERSION}-py3-none-any.whl"
    checked = run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel], ROOT,
                  None, 300)
    assert checked.count("PASSED") == 2, checked
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = Parser().parsestr(archive.read(
            f"playbook_kit-{VERSION}.dist-info/METADATA").decode())
    shipped = sorted(n.removeprefix("playbook_kit/_notebooks/") for n in names
                     if n.startswith("playbook_kit/_notebooks/"))
    assert shipped == GUIDED
    assert {"playbook_kit/reporting/templates/audit.html",
            "playbook_kit/reporting/templates/audit.css"} <= set(names)
    assert not any(n.startswith(("tests/", "notebooks/", "docs/")) for n in names)
    requires = [Requirement(r) for r in metadata.get_all("Requires-Dist")]
    core = {r.name for r in requires if r.marker is None}
    extra = {r.name for r in requires if r.marker and "notebooks" in str(r.marker)}
    assert "tensorflow" in core and not core & {"jupyterlab", "papermill", "ipywidgets"}
    assert extra == {"jupyterlab", "ipywidgets", "ipykernel", "papermill"}
    assert metadata["Version"] == VERSION
    with tarfile.open(sdist) as archive:
        members = {m.split("/", 1)[1] for m in archive.getnames() if "/" in m}
    assert {f"notebooks/{f}" for f in GUIDED} <= members
    assert {"setup.py", "pyproject.toml", "CHANGELOG.md", "README.md"} <= members


def executed_outputs(folder: Path) -> dict[str, list]:
    """Each executed notebook of a tour: its code cells' outputs."""
    found = {}
    for path in sorted(folder.glob("*/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        found[path.stem] = [c.get("outputs", []) for c in cells if c["cell_type"] == "code"]
    return found


def test_the_installed_wheel_is_the_package_with_its_dependencies(fresh_environment, wheel_tour):
    user, _, _ = wheel_tour
    env = fresh_environment.env
    where = run([fresh_environment.python, "-c",
                 "import playbook_kit; print(playbook_kit.__file__, playbook_kit.__version__)"],
                user, env, 120).split()
    assert where[1] == VERSION
    package = Path(where[0]).parent
    assert package.parent.name == "site-packages" and fresh_environment.prefix in package.parents
    assert ROOT not in package.parents, "not the source tree (not an editable install)"
    check = subprocess.run([fresh_environment.bin("pip"), "check"], cwd=user, env=env,
                           capture_output=True, text=True, timeout=120)
    assert check.stdout == (f"playbook-kit {VERSION} requires tensorflow, which is not "
                            "installed.\n"), "only tensorflow-cpu's substitution is missing"
    installed = json.loads(run([fresh_environment.bin("pip"), "list", "--format", "json"],
                               user, env, 120))
    versions = {canonicalize_name(p["name"]): p["version"] for p in installed}
    metadata = run([fresh_environment.python, "-c", "import importlib.metadata as m; "
                    "print('\\n'.join(m.requires('playbook-kit')))"], user, env, 120)
    for line in metadata.splitlines():
        requirement = Requirement(line)
        if requirement.marker is None or "notebooks" in str(requirement.marker):
            name = canonicalize_name(SUBSTITUTES.get(requirement.name, requirement.name))
            assert name in versions, f"{name} is not installed"
            assert requirement.specifier.contains(versions[name], prereleases=True), line


def test_the_installed_wheel_copies_its_notebooks_and_refuses_to_overwrite(fresh_environment,
                                                                           wheel_tour):
    user, _, _ = wheel_tour
    env = fresh_environment.env
    command = [fresh_environment.bin("playbook-kit"), "notebooks", "work"]
    out = run(command, user, env, 120)
    assert out.startswith(f"{len(GUIDED)} files copied into work/notebooks: ")
    assert sorted(p.relative_to(user / "work" / "notebooks").as_posix()
                  for p in (user / "work" / "notebooks").rglob("*") if p.is_file()) == GUIDED
    again = subprocess.run(command, cwd=user, env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 2 and "it already holds notebooks/00_quickstart.ipynb" in \
        again.stderr


def test_the_installed_wheel_runs_the_tour_outside_the_source_tree(fresh_environment,
                                                                   wheel_tour):
    """Every guided notebook executed from the installed package, each printing its check
    cell's conclusions, no error and no table cell cut short; nothing written into the
    package."""
    user, tour, printed = wheel_tour
    assert f"executed notebooks are in {tour}" in printed
    stems = [p.stem for p in list_notebooks(NOTEBOOK_DIR)]
    outputs = executed_outputs(tour)
    assert list(outputs) == stems
    for stem, cells in outputs.items():
        flat = [o for cell in cells for o in cell]
        assert not [o for o in flat if o.get("output_type") == "error"], stem
        assert all(cell for cell in cells[:1]), f"{stem}: the first cell ran"
        assert truncated_cells(flat) == [], stem
        text = "".join("".join(o.get("text", "")) for o in flat)
        assert "\u2713 " in text, f"{stem}: its check cell printed its conclusions"
        assert (tour / stem / "metrics.json").exists() == (stem != "07_your_own_model_and_data")
    where = run([fresh_environment.python, "-c",
                 "import playbook_kit.teaching.notebooks as n; "
                 "print(n.SHIPPED_NOTEBOOK_DIR)"], user,
                fresh_environment.env, 120)
    shipped = Path(where.strip())
    assert sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts) == GUIDED, \
        "the tour wrote nothing into the installed package"


def test_the_installed_wheel_runs_a_study_from_the_command_line(fresh_environment, wheel_tour):
    user, _, _ = wheel_tour
    (user / "tiny.yaml").write_text(STUDY)
    out = run([fresh_environment.bin("playbook-kit"), "study", "tiny.yaml", "--directory",
               "studies", "--no-progress"], user, fresh_environment.env, 600)
    assert "study tiny: 3 trials {'completed': 3}" in out
    assert len(list((user / "studies" / "tiny").glob("trial_*/playbook.json"))) == 3
    audit = run([fresh_environment.bin("playbook-kit"), "audit", "studies/tiny"], user,
                fresh_environment.env, 600)
    assert "report written to studies/tiny/audit" in audit
