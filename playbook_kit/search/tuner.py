"""The tuner every study runs: keras-tuner's ``BaseTuner``, training the playbook's trial.

keras-tuner's tuner asks its oracle for a trial, runs it and reports the objective back.
This one runs a trial through the study runner's ``train`` (one run per seed, the record
and the curves written to the store: :func:`playbook_kit.search.study.train_trial_runs`)
instead of building and fitting one Keras model; reuses a trial's stored record when its
values match (a resumed study); ends an infeasible trial as keras-tuner's ``FAILED``,
which our oracles count but never abort on; and notes a trial stopped on request
(SIGTERM) in the store. In a chief/worker study the chief serves the oracle instead of
training. Imported only when a study runs: keras-tuner loads TensorFlow.
"""
from __future__ import annotations

from pathlib import Path

import keras_tuner as kt
from keras_tuner.engine import base_tuner

from ..core import rules
from ..studies.store import (
    StoreError, clear_interrupted, read_trial_record, write_interrupted, write_json,
)
from ..training.trial_state import TrialInterrupted, keep_beating
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
        **kwargs: keras-tuner's ``directory``, ``project_name`` and ``overwrite``.
    """

    def __init__(self, oracle, *, objective: str, train, trial_ended, **kwargs):
        self._objective_name = objective
        self._train_runs = train
        self._trial_ended = trial_ended
        super().__init__(oracle, **kwargs)

    def search(self, *args, **kwargs):
        if is_chief():  # serve the oracle; ends as soon as the last worker is done
            self.save()
            serve_chief(self.oracle)
            return
        super().search(*args, **kwargs)

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
