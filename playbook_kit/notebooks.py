"""Front end: execute guided notebooks with papermill, check parameters first, collect results.

Each executed notebook writes ``metrics.json`` (and curves as CSV) into its output folder;
:func:`collect_runs` gathers those into one DataFrame, so batch results need no scrapbook.
:func:`check` and :func:`expect` are the notebooks' sanity checks of their conclusions: a
notebook whose conclusion changed stops with an AssertionError a learner can read, so
nbval and papermill runs fail. :func:`truncated_cells` finds the table cells of an executed
cell's outputs that end cut short ("..."), which the notebook tests fail on.
"""
from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
_PYTHON_TYPES = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,),
                 "list": (list,), "dict": (dict,)}


def list_notebooks(directory: str | Path = NOTEBOOK_DIR) -> list[Path]:
    """The guided notebooks in teaching order."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb"))


def notebook_parameters(path: str | Path) -> dict:
    """Parameter names -> (type name, default) read back with papermill."""
    import papermill

    found = papermill.inspect_notebook(str(path))
    return {name: (info["inferred_type_name"], info["default"]) for name, info in found.items()}


def check_parameters(path: str | Path, parameters: dict, declared: dict | None = None) -> None:
    """Reject unknown names and values of the wrong type before a kernel starts.

    ``True`` is no int here (Python's bool is a subclass of int); an int is a float.
    ``declared`` is the notebook's :func:`notebook_parameters` when already read.
    """
    declared = notebook_parameters(path) if declared is None else declared
    for name, value in parameters.items():
        if name not in declared:
            raise ValueError(f"{Path(path).name}: parameter {name!r} is unknown; "
                             f"allowed are {', '.join(sorted(declared))}")
        _check_type(Path(path).name, name, value, declared[name][0])


def _check_type(notebook: str, name: str, value, declared_type: str) -> None:
    type_name = declared_type.split("[")[0].strip()
    allowed = _PYTHON_TYPES.get(type_name)
    if allowed is None:
        return
    if isinstance(value, bool) and bool not in allowed:
        allowed = ()
    if not isinstance(value, allowed):
        hint = "; write floats as 1.0e-3 (YAML reads 1e-3 as text)" \
            if type_name == "float" and isinstance(value, str) else ""
        raise ValueError(f"{notebook}: parameter {name!r}={value!r} has type "
                         f"{type(value).__name__}; it must be {type_name}{hint}")


def run_notebook(path: str | Path, output_dir: str | Path, parameters: dict | None = None,
                 kernel: str = "python3", progress: bool = False) -> Path:
    """Execute one notebook into ``output_dir`` with papermill; returns the executed copy.

    The notebook's ``output_dir`` parameter (when it has one) points at the same folder,
    so its ``metrics.json`` lands beside the executed notebook.
    """
    import papermill

    path = Path(path).resolve()
    parameters = dict(parameters or {})
    check_parameters(path, parameters)
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    if "output_dir" in notebook_parameters(path):
        parameters.setdefault("output_dir", str(output_dir))
    if "interactive" in notebook_parameters(path):
        parameters.setdefault("interactive", False)
    executed = output_dir / path.name
    papermill.execute_notebook(str(path), str(executed), parameters=parameters,
                               kernel_name=kernel, cwd=str(path.parent),
                               progress_bar=progress, log_output=False,
                               extra_arguments=["--IPKernelApp.log_level=ERROR"])
    return executed


def run_tour(output: str | Path = "runs", notebooks: list[Path] | None = None,
             parameters: dict | None = None) -> Path:
    """Execute every guided notebook with default parameters into ``runs/tour-<timestamp>/``.

    The notebooks share one ``studies/`` folder inside the tour's folder, so later
    notebooks read the studies that earlier ones ran; ``parameters`` go to each notebook
    that declares them. Every parameter is checked against every notebook before the
    first kernel starts: a name that no notebook declares, or a value of the wrong type
    for any notebook that declares it, stops the tour before any output is written.
    """
    notebooks = notebooks or list_notebooks()
    declared = {notebook: notebook_parameters(notebook) for notebook in notebooks}
    for name, value in (parameters or {}).items():
        takers = [n for n in notebooks if name in declared[n]]
        if not takers:
            known = sorted(set().union(*declared.values()))
            raise ValueError(f"parameter {name!r} is declared by no notebook of the tour; "
                             f"allowed are {', '.join(known)}")
        for notebook in takers:
            _check_type(notebook.name, name, value, declared[notebook][name][0])
    folder = (Path(output) / time.strftime("tour-%Y%m%d-%H%M%S")).resolve()
    shared = {"study_dir": str(folder / "studies"), **(parameters or {})}
    for notebook in notebooks:
        started = time.perf_counter()
        print(f"running {notebook.name} ...", flush=True)
        run_notebook(notebook, folder / notebook.stem,
                     {k: v for k, v in shared.items() if k in declared[notebook]})
        print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def collect_runs(folder: str | Path):
    """Every ``metrics.json`` below ``folder`` as one DataFrame row (with its run folder).

    A batch folder (``playbook-kit batch``, holding ``batch.json``) gives one row per
    planned run, failed and not yet run ones included: ``notebook``, ``run`` (its folder),
    ``status`` ("completed", "failed" or "not run"), ``error`` ("ename: evalue"), the
    run's parameters, then its ``metrics.json`` entries (``metric.<key>`` where a key is
    also a parameter or one of these columns).
    """
    import pandas as pd

    folder = Path(folder)
    if (folder / BATCH_FILE).exists():
        return pd.DataFrame([_batch_row(folder, run) for run in
                             json.loads((folder / BATCH_FILE).read_text())["runs"]])
    rows = []
    for path in sorted(folder.rglob("metrics.json")):
        row = json.loads(path.read_text())
        row["run"] = str(path.parent)
        rows.append(row)
    return pd.DataFrame(rows)


BATCH_FILE, RUN_FILE, ERROR_FILE = "batch.json", "run.json", "error.json"
_RUN_COLUMNS = ("notebook", "run", "status", "error")


def _batch_row(folder: Path, run: dict) -> dict:
    """One planned run of a batch: its status, error, parameters and metrics."""
    run_dir = folder / run["name"]
    marker = _read_json(run_dir / RUN_FILE)
    error = _read_json(run_dir / ERROR_FILE)
    row = {"notebook": Path(run["notebook"]).stem, "run": str(run_dir),
           "status": marker.get("status", "not run"),
           "error": f"{error['ename']}: {error['evalue']}" if error else ""}
    row.update(run["parameters"])
    for key, value in _read_json(run_dir / "metrics.json").items():
        row[f"metric.{key}" if key in row else key] = value
    return row


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_metrics(output_dir: str | Path, metrics: dict, curves=None) -> Path:
    """Write a notebook run's machine-readable results: ``metrics.json`` and ``curves.csv``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=_plain))
    if curves is not None:
        curves.to_csv(output_dir / "curves.csv", index=False)
    return output_dir / "metrics.json"


def _plain(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def check(claim: str, holds, found=None) -> None:
    """A notebook's sanity check: print ``✓ claim``, or raise AssertionError if it fails.

    ``claim`` is a sentence a learner reads (the notebook's conclusion); ``found`` is what
    was measured, shown in the error so the failure explains itself.
    """
    import numpy as np

    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"check({claim!r}): holds={holds!r} must be True or False")
    if not holds:
        raise AssertionError(f"check failed: {claim}" +
                             ("" if found is None else f" (found: {found})"))
    print(f"\u2713 {claim}")


def expect(what: str, found, expected) -> None:
    """A notebook's known answer: ``what`` must be ``expected``; print it, or raise.

    The error names what differs, the value found and the one expected.
    """
    if found != expected:
        raise AssertionError(f"check failed: {what} is {found!r}, expected {expected!r}")
    print(f"\u2713 {what}: {found!r}")


TRUNCATION_MARKS = ("...", "\u2026")
"""How a table cell ends when pandas (or anything else) cut its text short."""
_COLUMN_GAP = re.compile(r"\s{2,}|\s*\\$")
"""Between the columns of a DataFrame printed as text (a wide one ends its lines in "\\")."""


class _TableCells(HTMLParser):
    """The text of every ``<td>`` and ``<th>`` of an HTML fragment."""

    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self._open: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self._open = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._open is not None:
            self.cells.append(" ".join("".join(self._open).split()))
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)


def truncated_cells(outputs) -> list[str]:
    """The table cells in ``outputs`` (a code cell's outputs, nbformat dicts) that end in
    a truncation mark (:data:`TRUNCATION_MARKS`): every ``<td>``/``<th>`` of a text/html
    output, every cell of a Markdown table (text/markdown), and in the text/plain of an
    output that also holds an HTML table (the same table as text) every entry that ends
    in a mark before two spaces or the end of its line. A cell that is only a mark (rows
    that pandas left out of a long table) counts too: it hides what the table holds.
    Printed text (stream outputs) is not a table and is not checked."""
    found = []
    for output in outputs:
        data = output.get("data") or {}
        html = _joined(data.get("text/html"))
        if html:
            parser = _TableCells()
            parser.feed(html)
            found += [c for c in parser.cells if c.endswith(TRUNCATION_MARKS)]
        markdown = _joined(data.get("text/markdown"))
        for line in markdown.splitlines():
            if line.strip().startswith("|"):
                found += [c.strip() for c in line.strip().strip("|").split("|")
                          if c.strip().endswith(TRUNCATION_MARKS)]
        if "<table" in html:
            plain = _joined(data.get("text/plain"))
            for line in plain.splitlines():
                found += [c for c in _COLUMN_GAP.split(line.strip())
                          if c.endswith(TRUNCATION_MARKS) and c not in TRUNCATION_MARKS]
    return found


def _joined(text) -> str:
    """A notebook output's text, stored as one string or as a list of lines."""
    if text is None:
        return ""
    return "".join(text) if isinstance(text, list) else str(text)
