"""The tuner every study runs: keras-tuner's ``BaseTuner``, training the playbook's trial.

keras-tuner's tuner asks its oracle for a trial, runs it and reports the objective back.
This one runs a trial through the study runner's ``train`` (one run per seed, the record
and the curves written to the store: :func:`playbook_kit.search.study.train_trial_runs`)
instead of building and fitting one Keras model; reuses a trial's stored record when its
values match (a resumed study); ends an infeasible trial as keras-tuner's ``FAILED``,
which our oracles count but never abort on; and notes a trial stopped on request
(SIGTERM) in the store. In a chief/worker study the chief serves the oracle instead of
training. With ``train_together`` it takes up to ``pack`` trials from the oracle at once
(its pending trials, under tuner ids of their own), trains their runs together
(:func:`playbook_kit.search.study.pack_trial_runs`) and then ends each as keras-tuner
would. Imported only when a study runs: keras-tuner loads TensorFlow.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import keras_tuner as kt
from keras_tuner.engine import base_tuner

from ..core import rules
from ..studies.store import (
    StoreError, clear_interrupted, read_trial_record, write_interrupted, write_json,
)
from ..training.trial_state import TrialInterrupted, keep_beating, stop_requested
from ._keras_tuner import is_chief, serve_chief

__all__ = ["PlaybookTuner"]


class PlaybookTuner(base_tuner.BaseTuner):
    """Runs each trial with the playbook trainer and stores its playbook data.

    Args:
        oracle: the study's oracle (:func:`playbook_kit.search.oracles.make_oracle`).
        objective: the name of the metric the oracle optimizes.
        train: ``train(tuner_id, trial_id, values, trial_dir)`` trains (or continues) a
            trial's runs, writes its record and returns it.
        trial_ended: ``trial_ended(oracle)``, called after each trial (a progress bar,
            the study's lock and retention).
        pack: the most trials taken from the oracle at once (1: one at a time).
        train_together: ``train_together([(trial_id, values, trial_dir), ...])`` trains
            those trials' runs (their seeds too) together before each is run as above,
            and returns how many ran packed: when none could, the rest of the study takes
            one trial at a time. None: keras-tuner's loop, one trial at a time.
        unpackable: ``unpackable(values)``, why a trial of the study's first values
            cannot pack: then the study runs keras-tuner's loop, one trial at a time.
        **kwargs: keras-tuner's ``directory``, ``project_name`` and ``overwrite``.
    """

    def __init__(self, oracle, *, objective: str, train, trial_ended, pack: int = 1,
                 train_together=None, unpackable=None, **kwargs):
        self._objective_name = objective
        self._train_runs = train
        self._trial_ended = trial_ended
        self._pack, self._train_together = pack, train_together
        self._unpackable = unpackable or (lambda values: "")
        super().__init__(oracle, **kwargs)

    def search(self, *args, **kwargs):
        if is_chief():  # serve the oracle; ends as soon as the last worker is done
            self.save()
            serve_chief(self.oracle)
            return
        if self._train_together is None:
            super().search(*args, **kwargs)
            return
        if "verbose" in kwargs:
            self.oracle.verbose = kwargs["verbose"]
        self.on_search_begin()
        packers = 1  # tuner ids used: this tuner's, and one per further trial of a pack
        while True:
            if stop_requested():
                raise TrialInterrupted(0, self.project_dir, "stopped on request between "
                                       f"trials; every finished trial is stored in "
                                       f"{self.project_dir}")
            self.pre_create_trial()
            trial = self.oracle.create_trial(self.tuner_id)
            if trial.status == kt.engine.trial.TrialStatus.STOPPED:
                break
            if trial.status == kt.engine.trial.TrialStatus.IDLE:
                continue
            if packers == 1 and self._unpackable(dict(trial.hyperparameters.values)):
                self._run_one(trial, *args, **kwargs)  # the study's trials train alone
                super().search(*args, **kwargs)
                return
            trials = [trial]
            while len(trials) < self._pack:
                packers = max(packers, len(trials) + 1)
                more = self.oracle.create_trial(f"{self.tuner_id}-pack-{len(trials)}")
                if more.status != kt.engine.trial.TrialStatus.RUNNING:
                    break
                trials.append(more)
            dirs = [Path(self.get_trial_dir(t.trial_id)) for t in trials]
            try:
                with contextlib.ExitStack() as beating:
                    for trial_dir in dirs:
                        beating.enter_context(keep_beating(trial_dir))
                    packed = self._train_together([(t.trial_id,
                                                    dict(t.hyperparameters.values), d)
                                                   for t, d in zip(trials, dirs)])
            except TrialInterrupted as stop:
                for trial_dir in dirs:
                    write_interrupted(trial_dir, stop.step)
                raise
            if len(trials) > 1 and not packed:  # the runs' engine reasons say why
                self._pack = 1
            for each in trials:
                self._run_one(each, *args, **kwargs)
        for k in range(1, packers):  # the oracle (a chief's) waits for every id it saw
            while True:
                trial = self.oracle.create_trial(f"{self.tuner_id}-pack-{k}")
                if trial.status == kt.engine.trial.TrialStatus.STOPPED:
                    break
                if trial.status == kt.engine.trial.TrialStatus.RUNNING:
                    self._run_one(trial, *args, **kwargs)
        self.on_search_end()

    def _run_one(self, trial, *args, **kwargs):
        """keras-tuner's steps for one trial the oracle handed out."""
        self.on_trial_begin(trial)
        self._try_run_and_update_trial(trial, *args, **kwargs)
        self.on_trial_end(trial)

    def run_trial(self, trial, *args, **kwargs):
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        try:
            stored = read_trial_record(trial_dir)
        except StoreError:  # a damaged record: train the trial again
            stored = None
        values = dict(trial.hyperparameters.values)
        if stored is None or stored.get("values") != values:
            try:
                with keep_beating(trial_dir):
                    stored = self._train_runs(self.tuner_id, trial.trial_id, values,
                                              trial_dir)
            except TrialInterrupted as stop:
                write_interrupted(trial_dir, stop.step)
                raise
            clear_interrupted(trial_dir)
        if stored["status"] != rules.COMPLETED:
            raise kt.errors.FailedTrialError(stored["reason"])
        return {self._objective_name: stored["objective"]}

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        write_json(self._get_tuner_fname(), self.get_state())

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self._trial_ended(self.oracle)

    def save_model(self, trial_id, model, step=0):
        pass

    def load_model(self, trial):
        raise NotImplementedError("use playbook_kit.restore_checkpoint on a trial's "
                                  "stored checkpoints")
