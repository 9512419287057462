"""playbook-kit: the Deep Learning Tuning Playbook as Keras/TensorFlow software.

The modules live in one subpackage per concept, in docs/design.md's layers (*Layers*):
``core``, ``reporting``, ``data``, ``workload``, ``training``, ``studies``, ``search``,
``results``, ``insight``, ``decisions``, ``journal``, ``recipes``, ``teaching``; beside
them only this ``__init__`` and the command line (``cli``).

Everything is importable from the top level (``import playbook_kit as pk``), but modules
load lazily so that :func:`setup` can configure TensorFlow before it is imported: the
names load on first use, from the module ``_EXPORTS`` names; editors read the same names
from the imports under ``TYPE_CHECKING``.
"""
from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.2.0.dev0"  # the one place; pyproject.toml reads it

_EXPORTS = {
    "setup": "core.runtime", "seed_everything": "core.runtime",
    "Dataset": "data.arrays", "load_digits": "data.arrays", "make_synthetic": "data.arrays",
    "load_npz": "data.arrays", "load_csv": "data.arrays", "split_arrays": "data.arrays",
    "PipelineDataset": "data.streams", "from_tf_data": "data.streams",
    "PyDatasetData": "data.streams", "from_py_dataset": "data.streams",
    "stream_csv": "data.streams", "stream_images": "data.streams",
    "stream_tfrecord": "data.streams",
    "file_pipeline": "data.pipelines", "batches_in_memory": "data.pipelines",
    "resolve_config": "workload.config_fields",
    "register_model": "workload.families", "build_model": "workload.families",
    "GhostBatchNormalization": "workload.layers",
    "build_optimizer": "workload.optimizers", "learning_rate_schedule": "workload.optimizers",
    "WorkloadError": "workload.workload", "Workload": "workload.workload",
    "dry_run": "training.trainer", "train_trial": "training.trainer",
    "train_pack": "training.packs",
    "TrialResult": "training.trainer", "restore_checkpoint": "training.trainer",
    "evaluate_model": "training.trainer",
    "StoreError": "studies.store",
    "adam_space": "search.presets", "momentum_space": "search.presets",
    "expanded_space": "search.refine", "refined_space": "search.refine",
    "SearchSpace": "search.space",
    "StudySpec": "search.spec",
    "run_study": "search.study", "run_spec": "search.study",
    "config_of": "results.study_results", "config_table": "results.study_results",
    "StudyResults": "results.study_results", "load_study": "results.loading",
    "as_study": "results.study_results", "best_trial": "results.study_results",
    "export_tensorboard": "results.tracking",
    "plot_axis": "insight", "plot_axes": "insight", "boundary_check": "insight",
    "isolation_table": "insight", "plot_isolation": "insight", "plot_curves": "insight",
    "plot_trial": "insight", "diagnose_curves": "insight", "best_of_n": "insight",
    "plot_best_of_n": "insight", "good_region_counts": "insight", "audit": "insight",
    "plot_best_so_far": "insight", "AuditReport": "insight",
    "adoption_decision": "decisions.adoption", "AdoptionDecision": "decisions.adoption",
    "retrain_summary": "decisions.retrain_variance", "RetrainSummary": "decisions.retrain_variance",
    "plot_retrain_variance": "decisions.retrain_variance",
    "runs_from_study": "decisions.retrain_variance",
    "retrain": "decisions.rounds", "final_evaluation": "decisions.rounds",
    "explore_and_expand": "decisions.rounds",
    "Journal": "journal", "study_record": "journal",
    "batch_size_scan": "recipes.batch_size", "BatchSizeScan": "recipes.batch_size",
    "clipping_threshold": "recipes.clipping", "ClippingThreshold": "recipes.clipping",
    "input_pipeline_check": "recipes.input_pipeline",
    "InputPipelineCheck": "recipes.input_pipeline",
    "RecipeResult": "recipes.recipe_result",
    "instability_probe": "recipes.stability", "InstabilityProbe": "recipes.stability",
    "warmup_sweep": "recipes.stability", "WarmupSweep": "recipes.stability",
    "initial_training_length": "recipes.training_length",
    "InitialTrainingLength": "recipes.training_length",
    "write_shapes_folder": "teaching.examples", "write_example_files": "teaching.examples",
    "slow_decoder": "teaching.examples",
    "save_metrics": "teaching.notebooks", "collect_runs": "teaching.notebooks",
    "check": "teaching.notebooks", "copy_notebooks": "teaching.notebooks",
    "expect": "teaching.notebooks",
    "run_sweep": "teaching.sweeps",
    "trial_browser": "teaching.widgets", "search_space_explorer": "teaching.widgets",
    "plot_search_space_samples": "teaching.widgets", "coverage_table": "teaching.widgets",
    "isolation_explorer": "teaching.widgets",
    "exercise": "teaching.workshop", "solution": "teaching.workshop",
    "exercises": "teaching.workshop",
}


if TYPE_CHECKING:
    # What editors and type checkers follow pk.<name> to: the source of each exported name.
    # At run time the names load lazily, through __getattr__ and _EXPORTS; test_layout.py
    # checks that the two say the same.
    from .core.runtime import seed_everything, setup  # noqa: F401
    from .data.arrays import (  # noqa: F401
        Dataset, load_csv, load_digits, load_npz, make_synthetic, split_arrays,
    )
    from .data.pipelines import batches_in_memory, file_pipeline  # noqa: F401
    from .data.streams import (  # noqa: F401
        PipelineDataset, PyDatasetData, from_py_dataset, from_tf_data, stream_csv,
        stream_images, stream_tfrecord,
    )
    from .decisions.adoption import AdoptionDecision, adoption_decision  # noqa: F401
    from .decisions.retrain_variance import (  # noqa: F401
        RetrainSummary, plot_retrain_variance, retrain_summary, runs_from_study,
    )
    from .decisions.rounds import explore_and_expand, final_evaluation, retrain  # noqa: F401
    from .insight import (  # noqa: F401
        AuditReport, audit, best_of_n, boundary_check, diagnose_curves, good_region_counts,
        isolation_table, plot_axes, plot_axis, plot_best_of_n, plot_best_so_far, plot_curves,
        plot_isolation, plot_trial,
    )
    from .journal import Journal, study_record  # noqa: F401
    from .recipes.batch_size import BatchSizeScan, batch_size_scan  # noqa: F401
    from .recipes.clipping import ClippingThreshold, clipping_threshold  # noqa: F401
    from .recipes.input_pipeline import InputPipelineCheck, input_pipeline_check  # noqa: F401
    from .recipes.recipe_result import RecipeResult  # noqa: F401
    from .recipes.stability import (  # noqa: F401
        InstabilityProbe, WarmupSweep, instability_probe, warmup_sweep,
    )
    from .recipes.training_length import (  # noqa: F401
        InitialTrainingLength, initial_training_length,
    )
    from .results.loading import load_study  # noqa: F401
    from .results.study_results import (  # noqa: F401
        StudyResults, as_study, best_trial, config_of, config_table,
    )
    from .results.tracking import export_tensorboard  # noqa: F401
    from .search.presets import adam_space, momentum_space  # noqa: F401
    from .search.refine import expanded_space, refined_space  # noqa: F401
    from .search.space import SearchSpace  # noqa: F401
    from .search.spec import StudySpec  # noqa: F401
    from .search.study import run_spec, run_study  # noqa: F401
    from .studies.store import StoreError  # noqa: F401
    from .teaching.examples import (  # noqa: F401
        slow_decoder, write_example_files, write_shapes_folder,
    )
    from .teaching.notebooks import (  # noqa: F401
        check, collect_runs, copy_notebooks, expect, save_metrics,
    )
    from .teaching.sweeps import run_sweep  # noqa: F401
    from .teaching.widgets import (  # noqa: F401
        coverage_table, isolation_explorer, plot_search_space_samples, search_space_explorer,
        trial_browser,
    )
    from .teaching.workshop import exercise, exercises, solution  # noqa: F401
    from .training.trainer import (  # noqa: F401
        TrialResult, dry_run, evaluate_model, restore_checkpoint, train_trial,
    )
    from .training.packs import train_pack  # noqa: F401
    from .workload.config_fields import resolve_config  # noqa: F401
    from .workload.families import build_model, register_model  # noqa: F401
    from .workload.layers import GhostBatchNormalization  # noqa: F401
    from .workload.optimizers import build_optimizer, learning_rate_schedule  # noqa: F401
    from .workload.workload import Workload, WorkloadError  # noqa: F401


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'playbook_kit' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
