"""What every other part uses and which uses nothing of theirs (docs/design.md, *Core*):
the one error template (:mod:`.validation`), the study's rules defined once
(:mod:`.rules`), the status words and their marks (:mod:`.statuses`), the write a kill
cannot tear (:mod:`.files`) and the runtime that :func:`setup` prepares before TensorFlow
starts (:mod:`.runtime`). Nothing here imports TensorFlow."""
from .files import atomic_directory, atomic_write
from .rules import (COMPLETED, DIRECTIONS, FAILED, FINISHED_STATUSES, INFEASIBLE,
                    MAXIMIZE, MINIMIZE)
from .runtime import available_cores, seed_everything, setup
from .statuses import mark
from .validation import (check_choice, check_fraction, check_int, check_number, check_seed,
                         not_allowed)

__all__ = ["COMPLETED", "DIRECTIONS", "FAILED", "FINISHED_STATUSES", "INFEASIBLE",
           "MAXIMIZE", "MINIMIZE", "atomic_directory", "atomic_write", "available_cores",
           "check_choice", "check_fraction", "check_int", "check_number", "check_seed",
           "mark", "not_allowed", "seed_everything", "setup"]
