"""Any study directory, ours or a plain keras-tuner one, as tidy pandas DataFrames
(docs/design.md, *Results*): :class:`StudyResults` (:mod:`.study_results`) owns the
study's rules as they apply to a study (feasibility, direction, the best trial), and
:mod:`.tracking` shows a stored study in TensorBoard."""
from .study_results import (CURVE_COLUMNS, RUN_COLUMNS, TRIAL_COLUMNS, StudyResults, as_study,
                            best_of, config_of, config_table, load_study)
from .tracking import export_tensorboard

__all__ = ["CURVE_COLUMNS", "RUN_COLUMNS", "TRIAL_COLUMNS", "StudyResults", "as_study",
           "best_of", "config_of", "config_table", "export_tensorboard", "load_study"]
