"""The playbook's training recipes (docs/design.md, *Recipes*): procedures that run bounded
training to answer one question, each returning a :class:`RecipeResult`
(:mod:`.recipe_result`): the largest useful batch size (:mod:`.batch_size`), an initial
``max_train_steps`` (:mod:`.training_length`), whether training is input-bound
(:mod:`.input_pipeline`), where training becomes unstable and the warmup that fixes it
(:mod:`.stability`), and a clipping threshold (:mod:`.clipping`)."""
from .batch_size import BatchSizeScan, batch_size_scan
from .clipping import ClippingThreshold, clipping_threshold
from .input_pipeline import InputPipelineCheck, input_pipeline_check
from .recipe_result import RecipeResult
from .stability import InstabilityProbe, WarmupSweep, instability_probe, warmup_sweep
from .training_length import InitialTrainingLength, initial_training_length

__all__ = ["BatchSizeScan", "ClippingThreshold", "InitialTrainingLength", "InputPipelineCheck",
           "InstabilityProbe", "RecipeResult", "WarmupSweep", "batch_size_scan",
           "clipping_threshold", "initial_training_length",
           "input_pipeline_check", "instability_probe", "warmup_sweep"]
