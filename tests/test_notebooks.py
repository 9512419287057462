"""Committed notebooks are stripped, parameterized for papermill and teach in order."""
import json
from pathlib import Path

import pytest

from playbook_kit.teaching.notebooks import (check_parameters, collect_runs, list_notebooks,
                                             run_notebook)

NOTEBOOKS = list_notebooks()
WIDGETS = ("trial_browser", "search_space_explorer", "isolation_explorer")
ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ["pytester"]


def test_the_guided_notebooks_are_there():
    names = [p.stem for p in NOTEBOOKS]
    assert names[0] == "00_quickstart" and len(names) >= 1
    assert names == sorted(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_has_one_parameters_cell(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert "papermill" not in nb["metadata"]
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]
        assert "papermill" not in cell.get("metadata", {})
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    assert code.index(tagged[0]) == 1, "cell 1 imports and sets up; cell 2 holds parameters"
    assert "pk.setup(" in "".join(code[0]["source"])
    source = "".join(tagged[0]["source"])
    for line in filter(None, source.splitlines()):
        assert ": " in line.split("=")[0] and "#" in line, f"typed, commented default: {line}"
    assert "output_dir: str" in source
    widgets = any(name in "".join(c["source"]) for c in code for name in WIDGETS)
    assert ("interactive: bool" in source) == widgets, "interactive guards widget cells only"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_cell_is_introduced_by_markdown(path):
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and "Playbook" in "".join(cells[0]["source"])
    for before, cell in zip(cells, cells[1:]):
        if cell["cell_type"] == "code":
            assert before["cell_type"] == "markdown", "".join(cell["source"])[:80]
    assert "next" in "".join(cells[-1]["source"]).lower()


def test_batch_runner_rejects_unknown_or_mistyped_parameters_before_a_kernel_starts():
    quickstart = NOTEBOOKS[0]
    with pytest.raises(ValueError, match="'learning_rat'.*allowed"):
        check_parameters(quickstart, {"learning_rat": 0.1})
    with pytest.raises(ValueError, match="'max_train_steps'.*int"):
        check_parameters(quickstart, {"max_train_steps": "300"})
    with pytest.raises(ValueError, match="'learning_rate'.*float"):
        check_parameters(quickstart, {"learning_rate": "1e-3"})
    check_parameters(quickstart, {"learning_rate": 1, "max_train_steps": 50})


def test_papermill_injects_parameters_into_the_quickstart(tmp_path):
    executed = run_notebook(NOTEBOOKS[0], tmp_path / "run",
                            {"max_train_steps": 50, "eval_every": 25, "learning_rate": 1.0e-2,
                             "width": 16})
    nb = json.loads(executed.read_text())
    injected = [c for c in nb["cells"]
                if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(injected) == 1 and "max_train_steps = 50" in "".join(injected[0]["source"])
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["max_train_steps"] == 50 and metrics["steps_completed"] == 50
    assert metrics["config"]["learning_rate"] == 1.0e-2 and metrics["config"]["width"] == 16
    curves = (tmp_path / "run" / "curves.csv").read_text().splitlines()
    assert curves[0] == "step,split,metric,value"
    assert {line.split(",")[0] for line in curves[1:]} == {"0", "25", "50"}
    outputs = "".join("".join(o.get("text", "")) for c in nb["cells"]
                      for o in c.get("outputs", []))
    assert "\u2713 the trial's status: 'completed'\n" in outputs
    assert "\u2713 the baseline beats chance (10%) at least three times over\n" in outputs
    assert metrics["chance"] == 0.1
    table = collect_runs(tmp_path)
    assert len(table) == 1 and table.loc[0, "status"] == "completed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_checks_its_conclusion_in_a_check_cell(path):
    """nbval compares no output of a stripped notebook: the checks must raise instead."""
    sources = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"]
               if c["cell_type"] == "code"]
    assert not any("NBVAL_CHECK_OUTPUT" in s for s in sources)
    checks = [s for s in sources if "pk.check(" in s or "pk.expect(" in s]
    assert len(checks) == 1, "one check cell, after the conclusion it checks"
    assert checks[0].count("pk.check(") + checks[0].count("pk.expect(") >= 2


def test_check_and_expect_print_what_holds_and_raise_what_does_not(capsys):
    import numpy as np

    from playbook_kit.teaching.notebooks import check, expect

    check("the baseline beats chance", np.float64(0.9) > 0.3, "0.900")
    expect("reads of the test split", 1, 1)
    assert capsys.readouterr().out == ("\u2713 the baseline beats chance\n"
                                       "\u2713 reads of the test split: 1\n")
    with pytest.raises(AssertionError) as failed:
        check("the baseline beats chance", 0.12 > 0.3, "validation accuracy 0.120")
    assert str(failed.value) == ("check failed: the baseline beats chance "
                                 "(found: validation accuracy 0.120)")
    with pytest.raises(AssertionError) as failed:
        check("every trial has a status", False)
    assert str(failed.value) == "check failed: every trial has a status"
    with pytest.raises(AssertionError) as failed:
        expect("the recommendation", "keep baseline", "adopt")
    assert str(failed.value) == ("check failed: the recommendation is 'keep baseline', "
                                 "expected 'adopt'")
    with pytest.raises(TypeError, match=r"holds=\[True\] must be True or False"):
        check("a list is no answer", [True])
    assert capsys.readouterr().out == ""


def test_a_changed_conclusion_fails_the_notebook_with_a_readable_message(tmp_path):
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(PapermillExecutionError) as failed:
        run_notebook(NOTEBOOKS[0], tmp_path / "run",
                     {"max_train_steps": 25, "eval_every": 25, "learning_rate": 1.0e-6})
    assert failed.value.ename == "AssertionError"
    assert failed.value.evalue.startswith(
        "check failed: the baseline beats chance (10%) at least three times over "
        "(found: validation accuracy 0.")
    assert not (tmp_path / "run" / "metrics.json").exists()


@pytest.fixture
def no_kernel(monkeypatch):
    import papermill

    def execute_notebook(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", execute_notebook)


BAD_PARAMETERS = [  # notebook, parameters, the error's message
    (0, {"learning_rat": 0.1}, r"00_quickstart.ipynb: parameter 'learning_rat' is unknown; "
                               r"allowed are batch_size, depth, eval_every, "),
    (0, {"max_train_steps": True}, r"parameter 'max_train_steps'=True has type bool; "
                                   r"it must be int$"),
    (0, {"learning_rate": True}, r"'learning_rate'=True has type bool; it must be float$"),
    (0, {"learning_rate": "1e-3"}, r"it must be float; write floats as 1.0e-3"),
    (0, {"width": [64, 128]}, r"'width'=\[64, 128\] has type list; it must be int$"),
    (1, {"learning_rate_range": 1.0e-3}, r"'learning_rate_range'=0.001 has type float; "
                                         r"it must be list$"),
    (1, {"depths": "1,2"}, r"'depths'='1,2' has type str; it must be list$"),
]


@pytest.mark.parametrize("index, parameters, message", BAD_PARAMETERS)
def test_run_notebook_rejects_bad_parameters_before_a_kernel_or_output(
        no_kernel, tmp_path, index, parameters, message):
    with pytest.raises(ValueError, match=message):
        run_notebook(NOTEBOOKS[index], tmp_path / "run", parameters)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("arguments, message", [
    (["-p", "max_train_steps=true"], "'max_train_steps'=True has type bool; it must be int"),
    (["-p", "learning_rat=0.1"], "parameter 'learning_rat' is unknown"),
    (["-p", "width=[64, 128]"], "'width'=[64, 128] has type list; it must be int"),
    (["-p", "learning_rate=1e-3"], "it must be float; write floats as 1.0e-3"),
])
def test_cli_run_rejects_bad_parameters_before_a_kernel_or_output(
        no_kernel, tmp_path, capsys, arguments, message):
    from playbook_kit.cli import main

    assert main(["run", str(NOTEBOOKS[0]), "--output", str(tmp_path / "runs"), *arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("playbook-kit: error: 00_quickstart.ipynb: parameter ") and \
        message in error
    assert list(tmp_path.iterdir()) == []


def test_cli_run_checks_every_notebook_before_the_first_kernel(no_kernel, tmp_path, capsys):
    from playbook_kit.cli import main

    assert main(["run", str(NOTEBOOKS[0]), str(NOTEBOOKS[1]), "--output", str(tmp_path / "runs"),
                 "-p", "learning_rate=1.0e-3"]) == 2
    assert "01_exploration.ipynb: parameter 'learning_rate' is unknown" in \
        capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("arguments, message", [
    (["-p", "learning_rat=0.1"], "parameter 'learning_rat' is declared by no notebook of the "
                                 "tour; allowed are "),
    (["-p", "max_train_steps=true"], "00_quickstart.ipynb: parameter 'max_train_steps'=True "
                                     "has type bool; it must be int"),
    (["-p", "learning_rate_range=1.0e-3"], "01_exploration.ipynb: parameter "
                                           "'learning_rate_range'=0.001 has type float; "
                                           "it must be list"),
    (["-p", "study_name=1"], "01_exploration.ipynb: parameter 'study_name'=1 has type int; "
                             "it must be str"),
    (["-p", "expected_recommendation=1"], "03_adopt_a_change.ipynb: parameter "
                                          "'expected_recommendation'=1 has type int; "
                                          "it must be str"),
])
def test_cli_tour_rejects_bad_parameters_before_a_kernel_or_output(
        no_kernel, tmp_path, capsys, arguments, message):
    from playbook_kit.cli import main

    assert main(["tour", "--output", str(tmp_path / "runs"), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_tour_runs_the_training_recipe_notebooks_last_with_the_shared_studies(
        monkeypatch, tmp_path):
    """05 and 06 follow the tuning stages (04) and write their recipes into the tour's shared
    journal (``study_dir``), like 03."""
    import playbook_kit.teaching.notebooks as notebooks

    ran = []
    monkeypatch.setattr(notebooks, "run_notebook",
                        lambda path, out, parameters: ran.append((path.stem, parameters)))
    folder = notebooks.run_tour(tmp_path)
    names = [name for name, _ in ran]
    assert names[5:7] == ["05_batch_size_and_training_length",
                          "06_instability_warmup_clipping"]
    assert names == [p.stem for p in NOTEBOOKS]
    assert dict(ran)["05_batch_size_and_training_length"] == {
        "study_dir": str(folder / "studies")}
    assert dict(ran)["06_instability_warmup_clipping"] == {"study_dir": str(folder / "studies")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_line_of_the_parameters_cell(path):
    """A line papermill cannot parse (an '=' in its comment, say) is a parameter that
    `run -p`, `tour -p` and sweeps would reject as unknown."""
    import papermill

    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"]
                if "parameters" in c.get("metadata", {}).get("tags", []))
    names = [line.split(":")[0].strip() for line in "".join(cell["source"]).splitlines()
             if line.strip()]
    assert list(papermill.inspect_notebook(str(path))) == names


def test_nbval_fails_a_cell_whose_table_is_cut_naming_the_notebook_and_cell(pytester):
    """The repository's conftest.py checks every cell nbval runs: pandas' own display cuts
    the reason (cell 0 fails), the toolkit's tables show it whole (cell 1 passes)."""
    import nbformat

    reason = "the best trials lie in the outer 20% of the range at the high edge"
    frame = f"pd.DataFrame({{'check': ['boundaries'], 'reason': [{reason!r}]}})"
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("A table pandas cuts, then the same table whole"),
        nbformat.v4.new_code_cell(f"import pandas as pd\n{frame}"),
        nbformat.v4.new_code_cell("from playbook_kit.reporting import tables\n"
                                  f"tables.install()\n{frame}"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    nbformat.write(notebook, pytester.path / "cut.ipynb")
    pytester.makeconftest((ROOT / "conftest.py").read_text())
    result = pytester.runpytest_subprocess("--nbval-lax", "cut.ipynb", "-p", "no:cacheprovider",
                                           "--color=no")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*cut.ipynb::Cell 0*",
        "Cell 0: 2 table cell(s) in the outputs of cut.ipynb end in a truncation mark, "
        "first 'the best trials lie in the outer 20% of the*...'"])
    assert "cut.ipynb::Cell 1" not in result.stdout.str()


def test_truncated_cells_finds_cut_cells_in_html_markdown_and_a_tables_plain_text():
    import pandas as pd

    from playbook_kit.teaching.notebooks import truncated_cells

    reason = "majority rule: 2 of the 3 best trials lie in the outer 20% of the range"
    frame = pd.DataFrame({"reason": [reason], "action": ["none"]})
    with pd.option_context("display.max_colwidth", 50):     # pandas' default
        html, plain = frame._repr_html_(), repr(frame)
    cut = reason[:46] + "..."
    assert truncated_cells([{"data": {"text/html": html}}]) == [cut]
    assert truncated_cells([{"data": {"text/html": html, "text/plain": plain}}]) == [cut, cut]
    markdown = "| check | reason |\n|---|---|\n| a | cut\u2026 |\n"
    assert truncated_cells([{"data": {"text/markdown": markdown}}]) == ["cut\u2026"]
    assert truncated_cells([{"data": {"text/html": ["<table><tr><td>", "all of it",
                                                    "</td></tr></table>"]}}]) == []
    assert truncated_cells([{"data": {"text/plain": "loading..."}},    # no table
                            {"name": "stdout", "output_type": "stream", "text": "x...  y"},
                            {"data": {"text/html": "<p>wait...</p>"}}]) == []
