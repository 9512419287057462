"""The ``playbook-kit`` command line: tour, notebook sweeps, studies and reports."""
from __future__ import annotations

import argparse
import sys

import yaml

from . import __version__


def _parse_parameter(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"parameter {text!r} must look like name=value")
    name, raw = text.split("=", 1)
    return name, yaml.safe_load(raw)


def _tour(args) -> int:
    from .teaching.notebooks import run_tour

    folder = run_tour(args.output, parameters=dict(args.parameter or []))
    print(f"executed notebooks are in {folder}")
    return 0


def _run(args) -> int:
    from pathlib import Path
    from .teaching.notebooks import check_parameters, find_notebook, run_notebook

    notebooks = [find_notebook(name) for name in args.notebooks]  # a path, or a guided name
    for notebook in notebooks:  # every notebook's parameters before the first kernel
        check_parameters(notebook, dict(args.parameter or []))
    for notebook in notebooks:
        out = Path(args.output) / Path(notebook).stem
        executed = run_notebook(notebook, out, dict(args.parameter or []))
        print(f"{notebook} -> {executed}")
    return 0


def _notebooks(args) -> int:
    from pathlib import Path
    from .teaching.notebooks import copy_notebooks

    copied = copy_notebooks(args.destination, force=args.force)
    folder = Path(args.destination) / "notebooks"
    print(f"{len(copied)} files copied into {folder}: "
          f"{', '.join(p.name for p in copied if p.suffix == '.ipynb')} and their study "
          f"and sweep files\nopen them with: jupyter lab {folder}")
    return 0


def _sweep(args) -> int:
    from pathlib import Path
    from .teaching.sweeps import run_sweep

    table = run_sweep(args.sweep, args.output, jobs=args.jobs, max_runs=args.max_runs)
    counts = table["status"].value_counts().to_dict()
    print(f"{len(table)} runs {counts}; summary in "
          f"{Path(table['run'].iloc[0]).parents[1] / 'index.html'}")
    return 1 if (table["status"] != "completed").any() else 0


def _checkpoint_every(value: str):
    """``--checkpoint-every``: a number of steps, or the text as the trainer takes it."""
    return int(value) if value.isdigit() else value


def _study(args) -> int:
    from .core.runtime import setup
    from .search.study import StudySpec, run_spec
    from .search.workers import launch_workers

    spec = StudySpec.from_yaml(args.spec)
    overrides = {k: getattr(args, k) for k in ("max_trials", "seed", "algorithm",
                                               "checkpoint_every", "keep_checkpoints", "pack")
                 if getattr(args, k) is not None}
    if overrides:
        spec = StudySpec.from_dict({**spec.to_dict(), **overrides})
    if args.workers:
        from pathlib import Path
        from .studies.store import write_study_yaml
        from .studies.study_lock import check_free

        check_free(Path(args.directory) / spec.name)  # before starting any worker
        effective = Path(args.directory) / f"{spec.name}.study.yaml"
        write_study_yaml(effective, spec.to_dict())
        codes = launch_workers(effective, args.directory, args.workers, args.threads)
        print(f"{args.workers} workers finished; exit codes {codes}")
        from .results.loading import load_study
        from .studies.store import StoreError

        try:
            study = load_study(f"{args.directory}/{spec.name}")
        except (StoreError, FileNotFoundError, ValueError) as error:
            print(f"study {spec.name}: {error}", file=sys.stderr)
            return 1
        finished = study.trials["status"].isin(("completed", "infeasible", "failed")).sum()
        if any(c != 0 for c in codes) and finished < spec.max_trials:
            print(f"study {spec.name}: {finished} of {spec.max_trials} trials finished; run "
                  "the same command again to continue", file=sys.stderr)
            return 1
        lost = sum(1 for c in codes[1:] if c != 0)
        if lost:
            print(f"{lost} worker(s) lost; their trials were continued by the others")
    else:
        from .training.trial_state import EXIT_INTERRUPTED, TrialInterrupted

        setup(seed=spec.seed, threads=args.threads)
        from .search.study import OracleLost

        try:
            study = run_spec(spec, args.directory, progress=not args.no_progress)
        except TrialInterrupted as stop:
            print(f"study {spec.name}: {stop}; run the same command again to continue",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        except OracleLost as lost:
            print(str(lost), file=sys.stderr)
            return EXIT_INTERRUPTED
    counts = study.trials["status"].value_counts().to_dict()
    best = study.best_trials(1)
    print(f"study {spec.name}: {len(study.trials)} trials {counts}")
    if len(best):
        print(f"best trial {best.iloc[0]['trial_id']}: {study.objective}="
              f"{best.iloc[0]['objective']:.4f}")
    return 0


def _audit(args) -> int:
    from pathlib import Path
    from .insight import audit
    from .results.loading import load_study
    from .core.runtime import setup

    setup(seed=0)
    study = load_study(args.study)
    report = audit(study)
    output = Path(args.output) if args.output else Path(study.path) / "audit"
    report.save(output)
    print(_table_text(report.checks[["check", "status", "reason"]]))
    print(f"report written to {output}")
    return 1 if args.strict and (report.checks["status"] == "fail").any() else 0


def _spec_and_folder(source: str):
    """A study's spec and the folder beside it: from a study YAML file (its folder) or a
    stored study directory (the directory itself)."""
    from pathlib import Path
    from .core.validation import not_allowed
    from .search.study import StudySpec
    from .studies.store import STUDY_FILE, read_study_spec

    path = Path(source)
    if path.is_dir():
        if not (path / STUDY_FILE).exists():
            raise not_allowed("study", source, "give a playbook-kit study or a study YAML "
                              "file", why=f"the directory has no {STUDY_FILE}")
        return read_study_spec(path, build=StudySpec.from_dict), path
    if not path.is_file():
        raise not_allowed("study", source, "give a study YAML file or a playbook-kit study",
                          why="no such file or directory")
    return StudySpec.from_yaml(path), path.parent


def _study_workload(args):
    """The spec, its folder and its workload, TensorFlow set up with the spec's seed."""
    from .core.runtime import setup

    spec, folder = _spec_and_folder(args.study)
    setup(seed=spec.seed, threads=args.threads)
    return spec, folder, spec.workload()


def _keep(text: str):
    """``--keep-checkpoints``: an integer >= 0 or ``all``."""
    from .core.validation import not_allowed

    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise not_allowed("--keep-checkpoints", text, "use an integer >= 0 or 'all'",
                          error=argparse.ArgumentTypeError)
    return value


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be integers separated by commas")


def _table_text(frame) -> str:
    """A table as the terminal shows it: text whole, wrapped to the terminal's width,
    statuses marked (:func:`playbook_kit.reporting.tables.to_text`)."""
    import shutil
    from .reporting.tables import to_text

    return to_text(frame, index=False, width=shutil.get_terminal_size().columns)


def _report(result, folder) -> None:
    paths = result.save(folder)
    print(_table_text(result.table))
    print(str(result))
    print(f"table written to {paths['table']}\nfigure written to {paths['figure']}")


def _batch_size(args) -> int:
    from pathlib import Path
    from .recipes.batch_size import batch_size_scan

    spec, folder, workload = _study_workload(args)
    scan = batch_size_scan(workload, dict(args.set or []), batch_sizes=args.batch_sizes,
                           start=args.start, max_batch_size=args.max_batch_size,
                           steps=args.steps, warmup_steps=args.warmup_steps,
                           repeats=args.repeats, seed=spec.seed, progress=not args.no_progress)
    _report(scan, Path(args.output) if args.output else folder)
    return 0


def _pipeline_check(args) -> int:
    from pathlib import Path
    from .recipes.input_pipeline import trainer_pipeline_check

    spec, folder, workload = _study_workload(args)
    result = trainer_pipeline_check(workload, dict(args.set or []), steps=args.steps,
                                    warmup_steps=args.warmup_steps, repeats=args.repeats,
                                    tolerance=args.tolerance, seed=spec.seed)
    _report(result, Path(args.output) if args.output else folder)
    return 0


def _clip_norm(args) -> int:
    from pathlib import Path
    from .recipes.clipping import clipping_threshold
    from .results.loading import load_study
    from .core.runtime import setup

    setup(seed=0)
    study = load_study(args.study)
    result = clipping_threshold(study, args.trial, percentile=args.percentile)
    _report(result, Path(args.output) if args.output else Path(study.path))
    return 0


def _tensorboard(args) -> int:
    from .results.loading import load_study
    from .results.tracking import export_tensorboard

    study = load_study(args.study)
    folder = export_tensorboard(study, args.logdir, overwrite=args.overwrite)
    print(f"{len(study.trials)} trials of study {study.name} written to {folder}; "
          f"view with: tensorboard --logdir {args.logdir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="playbook-kit", description=__doc__)
    parser.add_argument("--version", action="version", version=f"playbook-kit {__version__}")
    commands = parser.add_subparsers(dest="command")
    tour = commands.add_parser("tour", help="execute every guided notebook with papermill")
    tour.add_argument("--output", default="runs", help="folder for runs/tour-<timestamp>/")
    tour.add_argument("-p", "--parameter", type=_parse_parameter, action="append",
                      help="name=value (YAML value) passed to every notebook that declares it")
    tour.set_defaults(handler=_tour)
    run = commands.add_parser("run", help="execute notebooks with parameters (papermill)")
    run.add_argument("notebooks", nargs="+", help="notebook files, or guided notebooks by "
                     "name (00_quickstart)")
    run.add_argument("--output", default="runs", help="one sub-folder per notebook")
    run.add_argument("-p", "--parameter", type=_parse_parameter, action="append",
                     help="name=value; YAML value, write floats as 1.0e-3")
    run.set_defaults(handler=_run)
    copy = commands.add_parser("notebooks", help="copy the guided notebooks, their study "
                               "and sweep files into DESTINATION/notebooks")
    copy.add_argument("destination", help="folder to copy into; results of the notebooks "
                      "go to DESTINATION/runs")
    copy.add_argument("--force", action="store_true",
                      help="overwrite files of the same names (otherwise nothing is copied "
                      "when any exists)")
    copy.set_defaults(handler=_notebooks)
    sweep = commands.add_parser("sweep", help="run notebooks over parameter sets from a "
                                "sweep file, in parallel, resuming finished runs")
    sweep.add_argument("sweep", help="sweep file: notebooks, parameters, grid or runs, "
                       "max_runs (see docs/guides/sweeps.md)")
    sweep.add_argument("--jobs", type=int, default=1, help="runs at once, one kernel each")
    sweep.add_argument("--output", default=None, help="sweep folder (default: "
                       "runs/<sweep file name>)")
    sweep.add_argument("--max-runs", dest="max_runs", type=int, default=None,
                       help="refuse sweeps with more runs than this (default: the file's "
                       "max_runs, else 64)")
    sweep.set_defaults(handler=_sweep)
    study = commands.add_parser("study", help="run or resume a study from a YAML file")
    study.add_argument("spec", help="study file: name, data, defaults, space, algorithm, "
                       "max_trials, max_train_steps, eval_every, seed, repeats")
    study.add_argument("--directory", default="studies", help="parent folder of the study")
    study.add_argument("--workers", type=int, default=0,
                       help="run this many worker processes on loopback (the first also "
                       "serves the oracle)")
    study.add_argument("--threads", type=int, default=None, help="TensorFlow threads")
    study.add_argument("--max-trials", dest="max_trials", type=int, default=None)
    study.add_argument("--seed", type=int, default=None)
    study.add_argument("--algorithm", default=None)
    study.add_argument("--keep-checkpoints", dest="keep_checkpoints", type=_keep,
                       default=None, help="keep the checkpoints of this many best trials "
                       "(and of pinned ones), dropping the others' as they fall out; 'all' "
                       "keeps every trial's (default: the study file's keep_checkpoints, "
                       "else 5)")
    study.add_argument("--no-progress", dest="no_progress", action="store_true")
    study.add_argument("--pack", type=int, default=None,
                       help="train up to this many trials of one architecture together, "
                       "each bit-identical to training it alone; 1 trains them one by one "
                       "(default: the study file's pack, else 32)")
    study.add_argument("--checkpoint-every", dest="checkpoint_every", default=None,
                       type=_checkpoint_every,
                       help="a running trial's resumable state: every N steps, every "
                       "'<n>s' or '<n>min' of training, or 'off' (default: at most 10 "
                       "minutes or 10%% of a trial apart)")
    study.set_defaults(handler=_study)
    audit = commands.add_parser("audit", help="audit a stored study (playbook-kit or "
                                "plain keras-tuner directory) and write the report")
    audit.add_argument("study", help="study directory (the one holding oracle.json)")
    audit.add_argument("--output", default=None, help="report folder (default: <study>/audit)")
    audit.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    audit.set_defaults(handler=_audit)
    scan = commands.add_parser("batch-size", help="scan batch sizes (powers of two) for "
                               "training throughput and recommend the largest that scales")
    scan.add_argument("study", help="study YAML file or stored study directory: its data "
                      "and defaults are the workload")
    scan.add_argument("--batch-sizes", dest="batch_sizes", type=_int_list, default=None,
                      help="consecutive powers of two, e.g. 16,32,64 (default: from --start "
                      "doubling up to --max-batch-size)")
    scan.add_argument("--start", type=int, default=8)
    scan.add_argument("--max-batch-size", dest="max_batch_size", type=int, default=None,
                      help="ceiling (default: the training split's size)")
    scan.add_argument("--steps", type=int, default=20, help="timed steps per chunk")
    scan.add_argument("--warmup-steps", dest="warmup_steps", type=int, default=5,
                      help="untimed steps first (tracing)")
    scan.add_argument("--repeats", type=int, default=5, help="timed chunks (fastest counts)")
    scan.add_argument("-s", "--set", type=_parse_parameter, action="append",
                      help="config override name=value (YAML value)")
    scan.add_argument("--output", default=None, help="folder for batch_size_scan.csv/.png "
                      "(default: beside the study)")
    scan.add_argument("--threads", type=int, default=None, help="TensorFlow threads")
    scan.add_argument("--no-progress", dest="no_progress", action="store_true")
    scan.set_defaults(handler=_batch_size)
    pipe = commands.add_parser("pipeline-check", help="is a study's training input-bound? "
                               "compute only vs the input pipeline alone vs training")
    pipe.add_argument("study", help="study YAML file or stored study directory: its data "
                      "and defaults are the workload")
    pipe.add_argument("--steps", type=int, default=20, help="timed steps per chunk")
    pipe.add_argument("--warmup-steps", dest="warmup_steps", type=int, default=None,
                      help="untimed steps first (default: one epoch + 1, to fill the cache)")
    pipe.add_argument("--repeats", type=int, default=3, help="timed chunks (fastest counts)")
    pipe.add_argument("--tolerance", type=float, default=0.10,
                      help="input-bound when training is this much slower than compute only")
    pipe.add_argument("-s", "--set", type=_parse_parameter, action="append",
                      help="config override name=value (YAML value), e.g. batch_size=128")
    pipe.add_argument("--output", default=None, help="folder for input_pipeline.csv/.png "
                      "(default: beside the study)")
    pipe.add_argument("--threads", type=int, default=None, help="TensorFlow threads")
    pipe.set_defaults(handler=_pipeline_check)
    clip = commands.add_parser("clip-norm", help="recommend a gradient-clipping threshold "
                               "from a stored study's recorded gradient norms")
    clip.add_argument("study", help="study directory")
    clip.add_argument("--trial", default=None, help="trial id (default: the best trial)")
    clip.add_argument("--percentile", type=float, default=90.0)
    clip.add_argument("--output", default=None, help="folder for clip_norm.csv/.png "
                      "(default: the study directory)")
    clip.set_defaults(handler=_clip_norm)
    board = commands.add_parser("tensorboard", help="export a stored study's curves and "
                                "hyperparameters (HParams) to a TensorBoard log folder")
    board.add_argument("study", help="study directory (the one holding oracle.json)")
    board.add_argument("logdir", help="TensorBoard log folder; the study goes to LOGDIR/<name>")
    board.add_argument("--overwrite", action="store_true",
                       help="replace an earlier export of this study")
    board.set_defaults(handler=_tensorboard)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        print("playbook-kit: error: nothing to do: name a command", file=sys.stderr)
        return 2
    from .studies.study_lock import StudyLocked

    try:
        return args.handler(args)
    except (ValueError, OSError, ModuleNotFoundError, StudyLocked) as error:
        print(f"playbook-kit: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
