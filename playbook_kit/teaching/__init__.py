"""What a learner and a teacher touch (docs/design.md, *Front ends*): the guided notebooks
and what runs them (:mod:`.notebooks`: papermill, parameters checked first), notebook
sweeps over many parameter sets (:mod:`.sweeps`), widgets (:mod:`.widgets`), workshop
exercises (:mod:`.workshop`) and the small example files the notebooks write
(:mod:`.examples`)."""
from .examples import slow_decoder, write_example_files, write_shapes_folder
from .notebooks import check, collect_runs, copy_notebooks, expect, save_metrics
from .sweeps import run_sweep
from .widgets import (coverage_table, isolation_explorer, plot_search_space_samples,
                      search_space_explorer, trial_browser)
from .workshop import exercise, exercises, solution

__all__ = ["check", "collect_runs", "copy_notebooks", "coverage_table", "exercise",
           "exercises", "expect", "isolation_explorer", "plot_search_space_samples",
           "run_sweep", "save_metrics", "search_space_explorer", "slow_decoder", "solution",
           "trial_browser", "write_example_files", "write_shapes_folder"]
