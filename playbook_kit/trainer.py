"""Training layer: one trial = (workload, config, seed) -> :class:`TrialResult`.

Step-based, as the playbook asks: a fixed ``max_train_steps``, evaluation every
``eval_every`` steps on the validation split and on a fixed training sample, the global
gradient norm (before clipping) and the learning rate at each evaluation, optional
global-norm clipping, best-k checkpoint retention with retrospective selection of the
best step, and infeasible detection that returns a result instead of raising.

Speed: the steps between two evaluations run inside one compiled ``tf.function`` loop
over a cached, prefetched ``tf.data`` pipeline, so there is no per-batch Python work;
each evaluation is one compiled pass over zero-weight-padded batches.

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

from . import rules
from .distribute import distribute_stream, strategy_for, train_steps as distributed_train_steps
from .runtime import seed_everything
from .validation import check_int, not_allowed
from .workload import Workload, WorkloadError, build_optimizer, learning_rate_schedule

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


def clip_gradients(grads, clip_norm):
    """Global-norm clipping: ``(grads, norm before clipping, 1.0 if clipped else 0.0)``.

    Gradients whose global norm exceeds ``clip_norm`` are scaled down to it; others pass
    unchanged. ``clip_norm=None`` never clips.
    """
    import tensorflow as tf

    norm = tf.linalg.global_norm(grads)
    if clip_norm is None:
        return grads, norm, tf.constant(0.0)
    clipped, _ = tf.clip_by_global_norm(grads, clip_norm, use_norm=norm)
    return clipped, norm, tf.cast(norm > clip_norm, tf.float32)


def make_evaluator(model, loss=None, metrics=None):
    """A compiled pass over evaluation batches: ``(mean loss, {metric: value}, count)``.

    ``loss``: a :class:`~playbook_kit.objectives.Loss` (default: cross-entropy on
    logits); ``metrics``: metric objects by name (default: accuracy). The batches are
    stacked tensors ``(xs, ys, weights)`` (see :func:`~playbook_kit.data.eval_batches`)
    or a ``tf.data.Dataset`` of ``(x, y, weight)``; padding examples carry zero weight,
    so each real example counts exactly once in the loss and in every metric. The loss
    is the data loss: regularization losses (``model.losses``) count in training steps
    only, so that validation losses compare across penalty strengths.
    """
    import tensorflow as tf

    from .objectives import Loss, make_metrics

    loss = loss or Loss()
    metrics = metrics if metrics is not None else make_metrics(["accuracy"], loss)

    def step(x, y, w, loss_sum, count):
        outputs = model(x, training=False)
        for metric in metrics.values():
            metric.update_state(y, outputs, sample_weight=w)
        return loss_sum + tf.reduce_sum(loss.per_example(y, outputs) * w), \
            count + tf.reduce_sum(w)

    @tf.function(reduce_retracing=True)
    def evaluate(batches):
        for metric in metrics.values():
            metric.reset_state()
        loss_sum, count = tf.constant(0.0), tf.constant(0.0)
        if isinstance(batches, tf.data.Dataset):
            for x, y, w in batches:
                loss_sum, count = step(x, y, w, loss_sum, count)
        else:
            xs, ys, ws = batches
            for i in tf.range(tf.shape(ws)[0]):
                x = tf.nest.map_structure(lambda t: t[i], xs)
                loss_sum, count = step(x, ys[i], ws[i], loss_sum, count)
        return loss_sum / count, {n: m.result() for n, m in metrics.items()}, count

    return evaluate


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


class _Compiled:
    """The compiled train loop and evaluation pass for one model and optimizer.

    With a ``strategy`` (see :mod:`.distribute`), the loop runs data-parallel over its
    replicas on ``train_iterator``'s split batches of ``global_batch_size`` examples."""

    def __init__(self, model, optimizer, clip_norm, train_iterator, loss, metrics,
                 strategy=None, global_batch_size=None):
        import tensorflow as tf

        self.model, self.optimizer = model, optimizer
        self.evaluate = make_evaluator(model, loss, metrics)
        if strategy is not None:
            self.train_steps = distributed_train_steps(
                strategy, model, optimizer, train_iterator, loss, global_batch_size,
                lambda grads: clip_gradients(grads, clip_norm))
            return
        variables = model.trainable_variables

        @tf.function(reduce_retracing=True)
        def train_steps(n):
            loss_sum = tf.constant(0.0)
            norm_sum = tf.constant(0.0)
            norm_max = tf.constant(0.0)
            clipped = tf.constant(0.0)
            done = tf.constant(0)
            finite = tf.constant(True)
            while done < n and finite:
                x, y = next(train_iterator)
                with tf.GradientTape() as tape:
                    outputs = model(x, training=True)
                    value = tf.reduce_mean(loss.per_example(y, outputs))
                    if model.losses:
                        value += tf.add_n(model.losses)
                grads = tape.gradient(value, variables)
                grads, norm, was_clipped = clip_gradients(grads, clip_norm)
                clipped += was_clipped
                optimizer.apply_gradients(zip(grads, variables))
                finite = tf.math.is_finite(value) & tf.math.is_finite(norm)
                loss_sum += value
                norm_sum += norm
                norm_max = tf.maximum(norm_max, norm)
                done += 1
            return done, loss_sum, norm_sum, norm_max, clipped, finite

        self.train_steps = train_steps


def compiled_train_steps(workload: Workload, model, optimizer, config: dict, iterator):
    """The trainer's compiled loop ``train_steps(n)`` for ``model`` over ``iterator``:
    what recipes time (batch size scan, input-pipeline check), so that they measure
    exactly what a trial's steps cost."""
    return _Compiled(model, optimizer, config["clip_norm"], iterator, workload.make_loss(),
                     workload.make_metrics()).train_steps


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
    keras.backend.clear_session()
    _collect_garbage()
    seed_everything(int(seed))
    schedule = learning_rate_schedule(config, max_train_steps)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        try:
            model = workload.build_model(config)
        except WorkloadError:
            raise
        except Exception as error:  # a user's model family may fail for some configs
            return _finish(result, start, "infeasible",
                           f"model build failed: {type(error).__name__}: {error}")
        optimizer = build_optimizer(config, max_train_steps, schedule)
        optimizer.build(model.trainable_variables)
    stream = data.train_stream(batch_size, seed)
    iterator = iter(stream) if strategy is None else distribute_stream(strategy, stream)
    eval_size = data.eval_size(batch_size)
    splits = {split: data.eval_data(split, eval_size) for split in ("validation", "train")}
    compiled = _Compiled(model, optimizer, config["clip_norm"], iterator, workload.make_loss(),
                         workload.make_metrics(), strategy, batch_size)
    keeper = _CheckpointKeeper(checkpoint_dir, keep_best, workload.direction, model)
    rows: list[tuple] = []
    metric_key = workload.objective.removeprefix("val_")

    def evaluate(step):
        measured = {}
        for split, dataset in splits.items():
            loss, metrics, _ = compiled.evaluate(dataset)
            measured[split] = {"loss": float(loss), **{k: float(v) for k, v in metrics.items()}}
            rows.extend((step, split, m, v) for m, v in measured[split].items())
        rows.append((step, "optimizer", "learning_rate", float(schedule(step))))
        return measured

    step = 0
    try:
        initial_loss = evaluate(0)["train"]["loss"]
        while step < max_train_steps:
            n = min(eval_every, max_train_steps - step)
            done, loss_sum, norm_sum, norm_max, clipped, finite = compiled.train_steps(
                tf.constant(n))
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


_TRIALS_SINCE_GC = [0]


def _collect_garbage(every: int = 10) -> None:
    """A full ``gc.collect`` costs about 0.2 s with TensorFlow loaded: run it every
    ``every`` trials rather than before each one."""
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
    so nothing is lost by waiting.
    """

    def __init__(self, directory, keep, direction, model):
        self.directory = Path(directory) if directory is not None else None
        self.keep, self.model = keep, model
        self.sign = rules.sign(direction)
        self.kept: list[tuple] = []  # (sort key, step)
        self.held: dict = {}  # step -> weights, for the steps in ``kept``
        self.best_weights = None
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
        if self.directory is not None:
            self._save(self.directory / "last.weights.h5")
            self.last_written = True

    def write(self):
        """Write the best k held in memory (once each), leaving the model's weights as
        they were."""
        if not self.held:
            return
        current = self.model.get_weights()
        for step, weights in sorted(self.held.items()):
            self.model.set_weights(weights)
            self._save(self._path(step))
        self.model.set_weights(current)
        self.held = {}

    def _save(self, path: Path):
        """Write through the one atomic write (:mod:`.files`): a kill never leaves a torn file."""
        from .files import atomic_write

        with atomic_write(path, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)

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
