"""Any study directory, ours or a plain keras-tuner one, as tidy pandas DataFrames
(docs/design.md, *Results*): :class:`StudyResults` (:mod:`.study_results`) owns the
study's rules as they apply to a study (feasibility, direction, the best trial),
:func:`load_study` reads one from its directory (:mod:`.loading`), and
:mod:`.tracking` shows a stored study in TensorBoard."""
from .loading import load_study
from .study_results import (CURVE_COLUMNS, RUN_COLUMNS, TRIAL_COLUMNS, StudyResults, as_study,
                            best_trial, config_of, config_table)
from .tracking import export_tensorboard

__all__ = ["CURVE_COLUMNS", "RUN_COLUMNS", "TRIAL_COLUMNS", "StudyResults", "as_study",
           "best_trial", "config_of", "config_table", "export_tensorboard", "load_study"]
