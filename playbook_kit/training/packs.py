"""Trials trained in packs (:mod:`~playbook_kit.training.packed`): which trials pack
together, which train alone and why, and driving a pack's trials through the compiled
engine's per-trial run, so that each record is the one
:func:`~playbook_kit.training.trainer.train_trial` gives it."""
from __future__ import annotations

import math

from ..core.runtime import seed_everything
from ..core.validation import not_allowed
from ..workload.workload import Workload
from . import programs
from .engines import FIT
from .packed import PACK
from .trainer import (
    DIVERGENCE_FACTOR, TrialResult, _begin, _check_batch_size, _check_steps, _train_begun,
    completed,
)


def train_pack(workload: Workload, configs: list, seeds: list, *, max_train_steps: int = 300,
               eval_every: int = 25, checkpoint_dirs: list | None = None, keep_best: int = 2,
               divergence_factor: float = DIVERGENCE_FACTOR, pack: int = PACK,
               checkpoint_every=None) -> list:
    """Train several trials, those of one packable architecture together in packs of up
    to ``pack`` (:mod:`~playbook_kit.training.packed`): each record is bit-identical to
    what :func:`~playbook_kit.training.trainer.train_trial` gives the same
    ``(config, seed)`` alone, at a fraction of the time for a small model. Trials that
    cannot pack, or too few of one architecture for a pack to pay
    (:func:`~playbook_kit.training.packed.not_worth`), train one by one; their
    ``engine_reason`` says why. With checkpoint folders every trial writes its
    resumable state (``checkpoint_every``) as it would alone, so that a pack stopped by
    SIGTERM or killed resumes, trial by trial, as its trials would.

    Args:
        workload: the :class:`Workload` all trials train on.
        configs: each trial's config over the workload's defaults.
        seeds: each trial's seed (as many as ``configs``).
        max_train_steps, eval_every, keep_best, divergence_factor: as in
            :func:`~playbook_kit.training.trainer.train_trial`, the same for every trial.
        checkpoint_dirs: each trial's checkpoint folder, or None (best weights kept in
            memory).
        pack: the most trials in one pack, 1 (no packing) to
            :data:`~playbook_kit.training.packed.PACK_LIMIT`; fewer, with a warning
            saying how many, where that many would not fit in half the memory available
            (:func:`~playbook_kit.training.packed.pack_that_fits`).
        checkpoint_every: when each trial writes its resumable state (as in
            :func:`~playbook_kit.training.trainer.train_trial`).

    Returns:
        list[TrialResult]: the trials' records, in the order of ``configs``.

    Raises:
        ValueError: ``pack`` outside 1..64 or not an integer, ``seeds`` or
            ``checkpoint_dirs`` of another length than ``configs``, or what
            :func:`~playbook_kit.training.trainer.train_trial` refuses; before any training.

    Example::

        configs = [{"learning_rate": rate} for rate in (1e-3, 3e-3, 1e-2, 3e-2)]
        results = pk.train_pack(workload, configs, seeds=[0, 1, 2, 3], max_train_steps=300)
    """
    from .packed import check_pack, pack_shape, pack_that_fits, unpackable_reason
    from .trial_state import check_every

    pack = check_pack(pack)
    check_every(checkpoint_every)
    configs, seeds = list(configs), list(seeds)
    dirs = [None] * len(configs) if checkpoint_dirs is None else list(checkpoint_dirs)
    for name, given in (("seeds", seeds), ("checkpoint_dirs", dirs)):
        if len(given) != len(configs):
            raise not_allowed(name, f"{len(given)} items", f"give one per config "
                              f"({len(configs)})")
    for config in configs:  # every refusal before the first step
        _check_steps(max_train_steps, eval_every, keep_best, divergence_factor)
        _check_batch_size(workload, workload.config(config))
    results: list = [None] * len(configs)
    groups: dict = {}
    limits: dict = {}  # the pack that fits in memory, by architecture
    for i, (config, seed, folder) in enumerate(zip(configs, seeds, dirs)):
        begun = _begin(workload, config, seed, max_train_steps=max_train_steps,
                       eval_every=eval_every, checkpoint_dir=folder, keep_best=keep_best,
                       divergence_factor=divergence_factor, checkpoint_every=checkpoint_every)
        if isinstance(begun, TrialResult):
            results[i] = begun
            continue
        why = "fit" if begun.result.engine == FIT else unpackable_reason(
            workload, begun.config, begun.model, begun.data)
        if pack == 1 or why:
            if why not in ("", "fit") and pack > 1:  # a fit run's reason says why already
                begun.result.engine_reason += f"; not packed: {why}"
            results[i] = _train_begun(workload, begun, max_train_steps, eval_every,
                                      divergence_factor)
            continue
        if begun.state is not None and begun.state.load()[0] is not None:
            begun.result.engine_reason += "; not packed: it resumes from its state"
            results[i] = _train_begun(workload, begun, max_train_steps, eval_every,
                                      divergence_factor)
            continue
        key = (programs.structure_key(begun.model), pack_shape(begun.settings),
               id(begun.data))
        if key not in limits:
            limits[key] = pack_that_fits(pack, begun.model, begun.settings["batch_size"])
        members = groups.setdefault(key, [])
        members.append((i, begun))
        if len(members) == limits[key]:
            _train_group(workload, groups.pop(key), results, max_train_steps, eval_every,
                         divergence_factor)
    for members in groups.values():
        _train_group(workload, members, results, max_train_steps, eval_every,
                     divergence_factor)
    return results


def _train_group(workload, members, results, max_train_steps, eval_every,
                 divergence_factor):
    """Train ``members`` (``(index, begun)`` of one architecture) as a pack where one
    pays (:func:`~playbook_kit.training.packed.not_worth`), else each alone, saying why."""
    from .packed import not_worth, pack_shape

    first = members[0][1]
    why = not_worth(len(members), max_train_steps, first.model, pack_shape(first.settings),
                    first.data)
    if not why:
        _train_packed(workload, members, results, max_train_steps, eval_every,
                      divergence_factor)
        return
    for index, begun in members:
        begun.result.engine_reason += f"; not packed: {why}"
        # others were built since: the seeds its data order is drawn under, as just built
        seed_everything(begun.seed, reset_kernels=not programs.reuse_enabled())
        results[index] = _train_begun(workload, begun, max_train_steps, eval_every,
                                      divergence_factor)


def _train_packed(workload, members, results, max_train_steps, eval_every,
                  divergence_factor):
    """Train ``members`` (``(index, begun)``) as one pack: each trial's run
    (:func:`~playbook_kit.training.compiled_engine.trial_run`) asks for its steps, the
    pack trains them for all, and each run gets its own answer with its weights loaded in
    its program's model (where it evaluates and saves them)."""
    import numpy as np

    from . import compiled_engine
    from .packed import PackOrders, packed_program
    from .trial_state import TrialInterrupted

    size = len(members)
    first = members[0][1]
    program = packed_program([b.model for _, b in members], [b.settings for _, b in members],
                            max_train_steps, first.data)
    batch = first.settings["batch_size"]
    orders = PackOrders(first.data.n_train, batch, [b.seed for _, b in members],
                        ahead=math.ceil(eval_every * batch / first.data.n_train) + 1)
    rates = program.learning_rates(compiled_engine.evaluation_steps(max_train_steps,
                                                                    eval_every))
    runs, calls = {}, {}
    for slot, (index, begun) in enumerate(members):
        if size > 1:
            begun.result.engine_reason += f"; packed with {size - 1} other trial" + \
                ("s" if size > 2 else "")
        run = compiled_engine.trial_run(
            workload, begun.config, begun.seed, begun.model, None, begun.result, begun.start,
            begun.keeper, max_train_steps=max_train_steps, eval_every=eval_every,
            divergence_factor=divergence_factor, state=begun.state, interval=begun.interval,
            first_call_steps=max_train_steps, replay_data=True, learning_rates=rates[slot])
        try:
            calls[slot], runs[slot] = next(run), run
        except StopIteration as finished:
            results[index] = completed(workload, finished.value)
    while calls:
        n = min(call.n for call in calls.values())
        indices = orders.take(n)
        carry = np.zeros((4, size), np.float32)
        alive = np.zeros(size, bool)
        for slot, call in calls.items():
            carry[:, slot] = [float(value) for value in call.carry]
            alive[slot] = True
        done, sums, finite = program.train_steps(indices, alive, carry)
        stopped = None
        for slot in list(calls):
            begun = members[slot][1]
            program.load_into(slot, calls[slot].program.model,
                              calls[slot].program.optimizer if begun.state else None)
            try:
                calls[slot] = runs[slot].send((done[slot], *sums[:, slot], finite[slot]))
            except StopIteration as finished:
                results[members[slot][0]] = completed(workload, finished.value)
                del calls[slot]
            except TrialInterrupted as stop:  # each trial writes its state, then all stop
                stopped = stopped or stop
                del calls[slot]
        if stopped is not None:
            raise stopped
