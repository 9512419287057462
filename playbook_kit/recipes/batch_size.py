"""Recipe: the largest batch size that still speeds training up (playbook section 1).

The playbook: batch size sets training *speed*, not final quality (with the learning rate
and regularization retuned, any batch size reaches the same result). Find the feasible
sizes by short runs at powers of two until memory runs out; until the device saturates,
doubling the batch should roughly double the training throughput (examples per second),
i.e. keep the time per step roughly constant. Use the largest size that still does.

:func:`batch_size_scan` measures exactly that and never looks at validation performance.
Its optional learning-rate sweep measures the playbook's "time to result": the training
steps the best learning rate needs to reach a *training* target at each batch size.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.validation import check_choice, check_int, check_number, not_allowed
from .recipe_result import (RecipeResult, check_increasing, check_powers_of_two,
                            check_workload, is_power_of_two, panels, with_progress)

SCALING_THRESHOLD = 1.8
"""A doubling "nearly doubles" throughput when throughput grows at least 1.8x (the
toolkit's choice; the playbook says "roughly double" without a number). 1.8x leaves room
for the timing noise of a shared machine (about 5-10% here) while still catching a
bottleneck, which shows as a ratio of 1.0-1.5."""

MIN_CHUNK_S = 0.02
"""A timed chunk lasts at least 20 ms (``steps`` is raised, up to 100x, when one chunk is
shorter), and the fastest of several chunks counts: load from other processes only adds
time, so the fastest chunk is the best estimate of the step's own cost (toolkit's
choice, as in ``timeit``)."""

REMINDER = ("A new batch size needs the nuisance hyperparameters retuned, above all the "
            "learning rate (then momentum and regularization); batch size is chosen for "
            "training speed, never as a knob for validation performance.")


@dataclass
class BatchSizeScan(RecipeResult):
    """Result of :func:`batch_size_scan`: ``table`` has one row per batch size tried
    (``batch_size``, ``status``, ``time_per_step_s``, ``throughput`` in examples/s,
    ``speedup`` over the previous size, ``scales``); ``time_to_result`` one row per
    (batch size, learning rate) of the optional sweep.

    Attributes:
        table: one row per batch size tried.
        recommendation: the answer in words (use this size, then retune).
        numbers: ``recommended_batch_size``, ``out_of_memory_batch_size``, ``ceiling``...
        warnings: what to be careful about.
        time_to_result: the optional sweep's steps to target.

    Example::

        scan = pk.batch_size_scan(workload, start=16, max_batch_size=256)
        scan.table[["batch_size", "throughput", "speedup", "scales"]]
    """

    time_to_result: pd.DataFrame = field(default_factory=pd.DataFrame)
    goal = "choose the batch size: largest that still speeds training up"
    name = "batch_size_scan"

    @property
    def recommended_batch_size(self) -> int:
        return self.numbers["recommended_batch_size"]

    def decision(self) -> str:
        return f"batch_size={self.recommended_batch_size}"

    def plot(self, ax=None):
        """Throughput against batch size with the ideal doubling line, plus steps to
        target against batch size in a second panel when the learning-rate sweep ran
        (see :meth:`RecipeResult.plot`); returns the Axes of the throughput."""
        sweep = not self.time_to_result.empty
        axes = panels(ax, 2 if sweep else 1, (10.5 if sweep else 5.4, 3.9))
        ax = axes[0]
        measured = self.table[self.table["status"] == "measured"]
        ax.plot(measured["batch_size"], measured["throughput"], "o-", label="measured")
        if len(measured):
            first = measured.iloc[0]
            ideal = first["throughput"] * measured["batch_size"] / first["batch_size"]
            ax.plot(measured["batch_size"], ideal, "--", color="0.5", label="ideal (doubling)")
        best = self.recommended_batch_size
        ax.axvline(best, color="C2", linestyle=":", label=f"recommended {best}")
        oom = self.numbers.get("out_of_memory_batch_size")
        if oom is not None:
            ax.axvline(oom, color="red", linestyle="--", label=f"out of memory {oom}")
        ax.set(xscale="log", yscale="log", xlabel="batch size",
               ylabel="training throughput (examples/s)", title="Batch size scan")
        ax.set_xscale("log", base=2)
        ax.legend(fontsize="small")
        if len(axes) == 1:
            return ax
        right = axes[1]
        steps = self.time_to_result.groupby("batch_size")["steps_to_target"].min()
        right.plot(steps.index, steps.to_numpy(), "o-")
        right.set(xscale="log", yscale="log", xlabel="batch size",
                  ylabel=f"steps to {self.numbers['target_metric']} >= "
                         f"{self.numbers['target']:g}",
                  title="Time to result (best learning rate)")
        right.set_xscale("log", base=2)
        return ax


def measure_throughput(workload, config: dict, steps: int, warmup_steps: int,
                       repeats: int, seed: int = 0) -> float:
    """Seconds per training step of ``config`` after ``warmup_steps`` untimed steps (which
    include tracing): the fastest of ``repeats`` timed chunks of ``steps`` steps each
    (more steps when a chunk would last under :data:`MIN_CHUNK_S`).

    Uses the trainer's own program (the cached one for this shape, which the scan's
    trials then reuse) and input pipeline, so it measures what a trial costs. Raises
    ``tf.errors.ResourceExhaustedError`` when the batch does not fit.
    """
    import tensorflow as tf

    from ..training.trainer import seeded_model, trial_program

    total = warmup_steps + steps * repeats
    program, iterator, _ = trial_program(workload, config, seed,
                                         seeded_model(workload, config, seed)[0], total)
    train_steps = lambda n: program.train_steps(iterator, n)
    int(train_steps(tf.constant(warmup_steps))[0])

    def chunk(n):
        start = time.perf_counter()
        done = int(train_steps(tf.constant(n))[0])
        return time.perf_counter() - start, max(done, 1)

    elapsed, done = chunk(steps)
    if elapsed < MIN_CHUNK_S:
        steps = min(math.ceil(steps * MIN_CHUNK_S / max(elapsed, 1e-6)), 100 * steps)
    times = []
    for _ in range(repeats):
        elapsed, done = chunk(steps)
        times.append(elapsed / done)
    return float(np.min(times))


def _is_out_of_memory(error: BaseException) -> bool:
    import tensorflow as tf

    return isinstance(error, (tf.errors.ResourceExhaustedError, MemoryError))


def batch_size_scan(workload, config: dict | None = None, *, batch_sizes=None,
                    start: int = 8, max_batch_size: int | None = None, steps: int = 20,
                    warmup_steps: int = 5, repeats: int = 5,
                    scaling_threshold: float = SCALING_THRESHOLD, learning_rates=None,
                    target: float = 0.9, target_metric: str = "train_accuracy",
                    max_train_steps: int = 300, eval_every: int = 10,
                    seed: int = 0, progress: bool = False, directory=None) -> BatchSizeScan:
    """Scan batch sizes in powers of two and recommend the largest that still scales.

    Sizes are ``batch_sizes`` (consecutive powers of two), or ``start``, 2x``start``, ...
    up to ``max_batch_size`` (default: the training split's size). The scan stops at the
    first out-of-memory error (``tf.errors.ResourceExhaustedError``), reported as the
    limit. Each size is timed: ``warmup_steps`` untimed
    steps, then the fastest of ``repeats`` chunks of ``steps`` steps (at least 20 ms each).

    Rule: a doubling *scales* when throughput grows at least ``scaling_threshold``
    (1.8x, toolkit's choice, ``SCALING_THRESHOLD``). The recommendation is the
    largest batch size reached from the smallest by doublings that all scale; past it
    the device (or the input pipeline) is saturated and a larger batch buys little speed.

    Optional "time to result": with ``learning_rates``, every measured batch size is
    trained for ``max_train_steps`` at each rate (constant schedule), and the first
    evaluation step at which ``target_metric`` (``"train_accuracy"``, on the fixed
    training sample; or ``"train_loss"``, which must fall to ``target``) reaches
    ``target`` is recorded. Only training performance is used, never validation. With
    ``directory`` those runs are kept there, and the scan run again resumes at the run it
    was in (:func:`~playbook_kit.recipes.recipe_result.recipe_run`; the throughput measurements,
    seconds each, are taken again).

    Args:
        workload: the workload whose model and data to time.
        config: the config over the workload's defaults.
        batch_sizes: consecutive powers of two to try; None: from ``start`` up.
        start: the first batch size, a power of two.
        max_batch_size: the ceiling; None: the training split's size.
        steps: timed steps per chunk.
        warmup_steps: untimed steps first (tracing).
        repeats: timed chunks per size (the fastest counts).
        scaling_threshold: the speedup per doubling that counts as scaling, > 1.
        learning_rates: rates of the optional time-to-result sweep, or None.
        target: the value ``target_metric`` must reach in that sweep.
        target_metric: ``"train_accuracy"`` or ``"train_loss"``.
        max_train_steps: steps of each sweep run.
        eval_every: steps between the sweep's evaluations.
        seed: seeds every run.
        progress: show a progress bar.
        directory: a folder to keep the runs in, so that the scan resumes; None keeps
            nothing.

    Returns:
        BatchSizeScan: the table, ``recommended_batch_size`` and the recommendation.

    Raises:
        ValueError: batch sizes that are not consecutive powers of two, or another
            argument out of range, before any training; the message names it.

    Example::

        scan = pk.batch_size_scan(workload, start=16, max_batch_size=512)
        scan.recommended_batch_size, scan.plot()
    """
    check_workload(workload)
    config = workload.config(config)
    n_train = len(workload.dataset.y_train)
    steps = check_int("steps", steps, minimum=1)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=1)
    repeats = check_int("repeats", repeats, minimum=1)
    scaling_threshold = check_number("scaling_threshold", scaling_threshold, 1.0, 2.0,
                                     low_inclusive=False, high_inclusive=False)
    if max_batch_size is not None:
        max_batch_size = check_int("max_batch_size", max_batch_size, minimum=1)
    ceiling = min(max_batch_size or n_train, n_train)
    if batch_sizes is None:
        start = check_int("start", start, minimum=1)
        if not is_power_of_two(start):
            raise not_allowed("start", start, "use a power of two")
        if start > ceiling:
            raise not_allowed("start", start, f"use at most the ceiling {ceiling}")
        batch_sizes = [start]
        while batch_sizes[-1] * 2 <= ceiling:
            batch_sizes.append(batch_sizes[-1] * 2)
    else:
        batch_sizes = check_powers_of_two("batch_sizes", batch_sizes)
        if batch_sizes[-1] > n_train:
            raise not_allowed("batch_sizes", batch_sizes, f"use sizes of at most the {n_train} "
                              f"training examples", why=f"{batch_sizes[-1]} exceeds them")
    if len(batch_sizes) < 2:
        raise not_allowed("batch_sizes", batch_sizes, "a scan needs at least two sizes "
                          "to measure a doubling")
    if learning_rates is not None:
        learning_rates = check_increasing("learning_rates", learning_rates)
        check_choice("target_metric", target_metric, ("train_accuracy", "train_loss"))
        check_number("target", target, low=0.0, low_inclusive=False)
        check_int("max_train_steps", max_train_steps, minimum=1)
        check_int("eval_every", eval_every, minimum=1)

    rows, oom = [], None
    for batch_size in with_progress(batch_sizes, progress, "batch sizes"):
        try:
            seconds = measure_throughput(workload, {**config, "batch_size": batch_size},
                                         steps, warmup_steps, repeats, seed)
        except Exception as error:
            if not _is_out_of_memory(error):
                raise
            oom = batch_size
            rows.append({"batch_size": batch_size, "status": "out of memory",
                         "time_per_step_s": math.nan, "throughput": math.nan})
            break
        rows.append({"batch_size": batch_size, "status": "measured",
                     "time_per_step_s": seconds, "throughput": batch_size / seconds})
    table = pd.DataFrame(rows)
    table["speedup"] = table["throughput"] / table["throughput"].shift(1)
    table["scales"] = table["speedup"] >= scaling_threshold
    measured = table[table["status"] == "measured"]
    if measured.empty:
        raise ValueError(f"batch_sizes: the smallest size {batch_sizes[0]} is already out "
                         "of memory; start lower")
    recommended = int(measured["batch_size"].iloc[0])
    for _, row in measured.iloc[1:].iterrows():
        if not row["scales"]:
            break
        recommended = int(row["batch_size"])
    numbers = {"recommended_batch_size": recommended,
               "largest_feasible_batch_size": int(measured["batch_size"].iloc[-1]),
               "out_of_memory_batch_size": oom, "ceiling": ceiling,
               "scaling_threshold": scaling_threshold,
               "throughput_at_recommended": float(
                   measured.loc[measured["batch_size"] == recommended, "throughput"].iloc[0])}
    text, warnings = _recommendation(table, recommended, oom, scaling_threshold)
    sweep = pd.DataFrame()
    if learning_rates is not None:
        sweep = _time_to_result(workload, config, measured["batch_size"].tolist(),
                                learning_rates, target, target_metric, max_train_steps,
                                eval_every, seed, progress, directory)
        numbers.update(target=float(target), target_metric=target_metric)
        best = sweep.groupby("batch_size")["steps_to_target"].min()
        numbers["steps_to_target"] = {int(b): (None if math.isnan(s) else int(s))
                                      for b, s in best.items()}
    return BatchSizeScan(table, text, numbers, warnings, sweep)


def _recommendation(table, recommended, oom, threshold):
    measured = table[table["status"] == "measured"]
    last = int(measured["batch_size"].iloc[-1])
    warnings = []
    if recommended < last:
        after = table.loc[table["batch_size"] == 2 * recommended, "speedup"].iloc[0]
        why = (f"doubling from {recommended} to {2 * recommended} raised throughput only "
               f"{after:.2f}x (nearly doubling means >= {threshold:g}x)")
    elif oom is not None:
        why = f"every doubling scaled until {oom}, which ran out of memory"
    else:
        why = f"every doubling scaled up to the largest size tried ({last})"
        warnings.append(f"throughput still nearly doubles at {last}: a larger batch size may "
                        "be faster still; raise the ceiling if memory allows")
    if oom is not None:
        warnings.append(f"batch size {oom} ran out of memory: {last} is the largest that fits")
    first_speedup = table["speedup"].iloc[1] if len(table) > 1 else math.nan
    if recommended == int(measured["batch_size"].iloc[0]) and first_speedup < 1.2:
        warnings.append("even the first doubling barely raised throughput: the input "
                        "pipeline or per-step overhead may be the bottleneck")
    text = f"Use batch_size={recommended}: {why}. {REMINDER}"
    return text, warnings


def _time_to_result(workload, config, batch_sizes, learning_rates, target, metric,
                    max_train_steps, eval_every, seed, progress, directory=None):
    from .recipe_result import recipe_run

    split, name = metric.split("_", 1)
    rows = []
    grid = [(b, lr) for b in batch_sizes for lr in learning_rates]
    for batch_size, learning_rate in with_progress(grid, progress, "time to result"):
        result = recipe_run(directory, f"batch_size-{batch_size}-learning_rate-"
                            f"{learning_rate:.6g}", workload,
                            {**config, "batch_size": batch_size,
                             "learning_rate": learning_rate, "schedule": "constant",
                             "warmup_steps": 0},
                            seed, max_train_steps=max_train_steps, eval_every=eval_every)
        curve = result.curve(split, name)
        reached = curve[curve >= target] if name == "accuracy" else curve[curve <= target]
        rows.append({"batch_size": batch_size, "learning_rate": learning_rate,
                     "status": result.status,
                     "steps_to_target": float(reached.index[0]) if len(reached) else math.nan})
    return pd.DataFrame(rows)
