"""Synthetic StudyResults with known answers, for the insight-layer tests.

Nothing here trains: trial tables, runs and curves are built directly in the
``playbook_kit.results.study_results`` contract, so each test can state exactly what it expects.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import qmc

from playbook_kit.results.study_results import (CURVE_COLUMNS, HYPERPARAMETER_COLUMNS,
                                                RUN_COLUMNS, TRIAL_COLUMNS, StudyResults)

MAX_STEPS = 1000
EVAL_STEPS = np.arange(25, MAX_STEPS + 1, 25)      # 40 evaluations, every 25 steps


def hp(name, scale="linear", low=np.nan, high=np.nan, values=None, role="nuisance"):
    """One row of the hyperparameters table."""
    return dict(name=name, role=role, scale=scale, low=float(low), high=float(high),
                values=values, parent=None, parent_values=None)


def quasi_random(n, dims, seed=0):
    """n points of a scrambled Halton sequence in [0, 1)^dims (what a study samples)."""
    return qmc.Halton(d=dims, scramble=True, seed=seed).random(n)


def from_unit(u, spec):
    """Map unit-cube coordinates to a hyperparameter's values (playbook section 9)."""
    if spec["scale"] == "log":
        return spec["low"] * np.exp(u * np.log(spec["high"] / spec["low"]))
    if spec["scale"] in ("discrete", "categorical"):
        values = spec["values"]
        return np.array([values[int(np.floor(x * len(values)))] for x in u], dtype=object)
    if spec["scale"] == "integer":
        return np.floor(spec["low"] + u * (spec["high"] - spec["low"] + 1)).astype(int)
    return spec["low"] + u * (spec["high"] - spec["low"])


def make_trials(hp_values: dict, objective, status=None, study="study", reason=None,
                best_step=None, n_runs=None, objective_std=None) -> pd.DataFrame:
    """A trials table in the results contract; hyperparameter columns from hp_values."""
    objective = np.asarray(objective, dtype=float)
    n = len(objective)
    status = list(status) if status is not None else ["completed"] * n
    objective = np.where(np.array(status) == "completed", objective, np.nan)
    table = pd.DataFrame({
        "trial_id": [f"t{i:03d}" for i in range(n)],
        "study": study,
        "status": status,
        "objective": objective,
        "objective_std": np.asarray(objective_std if objective_std is not None
                                    else [np.nan] * n, dtype=float),
        "n_runs": n_runs if n_runs is not None else [1] * n,
        "best_step": pd.array(best_step if best_step is not None else [pd.NA] * n,
                              dtype="Int64"),
        "final_objective": objective,
        "seed": list(range(n)),
        "duration_s": 1.0,
        "reason": reason if reason is not None else
        ["" if s == "completed" else "loss is NaN" for s in status],
        "engine": "compiled",
        "resumed_from": "",
    })
    for name, values in hp_values.items():
        table[name] = list(values)
    return table[TRIAL_COLUMNS + list(hp_values)]


def make_study(trials, hyperparameters, curves=None, runs=None, name="study",
               objective="val_accuracy", direction="max", max_train_steps=MAX_STEPS):
    return StudyResults(
        name=name, trials=trials,
        curves=curves if curves is not None else pd.DataFrame(columns=CURVE_COLUMNS),
        hyperparameters=pd.DataFrame(hyperparameters, columns=HYPERPARAMETER_COLUMNS),
        runs=runs if runs is not None else pd.DataFrame(columns=RUN_COLUMNS),
        objective=objective, direction=direction, max_train_steps=max_train_steps)


def sampled_study(specs, score, n=40, seed=0, status_fn=None, name="study", **kwargs):
    """A quasi-random study: ``score(values_dict) -> objective array``;
    ``status_fn(values_dict) -> bool array`` marks infeasible trials (True = infeasible)."""
    u = quasi_random(n, len(specs), seed)
    values = {s["name"]: from_unit(u[:, i], s) for i, s in enumerate(specs)}
    objective = score(values)
    status = None
    if status_fn is not None:
        status = np.where(status_fn(values), "infeasible", "completed")
    return make_study(make_trials(values, objective, status, study=name), specs, name=name,
                      **kwargs)


def random_study(score, n=12, seed=0, noise=0.0, spec=None, **kwargs):
    """A small plain random study (uniform in the hyperparameter's own scale, like
    keras-tuner's RandomSearch) of one log-scale learning rate in [1e-4, 1e-1]:
    ``score(log10_learning_rate) -> objective``, plus Gaussian ``noise``."""
    spec = spec or hp("learning_rate", "log", 1e-4, 1e-1)
    rng = np.random.default_rng(seed)
    x = rng.uniform(np.log10(spec["low"]), np.log10(spec["high"]), n)
    objective = score(x) + rng.normal(0.0, noise, n)
    return make_study(make_trials({spec["name"]: 10 ** x}, objective), [spec], **kwargs)


# ------------------------------------------------------------------------- curves
def shape_curve(kind: str, steps=EVAL_STEPS, max_steps=MAX_STEPS, seed=0) -> np.ndarray:
    """Validation accuracy (maximized) whose shape is one known diagnosis.

    overfit: best at 40%, then falls by 40% of its gain; saturate: plateau from about
    25%; improving: linear to the end; early: plateau from 5%; late: rises until 90%,
    then flat; noisy: saturate plus noise of 10% of the gain.
    """
    f = np.asarray(steps, dtype=float) / max_steps
    low, gain = 0.3, 0.6
    if kind == "overfit":
        rise = low + gain * np.sin(np.pi / 2 * np.minimum(f, 0.4) / 0.4)
        return rise - 0.25 * np.clip(f - 0.4, 0, None) / 0.6
    if kind == "saturate":
        return low + gain * (1 - np.exp(-f / 0.05))
    if kind == "improving":
        return low + gain * f
    if kind == "early":
        return low + gain * np.minimum(1.0, f / 0.05)
    if kind == "late":
        return low + gain * np.minimum(1.0, f / 0.9)
    if kind == "noisy":
        rng = np.random.default_rng(seed)
        return low + gain * (1 - np.exp(-f / 0.05)) + rng.normal(0, 0.06, size=f.shape)
    raise ValueError(kind)


def train_loss(steps=EVAL_STEPS, max_steps=MAX_STEPS, rising=False) -> np.ndarray:
    f = np.asarray(steps, dtype=float) / max_steps
    loss = 2.3 * np.exp(-4 * f) + 0.05
    if rising:
        loss = loss + 3.0 * np.clip(f - 0.5, 0, None)
    return loss


def curve_rows(trial_id, steps, values, split, metric, seed=0) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": trial_id, "seed": seed, "step": np.asarray(steps, int),
                         "split": split, "metric": metric,
                         "value": np.asarray(values, dtype=float)})


def curves_study(kinds: dict, name="curves", infeasible=(), optimizer=False, seeds=1):
    """One trial per entry of ``kinds`` (trial_id -> shape kind or (kind, rising)),
    with validation accuracy and loss and train loss and accuracy curves; trial ids in
    ``infeasible`` diverged."""
    parts, rows = [], []
    for i, (tid, kind) in enumerate(kinds.items()):
        kind, rising = kind if isinstance(kind, tuple) else (kind, False)
        acc = shape_curve(kind, seed=i)
        for seed in range(seeds):
            parts += [curve_rows(tid, EVAL_STEPS, acc, "validation", "accuracy", seed),
                      curve_rows(tid, EVAL_STEPS, 2.0 - 2.0 * acc, "validation", "loss", seed),
                      curve_rows(tid, EVAL_STEPS, train_loss(rising=rising), "train", "loss",
                                 seed),
                      curve_rows(tid, EVAL_STEPS, np.minimum(1, acc + 0.05), "train",
                                 "accuracy", seed)]
            if optimizer:
                parts += [curve_rows(tid, EVAL_STEPS, np.full(len(EVAL_STEPS), 1e-3),
                                     "optimizer", "learning_rate", seed),
                          curve_rows(tid, EVAL_STEPS, 1 + np.exp(-EVAL_STEPS / 300),
                                     "optimizer", "grad_norm_mean", seed)]
        done = tid not in infeasible
        best = int(EVAL_STEPS[int(np.argmax(acc))])
        rows.append(dict(trial_id=tid, status="completed" if done else "infeasible",
                         objective=float(acc.max()) if done else np.nan,
                         best_step=best if done else pd.NA, n_runs=seeds))
    meta = pd.DataFrame(rows)
    trials = make_trials({"learning_rate": np.geomspace(1e-3, 1e-1, len(rows))},
                         meta["objective"], meta["status"], study=name,
                         best_step=list(meta["best_step"]), n_runs=list(meta["n_runs"]))
    trials["trial_id"] = list(meta["trial_id"])
    curves = pd.concat(parts, ignore_index=True)
    curves = curves[curves["trial_id"].isin([t for t in kinds if t not in infeasible])
                    | (curves["split"] == "train")]
    return make_study(trials, [hp("learning_rate", "log", 1e-3, 1e-1)], curves=curves,
                      name=name)
