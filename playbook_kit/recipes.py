"""Recipes: playbook procedures that train to answer one question (layer 7).

* :func:`retrain`: rerun one config with N seeds (new initialization and data order) to
  measure its retrain variance, every run stored as a study, from a trial of a stored study
  or from a config;
* :func:`final_evaluation`: the one explicit step that reads the test split, on the
  chosen trial's best checkpoint, recorded in the tuning journal.
"""
from __future__ import annotations

import json
from pathlib import Path

from .results import StudyResults, load_study


def _study_spec(study: StudyResults):
    from .search.study import STUDY_FILE, StudySpec

    if study.path is None or not (Path(study.path) / STUDY_FILE).exists():
        raise ValueError(f"study {study.name!r} was not written by playbook-kit (no "
                         f"{STUDY_FILE}); pass workload= and config= instead")
    return StudySpec.from_dict(json.loads((Path(study.path) / STUDY_FILE).read_text()))


def trial_config(study: StudyResults, trial_id) -> dict:
    """A trial's hyperparameter values (inactive conditional ones left out)."""
    import pandas as pd

    rows = study.trials[study.trials["trial_id"].astype(str) == str(trial_id)]
    if rows.empty:
        known = list(study.trials["trial_id"].astype(str))
        raise ValueError(f"trial_id={trial_id!r} is not a trial of study {study.name!r}; "
                         f"trials are {known[:20]}")
    row = rows.iloc[0]
    return {name: (row[name].item() if hasattr(row[name], "item") else row[name])
            for name in study.hyperparameter_names
            if name in row.index and not (pd.api.types.is_scalar(row[name]) and pd.isna(row[name]))}


def retrain(study: StudyResults | str | Path, trial_id, seeds: int = 5, *,
            directory: str | Path | None = None, name: str | None = None,
            progress: bool = True) -> StudyResults:
    """Rerun a stored trial's config with ``seeds`` new seeds; returns a one-trial study
    whose ``runs`` table holds every run (``pk.retrain_summary`` summarizes them).

    The workload, ``max_train_steps`` and ``eval_every`` come from the stored study, so the
    runs are comparable with the original trial. Re-running resumes.
    """
    from .search.study import StudySpec, run_spec

    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 2:
        raise ValueError(f"seeds={seeds!r} is not allowed; use an integer >= 2 (one run "
                         "shows no variance)")
    if not isinstance(study, StudyResults):
        study = load_study(study)
    config = trial_config(study, trial_id)
    spec = _study_spec(study)
    retrain_spec = StudySpec(
        name=name or f"{study.name}_retrain_{trial_id}", space=spec.space, max_trials=1,
        max_train_steps=spec.max_train_steps, eval_every=spec.eval_every, algorithm="list",
        seed=spec.seed + 1, repeats=seeds, keep_best=spec.keep_best, configs=[config],
        data=spec.data, defaults=spec.defaults, objective=spec.objective)
    directory = directory if directory is not None else Path(study.path).parent
    return run_spec(retrain_spec, directory, progress=progress)


def final_evaluation(study: StudyResults | str | Path, trial_id, journal=None,
                     notes: str = "") -> dict:
    """Evaluate a trial's best checkpoint on the test split, once, and record it.

    This is the only function in the toolkit that reads the test split (playbook
    section 6: test-set performance is checked at the end). With ``journal`` (a
    :class:`~playbook_kit.journal.Journal`) the result is appended to it.
    """
    from .trainer import evaluate_model
    from .workload import build_model

    if not isinstance(study, StudyResults):
        study = load_study(study)
    spec = _study_spec(study)
    trial_dir = _trial_dir(study, trial_id)
    record = json.loads((trial_dir / "playbook.json").read_text())
    if record["status"] != "completed":
        raise ValueError(f"trial {trial_id!r} is {record['status']}: it has no best checkpoint")
    run = record["runs"][0]
    checkpoint = run["checkpoints"].get(f"step-{run['best_step']}")
    checkpoint = str(trial_dir / checkpoint) if checkpoint is not None else None
    if checkpoint is None or not Path(checkpoint).exists():
        raise ValueError(f"trial {trial_id!r}: best checkpoint {checkpoint!r} is missing")
    workload = spec.workload()
    model = build_model(record["config"], workload.dataset.input_shape,
                        workload.dataset.num_classes)
    model.load_weights(checkpoint)
    metrics = {f"test_{k}": v for k, v in evaluate_model(workload, model, "test").items()}
    metrics.update({f"val_{k}": v for k, v in evaluate_model(workload, model).items()})
    result = {"study": study.name, "trial_id": str(trial_id), "checkpoint": checkpoint,
              "best_step": run["best_step"], "config": record["config"], "metrics": metrics}
    if journal is not None:
        journal.record_final_evaluation(record["config"], checkpoint,
                                        {k: float(v) for k, v in metrics.items()}, notes=notes)
    return result


def _trial_dir(study: StudyResults, trial_id) -> Path:
    for path in Path(study.path).glob("trial_*"):
        if path.name[6:].isdigit() and int(path.name[6:]) == int(trial_id):
            return path
    raise ValueError(f"trial_id={trial_id!r} has no folder in {study.path}")
