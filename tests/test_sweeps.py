"""Notebook sweeps: sweep files expand, are checked before any kernel, run in parallel and
resume."""
import json
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest
import yaml

from playbook_kit.teaching.sweeps import SweepRun, expand_sweep, grid_points, load_sweep, run_sweep
from playbook_kit.cli import main
from playbook_kit.teaching.notebooks import NOTEBOOK_DIR, collect_runs

QUICKSTART = NOTEBOOK_DIR / "00_quickstart.ipynb"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A notebook without TensorFlow: writes metrics and a PNG, raises when ``fail``."""
    folder = tmp_path_factory.mktemp("tiny")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    parameters = nbformat.v4.new_code_cell(
        'x: int = 1  # a number\nfail: bool = False  # raise in the last cell\n'
        'label: str = "a"  # free text\noutput_dir: str = "."  # metrics.json')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_code_cell("import json, pathlib"), parameters,
        nbformat.v4.new_code_cell(
            'out = pathlib.Path(output_dir)\n'
            '(out / "metrics.json").write_text(json.dumps({"double": 2 * x, "x": x}))\n'
            '(out / "figures").mkdir(exist_ok=True)\n'
            '(out / "figures" / "curve.png").write_bytes(b"png")'),
        nbformat.v4.new_code_cell('if fail:\n    raise RuntimeError(f"x={x} fails")')]
    nbformat.write(nb, folder / "tiny.ipynb")
    return folder / "tiny.ipynb"


@pytest.fixture
def executions(monkeypatch):
    """Count papermill executions (the runs that really start a kernel)."""
    calls = []
    real = papermill.execute_notebook

    def counting(*args, **kwargs):
        calls.append(kwargs["parameters"])
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", counting)
    return calls


@pytest.fixture
def no_kernel(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a kernel started before the parameters were checked")

    monkeypatch.setattr(papermill, "execute_notebook", refuse)


def test_grid_expands_to_the_product_in_file_order():
    assert grid_points({"a": [1, 2], "b": ["x", "y", "z"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"},
        {"a": 2, "b": "x"}, {"a": 2, "b": "y"}, {"a": 2, "b": "z"}]
    runs = expand_sweep({"notebooks": [str(QUICKSTART)], "parameters": {"max_train_steps": 25},
                         "grid": {"learning_rate": [1.0e-3, 1.0e-2], "width": [16, 32]}})
    assert [r.own for r in runs] == [
        {"learning_rate": 1.0e-3, "width": 16}, {"learning_rate": 1.0e-3, "width": 32},
        {"learning_rate": 1.0e-2, "width": 16}, {"learning_rate": 1.0e-2, "width": 32}]
    assert [r.name.rsplit("-", 1)[0] for r in runs] == [
        "00_quickstart/learning_rate=0.001,width=16", "00_quickstart/learning_rate=0.001,width=32",
        "00_quickstart/learning_rate=0.01,width=16", "00_quickstart/learning_rate=0.01,width=32"]
    assert runs[0].parameters == {"max_train_steps": 25, "learning_rate": 1.0e-3, "width": 16}


def test_the_example_sweep_expands_to_six_checked_runs(no_kernel):
    path = NOTEBOOK_DIR / "sweeps" / "quickstart_lr.yaml"
    runs = expand_sweep(load_sweep(path), path.parent)
    assert [r.notebook for r in runs] == [QUICKSTART] * 6
    assert [(r.own["learning_rate"], r.own["width"]) for r in runs] == [
        (1.0e-3, 32), (1.0e-3, 128), (3.0e-3, 32), (3.0e-3, 128), (1.0e-2, 32), (1.0e-2, 128)]
    assert {r.shared["max_train_steps"] for r in runs} == {100}


def test_run_names_are_stable_safe_and_cover_shared_parameters():
    run = SweepRun(QUICKSTART, {"name": "a/b c", "flag": True}, {"seed": 0})
    again = SweepRun(QUICKSTART, {"flag": True, "name": "a/b c"}, {"seed": 0})
    other = SweepRun(QUICKSTART, {"name": "a/b c", "flag": True}, {"seed": 1})
    assert run.name == again.name
    assert run.name.startswith("00_quickstart/flag=true,name=a_b_c-")
    assert len(run.name.rsplit("-", 1)[1]) == 8 and run.name != other.name
    assert SweepRun(QUICKSTART, {}, {}).name.startswith("00_quickstart/defaults-")


@pytest.mark.parametrize("sweep, message", [
    ({"notebooks": ["missing.ipynb"], "runs": [{}]}, "notebook 'missing.ipynb' is not found"),
    ({"notebooks": ["00_quickstart.ipynb"], "runs": [{"width": 16}, {"learning_rat": 0.1}]},
     r"run 00_quickstart/learning_rat=0.1-\w+: 00_quickstart.ipynb: parameter 'learning_rat' "
     "is unknown"),
    ({"notebooks": ["00_quickstart.ipynb"], "grid": {"learning_rate": ["1e-3"]}},
     r"parameter 'learning_rate'='1e-3' has type str; it must be float; write floats as 1.0e-3"),
    ({"notebooks": ["00_quickstart.ipynb"], "grid": {"width": [True]}},
     "parameter 'width'=True has type bool; it must be int"),
    ({"notebooks": ["00_quickstart.ipynb"], "grid": {"width": []}},
     r"grid width=\[\] is not allowed; give a non-empty list"),
    ({"notebooks": ["00_quickstart.ipynb"], "grid": {"width": [1, 2, 3]}, "max_runs": 2},
     "3 runs, more than max_runs=2; raise max_runs"),
    ({"notebooks": ["00_quickstart.ipynb"], "grid": {"width": [1]}, "runs": [{}]},
     "give either `grid`"),
    ({"notebooks": ["00_quickstart.ipynb"], "runs": [{"width": 1}, {"width": 1}]},
     "appears twice"),
    ({"notebook": ["00_quickstart.ipynb"], "runs": [{}]}, "key 'notebook' is unknown"),
])
def test_bad_sweeps_fail_before_any_kernel(sweep, message, no_kernel, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_sweep(sweep, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_exit_code_2_names_the_run_and_parameter(tmp_path, no_kernel, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"notebooks": [str(QUICKSTART)],
                                     "grid": {"max_train_steps": [25, "50"]}}))
    assert main(["sweep", str(sweep), "--output", str(tmp_path / "out")]) == 2
    assert "run 00_quickstart/max_train_steps=50-" in capsys.readouterr().err
    sweep.write_text(yaml.safe_dump({"notebooks": [str(QUICKSTART)],
                                     "grid": {"width": [8, 16, 32]}}))
    assert main(["sweep", str(sweep), "--max-runs", "2"]) == 2
    assert "3 runs, more than max_runs=2" in capsys.readouterr().err


def test_a_failed_run_is_recorded_while_the_others_finish_and_resume_skips_them(
        tiny, tmp_path, executions, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"notebooks: [{tiny}]\nparameters: {{label: '<b>x</b>'}}\n"
                     "grid:\n  x: [1, 2]\n  fail: [false, true]\n")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--jobs", "2", "--output", str(out)]) == 1
    assert sorted((p["x"], p["fail"]) for p in executions) == [
        (1, False), (1, True), (2, False), (2, True)]
    summary = pd.read_csv(out / "summary.csv")
    names = [f"tiny/fail={f},x={x}" for x in (1, 2) for f in ("false", "true")]
    assert [r.rsplit("-", 1)[0] for r in summary["run"]] == names
    assert list(summary["status"]) == ["completed", "failed"] * 2
    assert list(summary["error"].fillna("")) == ["", "RuntimeError: x=1 fails",
                                                  "", "RuntimeError: x=2 fails"]
    assert list(summary["double"]) == [2, 2, 4, 4] and list(summary["x"]) == [1, 1, 2, 2]
    assert list(summary["metric.x"]) == [1, 1, 2, 2]  # a metric named like a parameter
    assert list(summary["executed"]) == [f"{r}/tiny.ipynb" for r in summary["run"]]
    assert list(summary["figures"]) == [f"{r}/figures/curve.png" for r in summary["run"]]
    failed = out / summary["run"][1]
    error = json.loads((failed / "error.json").read_text())
    assert (error["ename"], error["evalue"], error["execution_count"]) == (
        "RuntimeError", "x=1 fails", 5)
    assert 'raise RuntimeError(f"x={x} fails")' in error["source"]
    assert json.loads((failed / "run.json").read_text())["status"] == "failed"
    page = (out / "index.html").read_text()
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert f'<a href="{summary["executed"][0]}">' in page
    assert f'<img src="{summary["figures"][0]}"' in page

    executions.clear()
    assert main(["sweep", str(sweep), "--jobs", "2", "--output", str(out)]) == 1
    assert sorted((p["x"], p["fail"]) for p in executions) == [(1, True), (2, True)]
    assert "4 runs, 2 already completed, 2 to run" in capsys.readouterr().out

    executions.clear()
    sweep.write_text(f"notebooks: [{tiny}]\nparameters: {{label: '<b>x</b>'}}\n"
                     "grid:\n  x: [1, 2]\n  fail: [false]\n")
    assert main(["sweep", str(sweep), "--output", str(out)]) == 0
    assert executions == []
    table = collect_runs(out)
    assert list(table["status"]) == ["completed", "completed"]
    assert list(table["run"]) == [str(out.resolve() / r) for r in summary["run"][::2]]


def test_a_quickstart_sweep_runs_in_parallel_and_is_collected(tmp_path):
    table = run_sweep({"notebooks": [str(QUICKSTART)],
                       "parameters": {"max_train_steps": 50, "eval_every": 25, "width": 16},
                       "runs": [{"learning_rate": 1.0e-2}, {"learning_rate": 2.0e-2}]},
                      tmp_path / "out", jobs=2, echo=lambda line: None)
    assert list(table["status"]) == ["completed", "completed"]
    assert list(table["learning_rate"]) == [1.0e-2, 2.0e-2]
    assert list(table["metric.max_train_steps"]) == [50, 50]
    assert list(table["steps_completed"]) == [50, 50]
    assert [c["learning_rate"] for c in table["config"]] == [1.0e-2, 2.0e-2]
    assert all(Path(run, "00_quickstart.ipynb").is_file() for run in table["run"])
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(summary.columns[:4]) == ["notebook", "run", "status", "error"]
    assert {"objective", "best_step", "learning_rate", "width"} <= set(summary.columns)
    assert "config" not in summary.columns  # only scalar metrics are headline metrics
