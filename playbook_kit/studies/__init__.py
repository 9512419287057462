"""A study on disk (docs/design.md, *Store*): the study directory's format in one place
(:mod:`.store`: file names, the schema version, trial records, the study spec), one runner
per study (:mod:`.study_lock`) and disk that stays bounded (:mod:`.retention`: which
trials keep their checkpoints). Everything that reads or writes a study goes through
:mod:`.store`; a damaged or foreign file raises :class:`StoreError`."""
from .retention import apply_retention, pin_trial, pins
from .store import StoreError, find_study, read_study_spec, trial_dirs
from .study_lock import StudyLock, StudyLocked

__all__ = ["StoreError", "StudyLock", "StudyLocked", "apply_retention", "find_study",
           "pin_trial", "pins", "read_study_spec", "trial_dirs"]
