"""Adoption decision calibration: how often the rule adopts a change that has no gain, and
the power that costs, at the numbers of seeds people run.

Simulated reruns, no training. In each pair the baseline's runs are noise of standard
deviation 1 and the candidate's the same noise plus a true gain of 0, 1 or 2 noise
standard deviations. ``pk.adoption_decision`` decides each pair at its defaults
(complexity cost 0, confidence 0.95: a change without gain should be adopted at most 2.5%
of the time), once with the Welch rule (``method="welch_t"``, the default) and once with
the percentile bootstrap it replaced (``method="percentile_bootstrap"``, 10,000
resamples), on the same pairs. Noise: normal, or Student t with 3 degrees of freedom
scaled to standard deviation 1 (heavy tails: now and then a run far from the others).

Printed per noise and seeds per side (3, 5, 10): the share adopted at each gain with its
Monte Carlo standard error sqrt(p (1 - p) / pairs); the share of no-gain pairs whose
``prob_better`` is at least 0.9 (calibrated: at most 10%); the median minimum detectable
gain the Welch decision reports (in noise standard deviations). Then two looks, as
notebook 03 takes them: 5 seeds a side and, when that is inconclusive, the number of
seeds the decision suggests (at most 20), deciding again with all of the runs: at
confidence 0.95 both times, and at 0.975 both times (Bonferroni: at most 2.5% over both
looks whatever their dependence).

    python bench/decision_calibration.py          # 1,500 pairs per cell (1-2 minutes)
    python bench/decision_calibration.py --full   # 20,000 pairs per cell
    python bench/decision_calibration.py --seed 1 # other pairs (the runs are reproducible)

Headline: the largest share of no-gain changes the Welch rule adopts over the six cells
(3 seeds numbers x 2 noises), against the nominal 2.5% plus two Monte Carlo errors.
"""
import argparse
import math
import statistics

import numpy as np

from playbook_kit.decisions.adoption import adoption_decision

NOISES = {"normal": lambda rng, size: rng.standard_normal(size),
          "t3": lambda rng, size: rng.standard_t(3, size) / math.sqrt(3.0)}
SEEDS_PER_SIDE = (3, 5, 10)
GAINS = (0.0, 1.0, 2.0)
METHODS = {"percentile_bootstrap": "old (percentile bootstrap)",
           "welch_t": "new (Welch t interval)"}
NOMINAL = 0.025  # one-sided: the lower bound of a 95% interval


def draw_pairs(noise: str, seeds: int, gain: float, pairs: int, seed: int):
    """``pairs`` (baseline, candidate) arrays of ``seeds`` runs each; the same pairs for
    a given (noise, seeds, gain, seed), so both rules decide on the same runs."""
    rng = np.random.default_rng([seed, list(NOISES).index(noise), seeds, int(10 * gain)])
    base = NOISES[noise](rng, (pairs, seeds))
    cand = NOISES[noise](rng, (pairs, seeds)) + gain
    return list(zip(base, cand))


def rates(method: str, noise: str, seeds: int, gain: float, pairs: int,
          seed: int = 0) -> dict:
    """Share adopted (and its Monte Carlo error), share with prob_better >= 0.9, median
    reported minimum detectable gain, over ``pairs`` simulated pairs."""
    decisions = [adoption_decision(base, cand, method=method)
                 for base, cand in draw_pairs(noise, seeds, gain, pairs, seed)]
    adopted = sum(d.adopt for d in decisions) / pairs
    return {"adopted": adopted, "error": math.sqrt(adopted * (1 - adopted) / pairs),
            "confident": sum(d.prob_better >= 0.9 for d in decisions) / pairs,
            "detectable": statistics.median(d.min_detectable_gain for d in decisions)}


def two_looks(noise: str, gain: float, pairs: int, confidence: float, first: int = 5,
              most: int = 20, seed: int = 0) -> tuple[float, float]:
    """Share adopted over two looks: ``first`` seeds a side, then, if inconclusive, the
    suggested seeds (at most ``most``) with the first runs among them; and the median
    number of seeds a side the second look used."""
    adopted, used = 0, []
    for base, cand in draw_pairs(noise, most, gain, pairs, seed + 1):
        decision = adoption_decision(base[:first], cand[:first], confidence=confidence)
        if decision.suggested_runs is not None:
            n = min(decision.suggested_runs, most)
            used.append(n)
            decision = adoption_decision(base[:n], cand[:n], confidence=confidence)
        adopted += decision.adopt
    return adopted / pairs, statistics.median(used) if used else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--seed", type=int, default=0, help="seeds the simulated runs")
    args = parser.parse_args()
    pairs = 20_000 if args.full else 1_500
    print(f"{pairs} simulated pairs per cell (seed {args.seed}); share adopted +- Monte Carlo "
          "error, at a true gain of 0 (false adoption, nominal 2.5%), 1 and 2 noise standard "
          "deviations")
    worst = (0.0, 0.0, "")
    for noise in NOISES:
        for seeds in SEEDS_PER_SIDE:
            for method, label in METHODS.items():
                cells = [rates(method, noise, seeds, gain, pairs, args.seed)
                         for gain in GAINS]
                shares = "   ".join(f"gain {gain:.0f}: {c['adopted']:6.1%} +- "
                                    f"{c['error']:.1%}" for gain, c in zip(GAINS, cells))
                print(f"{noise:>6} {seeds:>2} seeds  {label:<27} {shares}   "
                      f"P(better)>=0.9 at gain 0: {cells[0]['confident']:5.1%}"
                      + (f"   median min detectable gain {cells[0]['detectable']:.2f} sd"
                         if method == "welch_t" else ""))
                if method == "welch_t" and cells[0]["adopted"] >= worst[0]:
                    worst = (cells[0]["adopted"], cells[0]["error"], f"{noise}, {seeds} seeds")
    for confidence in (0.95, 0.975):
        for noise in NOISES:
            looks = [two_looks(noise, gain, pairs, confidence, seed=args.seed)
                     for gain in GAINS[:2]]
            print(f"two looks (5 seeds, then the suggested number up to 20) at confidence "
                  f"{confidence}, {noise}: adopted {looks[0][0]:.1%} at gain 0, "
                  f"{looks[1][0]:.1%} at gain 1 (second look: median {looks[1][1]:.0f} "
                  "seeds a side)")
    rate, error, where = worst
    print(f"worst false adoption of the Welch rule: {rate:.2%} +- {error:.2%} ({where})")
    print(f"worst_false_adoption={rate:.1%} (target <={NOMINAL:.1%} + 2 x {error:.1%} "
          "Monte Carlo error)")


if __name__ == "__main__":
    main()
