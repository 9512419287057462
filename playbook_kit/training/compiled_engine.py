"""The compiled engine's run of one trial: chunks of steps in the compiled program,
evaluations between them, and a resumable state written at intervals.

Each chunk of ``eval_every`` steps runs as one or more calls of the program's compiled
loop, each call bounded to about :data:`CALL_SECONDS` of training so that a stop asked
for by SIGTERM is honoured at the next step boundary within a bounded time; the calls
carry the chunk's running sums (:func:`~playbook_kit.training.steps.run_steps`), so a chunk split
anywhere records the same bits as one call. Between calls, when a state is due
(:class:`~playbook_kit.training.trial_state.Interval`) or a stop was asked for, the best-k
checkpoints are flushed and the state written
(:class:`~playbook_kit.training.trial_state.TrialState`);
a run resumed from it continues bit for bit as if it had never stopped.
"""
from __future__ import annotations

import math
import time

CALL_SECONDS = 1.0
"""The toolkit's choice: the longest stretch of training between two points at which a
stop can be honoured (a call of the compiled loop is not interrupted): well inside the
30 s Kubernetes grants after SIGTERM, and 4,000 steps of the digits MLP, so that small
models' chunks still run as one call."""
FIRST_CALL_STEPS = 16
"""Steps of a trial's first call, which measures the step time for the next ones."""


def trial_program(workload, config: dict, seed: int, model, max_train_steps: int,
                  strategy=None, iterate: bool = True):
    """What a trial trains with: ``(program, train iterator, evaluation batches by split)``
    for ``model``, freshly built by :func:`~playbook_kit.training.trainer.seeded_model`. The
    program is a cached
    one of the same shape when there is one (:func:`~playbook_kit.training.programs.program_for`);
    recipes that time steps use this too, so that they time what a trial runs. With a
    ``strategy`` (:func:`~playbook_kit.training.distribute.strategy_for`; ``model`` built in its
    scope) the iterator splits each global batch across the replicas. ``iterate=False``
    (a packed trial, whose batches the pack draws): no iterator, only the stream's shape."""
    from . import programs
    from .distribute import distribute_stream
    from .engines import FIT, fit_reasons
    from ..workload.objectives import WorkloadError

    data = workload.data_for(config)
    reasons = fit_reasons(workload, model, data)
    if reasons or workload.engine == FIT:
        raise WorkloadError(f"{reasons[0] if reasons else 'engine=' + repr(FIT)}: this "
                            "model trains on the fit engine, and this procedure times the "
                            "compiled engine's steps; it does not apply to it")
    settings = workload.settings(config)
    batch_size = settings["batch_size"]
    if iterate:
        stream = train_stream(workload, data, batch_size, seed)
        iterator = iter(stream) if strategy is None else distribute_stream(strategy, stream)
    else:
        iterator = _stream_shape(workload, data, batch_size)
    eval_size = data.eval_size(batch_size)
    splits = {split: data.eval_data(split, eval_size) for split in ("validation", "train")}
    return (programs.program_for(workload, config, settings, model, iterator, splits,
                                 max_train_steps, strategy), iterator, splits)


_STREAM_SHAPES: dict = {}


def _stream_shape(workload, data, batch_size: int):
    """What the program cache reads of a trial's stream (its ``element_spec``), without
    building a stream per trial (7 ms for the digits): kept for the last few data and
    batch sizes."""
    from types import SimpleNamespace

    key = (id(data), batch_size, workload.class_weight is None)
    kept = _STREAM_SHAPES.get(key)
    if kept is None or kept[0] is not data:
        spec = train_stream(workload, data, batch_size, 0).element_spec
        kept = _STREAM_SHAPES[key] = (data, SimpleNamespace(element_spec=spec))
        while len(_STREAM_SHAPES) > 4:
            _STREAM_SHAPES.pop(next(iter(_STREAM_SHAPES)))
    return kept[1]


def train_stream(workload, data, batch_size: int, seed: int):
    """The data's training batches with the workload's class weights as sample weights
    (:func:`~playbook_kit.data.arrays.with_class_weights`)."""
    from ..data.arrays import with_class_weights

    return with_class_weights(data.train_stream(batch_size, seed), workload.class_weight)


def train(workload, config: dict, seed: int, model, strategy, result, start, keeper, *,
          max_train_steps: int, eval_every: int, divergence_factor: float, progress=None,
          state=None, interval=None):
    """Train one trial on the compiled engine; returns the finished
    :class:`~playbook_kit.training.trial_record.TrialResult` (see the module). ``state`` and
    ``interval``: where and when to write its resumable state (None: never)."""
    run = trial_run(workload, config, seed, model, strategy, result, start, keeper,
                    max_train_steps=max_train_steps, eval_every=eval_every,
                    divergence_factor=divergence_factor, progress=progress, state=state,
                    interval=interval)
    try:
        call = next(run)
        while True:
            try:
                answer = call.run()
            except Exception as error:  # the run handles it (out of memory: infeasible)
                call = run.throw(error)
                continue
            call = run.send(answer)
    except StopIteration as finished:
        return finished.value


class StepCall:
    """What a trial's run asks for next: up to ``n`` steps from the chunk's running sums
    ``carry``. :meth:`run` trains them in the trial's own program; a pack
    (:mod:`~playbook_kit.training.packed`) trains them in its own and answers the same
    ``(steps done, loss sum, norm sum, norm max, steps clipped, finite)``, after loading the
    trial's weights into ``program``'s model (which evaluates and saves them)."""

    def __init__(self, n: int, carry, program, iterator):
        self.n, self.carry, self.program, self._iterator = n, carry, program, iterator

    def run(self):
        import tensorflow as tf

        return self.program.train_steps(self._iterator, tf.constant(self.n), self.carry)


def trial_run(workload, config: dict, seed: int, model, strategy, result, start, keeper, *,
              max_train_steps: int, eval_every: int, divergence_factor: float,
              progress=None, state=None, interval=None, first_call_steps=FIRST_CALL_STEPS,
              replay_data=False, learning_rates=None):
    """The trial's run (see :func:`train`) as a generator: it yields a :class:`StepCall`
    for each call of steps, is sent back the call's answer, and returns the finished
    :class:`~playbook_kit.training.trial_record.TrialResult`. ``replay_data``: the steps
    are not drawn from the trial's iterator (a pack draws them, and the trial's stream is
    not iterated), so a state says to replay the data up to its step on resume.
    ``learning_rates``: the rates at the evaluation steps, when the caller has them."""
    import tensorflow as tf

    from ..workload.objectives import WorkloadError
    from .trial_record import divergence_reason, finish
    from .trial_state import StateError, TrialInterrupted, stop_requested

    compiled, iterator, splits = trial_program(workload, config, seed, model, max_train_steps,
                                               strategy, iterate=not replay_data)
    keeper.model = compiled.model
    variables = list(compiled.model.variables) + list(compiled.optimizer.variables)
    eval_steps = evaluation_steps(max_train_steps, eval_every)
    learning_rates = dict(zip(eval_steps, learning_rates or
                              compiled.learning_rates(eval_steps)))
    metric_key = workload.objective.removeprefix("val_")
    run = _Run()

    def evaluate(step):
        measured = {}
        for split, dataset in splits.items():
            loss, metrics, _ = compiled.evaluate(dataset)
            measured[split] = {"loss": float(loss), **{k: float(v) for k, v in metrics.items()}}
            run.rows.extend((step, split, m, v) for m, v in measured[split].items())
        run.rows.append((step, "optimizer", "learning_rate", learning_rates[step]))
        return measured

    def save(step):
        keeper.flush()
        seconds = run.seconds(start)
        cost = state.write(step, variables, None if replay_data else iterator,
                           {**run.payload(), "keeper": keeper.state(), "seconds": seconds})
        interval.written(step, seconds, cost)
        result.states_written += 1
        result.state_seconds += cost

    payload, why = state.load() if state is not None else (None, "")
    if payload is not None:
        try:
            state.restore(payload, variables, iterator)
        except StateError as error:
            payload, why = None, str(error)
            compiled, iterator, splits = trial_program(workload, config, seed, model,
                                                       max_train_steps, strategy)
    if payload is not None:
        if payload["data"] == "replay":
            settings = workload.settings(config)
            iterator = iter(train_stream(workload, workload.data_for(config),
                                         settings["batch_size"], seed).skip(payload["step"]))
        noted = state.noted_step()
        run.resume(payload, keeper, result, noted)
        interval.written(run.step, run.offset, interval.write_cost)
    elif why:
        result.resume_note = f"restarted from step 0: {why}"
    step = run.step
    call_steps = first_call_steps
    try:
        if payload is None:
            run.initial_loss = evaluate(0)["train"]["loss"]
        while step < max_train_steps:
            chunk_end = min(run.chunk_start + eval_every, max_train_steps)
            n = min(chunk_end - step, call_steps)
            if interval is not None and interval.steps_left(step):
                n = min(n, interval.steps_left(step))
            began = time.perf_counter()
            done, *sums, finite = yield StepCall(n, run.carry(), compiled, iterator)
            done = int(done)
            call_steps = max(1, int(CALL_SECONDS * done / max(time.perf_counter() - began,
                                                               1e-9)))
            step = run.step = step + done
            run.sums = [float(v) for v in sums]
            if not bool(finite):
                return _ended(state, finish(result, start, "infeasible",
                                            f"loss or gradient norm became NaN/Inf at step "
                                            f"{step}", run.rows, step, keeper))
            if step == chunk_end:
                done_in_chunk = step - run.chunk_start
                loss_sum, norm_sum, norm_max, clipped = run.sums
                run.rows.extend([(step, "train", "minibatch_loss", loss_sum / done_in_chunk),
                                 (step, "optimizer", "grad_norm_mean", norm_sum / done_in_chunk),
                                 (step, "optimizer", "grad_norm_max", norm_max),
                                 (step, "optimizer", "clipped_fraction", clipped / done_in_chunk)])
                run.chunk_start, run.sums = step, None
                measured = evaluate(step)
                reason = divergence_reason(measured["train"]["loss"], run.initial_loss,
                                           divergence_factor, step)
                if reason:
                    return _ended(state, finish(result, start, "infeasible", reason, run.rows,
                                                step, keeper))
                if metric_key not in measured["validation"]:
                    raise WorkloadError(f"objective {workload.objective!r} is not recorded: "
                                        f"the model's metrics are "
                                        f"{sorted(measured['validation'])}")
                keeper.offer(step, measured["validation"][metric_key],
                             measured["validation"]["loss"])
                if progress is not None:
                    progress(step, measured)
            if state is not None and step < max_train_steps:
                state.beat(step)
                if stop_requested() or interval.due(step, run.seconds(start)):
                    save(step)
                if stop_requested():
                    raise TrialInterrupted(step, state.directory)
    except tf.errors.ResourceExhaustedError as error:
        return _ended(state, finish(result, start, "infeasible",
                                    f"out of memory: {error.message[:200]}", run.rows, step,
                                    keeper))
    keeper.save_last(step)
    return _ended(state, finish(result, start, "completed", "", run.rows, step, keeper))


def evaluation_steps(max_train_steps: int, eval_every: int) -> list:
    """The steps a trial evaluates at: 0, every ``eval_every`` and the last."""
    return [0, *range(eval_every, max_train_steps, eval_every), max_train_steps]


class _Run:
    """What a run has done so far, as its resumable state keeps it."""

    def __init__(self):
        self.rows: list = []
        self.step = self.chunk_start = 0
        self.sums = None  # the chunk's running sums, when a state falls inside a chunk
        self.initial_loss = math.nan
        self.resumed_from: list = []
        self.offset = 0.0  # training seconds before this process took the run over

    def carry(self):
        import tensorflow as tf

        from .steps import zero_carry

        if self.sums is None:
            return zero_carry()
        return tuple(tf.constant(v, tf.float32) for v in self.sums)

    def seconds(self, start: float) -> float:
        return self.offset + time.perf_counter() - start

    def payload(self) -> dict:
        return {"rows": self.rows, "chunk_start": self.chunk_start, "sums": self.sums,
                "initial_loss": self.initial_loss, "resumed_from": self.resumed_from}

    def resume(self, payload: dict, keeper, result, noted) -> None:
        self.rows = [tuple(row) for row in payload["rows"]]
        self.step, self.chunk_start = payload["step"], payload["chunk_start"]
        self.sums, self.initial_loss = payload["sums"], float(payload["initial_loss"])
        self.resumed_from = [*payload["resumed_from"], self.step]
        self.offset = float(payload["seconds"])
        keeper.restore(payload["keeper"])
        result.resumed_from = list(self.resumed_from)
        result.lost_steps = max(0, (noted or self.step) - self.step)


def _ended(state, result):
    """A finished trial keeps no state."""
    if state is not None:
        state.clear()
    return result
