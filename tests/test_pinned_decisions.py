"""Pinned known answers for the retrain-variance summary and the adoption decision
(playbook section 5). Constant runs give closed-form intervals; the t and Welch intervals,
the minimum detectable gain and the suggested runs are checked against their formulas
(Student t, Welch-Satterthwaite, noncentral t); the legacy bootstrap against its
definition (percentile bootstrap of means, ``numpy.random.default_rng(seed)``)."""
import math
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nct, t

from playbook_kit.decisions.adoption import (DEFAULT_N_BOOT, MAX_SUGGESTED_RUNS, MIN_N_BOOT,
                                             adoption_decision)
from playbook_kit.decisions.retrain_variance import (mean_interval, retrain_summary,
                                                     runs_from_study)

TAIL = ("the whole 95% Welch t interval of gain minus complexity cost is at or below 0). ")


def _boot_means(values, n_boot, rng):
    values = np.asarray(values, dtype=float)
    return values[rng.integers(0, values.size, size=(n_boot, values.size))].mean(axis=1)


def test_defaults_of_the_bootstrap():
    assert (DEFAULT_N_BOOT, MIN_N_BOOT, MAX_SUGGESTED_RUNS) == (10_000, 100, 1000)


def test_retrain_summary_is_the_t_interval_of_the_mean():
    values = [0.90, 0.93, 0.94, 0.97]
    summary = retrain_summary(values, confidence=0.9)
    # 0.935 +- t(0.95, 3) * 0.028867513 / 2, t(0.95, 3) = 2.353363
    half = 2.353363435 * 0.028867513 / 2
    assert summary.as_dict() == {
        "n": 4, "mean": pytest.approx(0.935), "std": pytest.approx(0.028867513, rel=1e-6),
        "min": 0.90, "max": 0.97, "ci_low": pytest.approx(0.935 - half, rel=1e-8),
        "ci_high": pytest.approx(0.935 + half, rel=1e-8), "confidence": 0.9,
        "direction": "max"}


def test_mean_interval_of_two_runs_uses_one_degree_of_freedom():
    # 1.5 +- t(0.975, 1) * 0.70710678 / sqrt(2) = 1.5 +- 12.706205 * 0.5
    assert mean_interval(1.5, math.sqrt(0.5), 2) == (pytest.approx(1.5 - 6.3531024),
                                                     pytest.approx(1.5 + 6.3531024))
    assert all(map(math.isnan, mean_interval(1.5, float("nan"), 1)))
    assert all(map(math.isnan, mean_interval(1.5, 0.1, 1)))
    assert mean_interval(2.0, 0.0, 3) == (2.0, 2.0)


def test_retrain_summary_of_identical_runs_has_a_zero_width_interval():
    summary = retrain_summary([0.5, 0.5, 0.5], direction="min")
    assert (summary.n, summary.mean, summary.std, summary.ci_low, summary.ci_high,
            summary.direction) == (3, 0.5, 0.0, 0.5, 0.5, "min")


def test_retrain_summary_of_one_run_has_no_variance():
    summary = retrain_summary([0.8])
    assert (summary.n, summary.mean, summary.min, summary.max) == (1, 0.8, 0.8, 0.8)
    assert math.isnan(summary.std) and math.isnan(summary.ci_low) and math.isnan(summary.ci_high)


@pytest.mark.parametrize("kwargs, message", [
    (dict(direction="up"), "direction='up' is not allowed; use 'max' when a higher objective is better, 'min' when lower is"),
    (dict(confidence=0.0), "confidence=0.0 is not allowed; use a number in (0.0, 1.0) (e.g. "
     "0.95 for a 95% interval)"),
    (dict(confidence=1.0), "confidence=1.0 is not allowed; use a number in (0.0, 1.0) (e.g. "
     "0.95 for a 95% interval)"),
    (dict(confidence=True), "confidence=True is not allowed; use a number in (0.0, 1.0) (e.g. "
     "0.95 for a 95% interval)"),
    (dict(confidence="0.9"), "confidence='0.9' is not allowed; use a number in (0.0, 1.0) "
     "(e.g. 0.95 for a 95% interval)"),
])
def test_retrain_summary_rejects_bad_settings_by_name(kwargs, message):
    with pytest.raises(ValueError) as error:
        retrain_summary([1.0, 2.0], **kwargs)
    assert str(error.value) == message


def test_smallest_allowed_settings_are_accepted():
    summary = retrain_summary([1.0, 1.0], confidence=0.5)
    assert (summary.confidence, summary.ci_low, summary.ci_high) == (0.5, 1.0, 1.0)


@pytest.mark.parametrize("values, message", [
    ("0.9", "values='0.9' is not allowed; use a sequence of objective values (one finite "
     "number per run), e.g. a list, numpy array or pandas Series"),
    ({"a": 1.0}, "values={'a': 1.0} is not allowed; use a sequence of objective values (one "
     "finite number per run), e.g. a list, numpy array or pandas Series"),
    ([1.0, "x"], "values=[1.0, 'x'] is not allowed; use a sequence of numbers (one objective "
     "value per run)"),
    ([[1.0, 2.0]], "values=[[1.0, 2.0]] is not allowed; use a one-dimensional sequence (one "
     "objective value per run); got shape (1, 2)"),
    ([], "values=[] is not allowed; it is empty; give at least one run's objective value"),
])
def test_values_are_checked_before_any_work(values, message):
    with pytest.raises(ValueError) as error:
        retrain_summary(values)
    assert str(error.value) == message


def test_the_first_value_that_is_not_finite_is_named_with_its_position():
    with pytest.raises(ValueError) as error:
        retrain_summary([1.0, 2.0, float("inf"), float("nan")])
    assert str(error.value).startswith("values=[1.0, 2.0, inf, nan] is not allowed; value ")
    assert str(error.value).endswith(
        "inf) at position 2 is not finite; every run needs a finite objective value (drop "
        "infeasible runs, and count them against the config)")


def test_clear_gain_above_its_cost_is_adopted():
    decision = adoption_decision([1, 1, 1], [2, 2, 2], complexity_cost=0.5)
    assert (decision.recommendation, decision.adopt) == ("adopt", True)
    assert (decision.difference, decision.ci_low, decision.ci_high, decision.net_ci_low,
            decision.net_ci_high, decision.prob_better, decision.prob_worth_it,
            decision.complexity_cost, decision.suggested_runs,
            decision.min_detectable_gain) == (1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 0.5, None, 0.5)
    assert decision.reason == (
        "Adopt: the whole 95% Welch t interval of gain minus complexity cost is above 0, so "
        "the gain outweighs both retrain variances and the added complexity. gain 1 (95% CI "
        "[1, 1]) minus complexity cost 0.5 = 0.5 (95% CI [0.5, 0.5]); confidence that the "
        "candidate is better 1.00.")


def test_gain_equal_to_its_cost_keeps_the_baseline():
    decision = adoption_decision([1, 1, 1], [2, 2, 2], complexity_cost=1.0)
    assert (decision.recommendation, decision.adopt, decision.net_ci_low,
            decision.net_ci_high, decision.prob_worth_it) == ("keep baseline", False,
                                                              0.0, 0.0, 0.5)
    assert decision.reason == (
        "Keep baseline: the candidate is better, but by less than its complexity cost ("
        + TAIL + "gain 1 (95% CI [1, 1]) minus complexity cost 1 = 0 (95% CI [0, 0]); "
        "confidence that the candidate is better 1.00.")


def test_no_gain_keeps_the_baseline_and_ties_count_half():
    decision = adoption_decision([1, 1, 1], [1, 1, 1])
    assert (decision.recommendation, decision.prob_better, decision.prob_worth_it) == (
        "keep baseline", 0.5, 0.5)
    assert decision.reason.startswith(
        "Keep baseline: the candidate's gain does not exceed its complexity cost (" + TAIL)


def test_worse_candidate_keeps_the_baseline():
    decision = adoption_decision([2, 2, 2], [1, 1, 1])
    assert (decision.difference, decision.prob_better) == (-1.0, 0.0)
    assert decision.reason == (
        "Keep baseline: the candidate is worse than the baseline (" + TAIL + "gain -1 "
        "(95% CI [-1, -1]) minus complexity cost 0 = -1 (95% CI [-1, -1]); confidence that "
        "the candidate is better 0.00.")


def test_lower_is_better_flips_the_sign_of_the_gain():
    decision = adoption_decision([2, 2, 2], [1, 1, 1], direction="min")
    assert (decision.recommendation, decision.difference, decision.ci_low,
            decision.direction, decision.baseline.direction) == ("adopt", 1.0, 1.0,
                                                                 "min", "min")


def _power(net, var_baseline, var_candidate, n, confidence=0.95):
    """Welch's one-sided test with n runs a side: how often it resolves a true net gain
    ``net`` (noncentral t beyond the critical value, Welch-Satterthwaite df)."""
    se = math.sqrt((var_baseline + var_candidate) / n)
    df = (n - 1) * (var_baseline + var_candidate) ** 2 / (var_baseline ** 2
                                                           + var_candidate ** 2)
    return nct.sf(t.ppf(0.5 + confidence / 2, df), df, abs(net) / se)


def test_overlapping_runs_are_inconclusive_with_a_suggested_number_of_runs():
    decision = adoption_decision([0, 1, 2], [1, 2, 3])
    # gain 1, se = sqrt(1/3 + 1/3), df = (2/3)^2 / (2 * (1/3)^2 / 2) = 4, t(0.975, 4) = 2.776445
    half = 2.7764451 * math.sqrt(2 / 3)
    assert decision.recommendation == "inconclusive: run more seeds"
    assert (decision.ci_low, decision.ci_high) == (pytest.approx(1 - half),
                                                   pytest.approx(1 + half))
    # one-sided: t(4) cdf at 1 / sqrt(2/3) = 1.2247 -> 0.85607
    assert decision.prob_better == pytest.approx(0.856068, abs=1e-6)
    # 17 runs a side resolve a net gain of 1 at variances 1 and 1 with 80% power, 16 do not
    # (a normal approximation: ((1.96 + 0.84) * sqrt(2) / 1)^2 = 15.7)
    assert _power(1, 1, 1, 17) >= 0.8 > _power(1, 1, 1, 16)
    assert decision.suggested_runs == 17
    # the minimum detectable gain: the shift the noncentral t(4) puts 80% beyond t(0.975, 4)
    shift = decision.min_detectable_gain / math.sqrt(2 / 3)
    assert nct.sf(2.7764451, 4, shift) == pytest.approx(0.8, abs=1e-7)
    assert decision.min_detectable_gain == pytest.approx(3.07089, abs=1e-5)
    assert decision.reason == (
        "Inconclusive: the 95% Welch t interval of gain minus complexity cost spans 0, so the "
        "difference is within retrain variance. gain 1 (95% CI [-1.267, 3.267]) minus "
        "complexity cost 0 = 1 (95% CI [-1.267, 3.267]); confidence that the candidate is "
        "better 0.86. With 3 baseline and 3 candidate runs at this spread, the rule adopts "
        "80% of the time a true gain of 3.071 (its minimum detectable gain, complexity cost "
        "included). Run more seeds of both configs: about 17 per config would resolve a net "
        "gain of this size (1) 80% of the time at the observed spread (a plan, not a promise: "
        "the observed gain is uncertain too); decide once, with all of them. Or accept the "
        "risk (certainty is not required; a lower `confidence` trades it for fewer runs).")
    assert decision.baseline.n == decision.candidate.n == 3


def test_minimum_detectable_gain_with_many_runs_is_2_8_standard_errors():
    """For many runs the noncentral t is normal: 1.96 + 0.84 = 2.80 standard errors."""
    rng = np.random.default_rng(0)
    baseline, candidate = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    decision = adoption_decision(baseline, candidate, complexity_cost=0.25)
    se = math.sqrt(baseline.var(ddof=1) / 400 + candidate.var(ddof=1) / 400)
    assert decision.min_detectable_gain - 0.25 == pytest.approx(2.801585 * se, rel=2e-3)
    free = adoption_decision(baseline, candidate)
    assert decision.min_detectable_gain == pytest.approx(free.min_detectable_gain + 0.25)


def test_minimum_detectable_gain_is_unknown_with_one_run_and_the_cost_without_spread():
    one = adoption_decision([1.0], [1.0, 2.0, 3.0])
    assert math.isnan(one.min_detectable_gain) and "minimum detectable" not in one.reason
    flat = adoption_decision([1, 1, 1], [1, 1, 1], complexity_cost=0.25)
    assert flat.min_detectable_gain == 0.25 and "minimum detectable" not in flat.reason


def test_legacy_rule_is_the_percentile_bootstrap_of_the_gain():
    decision = adoption_decision([0, 1, 2], [1, 2, 3], n_boot=1000, seed=3,
                                 method="percentile_bootstrap")
    rng = np.random.default_rng(3)
    gain = _boot_means([1, 2, 3], 1000, rng) - _boot_means([0, 1, 2], 1000, rng)
    low, high = np.quantile(gain, [0.025, 0.975])
    assert decision.recommendation == "inconclusive: run more seeds"
    assert (decision.ci_low, decision.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert decision.prob_better == pytest.approx(np.mean(gain > 0) + 0.5 * np.mean(gain == 0))
    assert (decision.method, decision.n_boot) == ("percentile_bootstrap", 1000)
    assert decision.reason.startswith(
        "Inconclusive: the 95% percentile bootstrap interval of gain minus complexity cost "
        "spans 0")


def test_welch_degrees_of_freedom_with_unequal_spreads_and_sizes():
    # var/n: 1/3 and 4/5 (variance 4, 5 runs); df = (1/3 + 4/5)^2 / ((1/3)^2/2 + (4/5)^2/4)
    baseline, candidate = [0.0, 1.0, 2.0], [0.0, 2.0, 4.0, 0.0, 4.0]
    decision = adoption_decision(baseline, candidate)
    var = (1 / 3, 4 / 5)
    df = sum(var) ** 2 / (var[0] ** 2 / 2 + var[1] ** 2 / 4)
    assert df == pytest.approx(5.9588, abs=1e-4)
    half = t.ppf(0.975, df) * math.sqrt(sum(var))
    assert (decision.ci_low, decision.ci_high) == (pytest.approx(1.0 - half),
                                                   pytest.approx(1.0 + half))


def test_suggested_runs_at_a_lower_confidence_and_at_most_1000():
    few = adoption_decision([0, 1, 2], [0.2, 1.2, 2.2], n_boot=100, confidence=0.5)
    many = adoption_decision([0, 1, 2], [0, 1, 2.001], n_boot=100)
    assert few.recommendation == many.recommendation == "inconclusive: run more seeds"
    # one-sided 25% test: ((0.674 + 0.842) * sqrt(2) / 0.2)^2 = 114.9, 116 with t's tails
    assert _power(0.2, 1, 1, 116, confidence=0.5) >= 0.8 > _power(0.2, 1, 1, 115,
                                                                 confidence=0.5)
    assert _power(0.001, 1, 1.000333, 1000) < 0.8
    assert (few.suggested_runs, many.suggested_runs) == (116, 1000)
    assert "Even 1000 runs per config would resolve a net gain of this size (0.0003333) less " \
           "than 80% of the time at the observed spread: it is too small to matter" in many.reason
    assert (adoption_decision([0, 1, 2], [4, 5, 6], confidence=0.5, min_runs=3).recommendation
            == "adopt")


@pytest.mark.parametrize("baseline, candidate, side", [
    ([1, 1], [2, 2, 2], "the baseline side"), ([1, 1, 1], [2, 2], "the candidate side"),
    ([1, 1], [2, 2], "both sides")])
def test_fewer_runs_than_min_runs_is_inconclusive(baseline, candidate, side):
    decision = adoption_decision(baseline, candidate)
    assert decision.recommendation == "inconclusive: run more seeds"
    assert decision.suggested_runs is None
    assert decision.reason.startswith(
        f"Inconclusive: {len(baseline)} baseline and {len(candidate)} candidate runs, "
        f"fewer than min_runs=3 on {side}; retrain variance is not measured yet. Rerun "
        "each config with at least 3 seeds. So far: gain 1 (95% CI [1, 1])")


def test_min_runs_of_2_decides_with_two_runs():
    assert adoption_decision([1, 1], [2, 2], min_runs=2).recommendation == "adopt"


@pytest.mark.parametrize("kwargs, message", [
    (dict(complexity_cost=-0.1), "complexity_cost=-0.1 is not allowed; use a number >= 0.0 "
     "(in objective units: the gain the added complexity must buy; 0 for none)"),
    (dict(complexity_cost=float("inf")), "complexity_cost=inf is not allowed; use a number "
     ">= 0.0 (in objective units: the gain the added complexity must buy; 0 for none)"),
    (dict(complexity_cost=True), "complexity_cost=True is not allowed; use a number >= 0.0 "
     "(in objective units: the gain the added complexity must buy; 0 for none)"),
    (dict(min_runs=1), "min_runs=1 is not allowed; use an integer >= 2 (one run per config "
     "shows no retrain variance; toolkit default 3)"),
    (dict(min_runs=True), "min_runs=True is not allowed; use an integer >= 2 (one run per "
     "config shows no retrain variance; toolkit default 3)"),
    (dict(min_runs=3.0), "min_runs=3.0 is not allowed; use an integer >= 2 (one run per "
     "config shows no retrain variance; toolkit default 3)"),
    (dict(objective_name=" "), "objective_name=' ' is not allowed; use a non-empty string"),
    (dict(objective_name=3), "objective_name=3 is not allowed; use a non-empty string"),
    (dict(direction="best"), "direction='best' is not allowed; use 'max' when a higher objective is better, 'min' when lower is"),
    (dict(seed=-2), "seed=-2 is not allowed; use an integer >= 0, or None (None for a fresh, "
     "irreproducible bootstrap)"),
])
def test_adoption_decision_rejects_bad_settings_by_name(kwargs, message):
    with pytest.raises(ValueError) as error:
        adoption_decision([1, 2, 3], [2, 3, 4], **kwargs)
    assert str(error.value) == message


def test_adoption_decision_names_the_side_with_bad_values():
    with pytest.raises(ValueError, match=r"^baseline_values=\[\] is not allowed; it is empty"):
        adoption_decision([], [1, 2, 3])
    with pytest.raises(ValueError, match=r"^candidate_values='x' is not allowed; use a sequence"):
        adoption_decision([1, 2, 3], "x")


def test_decision_keeps_its_settings_and_summaries():
    decision = adoption_decision([1, 2, 3], [2, 3, 4], complexity_cost=0, min_runs=3,
                                 confidence=0.8, n_boot=200, seed=None,
                                 objective_name="val_accuracy")
    assert (decision.confidence, decision.min_runs, decision.n_boot, decision.objective_name,
            decision.complexity_cost, decision.baseline.mean, decision.candidate.mean,
            decision.baseline.confidence, decision.method) == (
        0.8, 3, None, "val_accuracy", 0.0, 2.0, 3.0, 0.8, "welch_t")
    legacy = adoption_decision([1, 2, 3], [2, 3, 4], n_boot=200, seed=None,
                               method="percentile_bootstrap")
    assert (legacy.n_boot, legacy.method) == (200, "percentile_bootstrap")
    assert isinstance(decision.complexity_cost, float) and isinstance(decision.min_runs, int)


def test_summaries_inside_the_decision_are_the_retrain_summaries():
    decision = adoption_decision([0.9, 0.92, 0.95], [0.91, 0.94, 0.97], n_boot=300, seed=4)
    assert decision.candidate == retrain_summary([0.91, 0.94, 0.97])
    assert decision.baseline == retrain_summary([0.9, 0.92, 0.95])


def _study(rows):
    return SimpleNamespace(name="s", runs=pd.DataFrame(
        rows, columns=["trial_id", "seed", "status", "objective"]))


def test_runs_from_study_orders_by_seed_and_warns_about_dropped_runs():
    study = _study([("1", 2, "completed", 0.7), ("1", 0, "completed", 0.9),
                    ("1", 1, "infeasible", np.nan), ("1", 3, "completed", np.nan),
                    ("2", 0, "completed", 0.1)])
    with pytest.warns(UserWarning) as caught:
        values = runs_from_study(study, 1)
    assert values.tolist() == [0.9, 0.7]
    assert str(caught[0].message) == (
        "trial 1: 2 of 4 runs dropped (not completed or no finite objective): "
        "[{'seed': 1, 'status': 'infeasible'}, {'seed': 3, 'status': 'completed'}]. A "
        "config that is infeasible on some seeds is less reliable than its mean suggests.")


def test_runs_from_study_with_every_run_completed_does_not_warn():
    study = _study([("a", 1, "completed", "0.5"), ("a", 0, "completed", 0.25)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert runs_from_study(study, "a").tolist() == [0.25, 0.5]


def test_runs_from_study_errors_name_what_is_missing():
    with pytest.raises(ValueError) as error:
        runs_from_study(SimpleNamespace(runs=None), "1")
    assert str(error.value) == (
        "study=namespace(runs=None): must be a StudyResults with a `runs` DataFrame (one "
        "row per (trial, seed) run)")
    with pytest.raises(ValueError) as error:
        runs_from_study(SimpleNamespace(runs=pd.DataFrame({"trial_id": [], "seed": []})), 1)
    assert str(error.value) == (
        "study.runs: missing columns ['objective', 'status']; the results contract needs "
        "trial_id, seed, status, objective")
    many = _study([(str(i), 0, "completed", 0.5) for i in range(12)])
    with pytest.raises(ValueError) as error:
        runs_from_study(many, "x")
    assert str(error.value) == (
        "trial_id='x': no runs in study 's'; trials with runs: ['0', '1', '10', '11', '2', "
        "'3', '4', '5', '6', '7', '...']")
    few = _study([("1", 0, "completed", 0.5)])
    with pytest.raises(ValueError, match=r"trials with runs: \['1'\]$"):
        runs_from_study(few, "x")
    failed = _study([("1", 0, "failed", np.nan)])
    with pytest.warns(UserWarning), pytest.raises(ValueError) as error:
        runs_from_study(failed, "1")
    assert str(error.value) == (
        "trial_id='1': none of its 1 runs completed with a finite objective; there is no "
        "retrain variance to measure")


# ------------------------------------------- edges found by mutation testing (make mutation)
def test_defaults_are_seed_0_and_the_name_objective():
    decision = adoption_decision([0.9, 0.92, 0.95], [0.91, 0.94, 0.97], n_boot=200)
    assert decision == adoption_decision([0.9, 0.92, 0.95], [0.91, 0.94, 0.97], n_boot=200,
                                         seed=0)
    assert decision.objective_name == "objective"
    assert retrain_summary([1.0, 2.0, 4.0]).confidence == 0.95


def test_a_cost_the_candidate_does_not_beat_is_not_called_better():
    decision = adoption_decision([1, 1, 1], [1, 1, 1], complexity_cost=0.5)
    assert decision.recommendation == "keep baseline"
    assert decision.reason.startswith(
        "Keep baseline: the candidate's gain does not exceed its complexity cost (")


def test_suggested_runs_use_the_gain_net_of_its_cost():
    decision = adoption_decision([0, 1, 2], [1, 2, 3], complexity_cost=0.5, n_boot=1000)
    assert decision.recommendation == "inconclusive: run more seeds"
    assert _power(0.5, 1, 1, 64) >= 0.8 > _power(0.5, 1, 1, 63)
    assert decision.suggested_runs == 64


def test_suggested_runs_with_one_side_without_spread():
    decision = adoption_decision([0, 1, 2], [1.5, 1.5, 1.5], n_boot=1000)
    assert decision.recommendation == "inconclusive: run more seeds"
    # variances 1 and 0: df = n - 1, se = 1 / sqrt(n)
    assert _power(0.5, 1, 0, 34) >= 0.8 > _power(0.5, 1, 0, 33)
    assert decision.suggested_runs == 34


def test_no_suggestion_when_the_net_gain_is_zero():
    decision = adoption_decision([0, 1, 2], [0, 1, 2], n_boot=1000)
    assert (decision.recommendation, decision.suggested_runs) == (
        "inconclusive: run more seeds", None)
    assert decision.reason.endswith(
        "Run more seeds of both configs, or accept the risk (certainty is not required; a "
        "lower `confidence` trades it for fewer runs).")


def test_runs_from_study_edges():
    ten = _study([(str(i), 0, "completed", 0.5) for i in range(10)])
    with pytest.raises(ValueError, match=r"'7', '8', '9'\]$"):
        runs_from_study(ten, "x")
    eleven = _study([(str(i), 0, "completed", 0.5) for i in range(11)])
    with pytest.raises(ValueError, match=r"'7', '8', '...'\]$"):
        runs_from_study(eleven, "x")
    nameless = SimpleNamespace(runs=_study([("1", 0, "completed", 0.5)]).runs)
    with pytest.raises(ValueError, match=r"^trial_id='x': no runs in study '\?'; "):
        runs_from_study(nameless, "x")
    integers = _study([("1", 0, "completed", 1), ("1", 1, "completed", 2)])
    assert runs_from_study(integers, "1").dtype == np.float64
    text = _study([("1", 0, "completed", "0.5"), ("1", 1, "completed", "n/a")])
    with pytest.warns(UserWarning, match=r"^trial '1': 1 of 2 runs dropped"):
        assert runs_from_study(text, "1").tolist() == [0.5]
