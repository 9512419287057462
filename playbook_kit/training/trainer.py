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
:mod:`playbook_kit.training.programs` (``setup(reuse_programs=False)`` turns it off).

User code the compiled loop does not run as written trains on Keras' ``model.fit``
instead (:mod:`playbook_kit.training.engines`, :mod:`playbook_kit.training.fit_engine`);
both engines give the same trial record (:mod:`playbook_kit.training.trial_record`: the
divergence rule, best-k checkpoints, the curves).
"""
from __future__ import annotations

import contextlib
import gc
import time
from pathlib import Path

from ..core.runtime import seed_everything
from ..core.validation import not_allowed
from ..workload.workload import Workload, WorkloadError
from . import graph_release, programs
from .compiled_engine import train_stream, trial_program  # noqa: F401 (recipes use them)
from .distribute import strategy_for
from .engines import FIT, choose_engine
from .programs import clip_gradients, make_evaluator  # noqa: F401 (the trainer's API)
from .trial_record import (  # noqa: F401 (the trainer's API)
    DIVERGENCE_FACTOR, CheckpointKeeper, TrialResult, _check_steps, completed,
    divergence_reason, error_line, finish,
)

def evaluate_model(workload: Workload, model, split: str = "validation",
                   batch_size: int | None = None, config: dict | None = None) -> dict:
    """Loss, the workload's metrics and the example count of ``model`` on one split.

    ``split="test"`` reads the held-out test split (counted by the dataset): do that only
    in the explicit final evaluation. ``config``: the trial's, when a data builder makes
    its data (default: the workload's defaults). The model is evaluated as its trials
    were: the toolkit's pass for an uncompiled model, the compiled model's ``test_step``
    otherwise (``model.evaluate`` where the fit engine trained it).

    Args:
        workload: the workload whose data and metrics to use.
        model: a Keras model (see :func:`restore_checkpoint`).
        split: ``"validation"``, ``"train"`` (the fixed training sample) or ``"test"``.
        batch_size: evaluation batch; None: the workload's evaluation batch.
        config: the trial's config, for a data builder; None: the defaults.

    Returns:
        dict: ``loss``, each metric, and ``examples`` evaluated.

    Raises:
        ValueError: an unknown ``split``.

    Example::

        pk.evaluate_model(workload, model, split="validation")
    """
    from .engines import fit_reasons
    from .keras_steps import keras_evaluator
    from ..workload.keras_models import is_compiled

    data = workload.data_for(workload.config(config))
    if split not in ("validation", "train", "test"):
        raise not_allowed("split", split, "use 'train', 'validation' or 'test'")
    batch_size = batch_size or data.eval_size(workload.settings(workload.config(config))
                                              ["batch_size"])
    if fit_reasons(workload, model, data) or workload.engine == FIT:
        from .fit_engine import evaluate_split, prepare_model

        if not is_compiled(model):
            prepare_model(model, workload.settings(workload.config(config)), workload, 1, data)
        values = evaluate_split(model, data, split, batch_size)
        count = data.n_train if split == "train" else None
        return {**{k: float(v) for k, v in values.items()}, "examples": count}
    batches = data.test_data(batch_size) if split == "test" else data.eval_data(split, batch_size)
    evaluator = keras_evaluator(model) if is_compiled(model) else \
        make_evaluator(model, workload.make_loss(), workload.make_metrics())
    loss, metrics, count = evaluator(batches)
    return {"loss": float(loss), **{k: float(v) for k, v in metrics.items()},
            "examples": int(count)}


def seeded_model(workload: Workload, config: dict, seed: int):
    """The trial's model, built after seeding everything with ``seed``: ``(model, the
    config fields that reached it)`` (:meth:`~playbook_kit.workload.workload.Workload.build`).

    Seeding keeps TensorFlow's kernel cache (``seed_everything(seed,
    reset_kernels=False)``): clearing it makes a cached program's functions instantiate
    again at their next call, about 0.12 s a trial. The cache matters only to stateful
    random ops, whose kernels keep a counter: a builder seen running one eagerly is
    built again after the full reset; a program whose functions run one is not reused
    (:meth:`~playbook_kit.training.programs.Program.holds_random_state`). With program reuse
    off every trial gets the full reset.
    """
    if programs.reuse_enabled():
        seed_everything(seed, reset_kernels=False)
        with programs.watch_stateful_random() as seen:
            built = workload.build(config)
        if not seen:
            return built
    seed_everything(seed)
    return workload.build(config)


def train_trial(workload: Workload, config: dict | None = None, seed: int = 0, *,
                max_train_steps: int = 300, eval_every: int = 25,
                checkpoint_dir: str | Path | None = None, keep_best: int = 2,
                divergence_factor: float = DIVERGENCE_FACTOR, progress=None,
                checkpoint_every=None) -> TrialResult:
    """Train one config for exactly ``max_train_steps`` steps (unless infeasible).

    With ``checkpoint_dir`` the best ``keep_best`` checkpoints by the validation
    objective plus the last one are kept as ``.weights.h5`` files and the rest deleted;
    without it the best weights stay in memory (``result.best_weights``). Bad arguments
    raise ``ValueError`` before any training; a diverging, NaN, out-of-memory or
    unbuildable config returns status ``"infeasible"`` with a reason. The config field
    ``devices`` trains the trial data-parallel over several local devices
    (:mod:`.distribute`). The engine (:mod:`.engines`) is chosen for the built model:
    the compiled step loop, or Keras' ``model.fit`` for what the loop does not run as
    written; ``result.engine`` and ``result.engine_reason`` say which and why.

    With ``checkpoint_dir`` the run also writes a resumable state at intervals
    (``checkpoint_every``: None for the default, ``"off"``, a number of steps or
    ``"<n>s"``/``"<n>min"`` of training; :mod:`.trial_state`), and a run started again in
    the same folder continues from it: on the compiled engine bit for bit as if it had
    never stopped (``result.resumed_from`` lists the steps it resumed at). A stop asked
    for by SIGTERM (:func:`~playbook_kit.training.trial_state.stop_on_sigterm`) writes the state
    and raises :class:`~playbook_kit.training.trial_state.TrialInterrupted`.

    Args:
        workload: data, model and objective (a :class:`Workload`).
        config: the trial's hyperparameters over the workload's defaults.
        seed: seeds the model's initialization and the data order.
        max_train_steps: training steps, fixed before the trial.
        eval_every: steps between evaluations (and curve points).
        checkpoint_dir: where to keep checkpoints and the resumable state; None keeps the
            best weights in memory and writes no state.
        keep_best: best checkpoints kept.
        divergence_factor: the trial is infeasible when its training loss exceeds this
            many times its value before training.
        progress: ``callback(step, metrics)`` after each evaluation, or None.
        checkpoint_every: when the resumable state is written (see above).

    Returns:
        TrialResult: status (``"completed"`` or ``"infeasible"``), best step and metrics,
        final metrics, curves, checkpoints and engine.

    Raises:
        ValueError: a config field or argument out of range, or a batch larger than the
            training split; the message names it.
        WorkloadError: the workload cannot train any config (see :func:`dry_run`).

    Example::

        result = pk.train_trial(workload, {"learning_rate": 3.0e-3}, seed=0,
                                max_train_steps=300, eval_every=25, checkpoint_dir="ckpt")
        result.summary()
    """
    begun = _begin(workload, config, seed, max_train_steps=max_train_steps,
                   eval_every=eval_every, checkpoint_dir=checkpoint_dir, keep_best=keep_best,
                   divergence_factor=divergence_factor, checkpoint_every=checkpoint_every)
    if isinstance(begun, TrialResult):
        return begun
    return _train_begun(workload, begun, max_train_steps, eval_every, divergence_factor,
                        progress)


class _Begun:
    """A trial set up to train: its config, model, record and checkpoint keeper."""

    def __init__(self, **parts):
        self.__dict__.update(parts)


def _begin(workload: Workload, config, seed, *, max_train_steps, eval_every, checkpoint_dir,
           keep_best, divergence_factor, checkpoint_every):
    """Check a trial's arguments (before any work), seed and build its model and choose
    its engine: a :class:`_Begun`, or the finished infeasible record of a model whose
    build failed."""
    import keras

    from .trial_state import check_every

    config = workload.config(config)
    settings = workload.settings(config)
    _check_steps(max_train_steps, eval_every, keep_best, divergence_factor)
    check_every(checkpoint_every)
    data = _check_batch_size(workload, config)
    strategy = strategy_for({**config, **settings})
    result = TrialResult("running", config, int(seed), int(max_train_steps), int(eval_every),
                         workload.objective, workload.direction)
    start = time.perf_counter()
    if not programs.reuse_enabled():
        keras.backend.clear_session(free_memory=False)
    _collect_garbage()
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        try:
            model, reached = seeded_model(workload, config, int(seed))
        except WorkloadError:
            raise
        except Exception as error:  # a user's model family may fail for some configs
            return finish(result, start, "infeasible",
                          f"model build failed: {type(error).__name__}: {error}")
    result.config = workload.reached_config(config, reached, model)
    result.engine, result.engine_reason = choose_engine(workload, model, data)
    keeper = CheckpointKeeper(checkpoint_dir, keep_best, workload.direction, model)
    state, interval = _resumable(checkpoint_dir, checkpoint_every, result, model,
                                 max_train_steps, divergence_factor, keep_best)
    return _Begun(config=config, settings=settings, seed=int(seed), data=data,
                  strategy=strategy, result=result, start=start, model=model, keeper=keeper,
                  state=state, interval=interval)


def _train_begun(workload, begun, max_train_steps, eval_every, divergence_factor,
                 progress=None):
    """A begun trial trained alone on its engine, resuming from its state when it has one
    (a fit-engine state that cannot be read: from step 0 on a new model)."""
    result, state = begun.result, begun.state
    if result.engine == FIT:
        from . import fit_engine
        from .trial_state import StateError

        run = lambda model: fit_engine.train(
            workload, begun.config, begun.settings, begun.seed, model, result, begun.start,
            max_train_steps=max_train_steps, eval_every=eval_every, keeper=begun.keeper,
            divergence_factor=divergence_factor, progress=progress, state=state,
            interval=begun.interval)
        try:
            return completed(workload, run(begun.model))
        except StateError as error:  # its variables may be half restored: a new model
            state.clear()
            begun.keeper.model = model = seeded_model(workload, begun.config, begun.seed)[0]
            result.resume_note = f"restarted from step 0: {error}"
            return completed(workload, run(model))
    from . import compiled_engine

    return completed(workload, compiled_engine.train(
        workload, begun.config, begun.seed, begun.model, begun.strategy, result, begun.start,
        begun.keeper, max_train_steps=max_train_steps, eval_every=eval_every,
        divergence_factor=divergence_factor, progress=progress, state=state,
        interval=begun.interval))


def _resumable(checkpoint_dir, checkpoint_every, result, model, max_train_steps,
               divergence_factor, keep_best):
    """The run's :class:`~playbook_kit.training.trial_state.TrialState` and write interval (both
    None without a checkpoint folder or with ``checkpoint_every="off"``). A state's
    identity is what must match for it to be loaded into this run."""
    from .. import __version__
    from .trial_state import Interval, TrialState, check_every

    if checkpoint_dir is None or check_every(checkpoint_every)[0] == "off":
        return None, None
    identity = {"toolkit": __version__, "engine": result.engine, "config": result.config,
                "seed": result.seed, "max_train_steps": result.max_train_steps,
                "eval_every": result.eval_every, "objective": result.objective_name,
                "divergence_factor": divergence_factor, "keep_best": keep_best,
                "variables": [[list(v.shape), str(v.dtype)] for v in model.variables]}
    return TrialState(checkpoint_dir, identity), Interval(checkpoint_every, max_train_steps)


def _check_batch_size(workload: Workload, config: dict):
    """The trial's data, once its batch is known to fit the training split."""
    data = workload.data_for(config)
    batch_size = workload.settings(config)["batch_size"]
    if data.n_train is not None and batch_size > data.n_train:
        raise not_allowed("config field 'batch_size'", batch_size,
                          f"use at most the {data.n_train} training examples")
    return data


_TRIALS_SINCE_GC = [-1]


def _collect_garbage(every: int = 10) -> None:
    """Collect the garbage of past trials (their fresh models are reference cycles) every
    ``every`` trials. A full ``gc.collect`` walks every object TensorFlow and Keras made,
    about 0.2 s; the first trial freezes what exists then (modules, the data: objects
    that live as long as the process), so later collections walk only what trials made.
    First the graphs and kernels of dropped programs are let go
    (:func:`~playbook_kit.training.graph_release.release_dropped_graphs`, then, after the
    collection, :func:`~playbook_kit.training.graph_release.release_stale_kernels`), which
    TensorFlow would keep."""
    if _TRIALS_SINCE_GC[0] < 0:
        gc.collect()
        gc.freeze()
    _TRIALS_SINCE_GC[0] += 1
    graph_release.release_dropped_graphs()  # what TensorFlow keeps of dropped programs (issue 22)
    if _TRIALS_SINCE_GC[0] >= every:
        gc.collect()
        _TRIALS_SINCE_GC[0] = 0
    graph_release.release_stale_kernels()


def restore_checkpoint(workload: Workload, result: TrialResult, which: str = "best"):
    """Rebuild the trial's model and load its best (or ``"last"``) checkpoint.

    Args:
        workload: the workload the trial trained on.
        result: the trial's :class:`TrialResult`.
        which: ``"best"`` (by the validation objective) or ``"last"``.

    Returns:
        keras.Model: the trial's model with that checkpoint's weights.

    Raises:
        ValueError: the trial kept no such checkpoint (infeasible, or ``"last"`` without a
            ``checkpoint_dir``), or ``which`` is neither value.

    Example::

        model = pk.restore_checkpoint(workload, result)          # the best step's weights
        pk.evaluate_model(workload, model)["accuracy"]
    """
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
        raise not_allowed("which", which, "use 'best' or 'last'")
    return model


def dry_run(workload: Workload, config: dict | None = None, examples: int = 8) -> dict:
    """Check a workload before any work: build the model for ``config`` (the defaults
    when None), run one batch of training data through the loss and every metric, then
    train one step on the engine the study will use (:mod:`.engines`), so that a model
    that cannot train fails at once, not after the budget is spent.

    Raises :class:`~playbook_kit.workload.workload.WorkloadError` naming the thing at fault and
    what is allowed: a builder that fails or returns no Keras model, NaN or Inf labels,
    labels whose shape or classes do not fit the model's output, a loss that does not
    give one value per example, a metric that cannot be computed on the batch, a model
    that fails its first step. Returns the batch's loss and metrics, and ``engine``: the
    engine and why.

    Args:
        workload: the workload to check.
        config: the config to build; None: the workload's defaults.
        examples: training examples in the batch pushed through.

    Returns:
        dict: the batch's ``loss`` and metrics, and ``engine`` (the engine and why).

    Raises:
        WorkloadError: what cannot work, named, as listed above.

    Example::

        pk.dry_run(workload)    # {'loss': 2.31, 'accuracy': 0.12, 'engine': 'compiled: ...'}
    """
    import tensorflow as tf

    from ..workload.keras_models import is_compiled

    config = workload.config(config)
    try:
        model = workload.build_model(config)
    except WorkloadError:
        raise
    except Exception as error:
        raise WorkloadError(f"the model builder failed for the default config: "
                            f"{type(error).__name__}: {error}") from None
    data = workload.data_for(config)
    x, y = data.sample_batch(examples)
    if not is_compiled(model) and not isinstance(y, dict) and not isinstance(y, tuple):
        measured = _check_batch(workload, model, x, tf.convert_to_tensor(y))
    else:
        measured = {}
    _check_batch_size(workload, config)
    engine, reason = choose_engine(workload, model, data)
    one_step = {**config, "warmup_steps": 0} if "warmup_steps" in workload.fields else config
    try:
        step = train_trial(workload, one_step, 0, max_train_steps=1, eval_every=1)
    except WorkloadError:
        raise
    except Exception as error:
        raise WorkloadError(f"the model fails its first training step on the {engine} "
                            f"engine: {type(error).__name__}: "
                            f"{error_line(error)}") from None
    if not measured:
        curves = step.curves
        first = curves[(curves["step"] == 0) & (curves["split"] == "train")]
        if first.empty:
            first = curves[(curves["step"] == curves["step"].max())
                           & (curves["split"] == "train")]
        measured = dict(zip(first["metric"], first["value"].astype(float)))
    return {**measured, "engine": reason}


def _check_batch(workload: Workload, model, x, y) -> dict:
    """One batch through the toolkit's loss and metrics, with errors that name the
    thing at fault (see :func:`dry_run`)."""
    import keras
    import tensorflow as tf

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
                            "output tensor, or be compiled with a loss per output (give "
                            "the Workload loss= a dict or list, or compile the model)")
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
        if len(label_shape) == 1 and label_shape[0] > 1 and label_shape == out_shape:
            raise WorkloadError(
                f"labels of shape {tuple(y.shape)} are one-hot but loss {loss.name!r} wants "
                "integer classes; give loss='categorical_crossentropy' (or "
                "CategoricalCrossentropy(from_logits=True) for logits)")
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
