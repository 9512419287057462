"""A stored study in TensorBoard: each trial's curves and hyperparameters (HParams plugin).

:func:`export_tensorboard` writes, for a study named ``S`` into ``logdir``::

    logdir/S/                      the HParams experiment: every hyperparameter's domain
                                   and the metrics the table shows
    logdir/S/trial_<id>/           one HParams session per trial: its hyperparameter
                                   values and the study's objective (at its best step)
    logdir/S/trial_<id>/<split>/   its training curves: one scalar per metric and step,
                                   split "train", "validation" or "optimizer"

so ``tensorboard --logdir logdir`` shows the study next to the user's other runs, and
the HParams dashboard lists its trials. A trial run with several seeds is written as the
mean over its seeds, as its objective is. The files are written with TensorBoard's own
protobufs and event writer (no TensorFlow import), from any study
:func:`~playbook_kit.results.loading.load_study` reads: ours, or a plain keras-tuner directory
(whose curves have one point per epoch of each metric's best).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd

from ..core import rules
from .loading import load_study
from .study_results import StudyResults

EVENT_GLOB = "events.out.tfevents.*"


def export_tensorboard(study: StudyResults | str | Path, logdir: str | Path,
                       overwrite: bool = False) -> Path:
    """Write ``study`` (a StudyResults or a study directory) under ``logdir/<study name>``;
    returns that folder.

    Args:
        study: the study, or the directory holding its ``oracle.json``.
        logdir: the TensorBoard log folder (``tensorboard --logdir logdir``).
        overwrite: replace the event files of an earlier export of this study; without
            it, an earlier export is an error (TensorBoard would show every trial twice).

    Returns:
        Path: ``logdir/<study name>``.

    Raises:
        ValueError: an earlier export of the study is there and ``overwrite`` is False.
        StoreError: the study's files cannot be read.

    Example::

        pk.export_tensorboard(study, "logs")      # then: tensorboard --logdir logs
    """
    study = study if isinstance(study, StudyResults) else load_study(study)
    folder = Path(logdir) / study.name
    earlier = sorted(folder.rglob(EVENT_GLOB)) if folder.is_dir() else []
    if earlier and not overwrite:
        raise ValueError(f"{folder} already holds an export of study {study.name!r}; "
                         "pass overwrite=True (--overwrite) to replace it")
    for path in earlier:
        path.unlink()
    from tensorboard.plugins.hparams import summary_v2 as hparams_summary

    curves = study.curves
    if len(curves):
        curves = (curves.groupby(["trial_id", "split", "metric", "step"], as_index=False)
                  ["value"].mean())
    names = study.hyperparameter_names
    metrics = [hparams_summary.Metric(study.objective, display_name=study.objective)] + [
        hparams_summary.Metric(metric, group=split, display_name=f"{split} {metric}")
        for split, metric in sorted({(s, m) for s, m in zip(curves.get("split", []),
                                                              curves.get("metric", []))})]
    config = hparams_summary.hparams_config_pb(
        [_hparam(row, hparams_summary) for _, row in study.hyperparameters.iterrows()],
        metrics)
    now = time.time()
    _write(folder, [(0, config)], now)
    for _, trial in study.trials.iterrows():
        trial_dir = folder / f"trial_{trial['trial_id']}"
        values = {name: _hparam_value(trial[name]) for name in names if name in trial}
        values = {k: v for k, v in values.items() if v is not None}
        summaries = [(0, hparams_summary.hparams_pb(
            values, trial_id=f"{study.name}/trial_{trial['trial_id']}", start_time_secs=now))]
        if rules.is_feasible(trial["status"], trial["objective"]):
            step = 0 if pd.isna(trial["best_step"]) else int(trial["best_step"])
            summaries.append((step, _scalar(study.objective, float(trial["objective"]))))
        _write(trial_dir, summaries, now)
        mine = curves[curves["trial_id"] == trial["trial_id"]] if len(curves) else curves
        for split, frame in mine.groupby("split") if len(mine) else []:
            _write(trial_dir / split, [(int(row.step), _scalar(row.metric, float(row.value)))
                                       for row in frame.itertuples()], now)
    return folder


def _hparam(row, hparams_summary):
    """A hyperparameter's HParam with its domain where TensorBoard can state it."""
    if row["scale"] in ("linear", "log") and _finite(row["low"]) and _finite(row["high"]):
        domain = hparams_summary.RealInterval(float(row["low"]), float(row["high"]))
    elif row["scale"] == "integer" and _finite(row["low"]) and _finite(row["high"]):
        domain = hparams_summary.IntInterval(int(row["low"]), int(row["high"]))
    else:
        domain = _discrete(row["values"], hparams_summary)
    return hparams_summary.HParam(row["name"], domain)


def _discrete(values, hparams_summary):
    values = [_hparam_value(v) for v in values or []]
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        values = [float(v) for v in values]
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {bool, float, str}:
        return hparams_summary.Discrete(values)
    return None  # mixed or unstated values: TensorBoard infers the domain from the trials


def _hparam_value(value):
    """A hyperparameter value as the bool, int, float or str TensorBoard takes; None when
    inactive (NaN) or of another type."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, (bool, int, float, str)) else str(value)


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _scalar(tag: str, value: float):
    from tensorboard.plugins.scalar import summary_v2 as scalar_summary

    return scalar_summary.scalar_pb(tag, value)


def _write(folder: Path, summaries, wall_time: float) -> None:
    """One event file in ``folder`` holding ``(step, Summary)`` pairs."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    try:
        for step, summary in summaries:
            writer.add_event(event_pb2.Event(wall_time=wall_time, step=step, summary=summary))
    finally:
        writer.close()
