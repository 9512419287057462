"""Insight layer (playbook section 4): read a study's DataFrames, never train.

* axis plots and isolation plots: :func:`axis_plot`, :func:`axis_plots`,
  :func:`isolation_table`, :func:`isolation_plot`;
* training curves: :func:`plot_curves`, :func:`plot_trial`, :func:`diagnose_curves`;
* is the search space big enough: :func:`boundary_check`;
* were enough trials sampled: :func:`best_of_n`, :func:`plot_best_of_n`,
  :func:`good_region_counts`;
* the whole checklist: :func:`audit` -> :class:`AuditReport`.

Input is a :class:`playbook_kit.results.StudyResults`.
"""
from .audit import AuditReport, audit
from .diagnostics import (CURVE_CHECKS, CURVE_THRESHOLDS, best_of_n, best_set_size,
                          boundary_check, diagnose_curves, expanded_space, refined_space, flagged_checks,
                          good_region_counts, good_threshold, objective_curve,
                          varied_hyperparameters)
from .plots import (axis_plot, axis_plots, isolation_plot, isolation_table, plot_best_of_n,
                    plot_best_so_far,
                    plot_curves, plot_trial, retrain_std)

__all__ = [
    "AuditReport", "audit", "CURVE_CHECKS", "CURVE_THRESHOLDS", "best_of_n", "best_set_size",
    "boundary_check", "diagnose_curves", "expanded_space", "refined_space", "flagged_checks", "good_region_counts",
    "good_threshold", "objective_curve", "varied_hyperparameters", "axis_plot", "axis_plots",
    "isolation_plot", "isolation_table", "plot_best_of_n", "plot_best_so_far", "plot_curves", "plot_trial",
    "retrain_std",
]
