"""playbook-kit: the Deep Learning Tuning Playbook as Keras/TensorFlow software.

Everything is importable from the top level (``import playbook_kit as pk``), but modules
load lazily so that :func:`setup` can configure TensorFlow before it is imported.
"""
from importlib import import_module

__version__ = "0.2.0.dev0"  # the one place; pyproject.toml reads it

_EXPORTS = {
    "setup": "runtime", "seed_everything": "runtime",
    "Dataset": "data", "load_digits": "data", "make_synthetic": "data",
    "load_npz": "data", "load_csv": "data", "split_arrays": "data",
    "PipelineDataset": "streams", "from_tf_data": "streams", "PyDatasetData": "streams",
    "from_py_dataset": "streams", "stream_csv": "streams",
    "stream_images": "streams", "stream_tfrecord": "streams", "WorkloadError": "workload",
    "dry_run": "trainer", "write_shapes_folder": "examples",
    "write_example_files": "examples", "slow_decoder": "examples",
    "Workload": "workload", "resolve_config": "workload", "register_model": "families",
    "build_model": "families", "build_optimizer": "optimizers",
    "learning_rate_schedule": "optimizers", "GhostBatchNormalization": "layers",
    "train_trial": "trainer", "TrialResult": "trainer", "restore_checkpoint": "trainer",
    "evaluate_model": "trainer",
    "plot_axis": "insight", "plot_axes": "insight", "boundary_check": "insight",
    "isolation_table": "insight", "plot_isolation": "insight", "plot_curves": "insight",
    "plot_trial": "insight", "diagnose_curves": "insight", "best_of_n": "insight",
    "plot_best_of_n": "insight", "good_region_counts": "insight", "audit": "insight",
    "plot_best_so_far": "insight",
    "expanded_space": "search.refine", "refined_space": "search.refine",
    "retrain_summary": "decisions", "adoption_decision": "decisions",
    "RetrainSummary": "decisions", "AdoptionDecision": "decisions", "AuditReport": "insight",
    "RecipeResult": "recipe_result",
    "plot_retrain_variance": "decisions", "runs_from_study": "decisions",
    "Journal": "journal", "study_record": "journal",
    "retrain": "recipes", "final_evaluation": "recipes", "explore_and_expand": "recipes",
    "config_of": "results", "config_table": "results",
    "StudyResults": "results", "load_study": "results", "as_study": "results",
    "best_of": "results",
    "SearchSpace": "search.space", "adam_space": "search.presets",
    "momentum_space": "search.presets", "StoreError": "store",
    "run_study": "search.study", "run_spec": "search.study", "StudySpec": "search.study",
    "save_metrics": "notebooks", "collect_runs": "notebooks", "check": "notebooks",
    "copy_notebooks": "notebooks",
    "expect": "notebooks", "trial_browser": "widgets",
    "batch_size_scan": "batch_size", "BatchSizeScan": "batch_size",
    "initial_training_length": "training_length", "TrainingLength": "training_length",
    "instability_probe": "stability", "InstabilityProbe": "stability",
    "warmup_sweep": "stability", "WarmupSweep": "stability",
    "clipping_threshold": "clipping", "ClippingThreshold": "clipping",
    "input_pipeline_check": "input_pipeline", "PipelineCheck": "input_pipeline",
    "file_pipeline": "input_pipeline", "batches_in_memory": "input_pipeline",
    "run_batch": "batch", "export_tensorboard": "tracking",
    "search_space_explorer": "widgets", "plot_search_space_samples": "widgets",
    "coverage_table": "widgets", "isolation_explorer": "widgets",
    "exercise": "workshop", "solution": "workshop", "exercises": "workshop",
}


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'playbook_kit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
