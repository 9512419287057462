"""One trial, step-based (docs/design.md, *Training*): a pure function of (workload,
config, seed) -> trial record, whatever ran before it in the process (:mod:`.trainer`).
The step loop (:mod:`.steps`), compiled programs reused across same-shaped trials
(:mod:`.programs`, :mod:`.graph_release`), the step of a model trained through its Keras
compile (:mod:`.keras_steps`), several devices (:mod:`.distribute`), the two engines
(:mod:`.engines`, :mod:`.compiled_engine`, :mod:`.fit_engine`), trials of one
architecture trained together (:mod:`.packed`, :mod:`.packs`), the record both write
(:mod:`.trial_record`) and the resumable state (:mod:`.trial_state`). Training writes
checkpoints into the folder it is given and never imports the store."""
from .engines import choose_engine
from .packs import train_pack
from .trainer import TrialResult, dry_run, evaluate_model, restore_checkpoint, train_trial

__all__ = ["TrialResult", "choose_engine", "dry_run", "evaluate_model", "restore_checkpoint",
           "train_pack", "train_trial"]
