"""Recipes: playbook procedures that train to answer one question
(docs/design.md, *Recipes*).

* :func:`retrain`: rerun one config with N seeds (new initialization and data order) to
  measure its retrain variance, every run stored as a study, from a trial of a stored
  study;
* :func:`final_evaluation`: the one explicit step that reads the test split, on the
  chosen trial's best checkpoint, recorded in the tuning journal;
* :func:`explore_and_expand`: an exploration study, its boundary check and the study in
  the expanded space, in one call (what notebooks 01 and 02 do step by step).

Running a study is the search layer's :func:`~playbook_kit.search.study.run_study`.
"""
from __future__ import annotations

from pathlib import Path

from ..core import rules
from ..core.validation import not_allowed
from ..results.loading import load_study
from ..results.study_results import StudyResults, config_of
from ..studies.store import (CHECKPOINT_DIR, STUDY_FILE, read_study_spec, read_trial_record,
                             trial_dirs)


def _study_spec(study: StudyResults):
    from ..search.study import StudySpec

    if study.path is None or not (Path(study.path) / STUDY_FILE).exists():
        raise ValueError(f"study {study.name!r} was not written by playbook-kit (no "
                         f"{STUDY_FILE}); only playbook-kit studies can be retrained or "
                         "evaluated on the test split")
    return read_study_spec(study.path, build=StudySpec.from_dict)


def retrain(study: StudyResults | str | Path, trial_id, seeds: int = 5, *,
            directory: str | Path | None = None, name: str | None = None,
            workload=None, progress: bool = True) -> StudyResults:
    """Rerun a stored trial's config with ``seeds`` new seeds; returns a one-trial study
    whose ``runs`` table holds every run (``pk.retrain_summary`` summarizes them).

    The workload (rebuilt from the stored data spec, or ``workload`` for data given in
    memory), ``max_train_steps`` and ``eval_every`` come from the stored study, so the
    runs are comparable with the original trial. Re-running resumes. The trial is
    pinned in its study (its checkpoints are kept, :mod:`playbook_kit.studies.retention`); a
    retrain needs only its config, so one whose checkpoints the study's
    ``keep_checkpoints`` already dropped runs all the same, saying so in a warning.

    Args:
        study: the stored study (its results, or its folder).
        trial_id: the trial whose config to rerun.
        seeds: runs, each with its own seed, at least 2.
        directory: where to store the retrain study; None: beside the original.
        name: the retrain study's name; None: ``<study>_retrain_<trial_id>``.
        workload: the workload, for data given in memory; None rebuilds the stored one.
        progress: show a progress bar.

    Returns:
        StudyResults: one trial (id ``"0"``) with ``seeds`` runs in its ``runs`` table.

    Raises:
        ValueError: ``seeds`` below 2, an unknown trial, or a study not written by
            playbook-kit (a plain keras-tuner project stores no workload).
        StoreError: the study's files are damaged.

    Example::

        retrained = pk.retrain(study, "05", seeds=5)
        pk.retrain_summary(pk.runs_from_study(retrained, "0"))
    """
    import warnings

    from ..studies.retention import dropped, dropped_message, pin_trial
    from ..search.study import StudySpec, run_spec

    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 2:
        raise not_allowed("seeds", seeds, "use an integer >= 2",
                          why="one run shows no variance")
    if not isinstance(study, StudyResults):
        study = load_study(study)
    config = config_of(study, trial_id)
    spec = _study_spec(study)
    pin_trial(study.path, trial_id, "retrain")
    marker = dropped(Path(study.path) / f"trial_{trial_id}")
    if marker is not None:
        warnings.warn(f"{dropped_message(trial_id, marker)}; retraining from its config",
                      stacklevel=2)
    retrain_spec = StudySpec(
        name=name or f"{study.name}_retrain_{trial_id}", space=spec.space, max_trials=1,
        max_train_steps=spec.max_train_steps, eval_every=spec.eval_every, algorithm="list",
        seed=spec.seed + 1, repeats=seeds, keep_best=spec.keep_best, configs=[config],
        data=spec.data, defaults=spec.defaults, objective=spec.objective,
        extra_keys=spec.extra_keys, parts=spec.parts, keep_checkpoints=spec.keep_checkpoints)
    directory = directory if directory is not None else Path(study.path).parent
    return run_spec(retrain_spec, directory, workload=workload, progress=progress)


def final_evaluation(study: StudyResults | str | Path, trial_id, journal=None,
                     notes: str = "", workload=None) -> dict:
    """Evaluate a trial's best checkpoint on the test split, once, and record it.

    This is the only function in the toolkit that reads the test split (playbook
    section 6: test-set performance is checked at the end). For a trial run with several
    seeds, the checkpoint is that of its best run. The workload is rebuilt from the
    study's stored data spec (``workload`` for data given in memory). With ``journal``
    (a :class:`~playbook_kit.journal.Journal`) the result is appended to it. The trial
    is pinned first, so that the study's retention keeps its checkpoints
    (:mod:`playbook_kit.studies.retention`); a trial whose checkpoints it already dropped is
    refused in one line naming ``keep_checkpoints``.

    Args:
        study: the stored study (its results, or its folder).
        trial_id: the trial whose best checkpoint to evaluate.
        journal: a :class:`Journal` to record the result in, or None.
        notes: free text for the journal.
        workload: the workload, for data given in memory; None rebuilds the stored one.

    Returns:
        dict: ``study``, ``trial_id``, ``checkpoint``, ``seed``, ``best_step``, ``config``
        and ``metrics`` (``test_*`` and ``val_*``).

    Raises:
        ValueError: the trial has no finished record or no best checkpoint, its
            checkpoints were dropped by the study's ``keep_checkpoints``, or the study
            was not written by playbook-kit.

    Example::

        result = pk.final_evaluation(study, "07", journal=journal)
        result["metrics"]["test_accuracy"]
    """
    from ..studies.retention import dropped, dropped_message, pin_trial
    from ..training.trainer import evaluate_model

    if not isinstance(study, StudyResults):
        study = load_study(study)
    spec = _study_spec(study)
    trial_dir = next((p for p in trial_dirs(study.path)
                      if p.name[6:].isdigit() and int(p.name[6:]) == int(trial_id)), None)
    record = read_trial_record(trial_dir) if trial_dir is not None else None
    if record is None:
        raise ValueError(f"trial_id={trial_id!r} has no finished trial record in {study.path}")
    if record["status"] != rules.COMPLETED:
        raise ValueError(f"trial {trial_id!r} is {record['status']}: it has no best checkpoint")
    pin_trial(study.path, trial_dir.name[6:], "final_evaluation")
    marker = dropped(trial_dir)
    if marker is not None and not (trial_dir / CHECKPOINT_DIR).is_dir():
        raise ValueError(dropped_message(trial_id, marker))
    run = record["runs"][rules.best_position([r["objective"] for r in record["runs"]],
                                             study.direction)]
    checkpoint = run["checkpoints"].get(f"step-{run['best_step']}")
    checkpoint = str(trial_dir / checkpoint) if checkpoint is not None else None
    if checkpoint is None or not Path(checkpoint).exists():
        raise ValueError(f"trial {trial_id!r}: best checkpoint {checkpoint!r} is missing")
    workload = workload or spec.workload()
    config = {k: v for k, v in record["config"].items()  # a record may hold fields of an
              if k in workload.fields or k in workload.extra_keys}  # earlier version
    model = workload.build_model(workload.config(config))
    model.load_weights(checkpoint)
    metrics = {f"test_{k}": v
               for k, v in evaluate_model(workload, model, "test", config=config).items()}
    metrics.update({f"val_{k}": v for k, v in evaluate_model(workload, model,
                                                             config=config).items()})
    result = {"study": study.name, "trial_id": str(trial_id), "checkpoint": checkpoint,
              "seed": run["seed"], "best_step": run["best_step"], "config": record["config"],
              "metrics": metrics}
    if journal is not None:
        journal.record_final_evaluation(record["config"], checkpoint,
                                        {k: float(v) for k, v in metrics.items()}, notes=notes)
    return result


def explore_and_expand(spec, directory: str | Path = "studies", *, workload=None,
                       progress: bool = True) -> StudyResults:
    """Run (or resume) the study ``spec`` (a :class:`~playbook_kit.search.spec.StudySpec`),
    run the boundary check on it, expand the flagged nuisance ranges
    (:func:`~playbook_kit.search.refine.expanded_space`) and run the same round again in
    that space as ``<name>_wider``; returns the expanded study.

    The steps, names and settings of notebooks 01 and 02, so a later stage started
    without them reproduces the same studies (the second one runs even when nothing was
    flagged, as in 02).

    Args:
        spec: the round's :class:`StudySpec` (``StudySpec.from_yaml(...)``).
        directory: the parent folder of both studies.
        workload: the workload, for data given in memory; None builds the spec's.
        progress: show progress bars.

    Returns:
        StudyResults: the second study, ``<name>_wider``.

    Raises:
        ValueError: as :func:`run_study` (a stored study of that name with other settings).

    Example::

        spec = pk.StudySpec.from_yaml("studies/depth.yaml")
        wider = pk.explore_and_expand(spec, "runs/studies")
    """
    from ..insight.boundaries import boundary_check
    from ..search.refine import expanded_space
    from ..search.study import run_spec

    study = run_spec(spec, directory, workload=workload, progress=progress)
    wider = expanded_space(spec.space, boundary_check(study))
    return run_spec(spec.with_overrides(name=f"{spec.name}_wider", space=wider), directory,
                    workload=workload, progress=progress)
