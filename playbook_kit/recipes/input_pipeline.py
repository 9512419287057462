"""Recipe: is training input-bound, by how much, and which fix applies (playbook
section 7: profile first; prefetch; drop unused features early; preprocess offline).

:func:`input_pipeline_check` measures, side by side, with the trainer's own compiled
step: *compute only* (the same batches held in memory), the *pipeline alone* (iterating
it without training) and *real training* from the pipeline; with ``fixed=`` it also
trains from a fixed pipeline, to show the effect of the fix.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.validation import check_int, check_number, not_allowed
from .recipe_result import RecipeResult, check_workload

SLOWDOWN_TOLERANCE = 0.10
"""Training is input-bound when its step takes more than 10% longer than the compute-only
step (toolkit's choice; the playbook gives no number): the pipeline then costs more than
timing noise, and a fixed pipeline reaches at least about 0.9 of compute-only speed."""

FIX_PARALLEL = ("parallelize the map (num_parallel_calls=tf.data.AUTOTUNE), cache the "
                "decoded examples if they fit in memory (pk.batches_in_memory after the "
                "map: decoded once, then shuffled and batched a whole epoch at a time), "
                "drop unused features before the costly step, or preprocess offline once")
FIX_PREFETCH = ("add .prefetch(tf.data.AUTOTUNE) at the end of the pipeline so that the "
                "next batch is prepared while the current one trains")


@dataclass
class InputPipelineCheck(RecipeResult):
    """Result of :func:`input_pipeline_check`: ``table`` has one row per measurement
    (``measurement``, ``seconds_per_step``, ``examples_per_s``, ``fraction_of_compute``:
    throughput as a fraction of compute-only throughput).

    Attributes:
        table: one row per measurement.
        recommendation: the verdict and the fix, in words.
        numbers: ``input_share``, ``fixed_fraction_of_compute``, ...
        warnings: what to be careful about.

    Example::

        check.table[["measurement", "fraction_of_compute"]]
        check.plot()
    """

    goal = "find whether training is input-bound and fix the input pipeline"
    name = "input_pipeline"

    @property
    def input_bound(self) -> bool:
        return self.numbers["input_bound"]

    def decision(self) -> str:
        return "input-bound: fix the pipeline" if self.input_bound else "not input-bound"

    def plot(self, ax=None):
        """Throughput of each measurement, compute only first; returns the Axes."""
        from ..insight._plotting import _new_axes

        ax = _new_axes(ax)
        colors = ["C2", "C0", "C3" if self.input_bound else "C0", "C1"]
        ax.barh(self.table["measurement"], self.table["examples_per_s"],
                color=colors[:len(self.table)])
        for y, fraction in enumerate(self.table["fraction_of_compute"]):
            ax.text(0, y, f" {fraction:.0%} of compute", va="center", color="white")
        ax.invert_yaxis()
        ax.set(xlabel="examples per second", title="Input pipeline: "
               + ("input-bound" if self.input_bound else "not input-bound"))
        return ax


def _time_training(workload, config, interleaved: dict, last: dict, steps, warmup_steps,
                   repeats, seed):
    """Seconds per training step from each dataset, with the trainer's program (one
    model, its compiled loop taking each dataset's iterator), the fastest of ``repeats``
    chunks kept (noise only adds time).

    The chunks of the ``interleaved`` datasets alternate, so that load from other
    processes hits them alike. Each dataset of ``last`` is warmed up and timed after
    them, its chunks back to back: a pipeline keeps preparing batches after a chunk ends
    (its prefetch buffer refills, also where tf.data injected the prefetch), and a slow
    one does so for longer than the next chunk lasts, loading the cores that chunk
    measures; a new iterator starts filling its buffers at once. The pipeline under
    test is slow by assumption, so its iterator is made, and its chunks timed, last.
    """
    import tensorflow as tf

    from ..training import programs
    from ..training.trainer import seeded_model

    model = seeded_model(workload, config, seed)[0]
    datasets = {**interleaved, **last}
    total = (warmup_steps + steps * repeats) * len(datasets)
    first = iter(next(iter(interleaved.values())))
    program = programs.program_for(workload, config, workload.settings(config), model, first,
                                   {}, total)
    loops = {}

    def chunk(name, n):
        start = time.perf_counter()
        done = int(loops[name](tf.constant(n))[0])
        return (time.perf_counter() - start) / max(done, 1)

    def start(name):
        # iter() starts the pipeline's background work: only when its turn comes
        iterator = first if name == next(iter(interleaved)) else iter(datasets[name])
        loops[name] = lambda n: program.train_steps(iterator, n)
        chunk(name, warmup_steps)

    times = {name: [] for name in datasets}
    for name in interleaved:
        start(name)
    for _ in range(repeats):
        for name in interleaved:
            times[name].append(chunk(name, steps))
    for name in last:
        start(name)
        times[name] = [chunk(name, steps) for _ in range(repeats)]
    return {name: float(np.min(values)) for name, values in times.items()}


def _time_iteration(dataset, steps, warmup_steps, repeats):
    iterator = iter(dataset)
    for _ in range(warmup_steps):
        next(iterator)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            next(iterator)
        times.append((time.perf_counter() - start) / steps)
    return float(np.min(times))


def _check_timing(steps, warmup_steps, repeats, tolerance) -> tuple:
    return (check_int("steps", steps, minimum=1),
            check_int("warmup_steps", warmup_steps, minimum=1),
            check_int("repeats", repeats, minimum=1),
            check_number("tolerance", tolerance, low=0.0, low_inclusive=False))


def input_pipeline_check(workload, pipeline, config: dict | None = None, *, fixed=None,
                         steps: int = 20, warmup_steps: int = 5, repeats: int = 3,
                         tolerance: float = SLOWDOWN_TOLERANCE,
                         seed: int = 0) -> InputPipelineCheck:
    """Measure compute only, the pipeline alone and real training; say whether training
    is input-bound, by how much, and which fix applies.

    ``pipeline``: a ``tf.data.Dataset`` of ``(features, labels)`` batches the model of
    ``config`` accepts, long enough for ``warmup_steps + steps * repeats`` batches
    (``.repeat()`` it). *Compute only* trains on the first ``warmup_steps + steps``
    batches held in memory. Each measurement skips ``warmup_steps`` (tracing, filling
    caches: with ``.cache()`` in a pipeline, make it at least one epoch of batches) and
    keeps the fastest of ``repeats`` chunks of ``steps`` steps, all on one model. The
    compute-only and fixed-pipeline chunks alternate, so that load from other processes
    hits them alike; training from ``pipeline`` is timed after them, because a slow
    pipeline keeps decoding in the background after each of its chunks (its prefetch
    buffer refills) and would load the chunk timed next.

    Rules: input-bound when training is more than ``tolerance`` (10%, toolkit's choice,
    ``SLOWDOWN_TOLERANCE``) slower per step than compute only; the *input share*
    is the fraction of the training step spent waiting for input, ``1 - compute /
    training``. The fix: when the pipeline alone is slower than a compute-only step, the
    pipeline itself must get faster (``FIX_PARALLEL``); otherwise it is fast enough
    but does not overlap with training (``FIX_PREFETCH``). ``fixed``: a fixed
    pipeline, trained from too, to show the effect.

    Args:
        workload: the workload whose model to train.
        pipeline: the ``tf.data.Dataset`` of batches to check.
        config: the config over the workload's defaults.
        fixed: a fixed pipeline to measure beside it, or None.
        steps: timed steps per chunk.
        warmup_steps: untimed steps first.
        repeats: timed chunks per measurement (the fastest counts).
        tolerance: the slowdown over compute only that counts as input-bound.
        seed: seeds the model.

    Returns:
        InputPipelineCheck: the table, ``input_bound`` and the recommendation.

    Raises:
        ValueError: a pipeline that is not a ``tf.data.Dataset`` of batches, one too short
            for the measurement, or an argument out of range.

    Example::

        check = pk.input_pipeline_check(workload, slow, {"batch_size": 64}, fixed=fixed,
                                        warmup_steps=epoch + 1)
        check.input_bound, check.numbers["input_share"]
    """
    import tensorflow as tf

    check_workload(workload)
    config = workload.config(config)
    for name, value in (("pipeline", pipeline), ("fixed", fixed)):
        if value is not None and not isinstance(value, tf.data.Dataset):
            raise not_allowed(name, value, "use a tf.data.Dataset of (features, labels) "
                              "batches")
    if pipeline is None:
        raise not_allowed("pipeline", None, "use a tf.data.Dataset of (features, labels) "
                          "batches")
    steps, warmup_steps, repeats, tolerance = _check_timing(steps, warmup_steps, repeats,
                                                            tolerance)
    batches = list(pipeline.take(warmup_steps + steps))
    batch = int(batches[0][1].shape[0])
    held = tf.data.Dataset.from_tensor_slices(
        (tf.stack([b[0] for b in batches]), tf.stack([b[1] for b in batches])))
    held = held.repeat().prefetch(tf.data.AUTOTUNE)
    interleaved = {"compute only": held}
    if fixed is not None:
        interleaved["training (fixed pipeline)"] = fixed
    timed = _time_training(workload, config, interleaved, {"training": pipeline}, steps,
                           warmup_steps, repeats, seed)
    measured = {"compute only": timed["compute only"],
                "pipeline alone": _time_iteration(pipeline, steps, warmup_steps, repeats),
                "training": timed["training"]}
    if fixed is not None:
        measured["training (fixed pipeline)"] = timed["training (fixed pipeline)"]
    compute = measured["compute only"]
    table = pd.DataFrame({"measurement": list(measured),
                          "seconds_per_step": list(measured.values())})
    table["examples_per_s"] = batch / table["seconds_per_step"]
    table["fraction_of_compute"] = compute / table["seconds_per_step"]
    training = measured["training"]
    share = max(0.0, 1.0 - compute / training)
    bound = training > (1.0 + tolerance) * compute
    slow_pipeline = measured["pipeline alone"] > compute
    numbers = {"input_bound": bool(bound), "input_share": share,
               "slowdown": training / compute, "tolerance": tolerance,
               "batch_size": int(batch),
               "pipeline_slower_than_compute": bool(slow_pipeline),
               **{key.replace(" ", "_").replace("(", "").replace(")", "") + "_s": value
                  for key, value in measured.items()}}
    if fixed is not None:
        numbers["fixed_fraction_of_compute"] = compute / measured["training (fixed pipeline)"]
    if bound:
        fix = FIX_PARALLEL if slow_pipeline else FIX_PREFETCH
        text = (f"Training is input-bound: a step takes {training / compute:.2f}x the "
                f"compute-only step, so {share:.0%} of it waits for input. The pipeline "
                f"alone delivers a batch in {measured['pipeline alone'] * 1e3:.3g} ms "
                f"against {compute * 1e3:.3g} ms of compute: {fix}.")
    else:
        text = (f"Training is not input-bound: a step takes {training / compute:.2f}x the "
                f"compute-only step (within {tolerance:.0%}).")
    if fixed is not None:
        text += (f" The fixed pipeline trains at "
                 f"{numbers['fixed_fraction_of_compute']:.0%} of compute-only throughput.")
    return InputPipelineCheck(table, text, numbers, [])


def trainer_pipeline_check(workload, config: dict | None = None, *, steps: int = 20,
                           warmup_steps: int | None = None, repeats: int = 3,
                           tolerance: float = SLOWDOWN_TOLERANCE,
                           seed: int = 0) -> InputPipelineCheck:
    """:func:`input_pipeline_check` of the pipeline the trainer itself feeds a trial of
    ``config`` (:func:`playbook_kit.data.arrays.train_pipeline`: cached, shuffled, prefetched),
    so that a study's own training can be checked without writing a pipeline.

    That pipeline caches, so ``warmup_steps`` defaults to one epoch of batches plus one
    (the first epoch fills the cache and would count as input time otherwise).
    """
    from ..data.arrays import train_pipeline

    check_workload(workload)
    config = workload.config(config)
    data = workload.dataset
    epoch = -(-len(data.y_train) // config["batch_size"])
    _check_timing(steps, epoch + 1 if warmup_steps is None else warmup_steps, repeats,
                  tolerance)
    warmup_steps = epoch + 1 if warmup_steps is None else warmup_steps
    pipeline = train_pipeline(data.x_train, data.y_train, config["batch_size"], seed)
    return input_pipeline_check(workload, pipeline, config, steps=steps,
                                warmup_steps=warmup_steps, repeats=repeats,
                                tolerance=tolerance, seed=seed)
