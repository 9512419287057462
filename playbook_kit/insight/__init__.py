"""Insight layer (playbook section 4): read a study's DataFrames, never train. One module
per playbook question:

* :mod:`.axes` where is the good region: :func:`plot_axis`, :func:`plot_axes`;
* :mod:`.boundaries` is the search space big enough: :func:`boundary_check`;
* :mod:`.isolation` which scientific value is best, fairly: :func:`isolation_table`,
  :func:`plot_isolation`, :func:`retrain_std`;
* :mod:`.curves` what the training curves show: :func:`diagnose_curves`,
  :func:`plot_curves`, :func:`plot_trial`;
* :mod:`.sampling` were enough trials sampled: :func:`best_of_n`, :func:`plot_best_of_n`,
  :func:`good_region_counts`, :func:`plot_best_so_far`;
* :mod:`.audit` the whole checklist: :func:`audit` -> :class:`AuditReport`.

Shared helpers are in :mod:`._common` (studies, trials, hyperparameters) and
:mod:`._plotting` (figures). Every plot is ``plot_*``. The next search spaces
(:func:`expanded_space`, :func:`refined_space`) live in :mod:`playbook_kit.search.refine`
and are re-exported here. Input is a :class:`playbook_kit.results.study_results.StudyResults`.
"""
from ..search.refine import expanded_space, refined_space
from ._common import best_set_size, varied_hyperparameters
from .audit import AuditReport, audit
from .axes import plot_axes, plot_axis
from .boundaries import boundary_check
from .curves import (CURVE_CHECKS, CURVE_THRESHOLDS, diagnose_curves, flagged_checks,
                     objective_curve, plot_curves, plot_trial)
from .isolation import isolation_table, plot_isolation, retrain_std
from .sampling import (best_of_n, good_region_counts, good_threshold, plot_best_of_n,
                       plot_best_so_far)

__all__ = [
    "AuditReport", "audit", "CURVE_CHECKS", "CURVE_THRESHOLDS", "best_of_n", "best_set_size",
    "boundary_check", "diagnose_curves", "expanded_space", "refined_space", "flagged_checks",
    "good_region_counts", "good_threshold", "objective_curve", "varied_hyperparameters",
    "plot_axis", "plot_axes", "plot_isolation", "isolation_table", "plot_best_of_n",
    "plot_best_so_far", "plot_curves", "plot_trial", "retrain_std",
]
