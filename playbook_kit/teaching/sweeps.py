"""Notebook sweeps: guided notebooks over many parameter sets, in parallel, resumable.

A sweep file (YAML) names the notebooks and the parameter sets::

    notebooks: [../00_quickstart.ipynb]   # relative to this file, or a guided notebook's name
    parameters: {max_train_steps: 100}    # shared by every run (optional)
    grid:                                 # the product of value lists ...
      learning_rate: [1.0e-3, 1.0e-2]
      width: [32, 128]
    # runs: [{learning_rate: 1.0e-3}, {learning_rate: 1.0e-2, width: 32}]   # ... or a list
    max_runs: 64                          # a larger sweep is refused unless raised

Every (notebook, parameter set) is one run, executed with papermill in its own folder
``<output>/<notebook stem>/<name=value,...>-<hash>``; the hash covers all the run's
parameters, so a run with other shared parameters never takes a finished run's folder.
Every run's parameters are checked against its notebook before any kernel starts. A run
ends with ``run.json`` (status, parameters, duration); a failed one also with
``error.json`` (the failing cell and the error) and the executed notebook up to the
failure. Running the same sweep again skips completed runs and retries failed ones.
``summary.csv`` and ``index.html`` list every run.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from ..core.validation import check_int, not_allowed
from ..studies.store import atomic_write
from .notebooks import (
    SWEEP_FILE, ERROR_FILE, NOTEBOOK_DIR, RUN_FILE, check_parameters, collect_runs,
    notebook_parameters, run_notebook,
)

DEFAULT_MAX_RUNS = 64
SWEEP_KEYS = ("notebooks", "parameters", "grid", "runs", "max_runs")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


@dataclass(frozen=True)
class SweepRun:
    """One notebook with one parameter set: ``own`` names its folder, ``shared`` does not."""

    notebook: Path
    own: dict
    shared: dict

    @property
    def parameters(self) -> dict:
        return {**self.shared, **self.own}

    @property
    def name(self) -> str:
        """``<notebook stem>/<name=value,...>-<hash of all parameters>``: stable and safe
        on every filesystem."""
        readable = ",".join(f"{key}={_slug(value)}" for key, value in sorted(self.own.items()))
        digest = hashlib.sha1(json.dumps(self.parameters, sort_keys=True).encode()).hexdigest()
        return f"{self.notebook.stem}/{readable[:120] or 'defaults'}-{digest[:8]}"


def _slug(value) -> str:
    text = json.dumps(value, separators=(",", ":")) if isinstance(value, (bool, list, dict)) \
        else repr(value) if isinstance(value, float) else str(value)
    return _UNSAFE.sub("_", text)


def grid_points(grid: dict) -> list[dict]:
    """The product of the grid's value lists, in the file's key order (last key fastest;
    :func:`~playbook_kit.search.points.product_configs`)."""
    from ..search.points import product_configs

    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise not_allowed(f"grid {name}", values, "give a non-empty list of values "
                              "(a grid with an empty list expands to zero runs)", "sweep")
    return product_configs(grid)


def load_sweep(path: str | Path) -> dict:
    """A sweep file as a dict (``yaml.safe_load``), checked to be a mapping."""
    import yaml

    sweep = yaml.safe_load(Path(path).read_text())
    if not isinstance(sweep, dict):
        raise ValueError(f"{path}: a sweep file is a mapping with keys {', '.join(SWEEP_KEYS)}")
    return sweep


def expand_sweep(sweep: dict, base_dir: str | Path = ".", max_runs: int | None = None
                 ) -> list[SweepRun]:
    """Every run of a sweep, each checked against its notebook's parameters cell.

    Raises ValueError, before any kernel starts, for an unknown key or notebook, a
    grid or list that expands to zero runs or to more than ``max_runs`` (the sweep's own
    ``max_runs``, else 64), and any run whose parameter is unknown to its notebook or of
    the wrong type; the error names the run and the parameter.
    """
    unknown = sorted(set(sweep) - set(SWEEP_KEYS))
    if unknown:
        raise ValueError(f"sweep: key {unknown[0]!r} is unknown; allowed are "
                         f"{', '.join(SWEEP_KEYS)}")
    if ("grid" in sweep) == ("runs" in sweep):
        raise ValueError("sweep: give either `grid` (value lists to combine) or `runs` "
                         "(a list of parameter sets), not both and not neither")
    notebooks = sweep.get("notebooks")
    notebooks = [notebooks] if isinstance(notebooks, str) else notebooks
    if not isinstance(notebooks, list) or not notebooks:
        raise not_allowed("notebooks", notebooks, "give a list of notebook paths", "sweep")
    shared = sweep.get("parameters") or {}
    if not isinstance(shared, dict):
        raise not_allowed("parameters", shared, "give a mapping", "sweep")
    if "grid" in sweep:
        if not isinstance(sweep["grid"], dict) or not sweep["grid"]:
            raise not_allowed("grid", sweep["grid"], "give a mapping of parameter names to "
                              "value lists", "sweep")
        sets = grid_points(sweep["grid"])
    else:
        sets = sweep["runs"]
        if not isinstance(sets, list) or not sets or \
                not all(isinstance(s, dict) for s in sets):
            raise not_allowed("runs", sets, "give a non-empty list of parameter mappings",
                              "sweep")
    limit = check_int("max_runs", max_runs if max_runs is not None
                      else sweep.get("max_runs", DEFAULT_MAX_RUNS), minimum=1, where="sweep")
    paths = [_find_notebook(n, Path(base_dir)) for n in notebooks]
    runs = [SweepRun(path, dict(own), dict(shared)) for path in paths for own in sets]
    if len(runs) > limit:
        raise ValueError(f"sweep: {len(paths)} notebook(s) x {len(sets)} parameter sets = "
                         f"{len(runs)} runs, more than max_runs={limit}; raise max_runs "
                         "(in the file or --max-runs) to run them all")
    names = [run.name for run in runs]
    if len(set(names)) < len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"sweep: run {twice} appears twice; every parameter set must differ")
    declared = {path: notebook_parameters(path) for path in paths}
    for run in runs:
        try:
            check_parameters(run.notebook, run.parameters, declared[run.notebook])
        except ValueError as error:
            raise ValueError(f"run {run.name}: {error}") from None
    return runs


def _find_notebook(name, base_dir: Path) -> Path:
    for candidate in (base_dir / str(name), NOTEBOOK_DIR / str(name)):
        if candidate.suffix == ".ipynb" and candidate.is_file():
            return candidate.resolve()
    guided = ", ".join(p.name for p in sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb")))
    raise ValueError(f"sweep: notebook {name!r} is not found in {base_dir} nor among the "
                     f"guided notebooks ({guided})")


def run_sweep(sweep: str | Path | dict, output: str | Path | None = None, jobs: int = 1,
              max_runs: int | None = None, kernel: str = "python3", echo=print):
    """Run (or resume) a sweep into ``output``; returns :func:`collect_runs`' table.

    ``sweep`` is a sweep file (notebook paths relative to it) or its dict (paths relative
    to the working directory); ``output`` defaults to ``runs/<sweep file stem>``. ``jobs``
    runs execute at once, each in its own kernel. Completed runs are skipped; a failed run
    is retried. Writes ``summary.csv`` and ``index.html`` into ``output`` at the end.

    Args:
        sweep: a sweep file, or its contents as a dict.
        output: the sweep folder; None: ``runs/<sweep file stem>``.
        jobs: runs at once, each in its own kernel.
        max_runs: refuse a sweep of more runs (None: the file's ``max_runs``, else 64).
        kernel: the Jupyter kernel's name.
        echo: prints each run's progress line (``print``; a no-op to keep quiet).

    Returns:
        pandas.DataFrame: one row per run (:func:`collect_runs`' table of ``output``).

    Raises:
        ValueError: a sweep not allowed, before any kernel starts: an unknown key,
            notebook or parameter, a wrong type, an empty grid, more runs than
            ``max_runs``; the message names the run and the parameter.

    Example::

        table = pk.run_sweep("notebooks/sweeps/quickstart_lr.yaml", jobs=2)
        table[["run", "status", "learning_rate", "objective"]]
    """
    jobs = check_int("jobs", jobs, minimum=1, where="sweep")
    if isinstance(sweep, dict):
        base_dir, name = Path.cwd(), "sweep"
    else:
        base_dir, name, sweep = Path(sweep).parent, Path(sweep).stem, load_sweep(sweep)
    runs = expand_sweep(sweep, base_dir, max_runs)
    folder = Path(output if output is not None else Path("runs") / name).resolve()
    plan = {"sweep": sweep, "runs": [{"name": r.name, "notebook": str(r.notebook),
                                      "parameters": r.parameters} for r in runs]}
    _write_json(folder / SWEEP_FILE, plan)
    todo = [r for r in runs if not is_finished(folder / r.name)]
    echo(f"{len(runs)} runs, {len(runs) - len(todo)} already completed, {len(todo)} to run "
         f"with {jobs} job(s) into {folder}")
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {pool.submit(_execute, run, folder / run.name, kernel): run for run in todo}
        for done, future in enumerate(as_completed(futures), 1):
            status, seconds = future.result()
            echo(f"[{done}/{len(todo)}] {futures[future].name}: {status} in {seconds:.0f} s")
    finally:  # interrupted: start no queued run; a run without run.json reruns next time
        pool.shutdown(wait=True, cancel_futures=True)
    table = collect_runs(folder)
    write_summary(folder, table)
    return table


def is_finished(run_dir: Path) -> bool:
    """A run is finished when its ``run.json`` says completed."""
    path = Path(run_dir) / RUN_FILE
    return path.exists() and json.loads(path.read_text()).get("status") == "completed"


def _execute(run: SweepRun, run_dir: Path, kernel: str) -> tuple[str, float]:
    """Execute one run; a failure is recorded in its folder, never raised."""
    import papermill

    for stale in (RUN_FILE, ERROR_FILE):
        (run_dir / stale).unlink(missing_ok=True)
    parameters = run.parameters
    if "study_dir" in notebook_parameters(run.notebook):
        parameters.setdefault("study_dir", str(run_dir / "studies"))  # no study shared by runs
    started = time.perf_counter()
    error = None
    try:
        run_notebook(run.notebook, run_dir, parameters, kernel=kernel)
    except papermill.PapermillExecutionError as failure:
        error = {"cell_index": failure.cell_index, "execution_count": failure.exec_count,
                 "ename": failure.ename, "evalue": failure.evalue, "source": failure.source}
    except Exception as failure:  # a dead kernel or a timeout fails this run, not the sweep
        error = {"cell_index": None, "execution_count": None,
                 "ename": type(failure).__name__, "evalue": str(failure), "source": ""}
    seconds = time.perf_counter() - started
    if error is not None:
        _write_json(run_dir / ERROR_FILE, error)
    status = "failed" if error else "completed"
    _write_json(run_dir / RUN_FILE, {"status": status, "notebook": str(run.notebook),
                                     "parameters": run.parameters, "duration_s": seconds})
    return status, seconds


def _write_json(path: Path, value) -> None:
    with atomic_write(path) as tmp:
        Path(tmp).write_text(json.dumps(value, indent=2, default=str))


def _scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def write_summary(folder: str | Path, table=None) -> tuple[Path, Path]:
    """``summary.csv`` and ``index.html`` for a sweep folder; returns their paths.

    Both list every run with its status, error, parameters and headline metrics (the
    scalar entries of its ``metrics.json``); the page links each executed notebook and
    the PNG figures the run wrote.
    """
    from ..reporting.rendering import render

    folder = Path(folder).resolve()
    table = collect_runs(folder) if table is None else table.copy()
    table["run"] = [str(Path(path).relative_to(folder)) for path in table["run"]]
    plan = {run["name"]: run for run in json.loads((folder / SWEEP_FILE).read_text())["runs"]}
    table["executed"] = [f"{name}/{Path(plan[name]['notebook']).name}" for name in table["run"]]
    table["figures"] = [";".join(str(p.relative_to(folder))
                                 for p in sorted((folder / name).rglob("*.png")))
                        for name in table["run"]]
    keep = [c for c in table.columns if table[c].map(_scalar).all()]
    table = table[keep]
    csv = folder / "summary.csv"
    with atomic_write(csv) as tmp:
        table.to_csv(tmp, index=False)
    parameters = sorted({key for run in plan.values() for key in run["parameters"]})
    fixed = {"notebook", "run", "status", "error", "executed", "figures"}
    metrics = [c for c in table.columns if c not in fixed and c not in parameters]
    html = folder / "index.html"
    page = render("sweep.html", title=f"sweep {folder.name}", rows=table.to_dict("records"),
                  parameters=[p for p in parameters if p in table.columns], metrics=metrics,
                  counts=table["status"].value_counts().to_dict())
    with atomic_write(html) as tmp:
        Path(tmp).write_text(page)
    return csv, html
