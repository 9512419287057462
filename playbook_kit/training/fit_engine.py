"""The ``fit`` engine: a trial trained by Keras' own ``model.fit``, in chunks of steps.

For what the compiled loop does not run as written (:mod:`playbook_kit.training.engines`): an
overridden ``train_step`` or ``test_step``, a keras-tuner ``HyperModel.fit``, a
``keras.utils.PyDataset``, ``run_eagerly=True``. Keras trains with the model's compile
(the toolkit compiles a model that comes uncompiled: the config's optimizer, the
workload's loss and metrics); ``steps_per_epoch=eval_every``, so a Keras "epoch" is one
chunk of steps between evaluations, and the trial stops after exactly
``max_train_steps`` steps. A callback of the toolkit's gives the same trial record as the
compiled engine: curves at each evaluation, best-k checkpoints with retrospective
selection, the divergence and NaN rules (infeasible, not failed), the learning rate.

What differs, and is said in the record:

* Gradient norms are not recorded (Keras' ``train_step`` does not expose them), and the
  toolkit's ``clip_norm`` becomes the optimizer's ``global_clipnorm``.
* Evaluation runs the model's ``test_step`` at each chunk's end on the validation split
  and on the fixed training sample: in a compiled pass over the same batches as the
  compiled engine (:func:`~playbook_kit.training.keras_steps.keras_evaluator`) when the model keeps
  Keras' ``test_step``, through ``model.evaluate`` when it overrides it or the data is a
  ``PyDataset``. Under a ``HyperModel.fit``, which may transform the data it is given,
  the validation metrics are Keras' (the ``validation_data`` its ``fit`` passes on) and
  the ``train`` split holds Keras' training logs (running means over each chunk); the
  divergence rule there compares the chunk's training loss with the first batch's.
* Under a ``HyperModel.fit`` with arrays, Keras ends a chunk early when the data run out
  (``steps_per_epoch`` larger than the batches left): evaluations then fall at the steps
  Keras reached, still ``max_train_steps`` in all.
* A NaN or Inf training loss stops the trial at the batch it appears (Keras' running mean
  of the loss turns non-finite there); a user's callback that stops training early
  (``EarlyStopping``) ends the trial as completed at that step.
"""
from __future__ import annotations

import math
import warnings


def prepare_model(model, settings: dict, workload, max_train_steps: int, data) -> None:
    """Compile an uncompiled model as the compiled engine would train it (the config's
    optimizer and schedule, the workload's loss and metrics; its metric state built at
    once, so that an evaluation traced before the first step resets it); give a compiled
    one the toolkit's schedule and clipping when set (its optimizer otherwise untouched)."""
    from .keras_steps import clone_optimizer, own_schedule
    from .programs import check_compiled_optimizer, compiled_rate
    from ..workload.keras_models import build_on_sample, is_compiled
    from ..workload.optimizers import build_optimizer, learning_rate_schedule

    if not is_compiled(model):
        optimizer = build_optimizer(settings, max_train_steps)
        if settings["clip_norm"] is not None:
            optimizer.global_clipnorm = settings["clip_norm"]
        metrics = list(workload.make_metrics().values())
        model.compile(optimizer=optimizer, loss=workload.make_loss().function,
                      metrics=metrics or None)
        build_on_sample(model, data)
        return
    check_compiled_optimizer(model.optimizer, settings, None)
    toolkit_schedule = settings["schedule"] != "constant" or settings["warmup_steps"] \
        or settings["decay_factor"]
    if toolkit_schedule and not own_schedule(model.optimizer):
        schedule = learning_rate_schedule({**settings, "learning_rate": compiled_rate(model)},
                                          max_train_steps)
        model.optimizer = clone_optimizer(model.optimizer, schedule)
    if settings["clip_norm"] is not None:
        inner = getattr(model.optimizer, "inner_optimizer", model.optimizer)
        if inner.clipnorm or inner.global_clipnorm or inner.clipvalue:
            from ..core.validation import not_allowed
            from ..workload.objectives import WorkloadError

            raise not_allowed("clip_norm", settings["clip_norm"], "use None, or an optimizer "
                              "that does not clip", why="the model's optimizer already clips; "
                              "give one of the two", error=WorkloadError)
        inner.global_clipnorm = settings["clip_norm"]


def fit_arguments(workload, data, settings: dict, seed: int, eval_size: int,
                  skip: int = 0):
    """``(positional, keyword)`` arguments of the trial's ``fit`` call, without the
    epochs and callbacks: the training data (its first ``skip`` batches left out, for a
    resumed run), ``validation_data`` and the weights."""
    from ..data.arrays import Dataset

    builder = workload.builder
    keyword = {}
    if workload.class_weight is not None:
        keyword["class_weight"] = workload.class_weight
    if getattr(data, "keras_dataset", None) is not None:
        return (data.repeated(seed, skip),), {**keyword, "shuffle": False}
    if not getattr(builder, "overrides_fit", False):
        from ..data.arrays import with_class_weights

        stream = data.train_stream(settings["batch_size"], seed).skip(skip)
        return (with_class_weights(stream, workload.class_weight),), {"shuffle": False}
    if isinstance(data, Dataset):  # the user's fit gets arrays, as keras-tuner gives them
        keyword["validation_data"] = (data.x_val, data.y_val) \
            if data.sample_weight_val is None else \
            (data.x_val, data.y_val, data.sample_weight_val)
        if "batch_size" not in builder.fit_arguments:
            keyword["batch_size"] = settings["batch_size"]
        if data.sample_weight_train is not None:
            keyword["sample_weight"] = data.sample_weight_train
        return (data.x_train, data.y_train), keyword
    keyword["validation_data"] = data.validation_batches(eval_size)
    return (data.train_stream(settings["batch_size"], seed),), {**keyword, "shuffle": False}


def evaluate_split(model, data, split: str, eval_size: int) -> dict:
    """``model.evaluate`` on the validation split or the fixed training sample (or the
    test split): loss and metrics as Keras reports them."""
    from ..data.arrays import Dataset

    if isinstance(data, Dataset):
        if split == "train":
            x, y = data.train_sample
            weights = data.sample_weight_train
            weights = None if weights is None else weights[data.train_sample_index]
        elif split == "validation":
            x, y, weights = data.x_val, data.y_val, data.sample_weight_val
        else:
            x, y = data.test()
            weights = data._test_split._w
        return model.evaluate(x, y, sample_weight=weights, batch_size=eval_size, verbose=0,
                              return_dict=True)
    if split == "test":
        batches = data.test_batches(eval_size)
    elif split == "validation":
        batches = data.keras_validation if getattr(data, "keras_dataset", None) is not None \
            else data.validation_batches(eval_size)
    else:
        batches = data.train_sample_batches(eval_size)
    return model.evaluate(batches, verbose=0, return_dict=True)


def train(workload, config: dict, settings: dict, seed: int, model, result, start, *,
          max_train_steps: int, eval_every: int, keeper, divergence_factor: float,
          progress=None, state=None, interval=None):
    """Train one trial with ``model.fit`` (see the module); returns the finished
    :class:`~playbook_kit.training.trial_record.TrialResult`. ``state`` and ``interval``: where
    and when to write its resumable state, at the end of a chunk (None: never)."""
    import tensorflow as tf

    from .trial_record import finish
    from .trial_state import TrialInterrupted

    data = workload.data_for(config)
    eval_size = data.eval_size(settings["batch_size"])
    prepare_model(model, settings, workload, max_train_steps, data)
    hyper_fit = getattr(workload.builder, "overrides_fit", False)
    if hyper_fit and state is not None:  # its data order is Keras' own: not replayable
        state.clear()
        state = None
    recorder = _PlaybookCallback(model, data, eval_size, max_train_steps, eval_every,
                                 workload.objective, divergence_factor, keeper, progress,
                                 None if hyper_fit else _evaluator(model, data, eval_size),
                                 state, interval, start)
    recorder.result = result
    payload, why = state.load() if state is not None else (None, "")
    if payload is not None:
        state.restore(payload, recorder.variables())  # StateError: the trainer starts over
        recorder.resume(payload, result, state.noted_step())
    elif why:
        result.resume_note = f"restarted from step 0: {why}"
    args, keyword = fit_arguments(workload, data, settings, seed, eval_size, recorder.step)
    remaining = max_train_steps - recorder.step
    keyword.update(epochs=-(-remaining // eval_every) + (max_train_steps if hyper_fit else 0),
                   steps_per_epoch=eval_every, callbacks=[recorder], verbose=0)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            if hyper_fit:
                workload.builder.hypermodel.fit(workload.builder.last_hyperparameters, model,
                                                *args, **keyword)
            else:
                model.fit(*args, **keyword)
    except tf.errors.ResourceExhaustedError as error:
        return finish(result, start, "infeasible", f"out of memory: {error.message[:200]}",
                       recorder.rows, recorder.step, keeper)
    except _MissingObjective as error:
        from ..workload.objectives import WorkloadError

        raise WorkloadError(str(error)) from None
    except _EvaluationFailed as failed:
        from ..workload.objectives import WorkloadError

        from .trial_record import error_line

        error = failed.args[0]
        text = error_line(error)
        raise WorkloadError(f"the model's evaluation fails on the fit engine (its "
                            f"test_step): {type(error).__name__}: {text}") from None
    if recorder.stopped_at is not None:
        raise TrialInterrupted(recorder.stopped_at, state.directory)
    if state is not None:
        state.clear()
    if recorder.reason:
        return finish(result, start, "infeasible", recorder.reason, recorder.rows,
                       recorder.step, keeper)
    if recorder.step == 0:
        from ..workload.objectives import WorkloadError

        raise WorkloadError("the model trained no step on the fit engine (does the "
                            "hypermodel's fit() call model.fit?)")
    keeper.save_last(recorder.step)
    return finish(result, start, "completed", "", recorder.rows, recorder.step, keeper)


def _evaluator(model, data, eval_size: int):
    """``evaluate(split) -> {metric: value}`` with the model's ``test_step``: a compiled
    pass over the compiled engine's evaluation batches when the model keeps Keras'
    ``test_step`` (as fast as that engine's), else ``model.evaluate``."""
    import keras

    from .keras_steps import keras_evaluator

    if type(model).test_step is keras.Model.test_step and hasattr(data, "eval_data"):
        evaluate = keras_evaluator(model)
        batches = {split: data.eval_data(split, eval_size) for split in ("validation", "train")}

        def compiled(split):
            loss, metrics, _ = evaluate(batches[split])
            return {"loss": loss, **metrics}

        return compiled
    return lambda split: evaluate_split(model, data, split, eval_size)


class _MissingObjective(Exception):
    pass


class _EvaluationFailed(Exception):
    """The model's own evaluation (its ``test_step``) failed before any step."""


def _callback_base():
    import keras

    return keras.callbacks.Callback


class _PlaybookCallback(_callback_base()):
    """Counts steps, stops at ``max_train_steps`` or at a non-finite loss, evaluates at
    each chunk's end and keeps the curves and best checkpoints (see the module)."""

    def __init__(self, model, data, eval_size, max_train_steps, eval_every, objective,
                 divergence_factor, keeper, progress, evaluate, state=None, interval=None,
                 start=0.0):
        super().__init__()
        self.data, self.eval_size = data, eval_size
        self.max_train_steps, self.eval_every = max_train_steps, eval_every
        self.objective, self.divergence_factor = objective, divergence_factor
        self.keeper, self.progress, self.evaluate = keeper, progress, evaluate
        self.evaluable = evaluate is not None
        self.state, self.interval, self.start = state, interval, start
        self._model = model
        self.rows: list = []
        self.step = 0
        self.chunk_start = 0
        self.initial_loss = None
        self.reason = ""
        self.resumed = False
        self.resumed_from: list = []
        self.offset = 0.0
        self.stopped_at = None

    def variables(self) -> list:
        """What a resumable state holds of the model: its variables and its optimizer's."""
        return list(self._model.variables) + list(self._model.optimizer.variables)

    def resume(self, payload: dict, result, noted) -> None:
        self.rows = [tuple(row) for row in payload["rows"]]
        self.step = self.chunk_start = int(payload["step"])
        self.initial_loss = float(payload["initial_loss"])
        self.resumed_from = [*payload["resumed_from"], self.step]
        self.offset, self.resumed = float(payload["seconds"]), True
        self.keeper.restore(payload["keeper"])
        self.interval.written(self.step, self.offset, self.interval.write_cost)
        result.resumed_from = list(self.resumed_from)
        result.lost_steps = max(0, (noted or self.step) - self.step)

    def _save(self) -> None:
        import time

        self.keeper.flush()
        seconds = self.offset + time.perf_counter() - self.start
        payload = {"rows": self.rows, "chunk_start": self.step, "sums": None,
                   "initial_loss": self.initial_loss, "resumed_from": self.resumed_from,
                   "keeper": self.keeper.state(), "seconds": seconds}
        cost = self.state.write(self.step, self.variables(), None, payload)
        self.interval.written(self.step, seconds, cost)
        self.result.states_written += 1
        self.result.state_seconds += cost

    def _learning_rate(self) -> float:
        import keras

        optimizer = self.model.optimizer
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        rate = inner._get_current_learning_rate() if hasattr(
            inner, "_get_current_learning_rate") else inner.learning_rate
        return float(keras.ops.convert_to_numpy(rate))

    def _evaluate(self, step: int, logs: dict | None = None) -> dict:
        measured = {}
        if self.evaluable:
            for split in ("validation", "train"):
                measured[split] = {k: float(v) for k, v in self.evaluate(split).items()}
        else:
            logs = logs or {}
            measured["validation"] = {k[4:]: float(v) for k, v in logs.items()
                                      if k.startswith("val_")}
            measured["train"] = {k: float(v) for k, v in logs.items()
                                 if not k.startswith("val_")}
        for split, values in measured.items():
            self.rows.extend((step, split, metric, value) for metric, value in values.items())
        self.rows.append((step, "optimizer", "learning_rate", self._learning_rate()))
        return measured

    def on_train_begin(self, logs=None):
        if self.evaluable and not self.resumed:
            try:
                measured = self._evaluate(0)
            except Exception as error:
                raise _EvaluationFailed(error) from error
            self.initial_loss = measured["train"]["loss"]

    def on_train_batch_end(self, batch, logs=None):
        from .trial_state import stop_requested

        self.step += 1
        if stop_requested() and self.state is not None:
            self.stopped_at = self.chunk_start  # the last state stands (written at a chunk's end)
            self.model.stop_training = True
            return
        loss = float((logs or {}).get("loss", 0.0))
        if self.initial_loss is None:
            self.initial_loss = loss
        if not math.isfinite(loss):
            self.reason = f"loss or gradient norm became NaN/Inf at step {self.step}"
            self.model.stop_training = True
        elif self.step >= self.max_train_steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        done = self.step - self.chunk_start
        if self.reason or done == 0 or self.stopped_at is not None:
            return
        self.chunk_start = self.step
        self.rows.append((self.step, "train", "minibatch_loss", float(logs.get("loss",
                                                                              math.nan))))
        measured = self._evaluate(self.step, logs)
        metric = self.objective.removeprefix("val_")
        if metric not in measured["validation"]:
            raise _MissingObjective(
                f"objective {self.objective!r} is not recorded by the fit engine: the "
                f"model's validation logs hold {sorted(measured['validation'])}"
                + ("" if measured["validation"] else " (does the hypermodel's fit() pass "
                   "validation_data on to model.fit?)"))
        from .trial_record import divergence_reason

        train_loss = measured["train"].get("loss", math.nan)
        self.reason = divergence_reason(train_loss, self.initial_loss, self.divergence_factor,
                                        self.step)
        if self.reason:
            self.model.stop_training = True
            return
        self.keeper.offer(self.step, measured["validation"][metric],
                          measured["validation"].get("loss", math.nan))
        if self.progress is not None:
            self.progress(self.step, measured)
        if self.state is not None and self.step < self.max_train_steps:
            import time

            self.state.beat(self.step)
            if self.interval.due(self.step, self.offset + time.perf_counter() - self.start):
                self._save()

