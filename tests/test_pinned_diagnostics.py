"""Pinned known answers for the boundary check and the curve diagnostics (playbook
sections 4 and "Is the search space big enough?"): hand-built studies whose every row,
count, reason and action is stated exactly, and thresholds probed at their edges."""
import math

import numpy as np
import pandas as pd
import pytest
from insight_fixtures import hp, make_study, make_trials

from playbook_kit.insight import CURVE_CHECKS, boundary_check, diagnose_curves, flagged_checks
from playbook_kit.insight._common import feasible_mask, infeasible_mask, search_range
from playbook_kit.insight.boundaries import MIN_INFEASIBLE_BEYOND
from playbook_kit.insight.curves import (CURVE_THRESHOLDS, _curve_checks, _rising_check,
                                         resolve_thresholds)
from playbook_kit.search.hyperparameter import Hyperparameter as _SpaceHyperparameter


def Hyperparameter(name, role="nuisance", scale="linear", low=None, high=None, values=None):
    """A search-space hyperparameter with the defaults these tests leave out."""
    return _SpaceHyperparameter(name, role, scale, low, high, values)

LR = hp("learning_rate", "log", 1e-4, 1e-1)
EXPONENTS = np.linspace(-4, -1, 10)            # one trial every third of a decade
LRS = list(10 ** EXPONENTS)
NAN = float("nan")


def _only_row(study, **kwargs):
    table = boundary_check(study, **kwargs)
    assert len(table) == 1
    return table.iloc[0].to_dict()


def _assert_row(row, **expected):
    for key, value in expected.items():
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(row[key]), key
        elif isinstance(value, float):
            assert row[key] == pytest.approx(value, rel=1e-9), key
        else:
            assert row[key] == value, key


def test_rule_constants():
    assert MIN_INFEASIBLE_BEYOND == 2


def test_best_at_the_high_edge_of_a_log_range_is_expanded_by_a_decade():
    row = _only_row(make_study(make_trials({"learning_rate": LRS}, EXPONENTS), [LR]))
    _assert_row(
        row, name="learning_rate", role="nuisance", scale="log", low=1e-4, high=0.1,
        range_source="search space", n_trials=10, n_feasible=10, n_best=3, n_best_near_low=0,
        n_best_near_high=2, best_value=0.1, edge="high", suggested_low=1e-4,
        suggested_high=1.0, instability="none", unstable_beyond=NAN, n_infeasible_beyond=0,
        status="expand",
        reason="majority rule: 2 of the 3 best trials lie in the outer 20% of the range at "
               "the high edge ([0.0001, 0.1], log scale); trend rule: the objective improves "
               "steadily toward the high edge (Spearman rho +1.00, p < 0.001, over the better "
               "half of the feasible trials, 5; log scale) and the best trial has the highest "
               "learning_rate sampled (0.1)",
        action="expand learning_rate to [0.0001, 1] (log scale) and rerun until the best "
               "trials are not near a boundary")


def test_best_at_the_low_edge_when_minimizing():
    study = make_study(make_trials({"learning_rate": LRS}, EXPONENTS), [LR],
                       objective="val_loss", direction="min")
    _assert_row(_only_row(study), n_best_near_low=2, n_best_near_high=0, best_value=1e-4,
                edge="low", suggested_low=1e-5, suggested_high=0.1, status="expand",
                reason="majority rule: 2 of the 3 best trials lie in the outer 20% of the "
                       "range at the low edge ([0.0001, 0.1], log scale); trend rule: the "
                       "objective improves steadily toward the low edge (Spearman rho -1.00, "
                       "p < 0.001, over the better half of the feasible trials, 5; log scale) "
                       "and the best trial has the lowest learning_rate sampled (0.0001)",
                action="expand learning_rate to [1e-05, 0.1] (log scale) and rerun until "
                       "the best trials are not near a boundary")


def test_best_inside_the_range_is_ok():
    study = make_study(make_trials({"learning_rate": LRS}, -np.abs(EXPONENTS + 2.5)), [LR])
    _assert_row(_only_row(study), n_best=3, n_best_near_low=0, n_best_near_high=0,
                best_value=10 ** (-7 / 3), edge="none", suggested_low=1e-4,
                suggested_high=0.1, status="ok", action="",
                reason="the best trials are inside the range: majority rule: 0 low / 0 high "
                       "of the 3 best trials near an edge (outer 20% of [0.0001, 0.1], log "
                       "scale); trend rule: no steady trend toward an edge ending at the "
                       "sampled extreme (Spearman rho -0.46, p = 0.43, better half of 5)")


WIDTH = hp("width", "linear", 10.0, 20.0)


@pytest.mark.parametrize("values, near_low, near_high, edge, suggested", [
    ([12.0, 12.0, 15.0, 15.0, 15.0], 2, 0, "low", (5.0, 20.0)),     # u = 0.2 counts
    ([18.0, 18.0, 15.0, 15.0, 15.0], 0, 2, "high", (10.0, 25.0)),   # u = 0.8 counts
    ([12.1, 12.1, 15.0, 15.0, 15.0], 0, 0, "none", (10.0, 20.0)),
    ([17.9, 17.9, 15.0, 15.0, 15.0], 0, 0, "none", (10.0, 20.0)),
])
def test_the_outer_fifth_of_the_range_includes_its_border(values, near_low, near_high, edge,
                                                          suggested):
    row = _only_row(make_study(make_trials({"width": values}, [5, 4, 3, 2, 1]), [WIDTH]))
    _assert_row(row, n_best=3, n_best_near_low=near_low, n_best_near_high=near_high,
                edge=edge, suggested_low=suggested[0], suggested_high=suggested[1],
                status="expand" if edge != "none" else "ok")


def test_a_strict_majority_of_the_best_set_is_needed():
    values = [20.0, 20.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0, 15.0]
    half = make_study(make_trials({"width": values}, range(10, 0, -1)), [WIDTH])
    _assert_row(_only_row(half, top_fraction=0.4), n_best=4, n_best_near_high=2,
                edge="none", status="ok")
    values[2] = 19.0
    more = make_study(make_trials({"width": values}, range(10, 0, -1)), [WIDTH])
    _assert_row(_only_row(more, top_fraction=0.4), n_best=4, n_best_near_high=3,
                edge="high", status="expand", suggested_high=25.0,
                reason="majority rule: 3 of the 4 best trials lie in the outer 20% of the "
                       "range at the high edge ([10, 20], linear scale); trend rule: the "
                       "objective improves steadily toward the high edge (Spearman rho +0.95, "
                       "p = 0.014, over the better half of the feasible trials, 5; linear "
                       "scale) and the best trial has the highest width sampled (20)")


def test_edge_fraction_widens_the_edges():
    study = make_study(make_trials({"width": [13.0, 13.0, 15.0, 15.0]}, [4, 3, 2, 1]), [WIDTH])
    _assert_row(_only_row(study), n_best_near_low=0, edge="none")
    _assert_row(_only_row(study, edge_fraction=0.3), n_best_near_low=2, edge="low",
                reason="majority rule: 2 of the 3 best trials lie in the outer 30% of the "
                       "range at the low "
                       "edge ([10, 20], linear scale)")


def test_best_against_a_natural_bound_has_nothing_to_extend():
    dropout = hp("dropout", "linear", 0.0, 0.5)
    study = make_study(make_trials({"dropout": [0.0, 0.05, 0.1, 0.3, 0.5]}, [5, 4, 3, 2, 1]),
                       [dropout])
    _assert_row(_only_row(study), n_best_near_low=3, edge="low", suggested_low=0.0,
                suggested_high=0.5, status="at bound",
                reason="majority rule: 3 of the 3 best trials lie in the outer 20% of the "
                       "range at the low "
                       "edge ([0, 0.5], linear scale)",
                action="the best trials sit at the natural bound 0 of dropout; there is "
                       "nothing to extend")


def test_integer_range_starting_at_one_stays_at_one():
    layers = hp("layers", "integer", 1, 9)
    study = make_study(make_trials({"layers": [1, 2, 3, 5, 9]}, [5, 4, 3, 2, 1]), [layers])
    _assert_row(_only_row(study), n_best_near_low=2, edge="low", status="at bound",
                action="the best trials sit at the natural bound 1 of layers; there is "
                       "nothing to extend")


def test_discrete_values_at_the_end_of_the_list_get_the_next_value():
    batch = hp("batch_size", "discrete", values=[32, 64, 128, 256])
    study = make_study(make_trials({"batch_size": [32, 64, 128, 256, 256, 128]},
                                   [1, 2, 3, 4, 4.5, 3.5]), [batch])
    _assert_row(_only_row(study), low=32.0, high=256.0, n_best_near_high=2, edge="high",
                suggested_low=32.0, suggested_high=512.0, status="expand",
                reason="majority rule: 2 of the 3 best trials lie in the outer 20% of the "
                       "range at the high edge ([32, 256], discrete scale)",
                action="add 512 to the values of batch_size and rerun until the best trials "
                       "are not at an end of the list")


def test_without_bounds_the_sampled_extremes_are_the_range():
    width = hp("width", "linear")
    study = make_study(make_trials({"width": [1.0, 2.0, 3.0, 4.0, 5.0]}, [1, 2, 3, 4, 5]),
                       [width])
    _assert_row(_only_row(study), low=1.0, high=5.0, range_source="sampled",
                n_best_near_high=1, edge="none", status="ok")


def test_everything_beyond_the_last_feasible_value_infeasible_is_instability():
    status = ["completed"] * 7 + ["infeasible"] * 3
    study = make_study(make_trials({"learning_rate": LRS}, EXPONENTS, status), [LR])
    _assert_row(
        _only_row(study), n_trials=10, n_feasible=7, n_best=3, n_best_near_high=0,
        best_value=0.01, edge="none", instability="high", unstable_beyond=0.01,
        n_infeasible_beyond=3, suggested_low=1e-4, suggested_high=0.1, status="instability",
        reason="all 3 finished trials with learning_rate above 0.01 are infeasible and 2 of "
               "the 3 best trials lie within 20% of the range of that value",
        action="suspect instability: the best learning_rate is at the edge of stability; "
               "apply the stability recipes (learning-rate warmup, gradient clipping; "
               "playbook section 8) so that values above 0.01 train, instead of expanding "
               "the range there")


def test_instability_below_the_lowest_feasible_value():
    status = ["infeasible"] * 3 + ["completed"] * 7
    study = make_study(make_trials({"learning_rate": LRS}, -EXPONENTS, status), [LR])
    _assert_row(_only_row(study), n_feasible=7, instability="low", n_infeasible_beyond=3,
                unstable_beyond=0.001, status="instability", edge="none",
                reason="all 3 finished trials with learning_rate below 0.001 are infeasible "
                       "and 2 of the 3 best trials lie within 20% of the range of that value")


def test_instability_needs_two_infeasible_trials_beyond():
    status = ["completed"] * 8 + ["infeasible"] * 2
    two = make_study(make_trials({"learning_rate": LRS}, EXPONENTS, status), [LR])
    _assert_row(_only_row(two), instability="high", n_infeasible_beyond=2)
    status = ["completed"] * 9 + ["infeasible"]
    one = make_study(make_trials({"learning_rate": LRS}, EXPONENTS, status), [LR])
    _assert_row(_only_row(one), instability="none", n_infeasible_beyond=0, edge="none",
                status="ok")


def test_instability_needs_the_best_trials_near_the_last_feasible_value():
    status = ["completed"] * 7 + ["infeasible"] * 3
    objective = -np.abs(EXPONENTS + 3.5)          # best near the low end, far from 0.01
    study = make_study(make_trials({"learning_rate": LRS}, objective, status), [LR])
    _assert_row(_only_row(study), instability="none", edge="low", n_best_near_low=2)


def test_instability_and_an_edge_on_the_other_side_are_both_reported():
    status = ["completed"] * 7 + ["infeasible"] * 3
    objective = [3.0, 2.9, 0.1, 0.2, 0.3, 2.95, 2.8, 0, 0, 0]
    study = make_study(make_trials({"learning_rate": LRS}, objective, status), [LR])
    row = _only_row(study, top_fraction=0.5)
    _assert_row(row, n_best=4, n_best_near_low=2, instability="none", edge="none")


def test_no_feasible_trial_is_not_checked():
    study = make_study(make_trials({"learning_rate": LRS[:3]}, [1, 2, 3], ["infeasible"] * 3),
                       [LR])
    _assert_row(_only_row(study), n_trials=3, n_feasible=0, n_best=0, edge="none",
                status="not checked", reason="no feasible trial with learning_rate active",
                action="fix infeasibility first (see the infeasible fraction)")


def test_a_log_range_without_positive_values_has_no_usable_range():
    free = hp("learning_rate", "log")
    study = make_study(make_trials({"learning_rate": [-1.0, -2.0, 0.0]}, [1, 2, 3]), [free])
    _assert_row(_only_row(study), range_source="none", status="not checked", n_feasible=3,
                reason="learning_rate: no usable range (low=n/a, high=n/a)",
                action="give the search space finite bounds")


def test_running_trials_and_inactive_values_are_left_out():
    status = ["completed"] * 5 + ["running"] * 2
    values = [12.0, 12.0, 15.0, 15.0, np.nan, 20.0, 20.0]
    study = make_study(make_trials({"width": values}, [5, 4, 3, 2, 1, 9, 9], status), [WIDTH])
    _assert_row(_only_row(study), n_trials=4, n_feasible=4, n_best_near_low=2, edge="low")


def test_boundary_check_argument_errors_name_the_argument():
    study = make_study(make_trials({"width": [12.0, 15.0]}, [1, 2]), [WIDTH])
    with pytest.raises(ValueError) as error:
        boundary_check(study, edge_fraction=0.5)
    assert str(error.value) == ("edge_fraction=0.5 is not allowed; use a number in (0.0, 0.5): "
                                "both edges together must leave a middle")
    assert boundary_check(study, edge_fraction=0.49, top_fraction=1.0).iloc[0]["n_best"] == 2


def test_search_range_sources():
    assert search_range(Hyperparameter("w", "nuisance", "linear", 1.0, 3.0), [9.0]) == (
        1.0, 3.0, "search space")
    assert search_range(Hyperparameter("w", scale="discrete", values=(4, 2, 8)), [9.0]) == (
        2.0, 8.0, "search space")
    assert search_range(Hyperparameter("w", low=3.0, high=3.0), [5.0, 1.0]) == (
        1.0, 5.0, "sampled")
    assert search_range(Hyperparameter("w", low=1.0, high=math.inf), [5.0, 1.0]) == (
        1.0, 5.0, "sampled")
    assert search_range(Hyperparameter("w", scale="log"), [-1.0, 0.5, 2.0, None]) == (
        0.5, 2.0, "sampled")
    assert search_range(Hyperparameter("w"), [-1.0, 0.5]) == (-1.0, 0.5, "sampled")
    low, high, source = search_range(Hyperparameter("w"), [None, "x"])
    assert (math.isnan(low), math.isnan(high), source) == (True, True, "none")


def test_feasible_and_infeasible_masks():
    trials = pd.DataFrame({"status": ["completed", "completed", "completed", "infeasible",
                                      "failed", "running"],
                           "objective": [0.5, np.nan, np.inf, 0.7, np.nan, 0.1]})
    assert feasible_mask(trials).tolist() == [True, False, False, False, False, False]
    assert infeasible_mask(trials).tolist() == [False, True, True, True, False, False]


# ---------------------------------------------------------------- curve diagnostics
STEPS = np.arange(100, 1001, 100, dtype=float)          # 10 evaluations of 1000 steps
LINEAR = 0.1 * np.arange(1, 11)
PLATEAU_AT_30 = [0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
OVERFIT = [0.1, 0.5, 0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.6, 0.6]
NOISY = [0.0, 0.5, 1.0, 0.8, 1.0, 0.8, 1.0, 0.8, 1.0, 0.8]
SHAPE_CHECKS = ("overfitting", "high_variance", "still_improving", "saturated",
                "best_step_early", "best_step_late")


def _checks(values, sign=1.0, th=CURVE_THRESHOLDS, total=1000.0):
    values = np.asarray(values, dtype=float)
    return _curve_checks(STEPS[:len(values)], values, sign, total, th, "accuracy")


def _flags(out):
    return tuple(out[c][0] for c in SHAPE_CHECKS)


def _values(out):
    return tuple(out[c][1] for c in SHAPE_CHECKS)


def test_default_thresholds():
    assert CURVE_THRESHOLDS == {
        "early_fraction": 0.10, "late_fraction": 0.25, "best_tolerance": 0.01,
        "overfitting_tolerance": 0.05, "variance_threshold": 0.05, "tail_fraction": 0.25,
        "improving_window": 0.10, "improving_threshold": 0.01, "saturation_fraction": 0.50,
        "rising_tolerance": 0.10}
    assert CURVE_CHECKS == ("infeasible", "overfitting", "high_variance", "still_improving",
                            "saturated", "best_step_early", "best_step_late",
                            "training_loss_rising")


def test_rising_to_the_end_is_still_improving_and_late():
    out = _checks(LINEAR)
    assert _flags(out) == (False, False, True, False, False, True)
    assert _values(out) == pytest.approx((0.0, 0.0, 1 / 9, 1.0, 1.0, 1.0), abs=1e-12)
    assert [out[c][2] for c in SHAPE_CHECKS] == [0.05, 0.05, 0.01, 0.5, 0.1, 0.75]
    at = ("best checkpoint (within 1% of the best gain) at step 1000 = 100% of training")
    assert {c: out[c][3] for c in SHAPE_CHECKS} == {
        "overfitting": "validation accuracy ends 0% of its total gain below its best "
                       "(3-point running medians; flag above 5%)",
        "high_variance": "step-to-step noise over the last 4 evaluations is 0.0% of the total "
                         "gain (flag above 5%)",
        "still_improving": "at the end, validation accuracy gains 11% of its total gain per "
                           "10% of training (flag above 1%)",
        "saturated": f"{at}; flag when that is before 50% (but after 10%) and the curve does "
                     "not worsen afterwards",
        "best_step_early": f"{at}; flag in the first 10% (playbook)",
        "best_step_late": f"{at}; flag in the last 25% (playbook)"}


def test_plateau_by_30_percent_is_saturated_only():
    out = _checks(PLATEAU_AT_30)
    assert _flags(out) == (False, False, False, True, False, False)
    assert _values(out) == pytest.approx((0.0, 0.0, 0.0, 0.3, 0.3, 0.3), abs=1e-12)


def test_lower_is_better_curves_are_read_with_their_sign():
    loss = 2.0 - 3.0 * np.asarray(PLATEAU_AT_30)
    assert _flags(_checks(loss, sign=-1.0)) == (False, False, False, True, False, False)
    assert _flags(_checks(loss, sign=1.0)) == (pd.NA,) * 4 + (True, False)


def test_falling_after_its_best_is_overfitting_not_saturated():
    out = _checks(OVERFIT)
    assert _flags(out) == (True, True, False, False, False, False)
    # gain: 0, .5, 1, 1, 1, .875, .75, .625, .625, .625; noise: std(-1/8, 0, 0) / sqrt(2)
    assert _values(out) == pytest.approx(
        (0.375, np.std([-0.125, 0, 0], ddof=1) / math.sqrt(2), 0.0, 0.3, 0.3, 0.3), abs=1e-12)
    assert out["overfitting"][3] == ("validation accuracy ends 38% of its total gain below "
                                     "its best (3-point running medians; flag above 15%)")
    assert out["saturated"][3].startswith("best checkpoint (within 5% of the best gain) at "
                                          "step 300 = 30% of training")


def test_noise_widens_the_tolerances():
    out = _checks(NOISY)
    noise = np.std([0.2, -0.2, 0.2], ddof=1) / math.sqrt(2)
    assert _flags(out) == (False, True, False, True, False, False)
    assert _values(out) == pytest.approx((0.2, noise, 0.0, 0.3, 0.3, 0.3), abs=1e-12)
    assert out["overfitting"][3].endswith("; flag above 49%)")
    assert out["still_improving"][3].endswith("(flag above 23%)")


def test_a_curve_that_never_improves_cannot_be_shape_checked():
    out = _checks([0.5] * 10)
    reason = ("validation accuracy never improved on its first evaluation: shape checks need "
              "a gain")
    for check, threshold in (("overfitting", 0.05), ("high_variance", 0.05),
                             ("still_improving", 0.01), ("saturated", 0.5)):
        flagged, value, limit, text = out[check]
        assert (flagged is pd.NA, math.isnan(value), limit, text) == (True, True, threshold,
                                                                      reason)
    assert out["best_step_early"][:3] == (True, 0.1, 0.1)     # at exactly 10%: flagged
    assert out["best_step_late"][:3] == (False, 0.1, 0.75)


def test_three_evaluations_are_too_few_for_the_noise():
    out = _checks([0.1, 0.2, 0.3])
    assert out["high_variance"][0] is pd.NA
    assert out["high_variance"][3] == "needs at least 4 evaluations, has 3"
    assert _flags(out)[2:] == (True, True, False, False)
    assert out["still_improving"][1] == pytest.approx(0.5)


@pytest.mark.parametrize("best_at, early, saturated, late", [
    (1, True, pd.NA, False), (2, False, True, False), (5, False, True, False),
    (6, False, False, False), (7, False, False, False), (8, False, False, True),
    (10, False, False, True)])
def test_where_the_best_step_falls(best_at, early, saturated, late):
    """Rising linearly to its best at evaluation ``best_at`` of 10, then flat (1: flat)."""
    values = [min(1.0, i / (best_at - 1)) if best_at > 1 else 1.0 for i in range(10)]
    out = _checks(values)
    assert (out["best_step_early"][0], out["saturated"][0], out["best_step_late"][0]) == (
        early, saturated, late)
    assert out["best_step_late"][1] == pytest.approx(best_at / 10)


def test_thresholds_move_the_flags():
    th = resolve_thresholds(saturation_fraction=0.25)
    assert _flags(_checks(PLATEAU_AT_30, th=th))[3] is False
    th = resolve_thresholds(early_fraction=0.3)
    assert _flags(_checks(PLATEAU_AT_30, th=th))[3:5] == (False, True)
    th = resolve_thresholds(late_fraction=0.75)
    assert _flags(_checks(PLATEAU_AT_30, th=th))[5] is True
    th = resolve_thresholds(overfitting_tolerance=0.5)
    assert _flags(_checks(OVERFIT, th=th))[0] is False
    th = resolve_thresholds(improving_threshold=0.2)
    assert _flags(_checks(LINEAR, th=th))[2] is False
    th = resolve_thresholds(variance_threshold=0.2)
    assert _flags(_checks(NOISY, th=th))[1] is False


def test_resolve_thresholds_rejects_unknown_names_and_bad_fractions():
    with pytest.raises(ValueError) as error:
        resolve_thresholds(early=0.2, late=0.1)
    assert str(error.value) == ("unknown threshold(s) ['early', 'late']; allowed: "
                                f"{sorted(CURVE_THRESHOLDS)}")
    with pytest.raises(ValueError, match="early_fraction"):
        resolve_thresholds(early_fraction=0)
    assert resolve_thresholds(early_fraction=1)["early_fraction"] == 1.0
    assert resolve_thresholds() == CURVE_THRESHOLDS


@pytest.mark.parametrize("values, flagged, rise", [
    ([4.5, 2.5, 0.5, 1.5, 1.5, 1.5], False, 0.25),      # exactly at the tolerance
    ([4.5, 2.5, 0.5, 1.5, 1.5, 2.5], False, 0.25),
    ([4.5, 2.5, 0.5, 2.5, 2.5, 2.5], True, 0.5),
    ([1.0, 2.0, 3.0], True, 1.0),                       # never fell: scale |min| = 1
    ([0.0, 1.0, 2.0], True, 1.0),                       # minimum 0: scale 1
    ([-2.0, -1.0, 0.0], True, 0.5),                     # scale |-2| = 2
])
def test_training_loss_rising(values, flagged, rise):
    th = resolve_thresholds(rising_tolerance=0.25)
    out = _rising_check(STEPS[:len(values)], np.asarray(values), th)
    assert out[:3] == (flagged, pytest.approx(rise), 0.25)
    assert out[3] == (f"training loss ends {rise:.0%} of its total decrease above its minimum "
                      "(median of the last 3 evaluations; flag above 25%)")


def test_training_loss_rising_needs_three_evaluations():
    out = _rising_check(STEPS[:2], np.array([1.0, 2.0]), CURVE_THRESHOLDS)
    assert (out[0] is pd.NA, math.isnan(out[1]), out[2], out[3]) == (
        True, True, 0.1, "training loss needs at least 3 evaluations, has 2")


def _rows(trial_id, values, split="validation", metric="accuracy", seed=0, steps=STEPS):
    return pd.DataFrame({"trial_id": trial_id, "seed": seed, "step": np.asarray(steps, int),
                         "split": split, "metric": metric, "value": np.asarray(values, float)})


def _curve_study(curves, status, objective, reason=None, direction="max",
                 objective_name="val_accuracy", max_train_steps=1000):
    trials = make_trials({"width": [10.0 + i for i in range(len(status))]}, objective, status,
                         reason=reason)
    return make_study(trials, [WIDTH], curves=curves, objective=objective_name,
                      direction=direction, max_train_steps=max_train_steps)


def test_diagnose_curves_table_for_each_kind_of_trial():
    curves = pd.concat([
        _rows("t000", LINEAR), _rows("t000", [1.0, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
                                     "train", "loss"),
        _rows("t001", PLATEAU_AT_30),
        _rows("t004", [0.1, 0.2], steps=STEPS[:2])], ignore_index=True)
    study = _curve_study(curves, ["completed", "completed", "infeasible", "running",
                                  "completed", "completed"],
                         [1.0, 0.3, np.nan, np.nan, 0.2, np.inf],
                         reason=["", "", "loss is NaN", "", "", ""])
    table = diagnose_curves(study)
    assert list(table.columns) == ["trial_id", "check", "flagged", "value", "threshold",
                                   "reason"]
    assert len(table) == 6 * len(CURVE_CHECKS)
    assert flagged_checks(table) == {
        "t000": ["still_improving", "best_step_late"], "t001": ["saturated"],
        "t002": ["infeasible"], "t003": [], "t004": [], "t005": ["infeasible"]}
    reasons = table.set_index(["trial_id", "check"])["reason"]
    assert reasons["t002", "infeasible"] == "infeasible: trial is infeasible: loss is NaN"
    assert reasons["t002", "overfitting"] == "overfitting: not checked: trial is infeasible"
    assert reasons["t003", "infeasible"] == "infeasible: trial is running"
    assert reasons["t003", "saturated"] == "saturated: not checked: trial is running"
    assert reasons["t004", "saturated"] == (
        "saturated: validation accuracy curve has 2 evaluations, needs 3")
    assert reasons["t005", "infeasible"] == "infeasible: trial is completed"
    assert reasons["t001", "training_loss_rising"] == (
        "training_loss_rising: no train loss curve recorded")
    assert reasons["t000", "training_loss_rising"].startswith(
        "training_loss_rising: training loss ends 0% of its total decrease")
    flags = table.set_index(["trial_id", "check"])["flagged"]
    assert not pd.isna(flags["t000", "infeasible"]) and not flags["t000", "infeasible"]
    assert pd.isna(flags["t003", "infeasible"]) and pd.isna(flags["t002", "overfitting"])
    assert str(table["flagged"].dtype) == "boolean"
    assert table.set_index(["trial_id", "check"])["threshold"]["t000", "saturated"] == 0.5


def test_diagnose_curves_without_a_curve_for_a_trial():
    curves = _rows("t000", LINEAR)
    study = _curve_study(curves, ["completed", "completed"], [1.0, 0.5])
    reasons = diagnose_curves(study).set_index(["trial_id", "check"])["reason"]
    assert reasons["t001", "overfitting"] == (
        "overfitting: no validation accuracy curve recorded")
    empty = _curve_study(curves.iloc[:0], ["completed"], [1.0])
    reasons = diagnose_curves(empty).set_index(["trial_id", "check"])["reason"]
    assert reasons["t000", "overfitting"] == (
        "overfitting: no training curves recorded for this study")


def test_diagnose_curves_averages_runs_and_uses_the_fraction_of_max_train_steps():
    curves = pd.concat([_rows("t000", np.asarray(PLATEAU_AT_30) + 0.1, seed=0),
                        _rows("t000", np.asarray(PLATEAU_AT_30) - 0.1, seed=1)])
    study = _curve_study(curves, ["completed"], [0.3])
    saturated = diagnose_curves(study).set_index("check").loc["saturated"]
    assert (bool(saturated["flagged"]), saturated["value"]) == (True, pytest.approx(0.3))
    longer = _curve_study(curves, ["completed"], [0.3], max_train_steps=2000)
    early = diagnose_curves(longer).set_index("check").loc["best_step_early"]
    assert (bool(early["flagged"]), early["value"]) == (False, pytest.approx(0.15))
    unset = _curve_study(curves, ["completed"], [0.3], max_train_steps=None)
    late = diagnose_curves(unset).set_index("check").loc["best_step_late"]
    assert late["value"] == pytest.approx(0.3)


def test_diagnose_curves_on_a_minimized_loss():
    curves = _rows("t000", 2.0 - 3.0 * np.asarray(PLATEAU_AT_30), metric="loss")
    study = _curve_study(curves, ["completed"], [1.1], direction="min",
                         objective_name="val_loss")
    assert flagged_checks(diagnose_curves(study)) == {"t000": ["saturated"]}
    assert flagged_checks(diagnose_curves(study, saturation_fraction=0.2)) == {"t000": []}


def test_flagged_checks_needs_the_diagnostics_table():
    with pytest.raises(ValueError) as error:
        flagged_checks(pd.DataFrame({"trial_id": [], "check": []}))
    assert str(error.value) == ("diagnostics must be diagnose_curves' table; missing "
                                "['flagged', 'reason', 'threshold', 'value']")


# ------------------------------------------- edges found by mutation testing (make mutation)
def test_rows_that_cannot_be_checked_keep_their_neutral_values():
    study = make_study(make_trials({"learning_rate": LRS[:3]}, [1, 2, 3], ["infeasible"] * 3),
                       [LR])
    _assert_row(_only_row(study), n_best_near_low=0, n_best_near_high=0, best_value=NAN,
                unstable_beyond=NAN, n_infeasible_beyond=0, suggested_low=1e-4,
                suggested_high=0.1, instability="none")


def test_an_infeasible_trial_at_the_last_feasible_value_is_not_beyond_it():
    values = LRS + [LRS[6], LRS[3]]
    status = ["completed"] * 7 + ["infeasible"] * 3 + ["infeasible", "infeasible"]
    study = make_study(make_trials({"learning_rate": values}, list(EXPONENTS) + [0, 0],
                                   status), [LR])
    _assert_row(_only_row(study), instability="high", n_infeasible_beyond=3,
                unstable_beyond=0.01)
    low_values = LRS + [LRS[3]]
    low_status = ["infeasible"] * 3 + ["completed"] * 7 + ["infeasible"]
    study = make_study(make_trials({"learning_rate": low_values}, list(-EXPONENTS) + [0],
                                   low_status), [LR])
    _assert_row(_only_row(study), instability="low", n_infeasible_beyond=3,
                unstable_beyond=0.001)


def test_instability_and_an_edge_on_the_other_side_give_both_reasons():
    status = ["completed"] * 7 + ["infeasible"] * 3
    study = make_study(make_trials({"learning_rate": LRS}, -np.abs(EXPONENTS + 3), status),
                       [LR])
    row = _only_row(study, edge_fraction=0.45)
    _assert_row(row, n_best=3, n_best_near_low=3, edge="low", instability="high",
                status="instability", suggested_low=1e-5)
    assert row["reason"].endswith(
        " of that value; majority rule: 3 of the 3 best trials lie in the outer 45% of the "
        "range at the low "
        "edge ([0.0001, 0.1], log scale)")
    assert row["action"].endswith(
        " instead of expanding the range there; expand learning_rate to [1e-05, 0.1] (log "
        "scale) and rerun until the best trials are not near a boundary")


def test_at_the_natural_high_bound_of_a_unit_interval_name():
    momentum = hp("momentum", "linear", 0.5, 0.999)
    study = make_study(make_trials({"momentum": [0.999, 0.99, 0.95, 0.6, 0.5]},
                                   [5, 4, 3, 2, 1]), [momentum])
    _assert_row(_only_row(study), edge="high", status="at bound", suggested_high=0.999,
                action="the best trials sit at the natural bound 0.999 of momentum; there is "
                       "nothing to extend")


def test_discrete_values_at_the_start_of_the_list_get_the_previous_value():
    batch = hp("batch_size", "discrete", values=[32, 64, 128, 256])
    study = make_study(make_trials({"batch_size": [32, 64, 128, 256, 32, 64]},
                                   [4, 3, 2, 1, 4.5, 3.5]), [batch])
    _assert_row(_only_row(study), edge="low", suggested_low=16.0, suggested_high=256.0,
                action="add 16 to the values of batch_size and rerun until the best trials "
                       "are not at an end of the list")


def test_boundary_check_errors_and_rows_around_a_categorical():
    optimizer = hp("optimizer", "categorical", values=["adam", "sgd"])
    trials = make_trials({"optimizer": ["adam", "sgd", "adam", "sgd"],
                          "width": [12.0, 12.0, 15.0, 18.0]}, [4, 3, 2, 1])
    study = make_study(trials, [optimizer, WIDTH])
    assert list(boundary_check(study)["name"]) == ["width"]
    only_categorical = make_study(make_trials({"optimizer": ["adam", "sgd"]}, [1, 2]),
                                  [optimizer])
    empty = boundary_check(only_categorical)
    assert (len(empty), list(empty.columns)) == (0, list(boundary_check(study).columns))
    for kwargs, message in ((dict(top_fraction=0), "top_fraction=0 is not allowed; use a "
                             "number in (0.0, 1.0]"),
                            (dict(edge_fraction=0), "edge_fraction=0 is not allowed; use a "
                             "number in (0.0, 1.0)"),
                            (dict(edge_fraction=1.0), "edge_fraction=1.0 is not allowed; use a "
                             "number in (0.0, 1.0)"),
                            (dict(edge_fraction=0.5), "edge_fraction=0.5 is not allowed; use a "
                             "number in (0.0, 0.5): both edges together must leave a middle")):
        with pytest.raises(ValueError) as error:
            boundary_check(study, **kwargs)
        assert str(error.value) == message


def test_search_range_of_a_categorical_is_what_was_sampled():
    categorical = Hyperparameter("w", scale="categorical", values=(1, 2))
    assert search_range(categorical, [5.0, 7.0]) == (5.0, 7.0, "sampled")


def test_masks_read_text_objectives_as_missing():
    trials = pd.DataFrame({"status": ["completed", "completed"], "objective": ["0.5", "n/a"]})
    assert feasible_mask(trials).tolist() == [True, False]
    assert infeasible_mask(trials).tolist() == [False, True]


def test_flags_at_exactly_their_threshold_are_not_raised():
    overfit = _checks(OVERFIT)
    linear = _checks(LINEAR)
    at_limit = resolve_thresholds(overfitting_tolerance=overfit["overfitting"][1],
                                  variance_threshold=overfit["high_variance"][1])
    assert _flags(_checks(OVERFIT, th=at_limit))[:2] == (False, False)
    at_gain = resolve_thresholds(improving_threshold=linear["still_improving"][1])
    assert _flags(_checks(LINEAR, th=at_gain))[2] is False


def test_best_step_exactly_at_three_quarters_is_late():
    steps = np.arange(50, 1001, 50, dtype=float)
    values = np.minimum(steps / 750, 1.0)
    out = _curve_checks(steps, values, 1.0, 1000.0, CURVE_THRESHOLDS, "accuracy")
    assert out["best_step_late"][:3] == (True, 0.75, 0.75)


def test_a_point_exactly_within_the_tolerance_is_the_effective_best():
    out = _checks([0.0, 0.99, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    assert out["best_step_early"][1] == 0.2


def test_four_evaluations_measure_the_noise():
    out = _checks([0.0, 1.0, 0.5, 1.0])
    noise = np.std([1.0, -0.5, 0.5], ddof=1) / math.sqrt(2)
    assert out["high_variance"][:3] == (True, pytest.approx(noise), 0.05)
    three = _checks([0.0, 1.0, 0.5])
    assert three["saturated"][3].startswith("best checkpoint (within 1% of the best gain) at "
                                            "step 200 = 20% of training")


def test_a_flat_curve_reports_the_default_tolerance():
    out = _checks([0.5] * 10)
    assert out["best_step_early"][3] == ("best checkpoint (within 1% of the best gain) at step "
                                         "100 = 10% of training; flag in the first 10% "
                                         "(playbook)")


def test_still_improving_uses_the_evaluations_in_the_last_tenth():
    steps = np.arange(25, 1001, 25, dtype=float)              # 40 evaluations
    values = np.where(steps <= 925, steps / 1000, 0.925 + (steps - 925) / 250)
    out = _curve_checks(steps, values, 1.0, 1000.0, CURVE_THRESHOLDS, "accuracy")
    q = (values - values[0]) / (values.max() - values[0])
    frac = steps / 1000
    window = frac >= 0.9
    assert window.sum() == 5
    expected = np.polyfit(frac[window], q[window], 1)[0] * 0.1
    assert out["still_improving"][1] == pytest.approx(expected, rel=1e-9)


def test_slope():
    from playbook_kit.insight.curves import _slope
    assert _slope(np.array([1.0, 2.0]), np.array([1.0, 3.0])) == pytest.approx(2.0)
    assert _slope(np.array([0.0, 1.0]), np.array([0.0, 5.0])) == pytest.approx(5.0)
    assert _slope(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])) == 0.0
    assert _slope(np.array([1.0]), np.array([1.0])) == 0.0


def test_training_loss_rising_reads_the_median_of_the_last_three():
    th = resolve_thresholds(rising_tolerance=0.25)
    out = _rising_check(STEPS[:6], np.array([4.5, 2.5, 0.5, 0.5, 1.5, 2.5]), th)
    assert out[:2] == (False, 0.25)


def test_diagnose_curves_reasons_for_each_status():
    curves = pd.concat([_rows("t000", [0.1, 0.2, 0.3], steps=STEPS[:3]),
                        _rows("t000", [1.0, 0.5, 0.4], "train", "loss", steps=STEPS[:3])])
    study = _curve_study(curves, ["completed", "failed", "infeasible", "infeasible"],
                         [0.3, np.nan, np.nan, np.nan], reason=["", "", np.nan, "diverged"])
    table = diagnose_curves(study).set_index(["trial_id", "check"])
    reasons = table["reason"]
    assert reasons["t000", "infeasible"] == "infeasible: trial completed"
    assert reasons["t001", "infeasible"] == "infeasible: trial is failed"
    assert reasons["t002", "infeasible"] == "infeasible: trial is infeasible"
    assert reasons["t003", "infeasible"] == "infeasible: trial is infeasible: diverged"
    assert reasons["t000", "overfitting"] == (
        "overfitting: validation accuracy ends 0% of its total gain below its best (3-point "
        "running medians; flag above 5%)")
    assert bool(table["flagged"]["t000", "saturated"]) is True      # 3 evaluations suffice
    assert list(flagged_checks(diagnose_curves(study))) == ["t000", "t001", "t002", "t003"]


def test_flagged_checks_keeps_the_table_order():
    table = pd.DataFrame({"trial_id": ["b", "b", "a"], "check": ["saturated", "overfitting",
                                                                 "overfitting"],
                          "flagged": pd.array([True, True, pd.NA], dtype="boolean"),
                          "value": 0.0, "threshold": 0.0, "reason": ""})
    assert list(flagged_checks(table).items()) == [("b", ["overfitting", "saturated"]),
                                                   ("a", [])]


def test_best_trials_exactly_edge_fraction_from_the_last_feasible_value_count():
    values = [16.0, 14.0, 14.0, 11.0, 17.0, 18.0, 19.0]
    status = ["completed"] * 4 + ["infeasible"] * 3
    study = make_study(make_trials({"width": values}, [4, 3, 3, 1, 0, 0, 0], status), [WIDTH])
    _assert_row(_only_row(study), instability="high", unstable_beyond=16.0,
                n_infeasible_beyond=3)


def test_a_failed_trial_is_flagged_infeasible():
    study = _curve_study(_rows("t000", LINEAR), ["completed", "failed"], [1.0, np.nan])
    assert flagged_checks(diagnose_curves(study))["t001"] == ["infeasible"]
