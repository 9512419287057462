"""keras-tuner's private names, in one place.

keras-tuner 1.4 exports most of what we use through public paths
(``keras_tuner.engine.base_tuner.BaseTuner``, ``keras_tuner.engine.trial.TrialStatus``,
``keras_tuner.engine.hyperparameters``, ``keras_tuner.oracles``), and the rest of the
package uses only those. Three things have no public path: whether this process is a
chief/worker participant (``keras_tuner.src.distribute.utils``), the ``DEBUG`` switch
that makes keras-tuner print a traceback for every failed (here: infeasible) trial
(``keras_tuner.src.config``), and the oracle's retry queue (``Oracle._retry_queue``),
through which a trial with a damaged record runs again. They are reached here only, so
that a keras-tuner upgrade that moves them breaks one module.
"""
from __future__ import annotations

import contextlib

__all__ = ["is_worker", "quiet_failed_trials", "retry_trial"]


def is_worker() -> bool:
    """Whether this process is a worker of a chief/worker study (``KERASTUNER_*``
    variables set, and not the chief)."""
    from keras_tuner.src.distribute import utils

    return utils.has_chief_oracle() and not utils.is_chief_oracle()


@contextlib.contextmanager
def quiet_failed_trials():
    """keras-tuner without a printed traceback per failed trial (infeasible trials are
    expected in a study and recorded with their reason)."""
    from keras_tuner.src import config

    debug, config.DEBUG = config.DEBUG, False
    try:
        yield
    finally:
        config.DEBUG = debug


def retry_trial(oracle, trial_id: str) -> None:
    """Put a finished trial back on the oracle's retry queue, so that the next
    ``create_trial`` hands out the same trial (id and config) again instead of a new
    one. keras-tuner does this itself only for trials that were running at a crash; its
    queue (``Oracle._retry_queue``) has no public interface."""
    if trial_id not in oracle._retry_queue:
        oracle._retry_queue.append(trial_id)
    oracle.end_order = [t for t in oracle.end_order if t != trial_id]
