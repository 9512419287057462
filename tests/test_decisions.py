"""Retrain variance and adoption decisions on synthetic runs with known answers."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import bootstrap, t, ttest_ind  # noqa: E402

from playbook_kit.decisions.adoption import (  # noqa: E402
    ADOPTION_RULE, RECOMMENDATIONS, AdoptionDecision, adoption_decision)
from playbook_kit.decisions.retrain_variance import (  # noqa: E402
    RetrainSummary, plot_retrain_variance, retrain_summary, runs_from_study)
from playbook_kit.results.study_results import RUN_COLUMNS, StudyResults  # noqa: E402

N_BOOT = 2000  # enough for these clear-cut cases, small enough to keep tests fast

BASELINE = [0.800, 0.805, 0.795, 0.802, 0.798]           # mean 0.800, std ~0.0038
CLEAR_WIN = [0.850, 0.855, 0.845, 0.852, 0.848]          # +0.05, ~13 std
CLEAR_LOSS = [0.750, 0.755, 0.745, 0.752, 0.748]         # -0.05
OVERLAP = [0.801, 0.812, 0.790, 0.806, 0.796]            # +0.001, inside the spread
SMALL_WIN = [0.810, 0.815, 0.805, 0.812, 0.808]          # +0.01, clearly above noise


# ----------------------------------------------------------------- retrain_summary

def test_retrain_summary_known_statistics():
    s = retrain_summary([1.0, 2.0, 3.0, 4.0])
    assert isinstance(s, RetrainSummary)
    assert s.n == 4 and s.mean == 2.5 and s.min == 1.0 and s.max == 4.0
    assert s.std == pytest.approx(math.sqrt(5 / 3))  # ddof=1
    # t interval: 2.5 +- t(0.975, 3) * sqrt(5/3) / 2, t(0.975, 3) = 3.182446
    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert (s.ci_low, s.ci_high) == (pytest.approx(2.5 - half, abs=1e-6),
                                     pytest.approx(2.5 + half, abs=1e-6))
    assert s["mean"] == 2.5 and s.as_dict()["n"] == 4
    assert "| runs | 4 | 2.5 |" in s.to_markdown()
    assert "95% t interval of mean" in s.to_markdown()


def test_retrain_summary_interval_is_scipy_t_interval():
    """Known answer: scipy's t interval of the mean (``scipy.stats.t.interval``)."""
    values = np.array(BASELINE)
    s = retrain_summary(values)
    expected = t.interval(0.95, values.size - 1, loc=values.mean(),
                          scale=values.std(ddof=1) / math.sqrt(values.size))
    assert (s.ci_low, s.ci_high) == (pytest.approx(expected[0], abs=1e-12),
                                     pytest.approx(expected[1], abs=1e-12))
    assert 0.7945 < s.ci_low < 0.800 < s.ci_high < 0.8055


def test_retrain_summary_interval_approaches_normal_theory_with_many_runs():
    """With 40 runs the t interval is mean +- 2.02 sd / sqrt(n), close to 1.96."""
    values = np.random.default_rng(1).normal(0.9, 0.01, size=40)
    s = retrain_summary(values)
    half = 2.022691 * values.std(ddof=1) / math.sqrt(values.size)
    assert s.ci_low == pytest.approx(values.mean() - half, rel=1e-6)
    assert s.ci_high == pytest.approx(values.mean() + half, rel=1e-6)
    narrow = retrain_summary(values, confidence=0.5)
    assert s.ci_low < narrow.ci_low < narrow.ci_high < s.ci_high


def test_retrain_summary_interval_covers_the_mean_at_its_confidence():
    """The calibration the toolkit relies on: 2,000 samples of 3 normal runs, the 95%
    interval covers the true mean 95% of the time (Monte Carlo error 0.5%)."""
    samples = np.random.default_rng(0).normal(0.0, 1.0, size=(2000, 3))
    covered = [(s.ci_low < 0 < s.ci_high) for s in map(retrain_summary, samples)]
    assert 0.94 < np.mean(covered) < 0.96


def test_retrain_summary_is_reproducible_and_single_run_has_no_interval():
    assert retrain_summary(BASELINE) == retrain_summary(BASELINE)
    one = retrain_summary([0.7])
    assert one.n == 1 and one.mean == 0.7
    assert math.isnan(one.std) and math.isnan(one.ci_low) and math.isnan(one.ci_high)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(values=[]), r"^values=\[\] is not allowed; it is empty"),
    (dict(values=[0.8, float("nan")]), r"^values=.* is not allowed; .*position 1 is not finite"),
    (dict(values=[0.8, float("inf")]), r"position 1 is not finite"),
    (dict(values="0.8"), r"^values='0.8' is not allowed; use a sequence"),
    (dict(values=[[0.8, 0.9]]), r"is not allowed; use a one-dimensional sequence"),
    (dict(values=[0.8], direction="maximize"),
     r"^direction='maximize' is not allowed; use 'max' .* 'min'"),
    (dict(values=[0.8], confidence=95),
     r"^confidence=95 is not allowed; use a number in \(0.0, 1.0\) \(e.g. 0.95"),
])
def test_retrain_summary_rejects_bad_input(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        retrain_summary(**kwargs)


# ---------------------------------------------------------------- runs_from_study

def _study():
    runs = pd.DataFrame([
        ("t1", 2, "completed", 0.81), ("t1", 0, "completed", 0.80),
        ("t1", 1, "completed", 0.82), ("t2", 0, "completed", 0.70),
        ("t2", 1, "infeasible", float("nan")), ("t3", 0, "failed", float("nan")),
    ], columns=["trial_id", "seed", "status", "objective"])
    for col in RUN_COLUMNS:
        if col not in runs:
            runs[col] = np.nan
    empty = pd.DataFrame()
    return StudyResults(name="s", trials=empty, curves=empty, hyperparameters=empty,
                        runs=runs[RUN_COLUMNS])


def test_runs_from_study_orders_by_seed():
    np.testing.assert_array_equal(runs_from_study(_study(), "t1"), [0.80, 0.82, 0.81])


def test_runs_from_study_drops_infeasible_runs_with_warning():
    with pytest.warns(UserWarning, match="1 of 2 runs dropped"):
        np.testing.assert_array_equal(runs_from_study(_study(), "t2"), [0.70])


def test_runs_from_study_errors():
    with pytest.raises(ValueError, match=r"trial_id='nope': no runs .*'t1', 't2', 't3'"):
        runs_from_study(_study(), "nope")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="none of its 1 runs"):
        runs_from_study(_study(), "t3")
    with pytest.raises(ValueError, match="StudyResults"):
        runs_from_study(object(), "t1")


# ----------------------------------------------------------- plot_retrain_variance

def test_plot_retrain_variance_draws_every_run():
    ax = plot_retrain_variance({"baseline": BASELINE, "candidate": CLEAR_WIN[:3]},
                               "val_accuracy", direction="max")
    fig = ax.figure
    try:
        assert fig.axes == [ax] and fig.get_layout_engine() is not None
        assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
        assert ax.get_title() == "Retrain variance of val_accuracy"
        assert ax.get_ylabel() == "val_accuracy (higher is better)"
        assert "seed" in ax.get_xlabel()
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        assert ticks == ["baseline\n(n=5)", "candidate\n(n=3)"]
        points = sum(len(c.get_offsets()) for c in ax.collections
                     if hasattr(c, "get_offsets"))
        assert points == 8
    finally:
        plt.close(fig)


def test_plot_retrain_variance_draws_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    try:
        assert plot_retrain_variance({"a": BASELINE}, "val_loss", "min", ax=right) is right
        assert right.get_ylabel() == "val_loss (lower is better)"
        assert left.get_ylabel() == "" and not left.collections
    finally:
        plt.close(fig)


def test_plot_retrain_variance_rejects_bad_groups():
    with pytest.raises(ValueError, match=r"^groups=\{\} is not allowed; use a non-empty dict"):
        plot_retrain_variance({}, "val_accuracy")
    with pytest.raises(ValueError, match=r"groups\['b'\]=.*not finite"):
        plot_retrain_variance({"a": [1.0], "b": [float("nan")]}, "val_accuracy")
    with pytest.raises(ValueError, match="objective_name"):
        plot_retrain_variance({"a": [1.0]}, "")
    assert not plt.get_fignums()  # validated before any figure was made


# ---------------------------------------------------------------- adoption_decision

def _decide(base, cand, **kw):
    return adoption_decision(base, cand, n_boot=N_BOOT, **kw)


def test_adoption_interval_is_scipys_welch_t_interval():
    """Known answer: scipy's Welch test (``ttest_ind(equal_var=False)``), its interval of
    the mean difference and its one-sided p-value."""
    d = _decide(BASELINE, OVERLAP)
    welch = ttest_ind(OVERLAP, BASELINE, equal_var=False)
    low, high = welch.confidence_interval(0.95)
    assert (d.ci_low, d.ci_high) == (pytest.approx(low, abs=1e-12),
                                     pytest.approx(high, abs=1e-12))
    greater = ttest_ind(OVERLAP, BASELINE, equal_var=False, alternative="greater")
    assert d.prob_better == pytest.approx(1 - greater.pvalue, abs=1e-12)
    assert d.prob_worth_it == d.prob_better  # no complexity cost
    assert d.method == "welch_t" and d.n_boot is None
    assert d.recommendation == "inconclusive: run more seeds"
    assert "95% Welch t interval of gain minus complexity cost spans 0" in d.reason


def test_legacy_rule_is_scipys_two_sample_percentile_bootstrap():
    """Known answer for decisions made before the Welch rule: scipy's independent
    two-sample bootstrap of the mean difference."""
    d = _decide(BASELINE, OVERLAP, seed=11, method="percentile_bootstrap")

    def gain(candidate, baseline, axis=-1):
        return np.mean(candidate, axis=axis) - np.mean(baseline, axis=axis)

    expected = bootstrap((np.array(OVERLAP), np.array(BASELINE)), gain, paired=False,
                         n_resamples=N_BOOT, method="percentile",
                         rng=np.random.default_rng(11))
    low, high = expected.confidence_interval
    assert (d.ci_low, d.ci_high) == (pytest.approx(low, abs=1e-12),
                                     pytest.approx(high, abs=1e-12))
    distribution = expected.bootstrap_distribution
    assert d.prob_better == pytest.approx(np.mean(distribution > 0)
                                          + 0.5 * np.mean(distribution == 0))
    assert d.method == "percentile_bootstrap" and d.n_boot == N_BOOT
    assert d.recommendation == "inconclusive: run more seeds"
    assert "95% percentile bootstrap interval of gain minus" in d.reason
    # what the seeds bought is the Welch rule's power, whatever decided
    assert "at this spread, the Welch rule adopts 80% of the time a true gain of" in d.reason
    assert d.min_detectable_gain == _decide(BASELINE, OVERLAP).min_detectable_gain
    assert "percentile bootstrap interval of the gain, 2000 resamples" in d.to_markdown()


def test_the_welch_interval_is_wider_than_the_bootstrap_at_few_seeds():
    """The miscalibration the Welch rule fixes: 3 runs a side, the old interval was
    narrower, wide enough to adopt a gain the Welch interval cannot tell from 0."""
    base, cand = [0.80, 0.81, 0.79], [0.82, 0.83, 0.81]
    welch = _decide(base, cand)
    legacy = _decide(base, cand, method="percentile_bootstrap")
    assert welch.ci_high - welch.ci_low > 1.6 * (legacy.ci_high - legacy.ci_low)
    assert legacy.ci_low > 0.005 and welch.ci_low < -0.002
    assert (legacy.recommendation, welch.recommendation) == (
        "adopt", "inconclusive: run more seeds")


def test_clear_win_is_adopted():
    d = _decide(BASELINE, CLEAR_WIN, objective_name="val_accuracy")
    assert isinstance(d, AdoptionDecision)
    assert d.recommendation == "adopt" and d.adopt
    assert d.difference == pytest.approx(0.05)
    assert 0.04 < d.ci_low < 0.05 < d.ci_high < 0.06
    assert d.prob_better == pytest.approx(1.0, abs=1e-6)
    assert d.prob_worth_it == pytest.approx(1.0, abs=1e-6)
    assert d.baseline.n == 5 and d.candidate.mean == pytest.approx(0.85)
    assert "Adopt" in d.reason


def test_clear_loss_keeps_baseline():
    d = _decide(BASELINE, CLEAR_LOSS)
    assert d.recommendation == "keep baseline"
    assert d.difference == pytest.approx(-0.05) and d.ci_high < 0
    assert d.prob_better == pytest.approx(0.0, abs=1e-6)
    assert "worse" in d.reason


def test_overlapping_runs_are_inconclusive():
    d = _decide(BASELINE, OVERLAP)
    assert d.recommendation == "inconclusive: run more seeds"
    assert d.ci_low < 0 < d.ci_high
    assert 0.2 < d.prob_better < 0.9
    # 80% power at the observed spread: for this many runs nearly the normal formula,
    # n = ((z_0.975 + z_0.8) * sqrt(s_b^2 + s_c^2) / |gain|)^2, gain 0.001
    spread = math.sqrt(np.var(BASELINE, ddof=1) + np.var(OVERLAP, ddof=1))
    assert math.ceil(((1.959964 + 0.841621) * spread / 0.001) ** 2) == 687
    assert d.suggested_runs == 689 and "about 689 per config would resolve" in d.reason
    assert "within retrain variance" in d.reason


def test_small_clear_win_that_does_not_pay_for_its_complexity():
    free = _decide(BASELINE, SMALL_WIN)
    assert free.recommendation == "adopt"
    costly = _decide(BASELINE, SMALL_WIN, complexity_cost=0.02)
    assert costly.recommendation == "keep baseline"
    assert costly.ci_low > 0 and costly.net_ci_high <= 0
    assert costly.net_ci_low == pytest.approx(costly.ci_low - 0.02)
    # t(8) at +-0.01 / 0.002408 = +-4.153: 0.9984 and 0.0016
    assert costly.prob_better == pytest.approx(0.99840, abs=1e-4)
    assert costly.prob_worth_it == pytest.approx(1 - costly.prob_better, abs=1e-12)
    assert "less than its complexity cost" in costly.reason
    # a cost within the gain's interval leaves the decision open
    assert _decide(BASELINE, SMALL_WIN, complexity_cost=0.01).recommendation == \
        "inconclusive: run more seeds"


def test_direction_min_flips_the_sign():
    base_loss, cand_loss = [0.50, 0.51, 0.49, 0.505], [0.40, 0.41, 0.39, 0.405]
    d = _decide(base_loss, cand_loss, direction="min")
    assert d.recommendation == "adopt" and d.difference == pytest.approx(0.10)
    assert _decide(base_loss, cand_loss, direction="max").recommendation == "keep baseline"


def test_too_few_runs_is_inconclusive_whatever_the_gap():
    d = _decide(BASELINE[:2], CLEAR_WIN)
    assert d.recommendation == "inconclusive: run more seeds"
    assert "min_runs=3" in d.reason and "baseline side" in d.reason
    assert _decide(BASELINE, CLEAR_WIN, min_runs=6).recommendation == \
        "inconclusive: run more seeds"


def test_identical_configs_keep_baseline():
    d = _decide([0.8] * 3, [0.8] * 3)
    assert d.difference == 0 and d.prob_better == 0.5
    assert d.recommendation == "keep baseline"


def test_decision_is_reproducible_and_reports():
    a, b = _decide(BASELINE, OVERLAP, seed=7), _decide(BASELINE, OVERLAP, seed=7)
    assert a == b
    md = _decide(BASELINE, CLEAR_WIN, objective_name="val_accuracy").to_markdown()
    assert md.startswith("**Adoption decision: \u2713 adopt** (`val_accuracy`, higher is "
                         "better")
    assert "| baseline | 5 |" in md and "| candidate | 5 |" in md
    assert a.as_dict()["baseline"]["n"] == 5
    assert set(RECOMMENDATIONS) == {"adopt", "keep baseline", "inconclusive: run more seeds"}
    assert "complexity_cost" in ADOPTION_RULE and "Welch" in ADOPTION_RULE
    assert md.startswith("**Adoption decision: \u2713 adopt** (`val_accuracy`, higher is better; "
                         "95% Welch t interval of the gain; 95% t intervals of each mean)")
    assert "| confidence candidate better | confidence gain > cost |" in md


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(baseline_values=[]), r"^baseline_values=\[\] is not allowed; it is empty"),
    (dict(candidate_values=[0.8, float("nan"), 0.9]),
     r"candidate_values=.*nan.* is not allowed; .*position 1 is not finite"),
    (dict(direction="up"), r"^direction='up' is not allowed; use 'max' when"),
    (dict(complexity_cost=-0.01),
     r"^complexity_cost=-0.01 is not allowed; use a number >= 0.0 \("),
    (dict(complexity_cost=float("nan")), r"complexity_cost=nan is not allowed"),
    (dict(min_runs=1), r"^min_runs=1 is not allowed; use an integer >= 2 \("),
    (dict(confidence=1.0), r"confidence=1.0"),
    (dict(n_boot=99), r"n_boot=99"),
    (dict(method="bootstrap"), r"^method='bootstrap' is not allowed; use one of 'welch_t', "
                               r"'percentile_bootstrap'$"),
])
def test_adoption_decision_rejects_bad_input(kwargs, pattern):
    args = dict(baseline_values=BASELINE, candidate_values=CLEAR_WIN)
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        adoption_decision(**args)
