"""The guided notebooks outside a clone: found in the installed package, copied where a
user runs them, and a command with nothing to do says so and fails."""
import json
import shutil
import sys

import pytest

from playbook_kit.teaching import notebooks
from playbook_kit.cli import main

ROOT = notebooks.NOTEBOOK_DIR.parent
GUIDED = [p.relative_to(notebooks.NOTEBOOK_DIR).as_posix()
          for pattern in notebooks.GUIDED_FILES
          for p in sorted(notebooks.NOTEBOOK_DIR.glob(pattern))]


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The package as a wheel installs it: the notebooks inside it, no repository."""
    shipped = tmp_path / "site-packages" / "playbook_kit" / "_notebooks"
    for relative in GUIDED:
        (shipped / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebooks.NOTEBOOK_DIR / relative, shipped / relative)
    monkeypatch.setattr(notebooks, "SHIPPED_NOTEBOOK_DIR", shipped)
    monkeypatch.setattr(notebooks, "NOTEBOOK_DIR", tmp_path / "site-packages" / "notebooks")
    monkeypatch.chdir(tmp_path)  # a user's folder, outside the repository
    return shipped


@pytest.fixture
def nothing_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "SHIPPED_NOTEBOOK_DIR", tmp_path / "none" / "_notebooks")
    monkeypatch.setattr(notebooks, "NOTEBOOK_DIR", tmp_path / "none" / "notebooks")


def test_the_guided_files_are_the_notebooks_their_study_and_their_sweep():
    assert notebooks.guided_files(notebooks.NOTEBOOK_DIR) == sorted(
        notebooks.NOTEBOOK_DIR.joinpath(p).relative_to(notebooks.NOTEBOOK_DIR)
        for p in GUIDED)
    assert "studies/depth.yaml" in GUIDED and "sweeps/quickstart_lr.yaml" in GUIDED
    assert sum(p.endswith(".ipynb") for p in GUIDED) == len(notebooks.list_notebooks()) >= 8


def test_in_a_clone_the_repository_notebooks_are_found():
    assert not notebooks.SHIPPED_NOTEBOOK_DIR.exists(), "built files in the source tree"
    assert notebooks.guided_notebook_dir() == notebooks.NOTEBOOK_DIR


def test_installed_the_shipped_notebooks_are_found(installed):
    assert notebooks.guided_notebook_dir() == installed
    assert notebooks.list_notebooks()[0] == installed / "00_quickstart.ipynb"
    assert notebooks.find_notebook("01_exploration") == installed / "01_exploration.ipynb"
    assert notebooks.find_notebook("01_exploration.ipynb") == installed / "01_exploration.ipynb"


def test_without_notebooks_the_error_names_both_places(nothing_installed, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no guided notebooks: neither the installed "
                       r"package \(.*_notebooks\) nor a repository \(.*notebooks\) holds them"):
        notebooks.guided_notebook_dir()


def test_copy_notebooks_copies_every_guided_file(installed, tmp_path):
    copied = notebooks.copy_notebooks(tmp_path / "work")
    target = tmp_path / "work" / "notebooks"
    assert [p.relative_to(target).as_posix() for p in copied] == sorted(GUIDED)
    for relative in GUIDED:
        assert (target / relative).read_bytes() == (installed / relative).read_bytes()
    sweep = (target / "sweeps" / "quickstart_lr.yaml").read_text()
    assert "notebooks: [../00_quickstart.ipynb]" in sweep, "the sweep still finds its notebook"


def test_copy_notebooks_refuses_to_overwrite_naming_every_file_unless_forced(tmp_path):
    target = tmp_path / "work" / "notebooks"
    notebooks.copy_notebooks(tmp_path / "work")
    (target / "00_quickstart.ipynb").write_text("my edits")
    (target / "studies" / "depth.yaml").unlink()
    with pytest.raises(ValueError) as refused:
        notebooks.copy_notebooks(tmp_path / "work")
    message = str(refused.value)
    assert message.startswith(f"notebooks: destination={str(tmp_path / 'work')!r} is not "
                              "allowed; choose a folder without these files, or overwrite "
                              "them with force=True (--force) (it already holds ")
    for relative in GUIDED:
        assert (f"notebooks/{relative}" in message) == (relative != "studies/depth.yaml")
    assert (target / "00_quickstart.ipynb").read_text() == "my edits"
    assert not (target / "studies" / "depth.yaml").exists(), "nothing copied when refused"
    notebooks.copy_notebooks(tmp_path / "work", force=True)
    assert json.loads((target / "00_quickstart.ipynb").read_text())["cells"]
    assert (target / "studies" / "depth.yaml").exists()


def test_cli_notebooks_copies_then_refuses_then_forces(installed, tmp_path, capsys):
    destination = str(tmp_path / "work")
    assert main(["notebooks", destination]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{len(GUIDED)} files copied into {destination}/notebooks: "
                          "00_quickstart.ipynb, ")
    assert f"open them with: jupyter lab {destination}/notebooks" in out
    assert main(["notebooks", destination]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"playbook-kit: error: notebooks: destination={destination!r} "
                            "is not allowed") and "notebooks/07_your_own_model_and_data.ipynb" in error
    assert main(["notebooks", destination, "--force"]) == 0


def test_cli_tour_with_no_notebooks_says_so_and_fails_writing_nothing(
        nothing_installed, tmp_path, capsys):
    assert main(["tour", "--output", str(tmp_path / "runs")]) == 2
    assert "playbook-kit: error: no guided notebooks" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_cli_notebooks_with_no_notebooks_fails(nothing_installed, tmp_path, capsys):
    assert main(["notebooks", str(tmp_path / "work")]) == 2
    assert "no guided notebooks" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_cli_without_a_command_has_nothing_to_do_and_fails(capsys):
    assert main([]) == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: playbook-kit") and \
        error.endswith("playbook-kit: error: nothing to do: name a command\n")


@pytest.fixture
def no_kernel(monkeypatch):
    import papermill

    def execute_notebook(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)


def test_cli_run_takes_a_guided_notebook_by_name(installed, no_kernel, tmp_path, capsys):
    assert main(["run", "00_quickstart", "--output", str(tmp_path / "runs"),
                 "-p", "learning_rat=0.1"]) == 2
    assert "00_quickstart.ipynb: parameter 'learning_rat' is unknown" in capsys.readouterr().err
    assert main(["run", "nope", "--output", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == (
        "playbook-kit: error: notebook='nope' is not allowed; give a notebook file or the name "
        "of a guided notebook: " + ", ".join(p.stem for p in notebooks.list_notebooks())
        + " (no such file)\n")
    assert not (tmp_path / "runs").exists()


def test_a_shipped_notebook_writes_its_studies_beside_its_output_not_into_the_package(
        installed, tmp_path, monkeypatch):
    import papermill

    calls = []
    monkeypatch.setattr(papermill, "execute_notebook",
                        lambda source, target, parameters, **kwargs: calls.append(
                            (source, parameters, kwargs["cwd"])))
    notebooks.run_notebook(installed / "01_exploration.ipynb", tmp_path / "runs" / "01")
    notebooks.run_notebook(installed / "01_exploration.ipynb", tmp_path / "runs" / "01b",
                           {"study_dir": str(tmp_path / "mine")})
    repository_copy = tmp_path / "clone" / "01_exploration.ipynb"
    repository_copy.parent.mkdir()
    shutil.copyfile(installed / "01_exploration.ipynb", repository_copy)
    notebooks.run_notebook(repository_copy, tmp_path / "runs" / "01c")
    (_, shipped, cwd), (_, given, _), (_, cloned, _) = calls
    assert shipped["study_dir"] == str(tmp_path / "runs" / "studies")
    assert shipped["output_dir"] == str(tmp_path / "runs" / "01")
    assert cwd == str(installed), "the study file is read beside the notebook"
    assert given["study_dir"] == str(tmp_path / "mine")
    assert "study_dir" not in cloned, "a notebook outside the package keeps its default"


def test_a_missing_notebooks_extra_is_named(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "papermill", None)
    with pytest.raises(ModuleNotFoundError, match=r"^running notebooks needs papermill, which "
                       r"is not installed: pip install 'playbook-kit\[notebooks\]'$"):
        notebooks.notebook_parameters(notebooks.list_notebooks()[0])
    assert main(["tour", "--output", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err == (
        "playbook-kit: error: running notebooks needs papermill, which is not installed: "
        "pip install 'playbook-kit[notebooks]'\n")


def test_a_widget_without_ipywidgets_names_the_extra(monkeypatch):
    from playbook_kit.teaching.widgets import search_space_explorer

    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ModuleNotFoundError, match=r"^the widgets need ipywidgets, which is "
                       r"not installed: pip install 'playbook-kit\[notebooks\]'$"):
        search_space_explorer(interactive=True)
    assert search_space_explorer(interactive=False) is not None, "headless needs no widgets"
