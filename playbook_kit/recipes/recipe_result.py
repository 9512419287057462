"""What every training recipe returns, and the argument checks the recipes share.

A recipe (docs/design.md, *Recipes*: batch size, training length, instability, warmup,
clipping) runs a small, bounded amount of training to answer one question. Its result
holds a table (``table``), the numbers behind the answer (``numbers``), the answer in
words (``recommendation``), warnings, a figure (``plot(ax=None)``, which returns the
Axes it drew into, as every recipe does), and can be saved as CSV + PNG (``save``) and
recorded as a round of the tuning journal (``to_journal``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.validation import check_int, check_number, is_number, not_allowed


@dataclass
class RecipeResult:
    """Base of the recipes' results; subclasses set ``goal`` and implement ``plot``.

    Attributes:
        table: the measurements, one row per setting tried.
        recommendation: the answer in words.
        numbers: the numbers the answer rests on.
        warnings: what to be careful about, in words.

    Example::

        scan = pk.batch_size_scan(workload, start=16, max_batch_size=256)
        print(scan)                          # the recommendation and its warnings
        scan.save("work")                    # batch_size_scan.csv and .png
        scan.to_journal(pk.Journal("work"))  # a round of the tuning journal
    """

    table: pd.DataFrame
    recommendation: str
    numbers: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    goal = "training recipe"
    """The question the recipe answers (the journal round's goal)."""
    name = "recipe"
    """File stem for :meth:`save`."""

    def plot(self, ax=None):
        """Draw the result into ``ax``, or into a new figure when None; returns the Axes
        drawn into (``.figure`` is its figure). A result shown in two panels draws both
        into a new figure and returns the first (``ax.figure.axes`` holds both); given
        ``ax``, it draws its first panel there."""
        raise NotImplementedError

    def __str__(self) -> str:
        return "\n".join([self.recommendation, *[f"warning: {w}" for w in self.warnings]])

    def save(self, folder) -> dict:
        """Write ``<name>.csv`` (the table) and ``<name>.png`` (the figure) into ``folder``;
        returns their paths as ``{"table": ..., "figure": ...}``."""
        import matplotlib.pyplot as plt

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        table_path, figure_path = folder / f"{self.name}.csv", folder / f"{self.name}.png"
        self.table.to_csv(table_path, index=False)
        figure = self.plot().figure
        figure.savefig(figure_path)
        plt.close(figure)
        return {"table": table_path, "figure": figure_path}

    def to_journal(self, journal, figure=None, notes: str = "") -> int:
        """Record the result as a round of ``journal`` (a :class:`~playbook_kit.Journal`):
        goal, findings (the recommendation and each warning), a decision holding the
        numbers, and ``figure`` (a PNG path; default: the figure saved beside the
        journal as ``<name>.png``). Returns the round number."""
        if figure is None:
            figure = self.save(Path(journal.path).parent / "recipes")["figure"]
        return journal.add_round(
            goal=self.goal, findings=[self.recommendation, *self.warnings],
            decision={"recommendation": self.decision(), "text": self.recommendation,
                      "details": _nonfinite_as_none(self.numbers)},
            notes=notes, figures=[figure])

    def decision(self) -> str:
        """The decision in a few words (the journal's ``recommendation``)."""
        return self.name


def _nonfinite_as_none(values: dict) -> dict:
    """NaN and Inf become None (the journal stores finite numbers only)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = _nonfinite_as_none(value)
        elif is_number(value) and not math.isfinite(float(value)):
            out[key] = None
        else:
            out[key] = value
    return out


# ------------------------------------------------------------------ argument checks
# Single values go through :mod:`playbook_kit.core.validation`; these are the list checks
# only the recipes need, in its error template.

def check_increasing(name: str, values, kind=float, minimum: int = 1) -> list:
    """A non-empty, strictly increasing list of positive numbers (integers >= ``minimum``
    if ``kind`` is int)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise not_allowed(name, values, "use a list of numbers")
    values = list(values)
    if not values:
        raise not_allowed(name, values, "give at least one value")
    for value in values:
        if kind is int:
            check_int(name, value, minimum=minimum)
        else:
            check_number(name, value, low=0.0, low_inclusive=False)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise not_allowed(name, values, "use strictly increasing values")
    return [kind(v) for v in values]


def is_power_of_two(value: int) -> bool:
    return value >= 1 and value & (value - 1) == 0


def check_powers_of_two(name: str, values) -> list[int]:
    """A strictly increasing list of consecutive powers of two (each double the last)."""
    values = check_increasing(name, values, int)
    bad = [v for v in values if not is_power_of_two(v)]
    if bad:
        raise not_allowed(name, values, "use consecutive powers of two such as [16, 32, 64]",
                          why=f"{bad[0]} is not a power of two")
    gaps = [(a, b) for a, b in zip(values, values[1:]) if b != 2 * a]
    if gaps:
        raise not_allowed(name, values, "use consecutive powers of two so that each doubling "
                          "is measured", why=f"{gaps[0][1]} does not double {gaps[0][0]}")
    return values


def check_workload(workload):
    from ..workload.workload import Workload

    if not isinstance(workload, Workload):
        raise not_allowed("workload", workload, "use a playbook_kit.Workload")
    return workload


def recipe_run(directory, name: str, workload, config: dict, seed: int, **train_kwargs):
    """One training run of a recipe (:func:`~playbook_kit.training.trainer.train_trial` with
    ``train_kwargs``). With ``directory`` the run is kept in ``directory/name`` so that the
    recipe run again resumes at the run it was in: a finished run is read back (when it
    was made with the same config, seed and steps), the interrupted one continues from its
    resumable state (:mod:`~playbook_kit.training.trial_state`), the others train."""
    from ..studies.store import read_finished_run, write_finished_run
    from ..training.trainer import TrialResult, train_trial

    if directory is None:
        return train_trial(workload, config, seed, **train_kwargs)
    import json

    run_dir = Path(directory) / name
    key = json.loads(json.dumps({"config": workload.config(config), "seed": int(seed),
                                 **{k: train_kwargs.get(k)
                                    for k in ("max_train_steps", "eval_every")}},
                                sort_keys=True, default=str))
    stored = read_finished_run(run_dir)
    if stored is not None and stored[0].get("recipe_key") == key:
        run, curves = stored
        fields = set(TrialResult.__dataclass_fields__) - {"curves", "best_weights"}
        return TrialResult(**{k: v for k, v in run.items() if k in fields},
                           curves=curves.drop(columns="seed"))
    result = train_trial(workload, config, seed, checkpoint_dir=run_dir, **train_kwargs)
    write_finished_run(run_dir, {**result.to_dict(), "recipe_key": key},
                       result.curves.assign(seed=int(seed)))
    return result


def with_progress(items, enabled: bool, description: str):
    """``items``, under a ``tqdm`` bar named ``description`` when ``enabled`` (a recipe's
    ``progress=True``)."""
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=description)


def panels(ax, count: int, figsize: tuple) -> list:
    """The Axes a recipe's :meth:`RecipeResult.plot` draws into: ``[ax]`` when the caller
    gives one (the first panel only), else the ``count`` panels of a new figure of
    ``figsize``, side by side."""
    if ax is not None:
        return [ax]
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, count, figsize=figsize, layout="constrained", squeeze=False)
    return list(axes[0])
