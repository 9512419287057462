"""Pinned known answers for infeasible detection: the divergence rule, the step checks and
which finished keras-tuner trials count as infeasible. No training: each rule is called
directly, so these run in the mutation tests (`make mutation`)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
from keras_tuner.engine.trial import TrialStatus

from playbook_kit.search.oracles import is_infeasible
from playbook_kit.training.trainer import DIVERGENCE_FACTOR, _check_steps, divergence_reason


def test_divergence_factor_default_is_five():
    assert DIVERGENCE_FACTOR == 5


def test_loss_three_times_its_start_is_feasible_at_factor_5_and_not_at_factor_2():
    assert divergence_reason(3.0, 1.0, 5, step=40) == ""
    assert divergence_reason(3.0, 1.0, 2, step=40) == (
        "diverged: training loss 3 at step 40 exceeds 2x its initial 1")


def test_loss_exactly_at_the_factor_is_still_feasible():
    assert divergence_reason(5.0, 1.0, 5, step=10) == ""
    assert divergence_reason(5.0001, 1.0, 5, step=10) == (
        "diverged: training loss 5 at step 10 exceeds 5x its initial 1")


def test_the_factor_multiplies_the_initial_loss():
    assert divergence_reason(7.0, 2.0, 4, step=1) == ""
    assert divergence_reason(9.0, 2.0, 4, step=1) == (
        "diverged: training loss 9 at step 1 exceeds 4x its initial 2")


@pytest.mark.parametrize("loss, text", [(math.nan, "nan"), (math.inf, "inf"),
                                        (-math.inf, "-inf")])
def test_a_loss_that_is_not_finite_is_infeasible(loss, text):
    assert divergence_reason(loss, 1.0, 5, step=3) == (
        f"diverged: training loss {text} at step 3 exceeds 5x its initial 1")


def test_a_nan_initial_loss_alone_does_not_make_a_finite_loss_infeasible():
    assert divergence_reason(1.0, math.nan, 5, step=3) == ""


def test_step_checks_accept_the_smallest_allowed_values():
    assert _check_steps(1, 1, 1, 1.0001) is None
    assert _check_steps(np.int64(10), np.int32(10), np.int64(2), 5) is None


@pytest.mark.parametrize("args, message", [
    ((0, 1, 1, 5), "max_train_steps=0 is not allowed; use an integer >= 1"),
    ((True, 1, 1, 5), "max_train_steps=True is not allowed; use an integer >= 1"),
    ((10.0, 1, 1, 5), "max_train_steps=10.0 is not allowed; use an integer >= 1"),
    ((10, 0, 1, 5), "eval_every=0 is not allowed; use an integer >= 1"),
    ((10, 2.5, 1, 5), "eval_every=2.5 is not allowed; use an integer >= 1"),
    ((10, 1, 0, 5), "keep_best=0 is not allowed; use an integer >= 1"),
    ((10, 1, False, 5), "keep_best=False is not allowed; use an integer >= 1"),
    ((10, 11, 1, 5), "eval_every=11 is not allowed; use at most max_train_steps=10"),
    ((10, 1, 1, 1), "divergence_factor=1 is not allowed; use a number > 1 (how many "
                        "times its initial value the training loss may reach)"),
    ((10, 1, 1, 0.5), "divergence_factor=0.5 is not allowed; use a number > 1 (how many "
                        "times its initial value the training loss may reach)"),
])
def test_step_checks_reject_with_the_field_and_the_allowed_values(args, message):
    with pytest.raises(ValueError) as error:
        _check_steps(*args)
    assert str(error.value) == message


def _trial(status, score=None, trial_id="t1"):
    return SimpleNamespace(trial_id=trial_id, status=status, score=score)


@pytest.mark.parametrize("trial, marked, expected", [
    (_trial(TrialStatus.COMPLETED, 0.9), (), False),
    (_trial(TrialStatus.COMPLETED, None), (), True),
    (_trial(TrialStatus.COMPLETED, float("nan")), (), True),
    (_trial(TrialStatus.COMPLETED, float("inf")), (), True),
    (_trial(TrialStatus.FAILED, 0.9), (), True),
    (_trial(TrialStatus.COMPLETED, 0.9), ("t1",), True),
    (_trial(TrialStatus.COMPLETED, 0.9), ("t2",), False),
    (_trial(TrialStatus.RUNNING, None), (), False),
    (_trial(TrialStatus.RUNNING, None), ("t1",), True),
    (_trial(TrialStatus.INVALID, None), (), False),
])
def test_which_finished_trials_count_as_infeasible(trial, marked, expected):
    assert is_infeasible(trial, marked) is expected


def test_is_infeasible_marks_nothing_by_default():
    assert is_infeasible(_trial(TrialStatus.COMPLETED, 0.5)) is False
