"""A study's specification and its checks: :class:`StudySpec` (what a study file or a
:func:`~playbook_kit.search.study.run_study` call gives), the seeds of a trial's runs, the
warm-start source, and the checks of a spec against a workload that run before any work:
every hyperparameter's bounds make a config the workload accepts, and each one varied
reaches the model. The runner itself is :mod:`playbook_kit.search.study`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.validation import not_allowed, shown_as
from ..studies.retention import KEEP_CHECKPOINTS, check_keep
from ..studies.store import SCHEMA_VERSION, STUDY_FILE, read_study_spec, read_study_yaml
from ..training.packed import PACK
from ..workload.workload import Workload
from .points import quasi_random_points
from .space import ALGORITHMS, SearchSpace


def run_seeds(seed: int, k: int, repeats: int) -> list[int]:
    """The seeds of trial ``k``'s runs: a pure function of (study seed, k, repeat)."""
    return [int(np.random.SeedSequence([seed, k, r]).generate_state(1)[0] % (2 ** 31))
            for r in range(repeats)]


@dataclass
class StudySpec:
    """Everything that defines a study, so that any process (a worker too) can rebuild it.

    Args:
        name: the study's folder name.
        space: the :class:`SearchSpace`.
        max_trials: configs to train.
        max_train_steps: training steps of every trial.
        eval_every: steps between evaluations.
        algorithm: ``"quasi_random"``, ``"random"``, ``"grid"``, ``"bayesian"`` or
            ``"list"``.
        seed: seeds the points and each trial.
        repeats: seeds per config.
        keep_best: best checkpoints kept per run.
        configs: the configs of ``algorithm="list"``.
        data: the data's loader spec (``{"name": "digits"}``); None for data in memory.
        defaults: config values every trial starts from.
        objective: the metric to optimize (``val_accuracy``, ``val_loss``, ...).
        warm_start: an exploration study's folder seeding a Bayesian study.
        extra_keys: config fields of the user's own.
        parts: the user's code by ``"module:function"`` path (model, loss, ...).
        checkpoint_every: when a running trial writes its resumable state; None for the
            default interval.
        keep_checkpoints: the best trials whose checkpoints are kept (pinned ones
            besides); None keeps every trial's.
        pack: the most trials trained together as one program
            (:mod:`~playbook_kit.training.packed`), 1 to 64; 1 trains them one by one.

    Raises:
        ValueError: a field not allowed (an empty name, an unknown algorithm, steps below
            1, ``eval_every`` above ``max_train_steps``, ...), naming it.

    Example::

        spec = pk.StudySpec.from_yaml("notebooks/studies/depth.yaml")
        spec = spec.with_overrides(max_trials=6, ranges={"learning_rate": [1.0e-4, 1.0e-2]})
        study = pk.run_spec(spec, "studies")
    """

    name: str
    space: SearchSpace
    max_trials: int
    max_train_steps: int
    eval_every: int
    algorithm: str = "quasi_random"
    seed: int = 0
    repeats: int = 1
    keep_best: int = 2
    configs: list | None = None
    data: dict | None = field(default_factory=lambda: {"name": "digits"})
    defaults: dict = field(default_factory=dict)
    objective: str = "val_accuracy"
    warm_start: str | None = None
    extra_keys: list = field(default_factory=list)
    parts: dict | None = None
    """How to rebuild the workload's model, loss and metrics (:meth:`Workload.spec`);
    None for a registered family with the default loss."""
    checkpoint_every: object = None
    """When a running trial writes its resumable state, None for the default interval
    (:func:`~playbook_kit.training.trial_state.check_every`); it may change between runs of a
    study."""
    keep_checkpoints: int | None = KEEP_CHECKPOINTS
    """How many of the best trials keep their checkpoints, pinned trials besides (those a
    final evaluation, a retrain, a decision or the journal refers to); the others' are
    dropped as they fall out of the best. None (or "all") keeps every trial's. Default
    5: see :data:`~playbook_kit.studies.retention.KEEP_CHECKPOINTS` and
    :mod:`playbook_kit.studies.retention`. It may change when a study is resumed, and a resume
    applies it to the trials already run, also in a study stored before the option."""
    pack: int = PACK
    """The most trials of one architecture trained together as one compiled program, each
    bit-identical to training it alone (:mod:`playbook_kit.training.packed`); 1 turns
    packing off. It may change between runs of a study."""

    def __post_init__(self):
        from ..training.trainer import _check_steps

        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise not_allowed("study name", self.name, "use a non-empty name without '/'")
        if not isinstance(self.space, SearchSpace):
            self.space = SearchSpace.from_dict(self.space)
        if self.algorithm not in ALGORITHMS:
            raise not_allowed("algorithm", self.algorithm,
                              f"use one of {', '.join(ALGORITHMS)}")
        for key in ("max_trials", "repeats"):
            value = getattr(self, key)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise not_allowed(key, value, "use an integer >= 1")
        _check_steps(self.max_train_steps, self.eval_every, self.keep_best, 2.0)
        self.keep_checkpoints = check_keep(self.keep_checkpoints)
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) \
                or self.seed < 0:
            raise not_allowed("seed", self.seed, "use an integer >= 0")
        from ..training.trial_state import check_every

        check_every(self.checkpoint_every)
        from ..training.packed import check_pack

        self.pack = check_pack(self.pack)
        if self.warm_start is not None:
            if self.algorithm != "bayesian":
                raise not_allowed("warm_start", shown_as(_shown(self.warm_start)),
                                  "use it with algorithm='bayesian'", why="warm start feeds "
                                  "the Bayesian oracle; this study has "
                                  f"algorithm={self.algorithm!r}")
            self.warm_start = warm_start_path(self.warm_start)

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, "name": self.name,
                "space": self.space.to_dict(), "max_trials": int(self.max_trials),
                "max_train_steps": int(self.max_train_steps),
                "eval_every": int(self.eval_every), "algorithm": self.algorithm,
                "seed": int(self.seed), "repeats": int(self.repeats),
                "keep_best": int(self.keep_best), "configs": self.configs,
                "data": self.data, "defaults": self.defaults, "objective": self.objective,
                "warm_start": self.warm_start, "extra_keys": list(self.extra_keys),
                "parts": self.parts, "checkpoint_every": self.checkpoint_every,
                "keep_checkpoints": self.keep_checkpoints, "pack": int(self.pack)}

    @classmethod
    def from_dict(cls, spec: dict) -> "StudySpec":
        spec = dict(spec)
        version = spec.pop("schema_version", SCHEMA_VERSION)
        if version > SCHEMA_VERSION:
            raise ValueError(f"schema_version={version} is newer than this playbook-kit "
                             f"understands ({SCHEMA_VERSION}); upgrade playbook-kit")
        spec.pop("directory", None)
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"study field {unknown[0]!r} is unknown; allowed fields are "
                             f"{', '.join(sorted(known))}")
        return cls(**spec)

    @classmethod
    def from_yaml(cls, path: str | Path) -> "StudySpec":
        """A study file (YAML); a syntax error or a field not allowed raises
        :class:`~playbook_kit.studies.store.StoreError` naming the file."""
        return read_study_yaml(path, build=cls.from_dict)

    @classmethod
    def from_study(cls, study) -> "StudySpec":
        """The spec a playbook-kit study was run with, from its directory or its
        :class:`~playbook_kit.results.study_results.StudyResults`: what a later stage reads instead
        of declaring the round's settings again."""
        path = getattr(study, "path", study)
        if path is None or not (Path(path) / STUDY_FILE).exists():
            name = study.name if hasattr(study, "trials") else str(study)
            raise ValueError(f"study {name!r} was not written by playbook-kit (no "
                             f"{STUDY_FILE}): it stores no study spec")
        return read_study_spec(path, build=cls.from_dict)

    def with_overrides(self, *, ranges: dict | None = None, defaults: dict | None = None,
                       **fields) -> "StudySpec":
        """A copy with some settings changed (e.g. a notebook's parameters over a shared
        study file), validated as at declaration.

        ``fields`` replace the spec's own (``max_trials=6``, ``name="depth_wider"``,
        ``space=...``); ``ranges`` replaces varied hyperparameters' ``[low, high]`` or,
        for discrete ones, their values (``{"depth": [1, 2]}``); ``defaults`` updates
        the workload defaults (``{"width": 32}``), keeping the others.
        """
        allowed = sorted({*self.__dataclass_fields__, "ranges"})
        for key in fields:
            if key not in self.__dataclass_fields__:
                raise ValueError(f"study field {key!r} is unknown; allowed fields are "
                                 f"{', '.join(allowed)}")
        space = fields.pop("space", self.space)
        space = space if isinstance(space, SearchSpace) else SearchSpace.from_dict(space)
        for name, value in (ranges or {}).items():
            space = _with_range(space, name, value)
        if defaults is not None and not isinstance(defaults, dict):
            raise not_allowed("defaults", defaults, "use a mapping such as {'width': 64}")
        return replace(self, space=space, defaults={**self.defaults, **(defaults or {})},
                       **fields)

    def workload(self) -> Workload:
        """The workload rebuilt from the stored data spec and defaults."""
        from ..data.loaders import load_data
        from ..workload.workload import rebuild_parts

        parts = rebuild_parts(self.parts, self.name)
        if self.data is None and "dataset" not in parts:
            raise ValueError(f"study {self.name!r} was run on data given in memory (no data "
                             "spec stored); pass its workload= explicitly")
        dataset = parts.pop("dataset") if "dataset" in parts else load_data(self.data)
        return Workload(dataset, defaults=self.defaults, objective=self.objective,
                        extra_keys=tuple(self.extra_keys), **parts)


def _with_range(space: SearchSpace, name, value) -> SearchSpace:
    """``space`` with ``name``'s range or values replaced by an override's ``value``."""
    if name not in space.names or name not in space.varied:
        raise not_allowed("hyperparameter", name, "use one the study varies: "
                          f"{', '.join(space.varied)}", "ranges")
    if not isinstance(value, (list, tuple)):
        raise not_allowed(name, value, "use a list", "ranges")
    if space[name].values is not None:
        return space.with_range(name, values=value)
    if len(value) != 2:
        raise not_allowed(name, list(value), "use [low, high]", "ranges")
    return space.with_range(name, *value)


def _trial_config(workload: Workload, space: SearchSpace, values: dict) -> dict:
    return workload.config({**space.fixed_values, **values})


def _check_space_against_workload(workload: Workload, spec: StudySpec) -> None:
    """Fail before any work when a hyperparameter is not a config field of the workload or
    a value at the ends of its range is not allowed: every hyperparameter is checked at
    each bound (or listed value), in a config where its parent branch is active."""
    space = spec.space
    points = quasi_random_points(space, 64, seed=spec.seed) if space.varied else [{}]
    for entry in space.to_dict()["hyperparameters"]:
        name = entry["name"]
        if "value" in entry:
            values = [entry["value"]]
        elif "values" in entry:
            values = entry["values"]
        else:
            values = [entry["low"], entry["high"]]
        for value in values:
            base = next((p for p in points if space.is_active(name, {**p, name: value})), None)
            if base is None:
                parent = entry.get("parent")
                base = {**points[0], parent: entry["parent_values"][0]} if parent else points[0]
            _check_config(workload, spec, {**base, name: value})
        if name in space.varied:
            _check_reaches_model(workload, spec, name, {**base, name: values[0]})
    for config in spec.configs or ():
        _check_config(workload, spec, config)


def _check_reaches_model(workload: Workload, spec: StudySpec, name: str, values: dict) -> None:
    """Refuse a varied hyperparameter that would not reach the trained model: a user's
    ``build(config)`` that never reads it, and a toolkit optimizer field when the
    builder's model comes compiled with its own optimizer (a hypermodel's
    hyperparameters are found by building, so they reach it by construction)."""
    from ..workload.keras_models import is_compiled
    from ..workload.optimizers import optimizer_fields
    from ..workload.workload import FAMILY_FIELDS, OPTIMIZER_FIELDS, TRAINING_FIELDS

    if workload.builder is None or hasattr(workload.builder, "hyperparameters") \
            or name in TRAINING_FIELDS:
        return
    config = _trial_config(workload, spec.space, values)
    model, reached = workload.build(config)
    compiled = is_compiled(model)
    applied = () if compiled else optimizer_fields(config.get("optimizer", "adam"))
    if name in reached or name in applied or name in workload.data_reads:
        return
    why = f"the model builder never reads config[{name!r}]"
    if compiled and name in OPTIMIZER_FIELDS:
        why += ("; its model comes compiled, so it trains with its own optimizer (the "
                "toolkit's optimizer fields apply to uncompiled models)")
    elif name in OPTIMIZER_FIELDS:
        why += f" and optimizer {config.get('optimizer')!r} has no such setting"
    elif name in FAMILY_FIELDS:
        why += f" ({name!r} is a field of the toolkit's own model families)"
    raise ValueError(f"hyperparameter {name!r} of study {spec.name!r} would not reach the "
                     f"model: {why}; read it in the builder or take it out of the space")


def _check_config(workload: Workload, spec: StudySpec, values: dict) -> None:
    from ..workload.optimizers import learning_rate_schedule

    learning_rate_schedule(workload.settings(_trial_config(workload, spec.space, values)),
                           spec.max_train_steps)


def _shown(source) -> str:
    path = getattr(source, "path", source)
    return repr(str(path)) if path is not None else f"<StudyResults {source.name!r}>"


def warm_start_path(source) -> str:
    """The absolute directory of a warm-start source: a study directory or a
    :class:`~playbook_kit.results.study_results.StudyResults` loaded from one."""
    if hasattr(source, "trials"):
        if getattr(source, "path", None) is None:
            raise not_allowed("warm_start", shown_as(_shown(source)), "pass a study loaded "
                              "with load_study or its directory", why="these results have no "
                              "study directory (built in memory)")
        source = source.path
    if not isinstance(source, (str, os.PathLike)):
        raise not_allowed("warm_start", source, "use a study directory or the StudyResults of "
                          "one")
    return os.path.abspath(os.fspath(source))
