"""What a round decides, and the procedures that gather the evidence (docs/design.md,
*Insight and decisions*): retrain variance (:mod:`.retrain_variance`) and whether a
candidate is adopted over the baseline (:mod:`.adoption`), from numbers and DataFrames
only, never training, with the statistics they share in :mod:`._statistics`; and the
procedures
around a round (:mod:`.rounds`: retrain a trial's config over seeds, the final evaluation
on the test split, explore and expand a study's space)."""
from .adoption import RECOMMENDATIONS, AdoptionDecision, adoption_decision
from .retrain_variance import (RetrainSummary, plot_retrain_variance, retrain_summary,
                               runs_from_study)
from .rounds import explore_and_expand, final_evaluation, retrain

__all__ = ["RECOMMENDATIONS", "AdoptionDecision", "RetrainSummary", "adoption_decision",
           "explore_and_expand", "final_evaluation", "plot_retrain_variance", "retrain",
           "retrain_summary", "runs_from_study"]
