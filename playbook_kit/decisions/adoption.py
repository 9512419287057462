"""Adoption: whether to adopt a candidate as the new baseline.

The playbook (section 5, "Adopting a change") asks to rerun the best trial of the
baseline and of the candidate N times, measure the *retrain variance* of each, and
adopt the candidate only if its gain outweighs both variances and the complexity it
adds. It gives no N, no statistic and no threshold; the choices below are the
toolkit's, and each is documented where it is made:

* The interval of one config's mean (:func:`~.retrain_variance.retrain_summary`) is
  Student's t interval (:mod:`.retrain_variance` says why).
* The interval of the adoption gain (:func:`adoption_decision`) is **Welch's t
  interval** (:data:`ADOPTION_RULE`): adopting when its lower bound clears the complexity
  cost is Welch's one-sided test at 2.5%, and a change with no gain must be adopted at
  most that often at the 3 to 10 seeds people run. Measured by
  ``bench/decision_calibration.py --full`` (baseline and candidate runs from the same
  distribution, 20,000 pairs per cell, Monte Carlo error 0.1%), the share of no-gain
  changes adopted at 3 / 5 / 10 seeds per side:

  ==========================  ===================  ===================
  rule                        normal noise         Student t (3 df)
  ==========================  ===================  ===================
  percentile bootstrap (old)  9.4% / 6.0% / 3.7%   9.8% / 6.3% / 4.6%
  Welch t interval            1.8% / 2.2% / 2.2%   1.3% / 1.6% / 2.1%
  ==========================  ===================  ===================

  The price is power. A true gain of one noise standard deviation is adopted 12% / 26% /
  55% of the time under normal noise (old rule 42% / 46% / 65%), 18% / 39% / 67% under t
  noise (old 56% / 61% / 75%); two standard deviations 37% / 76% / 99% (old 80% / 91% /
  99.5%) and 53% / 83% / 97% (old 87% / 92% / 97%). The old rule's extra "power" at 3-5
  seeds is the same too-narrow interval that adopts changes without gain. The
  alternatives lose: a **permutation test** of 3 runs per side has 20 arrangements, so
  its smallest one-sided p-value is 1/20 = 5% and it can never adopt at 2.5%; a
  **studentized bootstrap** (a separate simulation, 2,000 pairs per cell) adopted 5.6%
  of one-sd gains at 3 seeds (Welch 12%) yet 4.3% of no-gain changes at 10 seeds under t
  noise, because resamples of 3 runs often repeat one value and have no spread.
* The legacy percentile bootstrap stays available as ``method="percentile_bootstrap"``
  to reproduce decisions recorded before (a stored decision without a method used it,
  :data:`LEGACY_METHOD`).

Functions here read numbers; they never train. Rerunning a config with N seeds is the training layer's job.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from ..core import rules
from ..core.rules import DIRECTIONS, fmt
from ..core.validation import check_choice, check_int, check_number, check_seed, not_allowed
from ._statistics import (_better_word, _check_confidence, _check_values, _critical_value,
                          _variance)
from .retrain_variance import RetrainSummary, retrain_summary

__all__ = ["DIRECTIONS"]
RECOMMENDATIONS = ("adopt", "keep baseline", "inconclusive: run more seeds")

#: Toolkit's choice: resamples of the legacy percentile bootstrap. At 10,000 its bounds of
#: a 95% interval move by about 1% of the interval's width between bootstrap seeds
#: (measured: std over 20 seeds, 5 runs drawn from N(0.95, 0.01): 1.1% and 0.3%).
DEFAULT_N_BOOT = 10_000
#: Toolkit's choice: fewer resamples give percentile bounds read off a handful of points.
MIN_N_BOOT = 100

#: Toolkit's choice: the power at which a gain counts as detectable and a number of seeds
#: as enough, the 80% conventional in sample-size planning (Cohen, 1988); the playbook
#: gives none.
DETECTION_POWER = 0.8

#: The intervals of the gain that :func:`adoption_decision` knows, by the name stored with
#: each decision (``AdoptionDecision.method``, the journal's ``decision.details.method``).
ADOPTION_METHODS = {"welch_t": "Welch t interval",
                    "percentile_bootstrap": "percentile bootstrap interval"}
#: The calibrated rule (issue 20); the module docstring gives the measurements behind it.
DEFAULT_METHOD = "welch_t"
#: The method of a decision stored without one: every decision playbook-kit recorded
#: before the method was stored used the two-sample percentile bootstrap.
LEGACY_METHOD = "percentile_bootstrap"

ADOPTION_RULE = """\
Toolkit's rule (the playbook gives none). gain = mean(candidate) - mean(baseline),
sign-adjusted so that positive means better (for direction "min" it is
mean(baseline) - mean(candidate)). Its interval is Welch's t interval,
gain +- t(df) * se with se = sqrt(s_c^2 / n_c + s_b^2 / n_b) and df the
Welch-Satterthwaite degrees of freedom, so both retrain variances widen it, and so does
the uncertainty of those variances when the runs are few. net = gain - complexity_cost
(complexity_cost is in objective units: how much gain the added complexity must buy).
Then, in order:
  1. fewer than min_runs runs on either side -> "inconclusive: run more seeds";
  2. lower bound of the net interval > 0   -> "adopt";
  3. upper bound of the net interval <= 0  -> "keep baseline"
     (covers a gain that is clearly negative, absent, or smaller than its cost);
  4. otherwise                             -> "inconclusive: run more seeds".
Rule 2 is Welch's one-sided test of "the gain is at most its cost" at level
(1 - confidence) / 2: at the default confidence of 0.95 a change with no gain is adopted
at most 2.5% of the time, at 3, 5 and 10 seeds per config alike (measured:
bench/decision_calibration.py). Deciding again after more seeds is a second look: over
both looks the rate is higher (4-5%, measured); decide both at confidence 0.975 to keep
2.5%.
Certainty is not required by the playbook: lower `confidence` (e.g. 0.8) to accept
more risk of adopting a change that is not really better.\
"""


# --------------------------------------------------------------------------- checks

def _check_bootstrap(confidence, n_boot, seed) -> tuple[float, int, int | None]:
    """The bootstrap's settings: confidence in (0, 1), n_boot >= MIN_N_BOOT, a seed."""
    return (_check_confidence(confidence),
            check_int("n_boot", n_boot, minimum=MIN_N_BOOT,
                      why="the toolkit's minimum for a readable percentile interval; "
                          f"default {DEFAULT_N_BOOT}"),
            check_seed("seed", seed, allow_none=True,
                       why="None for a fresh, irreproducible bootstrap"))


def _bootstrap(samples, statistic, confidence: float, n_boot: int,
               rng: np.random.Generator):
    """Percentile bootstrap (``scipy.stats.bootstrap``) of ``statistic(*samples)``.

    Samples are resampled independently (not paired). Returns the interval's bounds and
    the bootstrap distribution. A sample of one run has nothing to resample, so it
    enters the statistic as a constant.
    """
    from scipy.stats import bootstrap

    varied = [i for i, sample in enumerate(samples) if sample.size > 1]
    if not varied:
        value = float(statistic(*samples, axis=-1))
        return value, value, np.full(n_boot, value)

    def resampled(*drawn, axis=-1):
        full = list(samples)
        for i, sample in zip(varied, drawn):
            full[i] = sample
        return statistic(*full, axis=axis)

    with warnings.catch_warnings():  # identical runs: a degenerate (constant) distribution
        warnings.simplefilter("ignore", RuntimeWarning)
        result = bootstrap([samples[i] for i in varied], resampled, vectorized=True,
                           paired=False, n_resamples=n_boot, confidence_level=confidence,
                           method="percentile", rng=rng)
    return (float(result.confidence_interval.low), float(result.confidence_interval.high),
            result.bootstrap_distribution)


# --------------------------------------------------------------------------- adoption

def _share(value: float) -> str:
    """A confidence or a share as text: two decimals, "n/a" when unknown."""
    return f"{value:.2f}" if math.isfinite(value) else "n/a"


def _welch(cand: np.ndarray, base: np.ndarray, sign: int) -> tuple[float, float, float]:
    """The gain, its standard error and its Welch-Satterthwaite degrees of freedom.

    se = sqrt(s_c^2 / n_c + s_b^2 / n_b); df = se^4 / ((s_c^2 / n_c)^2 / (n_c - 1) +
    (s_b^2 / n_b)^2 / (n_b - 1)). NaN se and df when a side has one run (no variance to
    estimate); df = n_c + n_b - 2 when both sides have identical runs (se is then 0 and
    df does not matter).
    """
    gain = float(sign * (cand.mean() - base.mean()))
    if cand.size < 2 or base.size < 2:
        return gain, float("nan"), float("nan")
    var_c, var_b = _variance(cand) / cand.size, _variance(base) / base.size
    se = math.sqrt(var_c + var_b)
    spread = var_c ** 2 / (cand.size - 1) + var_b ** 2 / (base.size - 1)
    df = (var_c + var_b) ** 2 / spread if spread > 0 else float(cand.size + base.size - 2)
    return gain, float(se), float(df)


def _welch_interval(value: float, se: float, df: float,
                    confidence: float) -> tuple[float, float]:
    """``value +- t(df) * se`` at two-sided ``confidence``; NaN when se is unknown."""
    if not math.isfinite(se):
        return float("nan"), float("nan")
    half = _critical_value(df, confidence) * se
    return value - half, value + half


def _confidence_above_zero(value: float, se: float, df: float) -> float:
    """One-sided confidence that the true value exceeds 0: the t distribution's cdf at
    ``value / se``, i.e. 1 minus the p-value of Welch's one-sided test. A zero se
    gives 1, 0 or 0.5 (a tie); an unknown se gives NaN."""
    from scipy.special import stdtr  # Student t's cdf: scipy.stats.t.cdf without overhead

    if not math.isfinite(se):
        return float("nan")
    if se == 0:
        return 1.0 if value > 0 else 0.0 if value < 0 else 0.5
    return float(stdtr(df, value / se))


@dataclass(frozen=True)
class AdoptionDecision:
    """Whether to adopt a candidate config as the new baseline, and why.

    ``difference`` is the gain: candidate mean minus baseline mean, sign-adjusted so
    that positive means the candidate is better. ``ci_low``/``ci_high`` bound it
    (``method``, see :data:`ADOPTION_METHODS`); ``net_ci_low``/``net_ci_high`` bound
    ``difference - complexity_cost``. ``prob_better`` is the one-sided confidence that
    the candidate is better (Welch: 1 minus the p-value of the one-sided test of no
    gain, calibrated: without a true gain it reached 0.9 for 8.0-9.9% of simulated pairs,
    the bootstrap share for 11.6-17.8%, see ``bench/decision_calibration.py``);
    ``prob_worth_it`` the same for a gain above ``complexity_cost``: the rule adopts
    exactly when it exceeds ``(1 + confidence) / 2``. With the legacy percentile
    bootstrap both are bootstrap shares (ties count half), which are not calibrated.
    ``n_boot`` is None for a rule that does not resample. What the seeds bought:
    ``min_detectable_gain``, the true gain (complexity cost included) that the Welch rule
    adopts 80% of the time (:data:`DETECTION_POWER`) with these runs at the observed
    spread; when inconclusive, ``suggested_runs``, the runs per config that would
    resolve a net gain of the observed size as often. The rule is :data:`ADOPTION_RULE`.

    Attributes:
        recommendation: ``"adopt"``, ``"keep baseline"`` or ``"inconclusive: run more
            seeds"``.
        reason: the sentence that explains it.
        baseline: the baseline's :class:`RetrainSummary`.
        candidate: the candidate's.
        method: ``"welch_t"`` or ``"percentile_bootstrap"``; with ``confidence``,
            ``min_runs``, ``n_boot``, ``complexity_cost``, ``objective_name`` and
            ``direction``: how it was decided.

    Example::

        decision = pk.adoption_decision(baseline_runs, candidate_runs)
        print(decision.reason)
        decision.to_markdown()       # the report a journal entry shows
    """

    recommendation: str
    reason: str
    difference: float
    ci_low: float
    ci_high: float
    net_ci_low: float
    net_ci_high: float
    prob_better: float
    prob_worth_it: float
    complexity_cost: float
    baseline: RetrainSummary
    candidate: RetrainSummary
    direction: str
    confidence: float
    min_runs: int
    n_boot: int | None
    objective_name: str = "objective"
    suggested_runs: int | None = None
    method: str = DEFAULT_METHOD
    min_detectable_gain: float = float("nan")

    @property
    def adopt(self) -> bool:
        return self.recommendation == "adopt"

    def as_dict(self) -> dict:
        """Plain dict (nested summaries as dicts), e.g. for the tuning journal."""
        return asdict(self)

    def to_markdown(self) -> str:
        """The decision as Markdown: the recommendation marked ("✓ adopt"), both configs'
        runs, the gain with its intervals, and the reason."""
        from ..core.statuses import mark

        pct = f"{self.confidence:.0%}"
        better = _better_word(self.direction)
        resamples = f", {self.n_boot} resamples" if self.n_boot is not None else ""
        head = (f"**Adoption decision: {mark(self.recommendation)}** "
                f"(`{self.objective_name}`, {better} is better; {pct} "
                f"{ADOPTION_METHODS[self.method]} of the gain{resamples}; {pct} t "
                "intervals of each mean)\n\n")
        table = (f"| config | runs | mean | std | min | max | {pct} t interval of mean |\n"
                 "|---|---|---|---|---|---|---|\n"
                 + self.baseline._row("baseline") + self.candidate._row("candidate"))
        gain = ("\n| gain (positive = candidate better) | "
                f"{pct} CI | complexity cost | {pct} CI of gain - cost | "
                "confidence candidate better | confidence gain > cost | "
                f"gain detected {DETECTION_POWER:.0%} of the time |\n"
                "|---|---|---|---|---|---|---|\n"
                f"| {fmt(self.difference)} | [{fmt(self.ci_low)}, {fmt(self.ci_high)}]"
                f" | {fmt(self.complexity_cost)} | [{fmt(self.net_ci_low)}, "
                f"{fmt(self.net_ci_high)}] | {_share(self.prob_better)} | "
                f"{_share(self.prob_worth_it)} | {fmt(self.min_detectable_gain)} |\n")
        return head + table + gain + f"\n{self.reason}\n"


def _percentile_bootstrap_gain(cand, base, sign, complexity_cost, confidence, n_boot,
                               seed):
    """The legacy rule's numbers: the two-sample percentile bootstrap interval of the
    gain and the bootstrap shares of a gain above 0 and above the cost."""
    def signed_gain(candidate, baseline, axis=-1):
        return sign * (np.mean(candidate, axis=axis) - np.mean(baseline, axis=axis))

    ci_low, ci_high, boot_gain = _bootstrap((cand, base), signed_gain, confidence, n_boot,
                                            np.random.default_rng(seed))
    prob_better = float(np.mean(boot_gain > 0) + 0.5 * np.mean(boot_gain == 0))
    net = boot_gain - complexity_cost
    prob_worth = float(np.mean(net > 0) + 0.5 * np.mean(net == 0))
    return ci_low, ci_high, prob_better, prob_worth


def adoption_decision(baseline_values, candidate_values, direction: str = "max",
                      complexity_cost: float = 0.0, min_runs: int = 3,
                      confidence: float = 0.95, n_boot: int = DEFAULT_N_BOOT,
                      seed: int | None = 0, objective_name: str = "objective",
                      method: str = DEFAULT_METHOD) -> AdoptionDecision:
    """Decide whether the candidate's gain outweighs both retrain variances and its cost.

    ``baseline_values`` / ``candidate_values``: objective values of the reruns (one per
    seed) of the baseline's and the candidate's best config. ``complexity_cost``: the
    smallest gain, in objective units, that would justify the added complexity (0 for
    a change that adds none). The rule is the toolkit's, in
    ``playbook_kit.decisions.adoption.ADOPTION_RULE``.
    ``min_runs`` (toolkit default 3, at least 2: one run shows no retrain variance).
    ``method``: the interval of the gain, ``"welch_t"`` (default, calibrated) or
    ``"percentile_bootstrap"``, the rule of decisions made before playbook-kit measured
    it (too many false adoptions at 3-5 seeds, see the module docstring), kept to
    reproduce them; ``n_boot`` and ``seed`` are that bootstrap's settings only.

    Args:
        baseline_values: the baseline's runs' objective values.
        candidate_values: the candidate's runs' objective values.
        direction: ``"max"`` or ``"min"``.
        complexity_cost: the gain the change must exceed, in objective units, >= 0.
        min_runs: runs per config below which the decision is inconclusive (>= 2).
        confidence: of the interval, in (0, 1).
        n_boot: bootstrap draws (``method="percentile_bootstrap"`` only).
        seed: seeds the bootstrap, or None.
        objective_name: the objective's name, shown in the reports.
        method: ``"welch_t"`` or ``"percentile_bootstrap"``.

    Returns:
        AdoptionDecision: ``recommendation`` (``"adopt"``, ``"keep baseline"`` or
        ``"inconclusive: run more seeds"``), ``reason``, the intervals, and what the seeds
        bought.

    Raises:
        ValueError: values empty, not numbers or not finite, or an argument out of range;
            the message names it.

    Example::

        decision = pk.adoption_decision(baseline_runs, candidate_runs, complexity_cost=2.0e-3)
        decision.recommendation, decision.suggested_runs
    """
    direction = rules.check_direction(direction)
    base = _check_values("baseline_values", baseline_values)
    cand = _check_values("candidate_values", candidate_values)
    complexity_cost = check_number(
        "complexity_cost", complexity_cost, low=0.0,
        why="in objective units: the gain the added complexity must buy; 0 for none")
    min_runs = check_int("min_runs", min_runs, minimum=2,
                         why="one run per config shows no retrain variance; toolkit default 3")
    confidence, n_boot, seed = _check_bootstrap(confidence, n_boot, seed)
    if not isinstance(objective_name, str) or not objective_name.strip():
        raise not_allowed("objective_name", objective_name, "use a non-empty string")
    method = check_choice("method", method, ADOPTION_METHODS)

    sign = rules.sign(direction)
    gain, se, df = _welch(cand, base, sign)
    if method == "welch_t":
        n_boot = None
        ci_low, ci_high = _welch_interval(gain, se, df, confidence)
        prob_better = _confidence_above_zero(gain, se, df)
        prob_worth = _confidence_above_zero(gain - complexity_cost, se, df)
    else:
        ci_low, ci_high, prob_better, prob_worth = _percentile_bootstrap_gain(
            cand, base, sign, complexity_cost, confidence, n_boot, seed)
    net_low, net_high = ci_low - complexity_cost, ci_high - complexity_cost

    b_sum = retrain_summary(base, direction, confidence)
    c_sum = retrain_summary(cand, direction, confidence)

    pct = f"{confidence:.0%}"
    interval = f"{pct} {ADOPTION_METHODS[method]}"
    gain_txt = (f"gain {fmt(gain)} ({pct} CI [{fmt(ci_low)}, {fmt(ci_high)}]) minus "
                f"complexity cost {fmt(complexity_cost)} = {fmt(gain - complexity_cost)} "
                f"({pct} CI [{fmt(net_low)}, {fmt(net_high)}]); confidence that the "
                f"candidate is better {_share(prob_better)}")
    detectable = _detectable_gain(se, df, complexity_cost, confidence)
    rule = "the rule" if method == DEFAULT_METHOD else "the Welch rule"  # whose power it is
    bought = ("" if not se > 0 else  # no spread, or a side with one run: nothing to say
              f" With {base.size} baseline and {cand.size} candidate runs at this spread, "
              f"{rule} adopts {DETECTION_POWER:.0%} of the time a true gain of "
              f"{fmt(detectable)} (its minimum detectable gain, complexity cost included).")
    suggested = None
    if base.size < min_runs or cand.size < min_runs:
        recommendation = RECOMMENDATIONS[2]
        reason = (f"Inconclusive: {base.size} baseline and {cand.size} candidate runs, "
                  f"fewer than min_runs={min_runs} on "
                  + ("both sides" if base.size < min_runs and cand.size < min_runs
                     else "the baseline side" if base.size < min_runs
                     else "the candidate side")
                  + f"; retrain variance is not measured yet. Rerun each config with at "
                  f"least {min_runs} seeds. So far: {gain_txt}.")
    elif net_low > 0:
        recommendation = RECOMMENDATIONS[0]
        reason = (f"Adopt: the whole {interval} of gain minus complexity cost is above "
                  f"0, so the gain outweighs both retrain variances and the added "
                  f"complexity. {gain_txt}.{bought}")
    elif net_high <= 0:
        recommendation = RECOMMENDATIONS[1]
        if ci_high < 0:
            why = "the candidate is worse than the baseline"
        elif complexity_cost > 0 and ci_low > 0:
            why = "the candidate is better, but by less than its complexity cost"
        else:
            why = "the candidate's gain does not exceed its complexity cost"
        reason = (f"Keep baseline: {why} (the whole {interval} of gain minus "
                  f"complexity cost is at or below 0). {gain_txt}.{bought}")
    else:
        recommendation = RECOMMENDATIONS[2]
        net = gain - complexity_cost
        suggested = _suggest_runs(base, cand, net, confidence)
        risk = ("accept the risk (certainty is not required; a lower `confidence` trades "
                "it for fewer runs)")
        if suggested is None:
            more = f" Run more seeds of both configs, or {risk}."
        elif suggested < MAX_SUGGESTED_RUNS:
            more = (f" Run more seeds of both configs: about {suggested} per config would "
                    f"resolve a net gain of this size ({fmt(net)}) "
                    f"{DETECTION_POWER:.0%} of the time at the observed spread (a plan, not a "
                    "promise: the observed gain is uncertain too); decide once, with all of "
                    f"them. Or {risk}.")
        else:
            more = (f" Even {MAX_SUGGESTED_RUNS} runs per config would resolve a net gain of "
                    f"this size ({fmt(net)}) less than {DETECTION_POWER:.0%} of the time at "
                    "the observed spread: it is too small to matter against retrain "
                    f"variance. Or {risk}.")
        reason = (f"Inconclusive: the {interval} of gain minus complexity cost spans "
                  f"0, so the difference is within retrain variance. {gain_txt}.{bought}"
                  + more)
    return AdoptionDecision(
        recommendation=recommendation, reason=reason, difference=gain, ci_low=ci_low,
        ci_high=ci_high, net_ci_low=net_low, net_ci_high=net_high,
        prob_better=prob_better, prob_worth_it=prob_worth,
        complexity_cost=complexity_cost, baseline=b_sum, candidate=c_sum,
        direction=direction, confidence=confidence, min_runs=min_runs, n_boot=n_boot,
        objective_name=objective_name, suggested_runs=suggested, method=method,
        min_detectable_gain=detectable)


#: Toolkit's choice: cap on the suggested number of runs; beyond it the difference is
#: too small to matter against retrain variance and the suggestion says so.
MAX_SUGGESTED_RUNS = 1000


def _power(shift: float, df: float, critical: float) -> float:
    """How often Welch's one-sided test rejects at its ``critical`` value when the true
    gain is ``shift`` standard errors: the noncentral t distribution's tail beyond it
    (``scipy.stats.nct.sf``; exact for normal runs of a known spread)."""
    from scipy.special import nctdtr  # the noncentral t's cdf

    power = float(1.0 - nctdtr(df, shift, critical))
    if math.isnan(power):  # nctdtr gives up far in the tail, where scipy.stats does not
        from scipy.stats import nct

        power = float(nct.sf(critical, df, shift))
    return power


def _detectable_shift(df: float, confidence: float) -> float:
    """The true gain, in standard errors, that the rule detects :data:`DETECTION_POWER`
    of the time at ``df`` degrees of freedom (2.80 for many runs: 1.96 + 0.84)."""
    from scipy.optimize import brentq

    critical = _critical_value(df, confidence)
    # at the top the power is above 90% even at df = 1, where it is P(|Z| < shift / critical)
    return float(brentq(lambda shift: _power(shift, df, critical) - DETECTION_POWER,
                        0.0, 3.0 * critical + 10.0, xtol=1e-10))


def _detectable_gain(se: float, df: float, complexity_cost: float,
                     confidence: float) -> float:
    """The minimum detectable gain: the true gain (its complexity cost included) that the
    Welch rule adopts :data:`DETECTION_POWER` of the time, with these runs, at the
    observed spread taken as the true one. NaN when a side has one run."""
    if not math.isfinite(se):
        return float("nan")
    if se == 0:
        return complexity_cost
    return complexity_cost + _detectable_shift(df, confidence) * se


def _suggest_runs(base, cand, net_gain, confidence) -> int | None:
    """Runs per config at which a true net gain of ``|net_gain|`` (the observed one) is
    resolved :data:`DETECTION_POWER` of the time at the observed spread: the smallest n
    whose Welch test, with n runs a side and these variances, has that power
    (:func:`_power`). A plan, not a promise: the observed gain is uncertain too. None
    when the net gain or the spread is 0; :data:`MAX_SUGGESTED_RUNS` at most.
    """
    var_b, var_c = _variance(base), _variance(cand)
    if net_gain == 0 or var_b + var_c == 0:
        return None
    df_per_run = (var_b + var_c) ** 2 / (var_b ** 2 + var_c ** 2)  # df = (n - 1) * this

    def enough(n: int) -> bool:
        se, df = math.sqrt((var_b + var_c) / n), (n - 1) * df_per_run
        return _power(abs(net_gain) / se, df,
                      _critical_value(df, confidence)) >= DETECTION_POWER

    low, high = 2, MAX_SUGGESTED_RUNS
    if not enough(high):
        return MAX_SUGGESTED_RUNS
    while low < high:  # the power grows with n: bisect for the smallest n that is enough
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle + 1
    return low
