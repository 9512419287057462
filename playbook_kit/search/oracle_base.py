"""The machinery every playbook-kit oracle shares (a keras-tuner ``Oracle`` mixin).

Trial numbering: ``k`` is the number of trials the oracle has created before (keras-tuner
names trial ``k`` as ``f"{k:0{len(str(max_trials))}d}"``, so ``int(trial_id) == k``). The
config of trial ``k`` depends only on (space, seed, k) for every non-adaptive oracle, so
a resumed study and a chief/worker study draw exactly the points a sequential one
would. A trial that is *re-run* keeps its id and config and does not advance ``k``:
keras-tuner puts trials that were RUNNING at a crash, and INVALID trials with retries
left, on its retry queue and hands the same trial out again without calling
``populate_space``.

Infeasible trials. A finished trial is infeasible when its keras-tuner status is
``"FAILED"``, when it completed without a finite objective score, or when it was passed
to :meth:`mark_infeasible`. A study runner signals an infeasible trial by ending it with
``trial.status = "FAILED"`` (and a ``trial.message`` giving the reason) without
reporting the objective; raising ``keras_tuner.errors.FailedTrialError`` in
``run_trial`` does the same. Every oracle here tolerates any number of infeasible
trials in a row (``max_consecutive_failed_trials`` is set above ``max_trials``).

Resuming after a kill. keras-tuner writes a trial's ``trial.json`` first and
``oracle.json`` after it, so a SIGKILL between the two leaves files that disagree; on
reload (:func:`reconcile_state`) the trial files win: a trial ended on disk counts as
ended once, and a trial created on disk that the oracle state does not know runs again
with its values.
"""
from __future__ import annotations

import os

import keras_tuner as kt
import numpy as np
from keras_tuner.engine.trial import TrialStatus

from ..core.validation import check_int, check_seed
from ..studies.store import KERAS_TUNER_TRIAL_FILE, write_json
from ._keras_tuner import retry_trial
from .points import _as_space
from .space import SearchSpace

__all__ = ["ORACLE_STATE_VERSION", "is_infeasible", "reconcile_state"]

ORACLE_STATE_VERSION = 1


def is_infeasible(trial, marked=()) -> bool:
    """Whether a finished keras-tuner trial counts as infeasible (see module docstring)."""
    if trial.trial_id in marked or trial.status == TrialStatus.FAILED:
        return True
    if trial.status == TrialStatus.COMPLETED:
        return trial.score is None or not np.isfinite(trial.score)
    return False


def _is_finished(trial, marked=()) -> bool:
    return trial.trial_id in marked or trial.status in (TrialStatus.COMPLETED,
                                                         TrialStatus.FAILED)


def reconcile_state(state: dict, trials: dict) -> tuple[dict, list[str]]:
    """keras-tuner's saved oracle ``state`` made to agree with the ``trials`` read from
    their ``trial.json`` files, and the ids of the trials to run again.

    A SIGKILL after a trial's ``trial.json`` and before ``oracle.json`` leaves either a
    trial ended on disk that the state lists as ongoing (keras-tuner would run it and
    end it a second time) or a trial created on disk that the state does not know
    (keras-tuner would count it against the budget and never run it). The first is
    ended exactly once and no longer ongoing; the second is started and returned, so that
    it runs again with the same values.
    """
    ended = {trial_id for trial_id, trial in trials.items() if _is_finished(trial)}
    ongoing = state["ongoing_trials"]
    end_order = list(state["end_order"])
    run_times = dict(state["run_times"])
    for trial_id in sorted(set(ongoing.values()) & ended, key=int):
        if trial_id not in end_order:
            end_order.append(trial_id)
        run_times[trial_id] = max(run_times.get(trial_id, 0), 1)
    unknown = sorted(set(trials) - set(state["start_order"]) - ended, key=int)
    return {**state, "end_order": end_order, "run_times": run_times,
            "start_order": [*state["start_order"], *unknown],
            "ongoing_trials": {tuner_id: trial_id for tuner_id, trial_id in ongoing.items()
                               if trial_id not in ended}}, unknown


# -- shared oracle machinery -------------------------------------------------------

class _PlaybookOracle:
    """Mixin: a :class:`SearchSpace`, a fixed seed, never aborting on infeasible trials,
    explicit infeasible marks, and a stored space checked on resume."""

    algorithm = ""

    def _kt_kwargs(self, space, max_trials, seed, objective, max_retries_per_trial):
        check_int("max_trials", max_trials, minimum=1)
        self.space = _as_space(space)
        self._infeasible = set()
        return dict(objective=objective, max_trials=int(max_trials),
                    hyperparameters=self.space.to_keras_tuner(), allow_new_entries=True,
                    tune_new_entries=False, seed=check_seed("seed", seed),
                    max_retries_per_trial=max_retries_per_trial,
                    max_consecutive_failed_trials=int(max_trials) + 1)

    def _fix_seed(self, seed):
        # keras-tuner replaces a falsy seed (0) by a random one.
        self.seed = self._seed_state = check_seed("seed", seed)

    @kt.synchronized
    def create_trial(self, tuner_id):
        """keras-tuner's, with a lease on each worker's trial: a trial whose worker stopped
        beating (:func:`~playbook_kit.training.trial_state.keep_beating`) for longer than the lease
        is handed to the asking worker, which continues it from its state; and while
        other workers still run trials, a worker that would be told to stop waits instead
        (``IDLE``), so that it can take one over if its worker is lost."""
        import time

        self._contacts = getattr(self, "_contacts", {})
        self._contacts[tuner_id] = time.time()
        self._hand_back_lost(tuner_id)
        trial = super().create_trial(tuner_id)
        if trial.status == TrialStatus.STOPPED and \
                any(other != tuner_id for other in self.ongoing_trials):
            self.tuner_ids.add(tuner_id)
            trial.status = TrialStatus.IDLE
        return trial

    @kt.synchronized
    def lost_workers(self) -> set:
        """Workers taken for lost: no trial running and no call for longer than the lease
        (a worker between trials asks every second, one in a trial beats). They are no
        longer waited for (keras-tuner's chief waits for every worker it has seen)."""
        import time

        from ..training.trial_state import lease_seconds

        now, running = time.time(), set(self.ongoing_trials)
        lost = {tuner for tuner, last in getattr(self, "_contacts", {}).items()
                if tuner not in running and now - last > lease_seconds()}
        self.tuner_ids -= lost
        return lost

    def _hand_back_lost(self, asking: str) -> None:
        import warnings

        from ..training.trial_state import heartbeat_age, lease_seconds

        for other, trial in list(self.ongoing_trials.items()):
            if other == asking:
                continue
            age = heartbeat_age(self._get_trial_dir(trial.trial_id))
            if age is not None and age > lease_seconds():
                del self.ongoing_trials[other]
                retry_trial(self, trial.trial_id)
                warnings.warn(f"trial {trial.trial_id}: its worker {other} has not beaten "
                              f"for {age:.0f} s (lease {lease_seconds():g} s); {asking} "
                              "continues it from its state", stacklevel=2)

    @kt.synchronized
    def mark_infeasible(self, trial_id):
        """Count a trial as infeasible even if it completed (e.g. loss far too high)."""
        if trial_id not in self.trials:
            raise ValueError(f"trial_id {trial_id!r}: no such trial in this study")
        self._infeasible.add(trial_id)
        if getattr(self, "_directory", None) is not None:
            self.save()

    @property
    def infeasible_trial_ids(self) -> list[str]:
        return sorted(t.trial_id for t in self.trials.values()
                      if is_infeasible(t, self._infeasible))

    def save(self):
        """keras-tuner's state, written atomically (a kill mid-write leaves the old file)."""
        write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        write_json(os.path.join(self._get_trial_dir(trial.trial_id), KERAS_TUNER_TRIAL_FILE),
                   trial.get_state())

    def populate_space(self, trial_id):
        k = len(self.trials)
        if k >= self.max_trials:
            return {"status": TrialStatus.STOPPED, "values": None}
        values = self.config_for_trial(k)
        if values is None:
            return {"status": TrialStatus.STOPPED, "values": None}
        return {"status": TrialStatus.RUNNING, "values": values}

    def config_for_trial(self, k: int) -> dict | None:
        """The config of the ``k``-th trial created (None: no more points)."""
        raise NotImplementedError

    def get_state(self):
        state = super().get_state()
        state["playbook_kit"] = {
            "schema_version": ORACLE_STATE_VERSION, "algorithm": self.algorithm,
            "space": self.space.to_dict(), "infeasible": sorted(self._infeasible),
        }
        return state

    def set_state(self, state):
        ours = state.get("playbook_kit")
        if ours is not None and state.get("seed") != self.seed:
            raise ValueError(f"seed {self.seed!r}: the study directory was created with "
                             f"seed {state.get('seed')!r}; resume with the same seed")
        state, rerun = reconcile_state(state, self.trials)
        super().set_state(state)
        for trial_id in rerun:
            retry_trial(self, trial_id)
        if ours is None:
            return
        stored = SearchSpace.from_dict(ours["space"])
        if stored != self.space:
            raise ValueError(
                "search space: the study directory was created with a different search "
                f"space; stored:\n{stored!r}\nnow:\n{self.space!r}\nresume with the "
                "stored space or start a new study")
        if ours["algorithm"] != self.algorithm:
            raise ValueError(f"algorithm {self.algorithm!r}: the study directory was "
                             f"created with algorithm {ours['algorithm']!r}")
        self._infeasible = set(ours.get("infeasible", ()))

