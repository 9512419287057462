"""Boundary check: the majority rule alone vs majority + trend rule, on small random studies.

Synthetic studies, no training: one log-scale learning rate in [1e-4, 1e-1] sampled
uniformly in log10 (as keras-tuner's RandomSearch does), Gaussian noise on the objective.

* rising: the objective rises linearly in log10(learning_rate) up to the upper bound
  (noise 0.005 on a total rise of 0.3), so every study should be flagged at the high edge;
* middle: the optimum at 10^-2.5, inside the range (should not be flagged);
* flat: the objective does not depend on the learning rate (noise 0.01; any flag is a
  false alarm).

Printed per study size: how many studies each rule flags. A study counts as flagged by
"majority only" when the boundary check's ``rule`` contains "majority", by "both" when it
is not "none".

    python bench/boundary_rules.py          # 200 studies per case, 12 and 20 trials
    python bench/boundary_rules.py --full   # 1000 studies per case, 12, 20 and 40 trials

Headline: rising studies the check misses with both rules, over those the majority rule
alone misses (12 trials per study).
"""
import argparse

import numpy as np
import pandas as pd

from playbook_kit.insight import boundary_check
from playbook_kit.results.study_results import CURVE_COLUMNS, HYPERPARAMETER_COLUMNS, StudyResults

CASES = {"rising": (lambda x: 0.5 + 0.1 * x, 0.005),
         "middle": (lambda x: 0.9 - 0.05 * (x + 2.5) ** 2, 0.005),
         "flat": (lambda x: np.full(len(x), 0.8), 0.01)}


def random_study(case: str, n_trials: int, seed: int) -> StudyResults:
    score, noise = CASES[case]
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, -1, n_trials)
    trials = pd.DataFrame({"trial_id": [str(i) for i in range(n_trials)],
                           "status": "completed",
                           "objective": score(x) + rng.normal(0.0, noise, n_trials),
                           "learning_rate": 10 ** x})
    space = pd.DataFrame([dict(name="learning_rate", role="nuisance", scale="log", low=1e-4,
                               high=1e-1, values=None, parent=None, parent_values=None)],
                         columns=HYPERPARAMETER_COLUMNS)
    return StudyResults(name=f"{case}_{seed}", trials=trials,
                        curves=pd.DataFrame(columns=CURVE_COLUMNS), hyperparameters=space,
                        objective="val_accuracy", direction="max")


def flags(case: str, n_trials: int, n_studies: int) -> tuple[int, int]:
    """(flagged by the majority rule, flagged by either rule) over ``n_studies`` seeds."""
    rules = [boundary_check(random_study(case, n_trials, seed))["rule"].iloc[0]
             for seed in range(n_studies)]
    return sum("majority" in r for r in rules), sum(r != "none" for r in rules)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    n_studies, sizes = (1000, (12, 20, 40)) if args.full else (200, (12, 20))
    print(f"{n_studies} random studies per case; flagged by the majority rule / by either")
    missed = {}
    for n_trials in sizes:
        for case in CASES:
            majority, either = flags(case, n_trials, n_studies)
            print(f"{n_trials:>3} trials  {case:>7}: majority only {majority:>5} "
                  f"({majority / n_studies:6.1%})   majority or trend {either:>5} "
                  f"({either / n_studies:6.1%})")
            if case == "rising":
                missed[n_trials] = (n_studies - majority, n_studies - either)
    alone, both = missed[12]
    print(f"rising edges missed at 12 trials: majority only {alone}, with the trend rule {both}")
    print(f"missed_edges_with_trend_over_majority_only={both / max(alone, 1):.2f} "
          "(target <0.5)")


if __name__ == "__main__":
    main()
