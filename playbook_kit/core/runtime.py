"""Runtime layer: environment, seeds and determinism, set before TensorFlow starts.

Call :func:`setup` first in every notebook and script. Thread counts and log levels only
take effect if TensorFlow has not yet run an op, which is why the package imports
TensorFlow lazily.
"""
from __future__ import annotations

import atexit
import contextlib
import gc
import os
import random
import sys

import numpy as np

from .validation import check_int, check_seed, not_allowed

_STATE: dict = {"threads": None, "deterministic": False, "exit_hook": False,
                "reuse_programs": True, "fused_kernels": None}


def available_cores() -> int:
    """The CPU cores this process may run on: its affinity set where the system has one
    (a scheduler such as Slurm or ``taskset`` narrows it), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _tensorflow_started() -> bool:
    return "tensorflow" in sys.modules


def setup(seed: int = 0, threads: int | None = None, deterministic: bool = False,
          quiet: bool = True, style: bool = True, reuse_programs: bool = True,
          logical_cpus: int | None = None, tables: bool = True,
          fused_kernels: bool | None = None) -> dict:
    """Prepare the process for reproducible trials; safe to call any number of times.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` and thread counts (``threads`` defaults to the number of
    CPU cores this process may use, at most 4) before TensorFlow is imported, seeds Python, NumPy, TensorFlow
    and Keras with ``seed``, optionally turns on TensorFlow op determinism, and applies the
    toolkit's plot style and its table display (:mod:`playbook_kit.reporting.tables`: every
    DataFrame shows its text whole, wrapped, with statuses marked; ``tables=False`` gives
    pandas' display back). ``reuse_programs=False`` makes every trial build and trace a new
    compiled program instead of reusing one of the same shape (see
    :mod:`playbook_kit.training.programs`).

    ``logical_cpus``: split the CPU into that many logical devices, so that data-parallel
    training (config field ``devices``) runs and is tested without GPUs. TensorFlow fixes
    its devices when it starts: call this first in the process.

    ``fused_kernels``: whether TensorFlow's graph optimizer fuses a layer's matmul or
    convolution with its bias and activation (its "remapper"). None, the default, leaves
    them unfused where TensorFlow sees no GPU: on CPU each fused kernel is a oneDNN
    primitive JIT-compiled for its shapes and kept in a per-thread cache that nothing can
    empty, so a study whose architectures never repeat grew by 68 MiB from trial 40 to
    400 with them and by 26 MiB without (``bench/memory.py``); unfused steps ran as fast
    and gave the same bits here (``bench/fused_kernels.py``). With a GPU, TensorFlow's
    default (fused) stays. The setting is the process's: it applies to every function
    traced after it, the user's own included.

    Args:
        seed: seeds Python, NumPy, TensorFlow and Keras; an integer >= 0.
        threads: TensorFlow's intra-op threads (inter-op: at most 2); None: the cores this
            process may use, at most 4. Takes effect only before TensorFlow first runs.
        deterministic: turn on TensorFlow's op determinism (slower; once on, stays on).
        quiet: silence TensorFlow's C++ and Python logs.
        style: apply the toolkit's plot style.
        reuse_programs: reuse compiled programs across same-shaped trials.
        logical_cpus: split the CPU into this many logical devices; None leaves it whole.
        tables: show DataFrames whole, wrapped and status-marked; False restores pandas'.
        fused_kernels: fuse matmul/convolution, bias and activation; None: only with a GPU.

    Returns:
        dict: what is in effect: ``seed``, ``threads``, ``deterministic``,
        ``reuse_programs``, ``tables``, ``fused_kernels``, and the ``tensorflow`` and
        ``keras`` versions.

    Raises:
        ValueError: an argument out of range or of the wrong type, naming it; or
            ``logical_cpus`` asked for after TensorFlow started with another device count.

    Example::

        import playbook_kit as pk

        pk.setup(seed=0)                    # first thing in a notebook or script
        pk.setup(seed=1, threads=2)         # later calls reseed; the threads stay
    """
    check_seed("seed", seed, where="setup")
    set_reuse_programs(reuse_programs, where="setup")
    check_int("threads", threads, minimum=1, where="setup", allow_none=True)
    check_int("logical_cpus", logical_cpus, minimum=1, where="setup", allow_none=True)
    if not isinstance(tables, bool):
        raise not_allowed("tables", tables, "use True or False", where="setup")
    if fused_kernels is not None and not isinstance(fused_kernels, bool):
        raise not_allowed("fused_kernels", fused_kernels, "use True, False or None (fused "
                          "only where TensorFlow sees a GPU)", where="setup")
    threads = threads or min(available_cores(), 4)
    started = _tensorflow_started()
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not started:
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(min(threads, 2))
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    with _silenced_stderr(quiet and not started):
        import tensorflow as tf
        import keras

        if quiet:
            tf.get_logger().setLevel("ERROR")
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
            _STATE["threads"] = threads
        except RuntimeError:
            pass  # TensorFlow already ran: the first setup's thread counts stay.
        if logical_cpus is not None:
            _split_cpu(tf, logical_cpus)
        tf.config.list_logical_devices()
        if fused_kernels is None:
            fused_kernels = bool(tf.config.list_physical_devices("GPU"))
        tf.config.optimizer.set_experimental_options({"remapping": fused_kernels})
        _STATE["fused_kernels"] = fused_kernels
    if not _STATE["exit_hook"]:
        atexit.register(_skip_final_collection)
        _STATE["exit_hook"] = True
    seed_everything(seed)
    if deterministic and not _STATE["deterministic"]:
        tf.config.experimental.enable_op_determinism()
        _STATE["deterministic"] = True
    if style:
        from ..reporting.style import apply_style
        apply_style()
    from ..reporting import tables as table_display
    if tables:
        table_display.install()
    else:
        table_display.uninstall()
    return {"seed": int(seed), "threads": _STATE["threads"],
            "deterministic": _STATE["deterministic"],
            "reuse_programs": _STATE["reuse_programs"], "tables": table_display.installed(),
            "fused_kernels": _STATE["fused_kernels"], "tensorflow": tf.__version__,
            "keras": keras.__version__}


def set_reuse_programs(enabled: bool, where: str = "") -> None:
    """Turn compiled-program reuse (:mod:`playbook_kit.training.programs`) on or off for this
    process."""
    if not isinstance(enabled, bool):
        raise not_allowed("reuse_programs", enabled, "use True or False", where)
    _STATE["reuse_programs"] = enabled


def _split_cpu(tf, count: int) -> None:
    """Make the CPU appear as ``count`` logical devices (once, before TensorFlow starts)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if len(current or [None]) == count:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    except RuntimeError:
        raise not_allowed("logical_cpus", count, "call setup(logical_cpus=...) first in a new "
                          "process", where="setup", why="TensorFlow already started with "
                          f"{len(current or [None])} CPU device(s)") from None


def _skip_final_collection() -> None:
    """At exit, Python's last garbage collection walks every object TensorFlow and Keras
    made, which every worker and kernel pays (measured here on a loaded machine: 5.5 s
    from a TensorFlow script's last line to its end, 0.4 s with the objects frozen).
    Freezing them first skips that walk; the process is ending, so nothing is lost."""
    gc.freeze()


@contextlib.contextmanager
def _silenced_stderr(active: bool):
    """Hide the C++ start-up messages TensorFlow writes to file descriptor 2 before its
    log level applies (CUDA probes on CPU machines); Python errors still propagate."""
    if not active:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def seed_everything(seed: int, *, reset_kernels: bool = True) -> None:
    """Seed Python, NumPy, TensorFlow and Keras (one call per trial).

    ``reset_kernels=False`` sets the same seeds but keeps TensorFlow's kernel cache.
    ``tf.random.set_seed`` clears that cache to restart the counters that stateful random
    ops (``tf.random.uniform`` and kin, not Keras' seeded ones) keep in their kernels; as
    a side effect every compiled function instantiates again at its next call, about
    0.12 s for a cached program's train loop and evaluator. The trainer keeps the cache
    when the trial runs no stateful random op (:func:`playbook_kit.training.trainer.seeded_model`).

    Args:
        seed: the seed for Python's ``random``, NumPy, TensorFlow and Keras.
        reset_kernels: clear TensorFlow's kernel cache as ``tf.random.set_seed`` does.

    Returns:
        None.

    Raises:
        TypeError: ``seed`` is not a number (``int(seed)`` fails).
        ValueError: ``seed`` is negative or above 2**32 - 1 (NumPy refuses it).

    Example::

        pk.seed_everything(3)       # the next model is initialized as in any run with seed 3
    """
    import keras

    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    if reset_kernels:
        keras.utils.set_random_seed(seed)
        return
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils import rng_utils
    from tensorflow.python.eager import context

    # keras.utils.set_random_seed's steps, with TensorFlow's global seed set as
    # tf.random.set_seed sets it (context._set_global_seed) short of clearing the cache
    global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    eager = context.context()
    eager._seed = seed
    eager._rng = random.Random(seed)
