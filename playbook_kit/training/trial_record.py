"""The record of one trial, the same on every engine: :class:`TrialResult`, the
divergence rule, best-k checkpoint retention and how a run's rows become its curves.

Both engines (:mod:`playbook_kit.training.trainer`'s compiled loop and
:mod:`playbook_kit.training.fit_engine`) finish a trial through :func:`finish`, so a trial record
does not depend on which one trained it beyond its ``engine`` field.

Divergence rule (the toolkit's choice; the playbook gives no number): a trial is
infeasible when a minibatch loss is NaN or Inf, or when the loss on the training sample
exceeds ``divergence_factor`` (default 5) times its value before training.
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import rules
from ..core.validation import check_int, not_allowed

DIVERGENCE_FACTOR = 5.0


@dataclass
class TrialResult:
    """What one trial leaves: status, the best checkpoint's metrics, curves, checkpoints.

    Attributes:
        status: ``"completed"`` or ``"infeasible"``; ``reason`` says why it is infeasible.
        config: the trial's full config.
        seed: its seed.
        max_train_steps: its fixed training length.
        eval_every: steps between its evaluations.
        objective_name: the metric it was judged by.
        direction: ``"max"`` or ``"min"``.
        best_step: the step of the best evaluation.
        objective: the objective there.
        final_objective: the objective at the last step.
        best_metrics: every metric at the best step.
        final_metrics: every metric at the last step.
        steps_completed: how far it got.
        duration_s: its wall time.
        curves: ``step, split, metric, value`` rows, one per evaluation.
        checkpoints: checkpoint files by name (``step-<n>``, ``last``).
        best_weights: the best weights, when no checkpoint folder was given.
        engine: the engine that trained it: ``"compiled"`` or ``"fit"``.
        engine_reason: why.

    Example::

        result = pk.train_trial(workload, max_train_steps=300)
        result.feasible, result.best_step, result.curve("validation", "accuracy")
    """

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
    engine: str = "compiled"
    """``"compiled"`` or ``"fit"`` (:mod:`playbook_kit.training.engines`)."""
    engine_reason: str = ""
    resumed_from: list = field(default_factory=list)
    """The steps this run resumed at from its state (:mod:`playbook_kit.training.trial_state`)."""
    lost_steps: int = 0
    """Steps a kill lost, trained after the last state up to the last step noted."""
    resume_note: str = ""
    """Why a stored state was not used (the run then restarted from step 0)."""
    states_written: int = 0
    state_seconds: float = 0.0
    """Resumable states this run wrote, and the seconds their writes took."""

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
        facts["engine"] = self.engine_reason or self.engine
        facts["duration_s"] = round(self.duration_s, 2)
        return pd.Series(facts, name="trial")

    def to_dict(self) -> dict:
        """JSON-ready summary (curves excluded; they are stored as a table)."""
        keys = ("status", "config", "seed", "max_train_steps", "eval_every", "objective_name",
                "direction", "reason", "best_step", "objective", "final_objective",
                "best_metrics", "final_metrics", "steps_completed", "duration_s", "checkpoints",
                "engine", "engine_reason", "resumed_from", "lost_steps", "resume_note",
                "states_written", "state_seconds")
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


def completed(workload, result):
    """The best and final metrics of a completed trial, from its curves."""
    if result.status != "completed":
        return result
    best = result.curves[result.curves["step"] == result.best_step]
    final = result.curves[result.curves["step"] == result.steps_completed]
    result.best_metrics = _metrics_at(best)
    result.final_metrics = _metrics_at(final)
    result.objective = result.best_metrics[workload.objective]
    result.final_objective = result.final_metrics[workload.objective]
    return result


def _metrics_at(frame: pd.DataFrame) -> dict:
    prefix = {"validation": "val_", "train": "train_", "optimizer": ""}
    return {prefix[s] + m: float(v) for s, m, v in frame[["split", "metric", "value"]].itertuples(
        index=False)}


def finish(result, start, status, reason, rows=(), step=0, keeper=None):
    result.status, result.reason, result.steps_completed = status, reason, int(step)
    result.curves = pd.DataFrame(list(rows), columns=["step", "split", "metric", "value"])
    if keeper is not None:
        keeper.write()
        result.best_step = keeper.best_step
        result.checkpoints = keeper.files()
        result.best_weights = keeper.best_weights
    result.duration_s = time.perf_counter() - start
    return result


class CheckpointKeeper:
    """Best-k retention by the validation objective (ties broken by lower loss) plus last.

    The best k so far are held in memory (a copy of the weights when a step enters them)
    and written once, when the run ends, or when a resumable state is written
    (:meth:`flush`; the state then refers to them by file): a ``save_weights`` costs
    about 15 ms, and early in training nearly every evaluation enters the best k, so
    writing on entry would write most evaluations and delete them again. A file whose step
    has left the best k is removed at the next flush or at the end. When the last step is
    among the best k, "last" is a copy of its file rather than a second save. Saves
    replay the model's first save (:func:`~playbook_kit.training.programs.save_weights`: the same
    file, a third of the time).
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
        self.flushed: set = set()  # steps whose files are on disk
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
            self.held = {s: self.held[s] for _, s in self.kept if s in self.held}
        elif self.best_step != was_best:
            self.best_weights = [w.copy() for w in self.model.get_weights()]

    def save_last(self, step):
        """Mark ``step`` (the model's current weights) as the last checkpoint, written by
        :meth:`write`."""
        if self.directory is not None:
            self.last_step = step

    def flush(self):
        """Write the best k held in memory now and remove the files of steps no longer
        among them (before a resumable state, which refers to them by file)."""
        if self.directory is None:
            return
        if self.held:
            current = self.model.get_weights()
            for step, weights in sorted(self.held.items()):
                self.model.set_weights(weights)
                self._save(self._path(step))
                self.flushed.add(step)
            self.model.set_weights(current)
            self.held = {}
        kept = {s for _, s in self.kept}
        for step in sorted(self.flushed - kept):
            self._path(step).unlink(missing_ok=True)
        self.flushed &= kept

    def state(self) -> dict:
        """What a resumable state keeps of the best k (after :meth:`flush`)."""
        return {"kept": [[list(key), step] for key, step in self.kept],
                "flushed": sorted(self.flushed)}

    def restore(self, state: dict) -> None:
        """The best k of a resumable state (their files on disk)."""
        self.kept = [(tuple(key), step) for key, step in state["kept"]]
        self.flushed, self.held = set(state["flushed"]), {}

    def write(self):
        """Write the best k held in memory (once each) and the last step, leaving the
        model's weights as they were."""
        import shutil

        from ..core.files import atomic_write

        self.flush()
        written = set(self.flushed)
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
        from ..core.files import atomic_write
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


def error_line(error) -> str:
    """The line of an error that says what went wrong (a traced function's error names
    it on its last line, after "in user code:" and the traceback)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if not lines[0].startswith("in user code"):
        return lines[0]
    return lines[-1].removeprefix(f"{type(error).__name__}: ")
