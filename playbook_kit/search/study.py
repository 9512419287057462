"""The study runner: a search space, an algorithm and a trial budget on keras-tuner.

:func:`run_study` (or :func:`run_spec` for a :class:`StudySpec`) runs or resumes a study
into ``directory/<name>``, keras-tuner's project directory, and returns its results;
the files it writes there are described in :mod:`playbook_kit.studies.store`.

Infeasible trials (any run NaN/Inf, diverged, out of memory, or a model that fails to
build) are recorded with their reason and ended as keras-tuner ``FAILED`` trials, which
our oracles count but never abort on. Every file is written atomically, so a SIGKILL at
any moment loses no completed trial; re-running the same call resumes, and a trial whose
stored record was damaged is trained again.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import warnings
from pathlib import Path

import numpy as np

from ..core import rules
from ..core.validation import not_allowed
from ..studies.retention import KEEP_CHECKPOINTS, apply_retention
from ..studies.store import (  # noqa: F401 (read_trial_record: importable from here too)
    CHECKPOINT_DIR, FINISHED_RUN, ORACLE_FILE, STUDY_FILE, StoreError, check_keras_tuner_files,
    damaged_trial, plain_json, read_finished_run, read_json, read_study_spec,
    read_trial_record, trial_record, write_finished_run, write_study_spec, write_trial,
)
from ..training.packed import PACK
from ..training.trial_state import TrialState
from ..workload.workload import Workload
from .spec import (  # noqa: F401 (run_seeds, warm_start_path: importable from here too)
    StudySpec, _check_space_against_workload, _trial_config, run_seeds, warm_start_path,
)


def _moved_together(stored, given, project: Path) -> bool:
    """Whether a study stored with warm start ``stored`` and resumed with ``given`` names
    the same source after both folders moved: ``given`` sits beside the study, under the
    stored source's name (a ``studies`` folder copied elsewhere, or to another machine).
    The priors are read once, into the oracle's state, so the move changes nothing."""
    if stored is None or given is None:
        return False
    return (Path(given).name == Path(stored).name
            and Path(given).resolve().parent == project.resolve().parent)


def _stored_priors(project: Path) -> bool:
    """Whether the study's oracle state already holds its warm-start priors."""
    if not (project / ORACLE_FILE).exists():
        return False
    state = read_json(project / ORACLE_FILE, "restore it from a copy")
    return "warm_start" in (state.get("playbook_kit") or {})


def _make_tuner(spec: StudySpec, workload: Workload, directory: Path, overwrite: bool,
                progress, load_priors=None, lock=None):
    import keras_tuner as kt

    from ._keras_tuner import is_worker, reconnect_quickly
    from .oracles import make_oracle
    from .tuner import PlaybookTuner

    objective = kt.Objective(spec.objective, rules.check_direction(workload.direction))
    extra = {}
    if spec.warm_start is not None and not is_worker() and \
            (overwrite or not _stored_priors(directory)):  # a resume reads them from its state
        if load_priors is None:
            raise ValueError(f"warm_start={spec.warm_start!r}: run the study through "
                             "playbook_kit.run_study or run_spec, which read the priors")
        extra["prior_observations"] = load_priors()
    oracle = make_oracle(spec.algorithm, spec.space, max_trials=spec.max_trials,
                         seed=spec.seed, objective=objective, configs=spec.configs, **extra)

    def trial_ended(oracle):
        if progress is not None:
            progress(oracle)
        _after_trial(lock, directory, spec.keep_checkpoints, workload.direction)

    oracle.verbose = 0
    with contextlib.redirect_stdout(io.StringIO()):  # keras-tuner prints "Reloading Tuner"
        tuner = PlaybookTuner(
            oracle, objective=spec.objective,
            train=functools.partial(train_trial_runs, spec, workload, progress),
            pack=_tuner_pack(spec),
            train_together=None if spec.pack == 1 else functools.partial(
                pack_trial_runs, spec, workload),
            unpackable=functools.partial(_unpackable, spec, workload),
            trial_ended=trial_ended, directory=str(directory.parent),
            project_name=directory.name, overwrite=overwrite)
    tuner.oracle.verbose = 0
    if is_worker():
        reconnect_quickly(tuner.oracle)
    return tuner


def _unpackable(spec: StudySpec, workload: Workload, values: dict) -> str:
    """Why a trial of these values cannot train in a pack ("" when it can), judged from
    its config (:func:`~playbook_kit.training.packed.unpackable_reason`)."""
    from ..training.packed import unpackable_reason

    config = workload.config(_trial_config(workload, spec.space, values))
    return unpackable_reason(workload, config, None, workload.data_for(config))


def _tuner_pack(spec: StudySpec) -> int:
    """How many trials this process's tuner takes from the oracle at once: the study's
    ``pack``; one for a Bayesian study (its oracle proposes one trial at a time, each
    informed by those before: its seeds still pack); for a worker of several, at most its
    share of the budget, so that every worker gets trials."""
    from ._keras_tuner import WORKERS_VARIABLE, is_worker

    if spec.algorithm == "bayesian":
        return 1
    if not is_worker():
        return spec.pack
    workers = int(os.environ.get(WORKERS_VARIABLE) or 1)
    return max(1, min(spec.pack, -(-spec.max_trials // workers)))


def train_trial_runs(spec: StudySpec, workload: Workload, progress, tuner_id: str,
                     trial_id: str, values: dict, trial_dir: Path) -> dict:
    """Train (or continue) a trial's runs, one per seed, and write its record and curves
    (what :class:`~playbook_kit.search.tuner.PlaybookTuner` runs for a trial): a run
    finished before an interruption is kept, one interrupted continues from its resumable
    state, one that left no state starts again. Returns the trial's record."""
    from ..training.trainer import train_trial

    config = _trial_config(workload, spec.space, values)
    runs, frames, recorded = [], [], config
    for seed in run_seeds(spec.seed, int(trial_id), spec.repeats):
        run_dir = trial_dir / CHECKPOINT_DIR / f"seed-{seed}"
        done = read_finished_run(run_dir)
        if done is None:
            before = TrialState(run_dir, {})
            noted = before.noted_step() if not before.states() else None
            if noted is not None or not before.states():
                shutil.rmtree(run_dir, ignore_errors=True)  # an interrupted run's files
            result = train_trial(
                workload, config, seed, max_train_steps=spec.max_train_steps,
                eval_every=spec.eval_every, keep_best=spec.keep_best,
                checkpoint_dir=run_dir, checkpoint_every=spec.checkpoint_every)
            if noted:  # killed before its first state: the work up to it was lost
                result.lost_steps = noted
                result.resume_note = result.resume_note or (
                    f"restarted from step 0: killed at about step {noted}, before "
                    "its first resumable state")
            if result.resumed_from and progress is not None:
                progress.resumed(trial_id, result)
            done = _keep_finished_run(run_dir, trial_dir, seed, result)
        run, curve = done
        recorded = run.pop("config", recorded)
        runs.append(run)
        frames.append(curve)
        if run["status"] != rules.COMPLETED:
            break
    record = trial_record(trial_id, values, recorded, runs, tuner_id=tuner_id)
    curves = None
    if frames:
        import pandas as pd

        curves = pd.concat(frames)
    write_trial(trial_dir, record, curves)
    for seed in run_seeds(spec.seed, int(trial_id), spec.repeats):
        (trial_dir / CHECKPOINT_DIR / f"seed-{seed}" / FINISHED_RUN).unlink(missing_ok=True)
    return record


def _keep_finished_run(run_dir: Path, trial_dir: Path, seed: int, result) -> tuple:
    """Write a trained run as the trial's finished run; returns ``(run, curves)``."""
    run = result.to_dict()
    run["checkpoints"] = {  # relative: the study folder may move
        key: os.path.relpath(path, trial_dir) for key, path in run["checkpoints"].items()}
    done = (run, result.curves.assign(seed=seed))
    write_finished_run(run_dir, *done)
    return done


def pack_trial_runs(spec: StudySpec, workload: Workload, trials: list) -> int:
    """Train the fresh runs of several trials (``(trial_id, values, trial_dir)``) together,
    in packs of up to ``spec.pack`` (:func:`~playbook_kit.training.trainer.train_pack`),
    each left as a finished run that :func:`train_trial_runs` then records as if it had
    trained it. Runs already finished or with a resumable state, and trials whose record
    is stored, are left to :func:`train_trial_runs` (a run with a state resumes alone,
    bit for bit as packed). After a seed that did not complete, a trial's later seeds
    are dropped, as one by one they would never have run."""
    from ..training.packs import train_pack

    configs, seeds, dirs, owners = [], [], [], []
    for trial_id, values, trial_dir in trials:
        try:
            stored = read_trial_record(trial_dir)
        except StoreError:
            stored = None
        if stored is not None and stored.get("values") == values:
            continue
        config = _trial_config(workload, spec.space, values)
        for seed in run_seeds(spec.seed, int(trial_id), spec.repeats):
            run_dir = trial_dir / CHECKPOINT_DIR / f"seed-{seed}"
            if read_finished_run(run_dir) is not None or TrialState(run_dir, {}).states():
                continue
            shutil.rmtree(run_dir, ignore_errors=True)
            configs.append(config)
            seeds.append(seed)
            dirs.append(run_dir)
            owners.append(trial_dir)
    if len(configs) < 2:
        return 0
    results = train_pack(workload, configs, seeds, max_train_steps=spec.max_train_steps,
                         eval_every=spec.eval_every, keep_best=spec.keep_best,
                         checkpoint_dirs=dirs, pack=spec.pack,
                         checkpoint_every=spec.checkpoint_every)
    ended = set()
    for run_dir, trial_dir, seed, result in zip(dirs, owners, seeds, results):
        if trial_dir in ended:
            shutil.rmtree(run_dir, ignore_errors=True)
            continue
        _keep_finished_run(run_dir, trial_dir, seed, result)
        if result.status != rules.COMPLETED:
            ended.add(trial_dir)
    return sum("; packed with" in result.engine_reason for result in results)


def _after_trial(lock, project: Path, keep_checkpoints, direction: str) -> None:
    """Between trials (in the process that ran the trial) and at the study's end: stop
    when another process took the study's lock over (this one was paused beyond the
    lock's timeout), then drop the checkpoints of the trials that fell out of the best
    ``keep_checkpoints`` (:mod:`playbook_kit.studies.retention`)."""
    if lock is not None and lock.stolen:
        from ..studies.study_lock import StudyLocked

        raise StudyLocked(lock.stolen)
    apply_retention(project, keep_checkpoints, direction)


class _Progress:
    """tqdm bar (trial i of n, best so far, infeasible so far) and, with ``live``, a
    figure of every trial's objective updated in place through a display handle, so the
    saved notebook keeps the final state.

    The bar opens at the first call, at the trials already finished: a notebook saves
    the bar as first drawn, so a resumed study must start at 12/12, not 0/12."""

    def __init__(self, spec: StudySpec, direction: str, enabled: bool, live: bool = False):
        self.direction, self.spec = direction, spec
        self.enabled = enabled
        self.bar = None
        self.seen = 0
        self.handle = None
        self.live = live
        self.resumes = 0

    def _open(self, done: int, postfix: dict | None = None):
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.spec.max_trials, initial=done, desc=self.spec.name,
                            unit="trial", postfix=postfix, disable=not self.enabled)
            self.seen = done

    def __call__(self, oracle):
        from .oracle_base import is_infeasible

        if not hasattr(oracle, "trials"):
            self._open(0)
            return  # a worker's proxy to the chief oracle: the chief keeps the count
        finished = [t for t in oracle.trials.values() if t.status in ("COMPLETED", "FAILED")]
        scores = [t.score for t in finished if t.status == "COMPLETED" and t.score is not None]
        infeasible = sum(is_infeasible(t) for t in finished)
        best = rules.best_value(scores, self.direction)
        postfix = {"best": f"{best:.4f}", "infeasible": infeasible}
        self._open(len(finished), postfix)
        self.bar.update(len(finished) - self.seen)
        self.seen = len(finished)
        self.bar.set_postfix(postfix)
        if self.live and finished:
            self._draw(finished)

    def _draw(self, finished):
        import matplotlib.pyplot as plt
        from IPython.display import display

        from ..reporting.style import draw_best_so_far
        from .oracle_base import is_infeasible

        points = sorted((int(t.trial_id), None if is_infeasible(t) else t.score)
                        for t in finished)
        fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
        ok = [(k, v) for k, v in points if v is not None]
        bad = [k for k, v in points if v is None]
        if ok:
            ks, vs = zip(*ok)
            ax.scatter(ks, vs, color="C0", label="trial")
            draw_best_so_far(ax, [k for k, _ in points],
                             [np.nan if v is None else v for _, v in points], self.direction,
                             color="C1", label="best so far")
        if bad:
            low, high = ax.get_ylim() if ok else (0.0, 1.0)
            ax.scatter(bad, [low if rules.sign(self.direction) > 0 else high] * len(bad),
                       marker="x", color="red", label="infeasible")
        ax.set_xlim(-0.5, self.spec.max_trials - 0.5)
        ax.set_xlabel("trial")
        ax.set_ylabel(self.spec.objective)
        ax.set_title(f"{self.spec.name}: {len(finished)} of {self.spec.max_trials} trials")
        ax.legend(frameon=False, loc="best")
        plt.close(fig)
        if self.handle is None:
            self.handle = display(fig, display_id=True)
        else:
            self.handle.update(fig)

    def resumed(self, trial_id, result) -> None:
        """Say that a trial's run continued from its resumable state, and where."""
        from tqdm.auto import tqdm

        self.resumes += 1
        lost = f", {result.lost_steps} steps of work lost" if result.lost_steps else ""
        if self.enabled:
            tqdm.write(f"{self.spec.name}: trial {trial_id} resumed at step "
                       f"{result.resumed_from[-1]}{lost}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


def execute_spec(spec: StudySpec, directory: str | Path = "studies",
                 workload: Workload | None = None, progress: bool = True,
                 overwrite: bool = False, load_priors=None, live: bool = False) -> Path:
    """Run (or resume) a :class:`StudySpec` into ``directory/<name>``; returns that folder.

    First takes the study's lock (:mod:`playbook_kit.studies.study_lock`): a study that another
    live process runs is refused with :class:`~playbook_kit.studies.study_lock.StudyLocked`
    before any work (workers joining a chief take none; their chief holds it). Then
    checks the space against the workload, the stored files and a stored study's
    settings before any work; a finished trial whose record is damaged is queued to
    run again. ``load_priors`` is a callable returning the warm-start priors, called
    only when they are not already stored with the oracle. Users call
    :func:`run_study`, which returns the loaded results.
    """
    project = Path(directory) / spec.name
    lock = _runner_lock(project)
    try:
        return _execute(spec, project, workload, progress, overwrite, load_priors, live,
                        lock)
    finally:
        if lock is not None:
            lock.release()


def _runner_lock(project: Path):
    """The lock this process holds while it runs the study (taken here), or None for a
    worker that joins a chief: the chief, or the launcher's first worker, which serves
    the oracle, holds it. A worker is refused only by a single process's lock (one
    running the study on its own, which no worker can join)."""
    from ..studies.study_lock import StudyLock, StudyLocked, holder, refusal, stale_reason
    from ._keras_tuner import hosts_oracle, is_chief, is_worker

    if is_worker() and not hosts_oracle():
        held = holder(project)
        if held is not None and held.get("role") == "runner" and stale_reason(held) is None:
            raise StudyLocked(refusal(project, held))
        return None
    role = "chief" if is_chief() else "oracle host" if hosts_oracle() else "runner"
    return StudyLock(project, role).acquire()


def _execute(spec, project, workload, progress, overwrite, load_priors, live, lock):
    from ..training.trainer import dry_run

    workload = workload or spec.workload()
    _check_space_against_workload(workload, spec)
    dry_run(workload, _trial_config(workload, spec.space, {}))
    stored = None
    if project.is_dir() and not overwrite:
        check_keras_tuner_files(project)
        if (project / STUDY_FILE).exists():
            stored = read_study_spec(project)
    if stored is not None:
        mine = plain_json(spec.to_dict())
        for key in ("space", "algorithm", "seed", "max_train_steps", "eval_every", "repeats",
                    "objective", "configs", "defaults", "warm_start", "data", "parts"):
            if stored.get(key) != mine.get(key) and not (
                    key == "warm_start" and _moved_together(stored[key], mine[key], project)):
                raise ValueError(f"study {spec.name!r} in {project} was created with "
                                 f"{key}={stored.get(key)!r}, not {mine.get(key)!r}; resume "
                                 "with the same settings or choose another name")
    bar = _Progress(spec, workload.direction, progress, live)
    chief_done = _serve_oracle_here(spec, workload, project, overwrite, load_priors)
    tuner = _make_tuner(spec, workload, project, overwrite and chief_done is None, bar,
                        load_priors, lock)
    if overwrite and lock is not None:
        lock.rewrite()  # keras-tuner's overwrite removed the folder, the lock with it
    if stored is None or any(stored.get(key, "absent") != getattr(spec, key)
                             for key in ("max_trials", "keep_checkpoints",
                                         "checkpoint_every", "warm_start", "pack")):
        write_study_spec(project, spec.to_dict())
    _rerun_damaged(tuner.oracle, project)
    bar(tuner.oracle)
    from ._keras_tuner import quiet_failed_trials

    from ..training.trial_state import stop_on_sigterm
    from ._keras_tuner import is_lost_oracle, oracle_wait_seconds

    try:
        with quiet_failed_trials(), stop_on_sigterm():
            tuner.search(verbose=0)
        if chief_done is not None:
            chief_done()  # the other workers' last trials
    except Exception as error:
        if not is_lost_oracle(error):
            raise
        raise OracleLost(f"study {spec.name!r}: its oracle at "
                         f"{os.environ.get('KERASTUNER_ORACLE_IP')}:"
                         f"{os.environ.get('KERASTUNER_ORACLE_PORT')} did not answer for "
                         f"{oracle_wait_seconds():g} s (its process was lost); restart the "
                         "study (the same command) to resume it") from None
    finally:
        bar.close()
    _after_trial(lock, project, spec.keep_checkpoints, workload.direction)
    return project


class OracleLost(RuntimeError):
    """A worker's study whose oracle (the chief, or the worker hosting it) is gone."""


def _serve_oracle_here(spec: StudySpec, workload: Workload, project: Path, overwrite: bool,
                       load_priors):
    """In the worker that hosts the oracle (the launcher's first), build the chief's tuner
    as a chief process would (reloading its state, requeueing damaged trials), save it
    and serve its oracle from a thread; returns the function that waits for that thread,
    or None in every other process."""
    from ._keras_tuner import as_chief, hosts_oracle, serve_chief_in_thread

    if not hosts_oracle():
        return None
    with as_chief():
        chief = _make_tuner(spec, workload, project, overwrite, None, load_priors)
        _rerun_damaged(chief.oracle, project)
        chief.save()
    return serve_chief_in_thread(chief.oracle)


def _rerun_damaged(oracle, project: Path) -> None:
    """Queue every finished trial whose stored record is damaged to run again (same id
    and config, so the study neither fails nor gains a duplicate)."""
    from ._keras_tuner import retry_trial

    if not hasattr(oracle, "trials"):
        return  # a worker's proxy to the chief oracle: the chief requeues
    for trial_id, trial in sorted(oracle.trials.items()):
        if trial.status not in ("COMPLETED", "FAILED"):
            continue
        why = damaged_trial(project / f"trial_{trial_id}")
        if why is not None:
            warnings.warn(f"{why}: rerunning trial {trial_id}", stacklevel=3)
            retry_trial(oracle, trial_id)


def run_study(workload, space, *, max_trials: int, max_train_steps: int, eval_every: int,
              algorithm: str = "quasi_random", seed: int = 0,
              directory: str | Path = "studies", name: str = "study", repeats: int = 1,
              keep_best: int = 2, configs: list | None = None, data: dict | None = None,
              progress: bool = True, overwrite: bool = False, warm_start=None,
              live: bool = False, checkpoint_every=None,
              keep_checkpoints: int | None = KEEP_CHECKPOINTS, pack: int = PACK):
    """Run (or resume) a study and return its
    :class:`~playbook_kit.results.study_results.StudyResults`.

    Re-running the same call resumes: completed and infeasible trials are kept, an
    interrupted one (or one whose stored record was damaged) is rerun, and the budget
    counts both. ``repeats`` runs each config with that many seeds and keeps every run.
    The workload's data is stored as its loader spec (``dataset.source``), so workers,
    :func:`~playbook_kit.retrain` and
    :func:`~playbook_kit.final_evaluation` rebuild the same data;
    ``workload=None`` builds the workload from ``data`` (a spec such as
    ``{"name": "digits"}``). ``live=True`` (in a notebook) redraws the trials'
    objectives after each trial.

    ``keep_checkpoints``: how many of the best trials keep their checkpoints, pinned
    trials besides (:attr:`StudySpec.keep_checkpoints`; None keeps every trial's).

    ``warm_start`` (algorithm ``"bayesian"`` only): an exploration study, as its
    directory or its StudyResults, whose trials inside this (refined) space seed the
    Bayesian model, feasible and infeasible alike, without counting toward
    ``max_trials`` .

    Args:
        workload: the :class:`Workload` (or None with ``data``).
        space: the :class:`SearchSpace`.
        max_trials: configs to train (a trial's seeds count once).
        max_train_steps: training steps of every trial, fixed.
        eval_every: steps between evaluations.
        algorithm: ``"quasi_random"``, ``"random"``, ``"grid"``, ``"bayesian"`` or
            ``"list"`` (the given ``configs``).
        seed: seeds the points and each trial.
        directory: the parent folder of the study.
        name: the study's folder name.
        repeats: seeds per config.
        keep_best: best checkpoints kept per run.
        configs: the configs of ``algorithm="list"``.
        data: a data spec (``{"name": "digits"}``) when ``workload`` is None.
        progress: show a progress bar.
        overwrite: start over, deleting a stored study of this name.
        warm_start: an exploration study that seeds a Bayesian study.
        live: redraw the objectives after each trial (notebooks).
        checkpoint_every: when a running trial writes its resumable state: a number of
            steps, ``"<n>s"`` or ``"<n>min"`` of training, ``"off"``; None for the default.
        keep_checkpoints: the best trials whose checkpoints are kept (pinned ones
            besides); None keeps every trial's.
        pack: the most trials of one architecture trained together as one compiled
            program, each bit-identical to training it alone (1 to 64; 1: one by one).

    Returns:
        StudyResults: every trial of the study, stored ones included.

    Raises:
        ValueError: an argument not allowed, a searched hyperparameter the model never
            reads, a stored study of this name created with other settings (resume with
            the same, or choose another name), or ``warm_start`` with another algorithm;
            the message names what to change.
        WorkloadError: the workload cannot train any config (its dry run fails).
        StoreError: stored files that cannot be read.

    Example::

        study = pk.run_study(workload, space, max_trials=12, max_train_steps=300,
                             eval_every=25, directory="studies", name="depth")
        study.best_trials(3)
    """
    if workload is None and data is None:
        raise ValueError("workload=None and data=None: give a Workload, or a data spec such "
                         "as {'name': 'digits'} to build one")
    spec = StudySpec(
        name=name, space=space, max_trials=max_trials, max_train_steps=max_train_steps,
        eval_every=eval_every, algorithm=algorithm, seed=seed, repeats=repeats,
        keep_best=keep_best, configs=configs, checkpoint_every=checkpoint_every,
        data=data if data is not None else workload.data_source,
        defaults=dict(workload.defaults) if workload is not None else {},
        objective=workload.objective if workload is not None else "val_accuracy",
        warm_start=warm_start,
        extra_keys=list(workload.extra_keys) if workload is not None else [],
        parts=workload.spec() if workload is not None else None,
        keep_checkpoints=keep_checkpoints, pack=pack)
    return run_spec(spec, directory, workload=workload, progress=progress,
                    overwrite=overwrite, warm_start=warm_start, live=live)


def run_spec(spec: StudySpec, directory: str | Path = "studies", workload=None,
             progress: bool = True, overwrite: bool = False, warm_start=None,
             live: bool = False):
    """Run a :class:`StudySpec` into ``directory/<name>`` and load it; see
    :func:`run_study`. ``warm_start`` (a study directory or StudyResults) sets or must
    match ``spec.warm_start``; a StudyResults given here is used as is.

    Args:
        spec: the study's :class:`StudySpec`.
        directory: the parent folder of the study.
        workload: the workload, for data given in memory; None builds the spec's.
        progress: show a progress bar.
        overwrite: start over, deleting a stored study of this name.
        warm_start: an exploration study that seeds a Bayesian study.
        live: redraw the objectives after each trial (notebooks).

    Returns:
        StudyResults: every trial of the study.

    Raises:
        ValueError: as :func:`run_study`.
        WorkloadError: as :func:`run_study`.
        StoreError: as :func:`run_study`.

    Example::

        spec = pk.StudySpec.from_yaml("depth.yaml").with_overrides(max_trials=6)
        study = pk.run_spec(spec, "studies")
    """
    import dataclasses

    from ..results.loading import load_study, warm_start_observations

    if warm_start is not None:
        path = warm_start_path(warm_start)
        if spec.warm_start is None:
            spec = dataclasses.replace(spec, warm_start=path)
        elif spec.warm_start != path:
            raise not_allowed("warm_start", path, "give the study spec's "
                              f"warm_start={spec.warm_start!r} or leave it out")
    source = warm_start if warm_start is not None else spec.warm_start
    project = execute_spec(
        spec, directory, workload=workload, progress=progress, overwrite=overwrite, live=live,
        load_priors=lambda: warm_start_observations(source, spec.objective))
    return load_study(project)
