"""Training layer: one trial = (workload, config, seed) -> :class:`TrialResult`.

Step-based, as the playbook asks: a fixed ``max_train_steps``, evaluation every
``eval_every`` steps on the validation split and on a fixed training sample, the global
gradient norm (before clipping) and the learning rate at each evaluation, optional
global-norm clipping, best-k checkpoint retention with retrospective selection of the
best step, and infeasible detection that returns a result instead of raising.

Speed: the steps between two evaluations run inside one compiled ``tf.function`` loop
over a cached, prefetched ``tf.data`` pipeline, so there is no per-batch Python work;
each evaluation is one compiled pass over zero-weight-padded batches. Same-shaped
trials reuse one compiled program (model, optimizer, loop, evaluator) with their
hyperparameters fed as values, so that a trial costs its steps, not their tracing; see
:mod:`playbook_kit.programs` (``setup(reuse_programs=False)`` turns it off).

Divergence rule (the toolkit's choice; the playbook gives no number): a trial is
infeasible when a minibatch loss is NaN or Inf, or when the loss on the training sample
exceeds ``divergence_factor`` (default 5) times its value before training.
"""
from __future__ import annotations

import contextlib
import gc
import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import programs, rules
from .distribute import distribute_stream, strategy_for
from .programs import clip_gradients, make_evaluator  # noqa: F401 (the trainer's API)
from .runtime import seed_everything
from .validation import check_int, not_allowed
from .workload import Workload, WorkloadError

DIVERGENCE_FACTOR = 5.0


@dataclass
class TrialResult:
    """What one trial leaves: status, the best checkpoint's metrics, curves, checkpoints."""

    status: str
    config: dict
    seed: int
    max_train_steps: int
    eval_every: int
    objective_name: str
    direction: str
    reason: str = ""
    best_step: int | None = None
    objective: float = float("nan")
    final_objective: float = float("nan")
    best_metrics: dict = field(default_factory=dict)
    final_metrics: dict = field(default_factory=dict)
    steps_completed: int = 0
    duration_s: float = 0.0
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    checkpoints: dict = field(default_factory=dict)
    best_weights: list | None = field(default=None, repr=False)

    @property
    def feasible(self) -> bool:
        return self.status == rules.COMPLETED

    def curve(self, split: str, metric: str) -> pd.Series:
        """One curve as a Series indexed by step."""
        c = self.curves
        return c[(c["split"] == split) & (c["metric"] == metric)].set_index("step")["value"]

    def summary(self) -> pd.Series:
        """The facts a reader checks first: status, best step and the metrics there."""
        facts = {"status": self.status, "reason": self.reason or "-",
                 "steps_completed": self.steps_completed, "best_step": self.best_step,
                 f"best {self.objective_name}": self.objective,
                 f"final {self.objective_name}": self.final_objective}
        for key in ("val_loss", "train_accuracy", "train_loss"):
            if key in self.best_metrics:
                facts[f"{key} at best step"] = self.best_metrics[key]
        facts["duration_s"] = round(self.duration_s, 2)
        return pd.Series(facts, name="trial")

    def to_dict(self) -> dict:
        """JSON-ready summary (curves excluded; they are stored as a table)."""
        keys = ("status", "config", "seed", "max_train_steps", "eval_every", "objective_name",
                "direction", "reason", "best_step", "objective", "final_objective",
                "best_metrics", "final_metrics", "steps_completed", "duration_s", "checkpoints")
        out = {k: getattr(self, k) for k in keys}
        for k in ("objective", "final_objective"):
            out[k] = None if out[k] is None or not math.isfinite(out[k]) else float(out[k])
        return out


def _check_steps(max_train_steps, eval_every, keep_best, divergence_factor):
    for name, value in (("max_train_steps", max_train_steps), ("eval_every", eval_every),
                        ("keep_best", keep_best)):
        check_int(name, value, minimum=1)
    if eval_every > max_train_steps:
        raise not_allowed("eval_every", eval_every,
                          f"use at most max_train_steps={max_train_steps}")
    if not isinstance(divergence_factor, numbers.Real) or not divergence_factor > 1:
        raise not_allowed("divergence_factor", divergence_factor, "use a number > 1 (how "
                          "many times its initial value the training loss may reach)")


def divergence_reason(train_loss, initial_loss, divergence_factor, step) -> str:
    """Why a trial is infeasible at ``step`` ("" when it is not): its loss on the training
    sample is not finite, or exceeds ``divergence_factor`` times its value before training."""
    if not math.isfinite(train_loss) or train_loss > divergence_factor * initial_loss:
        return (f"diverged: training loss {train_loss:.4g} at step {step} "
                f"exceeds {divergence_factor:g}x its initial {initial_loss:.4g}")
    return ""


def evaluate_model(workload: Workload, model, split: str = "validation",
                   batch_size: int | None = None, config: dict | None = None) -> dict:
    """Loss, the workload's metrics and the example count of ``model`` on one split.

    ``split="test"`` reads the held-out test split (counted by the dataset): do that only
    in the explicit final evaluation. ``config``: the trial's, when a data builder makes
    its data (default: the workload's defaults).
    """
    data = workload.data_for(workload.config(config))
    if split not in ("validation", "train", "test"):
        raise ValueError(f"split={split!r} is not allowed; use 'train', 'validation' or 'test'")
    batch_size = batch_size or data.eval_size(workload.config(config)["batch_size"])
    batches = data.test_data(batch_size) if split == "test" else data.eval_data(split, batch_size)
    loss, metrics, count = make_evaluator(model, workload.make_loss(),
                                          workload.make_metrics())(batches)
    return {"loss": float(loss), **{k: float(v) for k, v in metrics.items()},
            "examples": int(count)}


def seeded_model(workload: Workload, config: dict, seed: int):
    """The trial's model, built after seeding everything with ``seed``.

    Seeding keeps TensorFlow's kernel cache (``seed_everything(seed,
    reset_kernels=False)``): clearing it makes a cached program's functions instantiate
    again at their next call, about 0.12 s a trial. The cache matters only to stateful
    random ops, whose kernels keep a counter: a builder seen running one eagerly is
    built again after the full reset; a program whose functions run one is not reused
    (:meth:`~playbook_kit.programs.Program.holds_random_state`). With program reuse
    off every trial gets the full reset.
    """
    if programs.reuse_enabled():
        seed_everything(seed, reset_kernels=False)
        with programs.watch_stateful_random() as seen:
            model = workload.build_model(config)
        if not seen:
            return model
    seed_everything(seed)
    return workload.build_model(config)


def trial_program(workload: Workload, config: dict, seed: int, model, max_train_steps: int,
                  strategy=None):
    """What a trial trains with: ``(program, train iterator, evaluation batches by split)``
    for ``model``, freshly built by :func:`seeded_model`. The program is a cached
    one of the same shape when there is one (:func:`~playbook_kit.programs.program_for`);
    recipes that time steps use this too, so that they time what a trial runs. With a
    ``strategy`` (:func:`~playbook_kit.distribute.strategy_for`; ``model`` built in its
    scope) the iterator splits each global batch across the replicas."""
    data = workload.data_for(config)
    batch_size = config["batch_size"]
    stream = data.train_stream(batch_size, seed)
    iterator = iter(stream) if strategy is None else distribute_stream(strategy, stream)
    eval_size = data.eval_size(batch_size)
    splits = {split: data.eval_data(split, eval_size) for split in ("validation", "train")}
    return (programs.program_for(workload, config, model, iterator, splits, max_train_steps,
                                 strategy), iterator, splits)


def train_trial(workload: Workload, config: dict | None = None, seed: int = 0, *,
                max_train_steps: int = 300, eval_every: int = 25,
                checkpoint_dir: str | Path | None = None, keep_best: int = 2,
                divergence_factor: float = DIVERGENCE_FACTOR, progress=None) -> TrialResult:
    """Train one config for exactly ``max_train_steps`` steps (unless infeasible).

    With ``checkpoint_dir`` the best ``keep_best`` checkpoints by the validation
    objective plus the last one are kept as ``.weights.h5`` files and the rest deleted;
    without it the best weights stay in memory (``result.best_weights``). Bad arguments
    raise ``ValueError`` before any training; a diverging, NaN, out-of-memory or
    unbuildable config returns status ``"infeasible"`` with a reason. The config field
    ``devices`` trains the trial data-parallel over several local devices
    (:mod:`.distribute`).
    """
    import tensorflow as tf
    import keras

    config = workload.config(config)
    _check_steps(max_train_steps, eval_every, keep_best, divergence_factor)
    data = workload.data_for(config)
    batch_size = config["batch_size"]
    if data.n_train is not None and batch_size > data.n_train:
        raise ValueError(f"config field 'batch_size'={batch_size} is not allowed; use at most "
                         f"the {data.n_train} training examples")
    strategy = strategy_for(config)
    result = TrialResult("running", config, int(seed), int(max_train_steps), int(eval_every),
                         workload.objective, workload.direction)
    start = time.perf_counter()
    if not programs.reuse_enabled():
        keras.backend.clear_session(free_memory=False)
    _collect_garbage()
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        try:
            model = seeded_model(workload, config, int(seed))
        except WorkloadError:
            raise
        except Exception as error:  # a user's model family may fail for some configs
            return _finish(result, start, "infeasible",
                           f"model build failed: {type(error).__name__}: {error}")
    compiled, iterator, splits = trial_program(workload, config, seed, model, max_train_steps,
                                               strategy)
    eval_steps = [0, *range(eval_every, max_train_steps, eval_every), max_train_steps]
    learning_rates = dict(zip(eval_steps, compiled.schedule(
        tf.constant(eval_steps, tf.float32)).numpy().tolist()))
    keeper = _CheckpointKeeper(checkpoint_dir, keep_best, workload.direction, compiled.model)
    rows: list[tuple] = []
    metric_key = workload.objective.removeprefix("val_")

    def evaluate(step):
        measured = {}
        for split, dataset in splits.items():
            loss, metrics, _ = compiled.evaluate(dataset)
            measured[split] = {"loss": float(loss), **{k: float(v) for k, v in metrics.items()}}
            rows.extend((step, split, m, v) for m, v in measured[split].items())
        rows.append((step, "optimizer", "learning_rate", learning_rates[step]))
        return measured

    step = 0
    try:
        initial_loss = evaluate(0)["train"]["loss"]
        while step < max_train_steps:
            n = min(eval_every, max_train_steps - step)
            done, loss_sum, norm_sum, norm_max, clipped, finite = compiled.train_steps(
                iterator, tf.constant(n))
            done = int(done)
            step += done
            if not bool(finite):
                return _finish(result, start, "infeasible",
                               f"loss or gradient norm became NaN/Inf at step {step}",
                               rows, step, keeper)
            rows.extend([(step, "train", "minibatch_loss", float(loss_sum) / done),
                         (step, "optimizer", "grad_norm_mean", float(norm_sum) / done),
                         (step, "optimizer", "grad_norm_max", float(norm_max)),
                         (step, "optimizer", "clipped_fraction", float(clipped) / done)])
            measured = evaluate(step)
            train_loss = measured["train"]["loss"]
            reason = divergence_reason(train_loss, initial_loss, divergence_factor, step)
            if reason:
                return _finish(result, start, "infeasible", reason, rows, step, keeper)
            keeper.offer(step, measured["validation"][metric_key],
                         measured["validation"]["loss"])
            if progress is not None:
                progress(step, measured)
    except tf.errors.ResourceExhaustedError as error:
        return _finish(result, start, "infeasible", f"out of memory: {error.message[:200]}",
                       rows, step, keeper)
    keeper.save_last(step)
    result = _finish(result, start, "completed", "", rows, step, keeper)
    best = result.curves[result.curves["step"] == result.best_step]
    final = result.curves[result.curves["step"] == step]
    result.best_metrics = _metrics_at(best)
    result.final_metrics = _metrics_at(final)
    result.objective = result.best_metrics[workload.objective]
    result.final_objective = result.final_metrics[workload.objective]
    return result


_TRIALS_SINCE_GC = [-1]


def _collect_garbage(every: int = 10) -> None:
    """Collect the garbage of past trials (their fresh models are reference cycles) every
    ``every`` trials. A full ``gc.collect`` walks every object TensorFlow and Keras made,
    about 0.2 s; the first trial freezes what exists then (modules, the data: objects
    that live as long as the process), so later collections walk only what trials made."""
    if _TRIALS_SINCE_GC[0] < 0:
        gc.collect()
        gc.freeze()
    _TRIALS_SINCE_GC[0] += 1
    if _TRIALS_SINCE_GC[0] >= every:
        gc.collect()
        _TRIALS_SINCE_GC[0] = 0


def _metrics_at(frame: pd.DataFrame) -> dict:
    prefix = {"validation": "val_", "train": "train_", "optimizer": ""}
    return {prefix[s] + m: float(v) for s, m, v in frame[["split", "metric", "value"]].itertuples(
        index=False)}


def _finish(result, start, status, reason, rows=(), step=0, keeper=None):
    result.status, result.reason, result.steps_completed = status, reason, int(step)
    result.curves = pd.DataFrame(list(rows), columns=["step", "split", "metric", "value"])
    if keeper is not None:
        keeper.write()
        result.best_step = keeper.best_step
        result.checkpoints = keeper.files()
        result.best_weights = keeper.best_weights
    result.duration_s = time.perf_counter() - start
    return result


class _CheckpointKeeper:
    """Best-k retention by the validation objective (ties broken by lower loss) plus last.

    The best k so far are held in memory (a copy of the weights when a step enters them)
    and written once, when the run ends: a ``save_weights`` costs about 15 ms, and early
    in training nearly every evaluation enters the best k, so writing on entry would
    write most evaluations and delete them again. A killed trial is rerun from scratch,
    so nothing is lost by waiting. When the last step is among the best k, "last" is a
    copy of its file rather than a second save. Saves replay the model's first save
    (:func:`~playbook_kit.programs.save_weights`: the same file, a third of the time).
    """

    def __init__(self, directory, keep, direction, model):
        self.directory = Path(directory) if directory is not None else None
        self.keep, self.model = keep, model
        self.sign = rules.sign(direction)
        self.kept: list[tuple] = []  # (sort key, step)
        self.held: dict = {}  # step -> weights, for the steps in ``kept``
        self.best_weights = None
        self.last_step = None
        self.last_written = False
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)

    @property
    def best_step(self):
        return self.kept[0][1] if self.kept else None

    def _path(self, step):
        return self.directory / f"step-{step:08d}.weights.h5"

    def offer(self, step, objective, loss):
        key = (self.sign * objective, -loss, -step)
        if len(self.kept) == self.keep and key <= self.kept[-1][0]:
            return
        was_best = self.best_step
        self.kept.append((key, step))
        self.kept.sort(reverse=True)
        self.kept = self.kept[:self.keep]
        if self.directory is not None:
            self.held[step] = [w.copy() for w in self.model.get_weights()]
            self.held = {s: self.held[s] for _, s in self.kept}
        elif self.best_step != was_best:
            self.best_weights = [w.copy() for w in self.model.get_weights()]

    def save_last(self, step):
        """Mark ``step`` (the model's current weights) as the last checkpoint, written by
        :meth:`write`."""
        if self.directory is not None:
            self.last_step = step

    def write(self):
        """Write the best k held in memory (once each) and the last step, leaving the
        model's weights as they were."""
        import shutil

        from .files import atomic_write

        written = set(self.held)
        if self.held:
            current = self.model.get_weights()
            for step, weights in sorted(self.held.items()):
                self.model.set_weights(weights)
                self._save(self._path(step))
            self.model.set_weights(current)
            self.held = {}
        if self.last_step is None:
            return
        last = self.directory / "last.weights.h5"
        if self.last_step in written:
            with atomic_write(last, suffix=".weights.h5") as tmp:
                shutil.copyfile(self._path(self.last_step), tmp)
        else:
            self._save(last)
        self.last_step, self.last_written = None, True

    def _save(self, path: Path):
        """Write through the one atomic write (:mod:`.files`): a kill never leaves a torn file."""
        from .files import atomic_write
        from .programs import save_weights

        with atomic_write(path, suffix=".weights.h5") as tmp:
            save_weights(self.model, tmp)

    def files(self) -> dict:
        if self.directory is None:
            return {}
        out = {f"step-{s}": str(self._path(s)) for _, s in self.kept}
        if self.last_written:
            out["last"] = str(self.directory / "last.weights.h5")
        return out


def restore_checkpoint(workload: Workload, result: TrialResult, which: str = "best"):
    """Rebuild the trial's model and load its best (or ``"last"``) checkpoint."""
    model = workload.build_model(result.config)
    if which == "best":
        if result.checkpoints:
            model.load_weights(result.checkpoints[f"step-{result.best_step}"])
        elif result.best_weights is not None:
            model.set_weights(result.best_weights)
        else:
            raise ValueError("this trial kept no best checkpoint (it was infeasible)")
    elif which == "last":
        if "last" not in result.checkpoints:
            raise ValueError("this trial kept no 'last' checkpoint; train it with a checkpoint_dir")
        model.load_weights(result.checkpoints["last"])
    else:
        raise ValueError(f"which={which!r} is not allowed; use 'best' or 'last'")
    return model


def dry_run(workload: Workload, config: dict | None = None, examples: int = 8) -> dict:
    """Check a workload before any work: build the model for ``config`` (the defaults
    when None) and run one batch of training data through the loss and every metric.

    Raises :class:`~playbook_kit.workload.WorkloadError` naming the thing at fault and
    what is allowed: a builder that fails or returns no Keras model, NaN or Inf labels,
    labels whose shape or classes do not fit the model's output, a loss that does not
    give one value per example, a metric that cannot be computed on the batch. Returns
    the batch's loss and metrics.
    """
    import keras
    import tensorflow as tf

    config = workload.config(config)
    try:
        model = workload.build_model(config)
    except WorkloadError:
        raise
    except Exception as error:
        raise WorkloadError(f"the model builder failed for the default config: "
                            f"{type(error).__name__}: {error}") from None
    x, y = workload.data_for(config).sample_batch(examples)
    y = tf.convert_to_tensor(y)
    if y.dtype.is_floating and not bool(tf.reduce_all(tf.math.is_finite(y))):
        raise WorkloadError("labels contain NaN or Inf (in the first training batch); clean "
                            "them: every label must be a finite number")
    try:
        outputs = model(x, training=False)
    except Exception as error:
        raise WorkloadError(f"the model cannot take the data's features "
                            f"({_shapes(x)}): {type(error).__name__}: {error}") from None
    if not isinstance(outputs, tf.Tensor) and not keras.ops.is_tensor(outputs):
        raise WorkloadError(f"the model returns {type(outputs).__name__}; it must have one "
                            "output tensor")
    loss = workload.make_loss()
    _check_labels(loss, y, outputs)
    try:
        values = loss.per_example(y, outputs)
    except Exception as error:
        raise WorkloadError(f"loss {loss.name!r} fails on labels of shape {tuple(y.shape)} and "
                            f"outputs of shape {tuple(outputs.shape)}: {error}") from None
    if tuple(values.shape) != (int(y.shape[0]),):
        raise WorkloadError(f"loss {loss.name!r} returned shape {tuple(values.shape)}; it must "
                            f"return one value per example, shape ({int(y.shape[0])},)")
    measured = {"loss": float(tf.reduce_mean(values))}
    for name, metric in workload.make_metrics().items():
        try:
            metric.update_state(y, outputs)
            measured[name] = float(metric.result())
        except Exception as error:
            raise WorkloadError(f"metric {name!r} fails on labels of shape {tuple(y.shape)} "
                                f"and outputs of shape {tuple(outputs.shape)}: "
                                f"{type(error).__name__}: {error}") from None
    return measured


def _shapes(x) -> str:
    import tensorflow as tf

    return str(tf.nest.map_structure(lambda t: tuple(t.shape), x))


def _check_labels(loss, y, outputs) -> None:
    """Labels that do not fit the output: integer classes beyond the output's width, or
    label and output shapes that differ (a trailing 1 aside)."""
    import numpy as np

    out_shape = tuple(outputs.shape[1:])
    label_shape = tuple(y.shape[1:])
    if loss.kind == "sparse":
        values = np.asarray(y)
        width = out_shape[-1] if out_shape else 1
        if label_shape not in ((), (1,)) or not np.all(values == np.round(values)) \
                or values.min() < 0 or values.max() >= width:
            raise WorkloadError(
                f"labels (shape {tuple(y.shape)}, values {values.min():g}..{values.max():g}) "
                f"do not fit the model's output of shape {tuple(outputs.shape)} for loss "
                f"{loss.name!r}: use integer classes 0..{width - 1}, one per example")
        return
    squeeze = lambda shape: shape[:-1] if shape and shape[-1] == 1 else shape
    if squeeze(label_shape) != squeeze(out_shape):
        raise WorkloadError(f"labels of shape {tuple(y.shape)} do not fit the model's output "
                            f"of shape {tuple(outputs.shape)} for loss {loss.name!r}: make the "
                            f"last layer output {label_shape or (1,)} per example")
