"""Recipes: playbook procedures that train to answer one question (layer 7).

* :func:`run_study`: run (or resume) a study and load its results;
* :func:`retrain`: rerun one config with N seeds (new initialization and data order) to
  measure its retrain variance, every run stored as a study, from a trial of a stored
  study;
* :func:`final_evaluation`: the one explicit step that reads the test split, on the
  chosen trial's best checkpoint, recorded in the tuning journal.
"""
from __future__ import annotations

import json
from pathlib import Path

from .results import StudyResults, _trial_dirs, config_of, load_study


def _study_spec(study: StudyResults):
    from .search.study import STUDY_FILE, StudySpec

    if study.path is None or not (Path(study.path) / STUDY_FILE).exists():
        raise ValueError(f"study {study.name!r} was not written by playbook-kit (no "
                         f"{STUDY_FILE}); only playbook-kit studies can be retrained or "
                         "evaluated on the test split")
    return StudySpec.from_dict(json.loads((Path(study.path) / STUDY_FILE).read_text()))


def run_study(workload, space, *, max_trials: int, max_train_steps: int, eval_every: int,
              algorithm: str = "quasi_random", seed: int = 0,
              directory: str | Path = "studies", name: str = "study", repeats: int = 1,
              keep_best: int = 2, configs: list | None = None, data: dict | None = None,
              progress: bool = True, overwrite: bool = False, warm_start=None,
              live: bool = False) -> StudyResults:
    """Run (or resume) a study and return its :class:`~playbook_kit.results.StudyResults`.

    Re-running the same call resumes: completed and infeasible trials are kept, an
    interrupted one is rerun, and the budget counts both. ``repeats`` runs each config
    with that many seeds and keeps every run. The workload's data is stored as its
    loader spec (``dataset.source``), so workers, :func:`retrain` and
    :func:`final_evaluation` rebuild the same data; ``workload=None`` builds the workload
    from ``data`` (a spec such as ``{"name": "digits"}``). ``live=True`` (in a notebook)
    redraws the trials' objectives after each trial.

    ``warm_start`` (algorithm ``"bayesian"`` only): an exploration study, as its
    directory or its StudyResults, whose trials inside this (refined) space seed the
    Bayesian model, feasible and infeasible alike, without counting toward
    ``max_trials`` (:func:`~playbook_kit.results.warm_start_observations`).
    """
    from .search.study import StudySpec

    if workload is None and data is None:
        raise ValueError("workload=None and data=None: give a Workload, or a data spec such "
                         "as {'name': 'digits'} to build one")
    spec = StudySpec(
        name=name, space=space, max_trials=max_trials, max_train_steps=max_train_steps,
        eval_every=eval_every, algorithm=algorithm, seed=seed, repeats=repeats,
        keep_best=keep_best, configs=configs,
        data=data if data is not None else workload.dataset.source,
        defaults=dict(workload.defaults) if workload is not None else {},
        objective=workload.objective if workload is not None else "val_accuracy",
        warm_start=warm_start,
        extra_keys=list(workload.extra_keys) if workload is not None else [])
    return run_spec(spec, directory, workload=workload, progress=progress,
                    overwrite=overwrite, warm_start=warm_start, live=live)


def run_spec(spec, directory: str | Path = "studies", workload=None, progress: bool = True,
             overwrite: bool = False, warm_start=None, live: bool = False) -> StudyResults:
    """Run a :class:`~playbook_kit.search.study.StudySpec` into ``directory/<name>`` and
    load it; see :func:`run_study`. ``warm_start`` (a study directory or StudyResults)
    sets or must match ``spec.warm_start``; a StudyResults given here is used as is."""
    import dataclasses

    from .results import warm_start_observations
    from .search.study import execute_spec, warm_start_path

    if warm_start is not None:
        path = warm_start_path(warm_start)
        if spec.warm_start is None:
            spec = dataclasses.replace(spec, warm_start=path)
        elif spec.warm_start != path:
            raise ValueError(f"warm_start={path!r} is not allowed: the study spec says "
                             f"warm_start={spec.warm_start!r}")
    source = warm_start if warm_start is not None else spec.warm_start
    project = execute_spec(
        spec, directory, workload=workload, progress=progress, overwrite=overwrite, live=live,
        load_priors=lambda: warm_start_observations(source, spec.objective))
    return load_study(project)


def retrain(study: StudyResults | str | Path, trial_id, seeds: int = 5, *,
            directory: str | Path | None = None, name: str | None = None,
            workload=None, progress: bool = True) -> StudyResults:
    """Rerun a stored trial's config with ``seeds`` new seeds; returns a one-trial study
    whose ``runs`` table holds every run (``pk.retrain_summary`` summarizes them).

    The workload (rebuilt from the stored data spec, or ``workload`` for data given in
    memory), ``max_train_steps`` and ``eval_every`` come from the stored study, so the
    runs are comparable with the original trial. Re-running resumes.
    """
    from .search.study import StudySpec

    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 2:
        raise ValueError(f"seeds={seeds!r} is not allowed; use an integer >= 2 (one run "
                         "shows no variance)")
    if not isinstance(study, StudyResults):
        study = load_study(study)
    config = config_of(study, trial_id)
    spec = _study_spec(study)
    retrain_spec = StudySpec(
        name=name or f"{study.name}_retrain_{trial_id}", space=spec.space, max_trials=1,
        max_train_steps=spec.max_train_steps, eval_every=spec.eval_every, algorithm="list",
        seed=spec.seed + 1, repeats=seeds, keep_best=spec.keep_best, configs=[config],
        data=spec.data, defaults=spec.defaults, objective=spec.objective,
        extra_keys=spec.extra_keys)
    directory = directory if directory is not None else Path(study.path).parent
    return run_spec(retrain_spec, directory, workload=workload, progress=progress)


def final_evaluation(study: StudyResults | str | Path, trial_id, journal=None,
                     notes: str = "", workload=None) -> dict:
    """Evaluate a trial's best checkpoint on the test split, once, and record it.

    This is the only function in the toolkit that reads the test split (playbook
    section 6: test-set performance is checked at the end). For a trial run with several
    seeds, the checkpoint is that of its best run. The workload is rebuilt from the
    study's stored data spec (``workload`` for data given in memory). With ``journal``
    (a :class:`~playbook_kit.journal.Journal`) the result is appended to it.
    """
    from .search.study import read_trial_record
    from .trainer import evaluate_model
    from .workload import build_model

    if not isinstance(study, StudyResults):
        study = load_study(study)
    spec = _study_spec(study)
    trial_dir = next((p for p in _trial_dirs(Path(study.path))
                      if p.name[6:].isdigit() and int(p.name[6:]) == int(trial_id)), None)
    record = read_trial_record(trial_dir) if trial_dir is not None else None
    if record is None:
        raise ValueError(f"trial_id={trial_id!r} has no finished trial record in {study.path}")
    if record["status"] != "completed":
        raise ValueError(f"trial {trial_id!r} is {record['status']}: it has no best checkpoint")
    sign = 1.0 if study.direction == "max" else -1.0
    run = max(record["runs"], key=lambda r: sign * r["objective"])
    checkpoint = run["checkpoints"].get(f"step-{run['best_step']}")
    checkpoint = str(trial_dir / checkpoint) if checkpoint is not None else None
    if checkpoint is None or not Path(checkpoint).exists():
        raise ValueError(f"trial {trial_id!r}: best checkpoint {checkpoint!r} is missing")
    workload = workload or spec.workload()
    model = build_model(record["config"], workload.dataset.input_shape,
                        workload.dataset.num_classes)
    model.load_weights(checkpoint)
    metrics = {f"test_{k}": v for k, v in evaluate_model(workload, model, "test").items()}
    metrics.update({f"val_{k}": v for k, v in evaluate_model(workload, model).items()})
    result = {"study": study.name, "trial_id": str(trial_id), "checkpoint": checkpoint,
              "seed": run["seed"], "best_step": run["best_step"], "config": record["config"],
              "metrics": metrics}
    if journal is not None:
        journal.record_final_evaluation(record["config"], checkpoint,
                                        {k: float(v) for k, v in metrics.items()}, notes=notes)
    return result
