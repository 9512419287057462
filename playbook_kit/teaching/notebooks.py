"""Front end: execute guided notebooks with papermill, check parameters first, collect results.

Each executed notebook writes ``metrics.json`` (and curves as CSV) into its output folder;
:func:`collect_runs` gathers those into one DataFrame, so a sweep's results need no scrapbook.
:func:`check` and :func:`expect` are the notebooks' sanity checks of their conclusions: a
notebook whose conclusion changed stops with an AssertionError a learner can read, so
nbval and papermill runs fail. :func:`truncated_cells` finds the table cells of an executed
cell's outputs that end cut short ("..."), which the notebook tests fail on.

The guided notebooks live in the repository's ``notebooks/`` and ship inside the package
(``playbook_kit/_notebooks``, copied there by the build): :func:`guided_notebook_dir` finds
them either way, and :func:`copy_notebooks` copies them where a user can run and edit them.
"""
from __future__ import annotations

import json
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

from ..core.files import json_number
from ..core.validation import not_allowed

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"
"""The repository's guided notebooks (a clone, or an editable install of one)."""
SHIPPED_NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "_notebooks"
"""The guided notebooks inside an installed wheel or sdist (``setup.py`` puts them there)."""
GUIDED_FILES = ("[0-9][0-9]_*.ipynb", "studies/*.yaml", "sweeps/*.yaml")
"""What ships and what :func:`copy_notebooks` copies: the notebooks, their study files and
their sweep files (``setup.py`` copies the same patterns into the wheel)."""
NOTEBOOKS_EXTRA = "pip install 'playbook-kit[notebooks]'"
"""What to install for the notebooks: JupyterLab, ipywidgets, ipykernel and papermill."""
_PYTHON_TYPES = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,),
                 "list": (list,), "dict": (dict,)}


def guided_notebook_dir() -> Path:
    """The folder holding the guided notebooks: the copy shipped in the installed package,
    else the repository's ``notebooks/``.

    Raises:
        FileNotFoundError: neither holds a guided notebook (a package built without
            them); the message names both places.
    """
    for folder in (SHIPPED_NOTEBOOK_DIR, NOTEBOOK_DIR):
        if list_notebooks(folder):
            return folder
    raise FileNotFoundError(f"no guided notebooks: neither the installed package "
                            f"({SHIPPED_NOTEBOOK_DIR}) nor a repository ({NOTEBOOK_DIR}) "
                            "holds them; install playbook-kit from its wheel or sdist, or "
                            "work in a clone of its repository")


def list_notebooks(directory: str | Path | None = None) -> list[Path]:
    """The guided notebooks in teaching order: those of ``directory``, by default of
    :func:`guided_notebook_dir` (an empty list when a given folder holds none)."""
    directory = guided_notebook_dir() if directory is None else Path(directory)
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))


def guided_files(directory: str | Path | None = None) -> list[Path]:
    """The files that ship with the guided notebooks (:data:`GUIDED_FILES`), relative to
    ``directory`` (by default :func:`guided_notebook_dir`)."""
    directory = guided_notebook_dir() if directory is None else Path(directory)
    return sorted({p.relative_to(directory) for pattern in GUIDED_FILES
                   for p in directory.glob(pattern)})


def find_notebook(name: str | Path) -> Path:
    """A notebook to run: the file ``name`` when it exists, else the guided notebook of
    that name, with or without ``.ipynb`` (``00_quickstart``).

    Raises:
        ValueError: neither exists; the message lists the guided notebooks.
    """
    path = Path(name)
    if path.is_file():
        return path.resolve()
    folder = guided_notebook_dir()
    for candidate in (folder / path.name, folder / f"{path.name}.ipynb"):
        if candidate.suffix == ".ipynb" and candidate.is_file():
            return candidate
    raise not_allowed("notebook", str(name), "give a notebook file or the name of a guided "
                      "notebook: " + ", ".join(p.stem for p in list_notebooks(folder)),
                      why="no such file")


def copy_notebooks(destination: str | Path, force: bool = False) -> list[Path]:
    """Copy the guided notebooks, their study and sweep files into
    ``destination/notebooks/``, where they run as in the repository (their results go to
    ``destination/runs/``, beside it).

    Args:
        destination: the folder to copy into (created when missing).
        force: overwrite files of the same names; without it, nothing is copied when any
            exists.

    Returns:
        The copied files, in the order of :func:`guided_files`.

    Raises:
        ValueError: ``destination`` already holds some of the files and ``force`` is
            false; the message names each of them.
        FileNotFoundError: no guided notebooks are installed (:func:`guided_notebook_dir`).

    Example::

        pk.copy_notebooks("workshop")     # workshop/notebooks/00_quickstart.ipynb, ...
    """
    source = guided_notebook_dir()
    target = Path(destination) / "notebooks"
    files = guided_files(source)
    existing = [f for f in files if (target / f).exists()]
    if existing and not force:
        raise not_allowed("destination", str(destination), "choose a folder without these "
                          "files, or overwrite them with force=True (--force)", "notebooks",
                          why="it already holds " + ", ".join(
                              str(Path("notebooks") / f) for f in existing))
    copied = []
    for relative in files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        copied.append(Path(shutil.copyfile(source / relative, target / relative)))
    return copied


def _papermill():
    """papermill, or an error that says which extra installs it."""
    try:
        import papermill
    except ModuleNotFoundError as missing:
        raise ModuleNotFoundError(f"running notebooks needs {missing.name}, which is not "
                                  f"installed: {NOTEBOOKS_EXTRA}", name=missing.name) from None
    return papermill


def notebook_parameters(path: str | Path) -> dict:
    """Parameter names -> (type name, default) read back with papermill."""
    papermill = _papermill()

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
    so its ``metrics.json`` lands beside the executed notebook. A notebook shipped inside
    the installed package writes its studies beside ``output_dir`` too
    (``output_dir/../studies``, as :func:`run_tour` shares them), never into the package.
    """
    papermill = _papermill()

    path = Path(path).resolve()
    parameters = dict(parameters or {})
    check_parameters(path, parameters)
    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    declared = notebook_parameters(path)
    if "output_dir" in declared:
        parameters.setdefault("output_dir", str(output_dir))
    if "interactive" in declared:
        parameters.setdefault("interactive", False)
    if "study_dir" in declared and path.is_relative_to(SHIPPED_NOTEBOOK_DIR):
        parameters.setdefault("study_dir", str(output_dir.parent / "studies"))
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
    Without ``notebooks``, the guided ones: when none is installed, FileNotFoundError
    (:func:`guided_notebook_dir`) says so before anything is written.
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

    A sweep folder (``playbook-kit sweep``, holding ``sweep.json``) gives one row per
    planned run, failed and not yet run ones included: ``notebook``, ``run`` (its folder),
    ``status`` ("completed", "failed" or "not run"), ``error`` ("ename: evalue"), the
    run's parameters, then its ``metrics.json`` entries (``metric.<key>`` where a key is
    also a parameter or one of these columns).

    Args:
        folder: a folder of runs (``playbook-kit run``, ``tour``) or a sweep folder.

    Returns:
        pandas.DataFrame: one row per run, with its ``run`` folder and metrics.

    Raises:
        ValueError: a ``metrics.json`` or ``sweep.json`` that is not valid JSON
            (``json.JSONDecodeError``).

    Example::

        runs = pk.collect_runs("runs/quickstart_lr")
        runs.sort_values("objective", ascending=False).head()
    """
    import pandas as pd

    folder = Path(folder)
    if (folder / SWEEP_FILE).exists():
        return pd.DataFrame([_sweep_row(folder, run) for run in
                             json.loads((folder / SWEEP_FILE).read_text())["runs"]])
    rows = []
    for path in sorted(folder.rglob("metrics.json")):
        row = json.loads(path.read_text())
        row["run"] = str(path.parent)
        rows.append(row)
    return pd.DataFrame(rows)


SWEEP_FILE, RUN_FILE, ERROR_FILE = "sweep.json", "run.json", "error.json"
_RUN_COLUMNS = ("notebook", "run", "status", "error")


def _sweep_row(folder: Path, run: dict) -> dict:
    """One planned run of a sweep: its status, error, parameters and metrics."""
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
    """Write a notebook run's machine-readable results: ``metrics.json`` and ``curves.csv``.

    Args:
        output_dir: the run's folder (created when missing).
        metrics: the headline numbers; NumPy scalars are written as numbers, anything else
            JSON cannot hold as text.
        curves: a DataFrame written as ``curves.csv``, or None.

    Returns:
        Path: the ``metrics.json`` written.

    Raises:
        OSError: the folder cannot be written.

    Example::

        pk.save_metrics(output_dir, {"val_accuracy": result.objective}, result.curves)
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(
        json.dumps(metrics, indent=2, default=_number_or_text))
    if curves is not None:
        curves.to_csv(output_dir / "curves.csv", index=False)
    return output_dir / "metrics.json"


def _number_or_text(value):
    """metrics.json's ``default``: a NumPy scalar as its number, anything else as its
    text."""
    try:
        return json_number(value)
    except TypeError:
        return str(value)


def check(claim: str, holds, found=None) -> None:
    """A notebook's sanity check: print ``✓ claim``, or raise AssertionError if it fails.

    ``claim`` is a sentence a learner reads (the notebook's conclusion); ``found`` is what
    was measured, shown in the error so the failure explains itself.

    Args:
        claim: the conclusion, as a sentence.
        holds: whether it holds: True or False (a NumPy bool too).
        found: what was measured, shown when the claim fails.

    Returns:
        None: prints ``✓ claim``.

    Raises:
        AssertionError: the claim does not hold (``check failed: claim (found: ...)``).
        TypeError: ``holds`` is not a bool.

    Example::

        pk.check("the baseline beats chance (10%) at least three times over",
                 accuracy > 0.3, f"validation accuracy {accuracy:.3f}")
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

    Args:
        what: what is compared, in words.
        found: the value found.
        expected: the value expected.

    Returns:
        None: prints ``✓ what: found``.

    Raises:
        AssertionError: ``found != expected``, naming both.

    Example::

        pk.expect("reads of the test split", data.test_reads, 1)
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
