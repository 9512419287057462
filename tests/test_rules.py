"""The study's rules and the validation template, each defined once."""
import math
import sys

import numpy as np
import pandas as pd
import pytest

from playbook_kit.core import rules
from playbook_kit.core.validation import (check_choice, check_int, check_number, check_seed,
                                          not_allowed, shown_as)


def test_rules_import_no_tensorflow():
    import subprocess
    code = ("import sys, playbook_kit.core.rules, playbook_kit.core.validation; "
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.parametrize("direction,expected", [("max", 1.0), ("min", -1.0)])
def test_sign(direction, expected):
    assert rules.sign(direction) == expected


def test_direction_is_checked_with_the_template():
    with pytest.raises(ValueError, match=r"^direction='maximize' is not allowed; use 'max'"):
        rules.sign("maximize")
    with pytest.raises(ValueError, match=r"^objective_direction=None is not allowed"):
        rules.check_direction(None, "objective_direction")


def test_better_is_strict_and_follows_direction():
    assert rules.better(0.9, 0.8, "max") and not rules.better(0.8, 0.9, "max")
    assert rules.better(0.1, 0.2, "min") and not rules.better(0.2, 0.1, "min")
    assert not rules.better(0.5, 0.5, "max") and not rules.better(0.5, 0.5, "min")
    assert not rules.better(float("nan"), 0.1, "max")


def test_best_value_position_and_running_best_skip_nan():
    values = [0.3, float("nan"), 0.7, 0.5, float("inf") * 0, 0.9]
    assert rules.best_value(values, "max") == 0.9
    assert rules.best_value(values, "min") == 0.3
    assert rules.best_position(values, "max") == 5
    assert rules.best_position(values, "min") == 0
    assert rules.best_position([0.2, 0.1, 0.1], "min") == 1  # first of a tie
    assert math.isnan(rules.best_value([float("nan")], "max"))
    with pytest.raises(ValueError, match="no finite objective"):
        rules.best_position([float("nan")], "min")
    np.testing.assert_array_equal(rules.best_so_far(values, "max"),
                                  [0.3, 0.3, 0.7, 0.7, 0.7, 0.9])
    np.testing.assert_array_equal(rules.best_so_far([0.5, 0.6, 0.2], "min"),
                                  [0.5, 0.5, 0.2])
    running = rules.best_so_far([float("nan"), 0.4], "max")
    assert math.isnan(running[0]) and running[1] == 0.4


def test_feasibility_is_completed_with_a_finite_objective():
    trials = pd.DataFrame({
        "status": ["completed", "completed", "completed", "infeasible", "failed", "running"],
        "objective": [0.5, float("nan"), float("inf"), 0.4, None, 0.1]})
    assert list(rules.feasible_mask(trials)) == [True, False, False, False, False, False]
    assert list(rules.infeasible_mask(trials)) == [False, True, True, True, False, False]
    assert list(rules.finished_mask(trials)) == [True, True, True, True, True, False]
    assert rules.is_feasible("completed", 0.5)
    assert not rules.is_feasible("completed", None)
    assert not rules.is_feasible("completed", "n/a")
    assert not rules.is_feasible("infeasible", 0.5)


def test_sort_best_first_is_stable():
    frame = pd.DataFrame({"trial_id": ["a", "b", "c", "d"], "objective": [0.2, 0.9, 0.2, 0.5]})
    assert list(rules.sort_best_first(frame, "max")["trial_id"]) == ["b", "d", "a", "c"]
    assert list(rules.sort_best_first(frame, "min")["trial_id"]) == ["a", "c", "d", "b"]


@pytest.mark.parametrize("value,text", [
    (3, "3"), (np.int64(12), "12"), (0.123456, "0.1235"), (1234567.0, "1.235e+06"),
    (float("nan"), "n/a"), (None, "n/a"), (float("inf"), "n/a"), (True, "True"),
    ("adam", "adam"), (np.float32(0.5), "0.5")])
def test_fmt(value, text):
    assert rules.fmt(value) == text


def test_fmt_digits():
    assert rules.fmt(0.123456, digits=2) == "0.12"


def test_not_allowed_template():
    error = not_allowed("seed", -1, "use an integer >= 0", where="setup")
    assert str(error) == "setup: seed=-1 is not allowed; use an integer >= 0"
    error = not_allowed("frame", shown_as("list"), "pass a pandas DataFrame", why="a table")
    assert str(error) == "frame=list is not allowed; pass a pandas DataFrame (a table)"
    error = not_allowed("--keep", "-2", "use an integer >= 0", error=TypeError)
    assert type(error) is TypeError
    assert str(error) == "--keep='-2' is not allowed; use an integer >= 0"


def test_check_int_rejects_bool_float_and_out_of_range():
    assert check_int("steps", 5, minimum=1) == 5
    for bad in (True, 2.0, "3", 0, None):
        with pytest.raises(ValueError, match=r"^steps=.* is not allowed; use an integer >= 1$"):
            check_int("steps", bad, minimum=1)
    assert check_int("steps", None, allow_none=True) is None
    with pytest.raises(ValueError, match="use an integer from 1 to 3$"):
        check_int("k", 4, minimum=1, maximum=3)


def test_check_number_bounds_and_finiteness():
    assert check_number("rate", 1, low=0, low_inclusive=False) == 1.0
    with pytest.raises(ValueError, match=r"^rate=0 is not allowed; use a number > 0$"):
        check_number("rate", 0, low=0, low_inclusive=False)
    with pytest.raises(ValueError, match=r"use a number in \(0, 1\)$"):
        check_number("fraction", 1.0, 0, 1, low_inclusive=False, high_inclusive=False)
    for bad in (float("nan"), float("inf"), True, "0.1"):
        with pytest.raises(ValueError, match="is not allowed; use a finite number"):
            check_number("x", bad)


def test_check_choice_and_seed():
    assert check_choice("algorithm", "grid", ("grid", "random")) == "grid"
    with pytest.raises(ValueError, match=r"^algorithm='bayes' is not allowed; use one of "
                                         r"'grid', 'random'$"):
        check_choice("algorithm", "bayes", ("grid", "random"))
    assert check_seed("seed", None, allow_none=True) is None
    with pytest.raises(ValueError, match=r"seed=-2 is not allowed; use an integer >= 0"):
        check_seed("seed", -2)


def test_study_results_owns_the_rules():
    """StudyResults answers feasibility, direction and the best trial through rules.py."""
    from playbook_kit.results.study_results import StudyResults

    trials = pd.DataFrame({
        "trial_id": ["0", "1", "2", "3", "4", "5"],
        "status": ["completed", "completed", "infeasible", "completed", "running",
                   "completed"],
        "objective": [0.30, float("inf"), float("nan"), 0.10, float("nan"), 0.10]})
    study = StudyResults(name="s", trials=trials, curves=pd.DataFrame(),
                         hyperparameters=pd.DataFrame(), direction="min")
    assert list(study.feasible["trial_id"]) == ["0", "3", "5"]
    assert list(study.best_trials(2)["trial_id"]) == ["3", "5"]   # stable on ties
    assert list(study.best_trials(None)["trial_id"]) == ["3", "5", "0"]
    assert study.sign == -1.0 and study.better(0.1, 0.3) and not study.better(0.1, 0.1)
    assert study.best_value([0.3, float("nan"), 0.2]) == 0.2
    np.testing.assert_array_equal(study.best_so_far([float("nan"), 0.3, 0.5, 0.1]),
                                  [np.nan, 0.3, 0.3, 0.1])
    with pytest.raises(ValueError, match="^direction='up' is not allowed"):
        StudyResults(name="s", trials=trials, curves=pd.DataFrame(),
                     hyperparameters=pd.DataFrame(), direction="up").sign
