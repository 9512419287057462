"""Workshop exercises: "your turn" cells in the guided notebooks and the checks that
answer them with specific feedback.

A learner changes something in an exercise cell (a range, a role, a budget, a scale, an
adoption decision) and calls ``pk.exercise(name, answer, ...)``; it prints ``✓ ...``
when the answer is right and ``✗ ...`` lines naming what to change otherwise, and never
raises on a wrong answer, so a notebook run with its starting (unsolved) cells still
passes. The facilitator prints a solution with ``pk.solution(name)``; the notebooks never
call it. ``pk.exercises()`` lists them all (docs/WORKSHOP.md is the facilitator guide).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable

from ..core.rules import fmt
from ..core.validation import check_choice, is_number, not_allowed

LOG_SCALED = ("learning_rate", "epsilon", "one_minus_momentum", "weight_decay", "l2")
"""Hyperparameters the playbook samples on a log scale: their good values span orders of
magnitude."""
EDGE_FRACTION = 0.2
"""Outer share of a range that counts as its edge: :func:`~playbook_kit.insight.boundary_check`'s
default ``edge_fraction`` (the toolkit's choice; the playbook gives no number)."""
SMALL_DEPTH = 2
"""Most hidden layers a first baseline has here (toolkit's choice of "small model")."""
NOT_NARROWER = 0.9
"""A refined range this share of the explored width or more has not been refined."""
BASELINE_EXTRAS = {"dropout": 0.0, "l2": 0.0, "normalization": "none", "warmup_steps": 0,
                   "clip_norm": None}
"""Config fields a first baseline leaves at "off": regularization and extras come later."""


@dataclass(frozen=True)
class Feedback:
    """An exercise's answer judged: ``correct`` and the lines a learner reads."""

    exercise: str
    correct: bool
    lines: tuple[str, ...]

    def __str__(self) -> str:
        mark = "\u2713 " if self.correct else "\u2717 "
        return "\n".join(mark + line for line in self.lines)

    __repr__ = __str__

    def __bool__(self) -> bool:
        return self.correct


@dataclass(frozen=True)
class Exercise:
    """One "your turn" exercise: where it is, what the learner changes, how it is judged.

    ``judge(answer, **context)`` returns the problems found (empty when right) and the
    sentence that confirms a right answer."""

    name: str
    notebook: str
    task: str
    context: tuple[str, ...]
    judge: Callable
    solution: str


def _fmt(x: float) -> str:
    """Exercise feedback shows two significant digits (ranges such as [0.0001, 0.1])."""
    return fmt(float(x), 2)


def _space_entries(space) -> dict:
    from ..search.space import SearchSpace

    if not isinstance(space, SearchSpace):
        raise not_allowed("answer", space, "use a pk.SearchSpace", error=TypeError)
    return {hp.name: hp for hp in space}


# ------------------------------------------------------------------ the judges
def _baseline(config, **_):
    from ..workload.workload import resolve_config

    if not isinstance(config, dict):
        return [f"the answer is a {type(config).__name__}; write the baseline as a config "
                "dict such as {'model': 'mlp', 'depth': 1, ...}"], ""
    try:
        resolved = resolve_config(config)
    except ValueError as error:
        return [f"{error}"], ""
    problems = []
    if resolved["schedule"] != "constant":
        problems.append(f"schedule is {resolved['schedule']!r}; the playbook's first "
                        "baseline uses a constant learning rate: a schedule is a later "
                        "round's change")
    for name, off in BASELINE_EXTRAS.items():
        if resolved[name] != off:
            problems.append(f"{name} is {resolved[name]!r}; a first baseline has no "
                            f"regularization or extras ({name}={off!r}): add it later as "
                            "the scientific hyperparameter of its own round")
    if resolved["depth"] > SMALL_DEPTH:
        problems.append(f"depth is {resolved['depth']}; start from a small model (at most "
                        f"{SMALL_DEPTH} hidden layers here) and let a round ask whether "
                        "depth helps")
    return problems, (f"a simple baseline: constant learning rate, depth {resolved['depth']}, "
                      "no regularization or extras, as the playbook starts")


def _roles(space, scientific="depth", **_):
    hps = _space_entries(space)
    problems = []
    if scientific not in hps:
        problems.append(f"{scientific} is not in the space; the round asks whether "
                        f"{scientific} helps, so declare it scientific with the values to "
                        "compare")
    elif hps[scientific].role != "scientific":
        problems.append(f"{scientific} is {hps[scientific].role}; the round asks whether "
                        f"{scientific} helps, so {scientific} is the scientific "
                        "hyperparameter: its values are compared, not optimized away")
    if "learning_rate" not in hps or hps["learning_rate"].role == "fixed":
        problems.append("learning_rate is fixed; optimizer hyperparameters are nearly always "
                        f"nuisance: each {scientific} needs its own best learning rate for a "
                        "fair comparison")
    elif hps["learning_rate"].role == "scientific":
        problems.append("learning_rate is scientific; optimizer hyperparameters are nearly "
                        "always nuisance: optimize it away for each value of "
                        f"{scientific}")
    for name, hp in hps.items():
        if hp.role == "scientific" and name not in (scientific, "learning_rate"):
            problems.append(f"{name} is scientific; a round measures one effect: make "
                            f"{name} nuisance (or fixed, a caveat on the conclusion)")
    return problems, (f"{scientific} is scientific and learning_rate nuisance: each "
                      f"{scientific} is compared at its own best learning rate")


def _log_scale(space, **_):
    hps = _space_entries(space)
    varied = [hps[n] for n in LOG_SCALED if n in hps and not hps[n].is_fixed]
    if not varied:
        return [f"the space varies none of {', '.join(LOG_SCALED)}; declare learning_rate "
                "as nuisance with scale='log'"], ""
    problems = []
    for hp in varied:
        if hp.scale != "log":
            share = (hp.high - hp.high / 10) / (hp.high - hp.low) if hp.high > 0 else 1.0
            problems.append(f"{hp.name} is sampled on a {hp.scale} scale; the playbook "
                            f"samples it on a log scale (on [{_fmt(hp.low)}, "
                            f"{_fmt(hp.high)}] a linear scale puts {share:.0%} of the "
                            f"trials above {_fmt(hp.high / 10)})")
    names = " and ".join(hp.name for hp in varied)
    return problems, (f"{names} {'is' if len(varied) == 1 else 'are'} sampled on a log "
                      "scale: each factor of 10 gets the same share of trials")


def _adam_budget(space, trials=30, **_):
    from ..search.presets import adam_space

    hps = _space_entries(space)
    advised = adam_space(trials)
    problems = []
    for name in ("learning_rate", "beta1", "epsilon", "beta2"):
        tuned = name in hps and not hps[name].is_fixed
        should = name in advised.nuisance_names
        if should and not tuned:
            problems.append(f"{name} is {'fixed' if name in hps else 'missing'}; with "
                            f"{trials} trials the playbook tunes it too")
        elif tuned and not should:
            problems.append(f"{name} is tuned; with {trials} trials the playbook leaves it "
                            "fixed at Keras' default (it is tuned only with more trials)")
    return problems, (f"with {trials} trials: {', '.join(advised.nuisance_names)} tuned, "
                      "the rest fixed, as the playbook advises for Adam")


def _check_range(answer, hp) -> str | None:
    ok = (isinstance(answer, (list, tuple)) and len(answer) == 2
          and all(is_number(v) and math.isfinite(v) for v in answer) and answer[0] < answer[1]
          and (hp.scale != "log" or answer[0] > 0))
    return None if ok else (f"the answer {answer!r} is no range; write [low, high] with "
                            f"low < high{' and low > 0 (log scale)' if hp.scale == 'log' else ''}")


def _range_answer(answer, study, name):
    """The study's hyperparameter ``name`` and the answer read as a range: ``(hp, low,
    high, "[low, high]")``, or what is wrong with the answer."""
    from ..insight._common import hyperparameter

    hp = hyperparameter(study, name)
    bad = _check_range(answer, hp)
    if bad:
        return bad
    low, high = answer
    return hp, low, high, f"[{_fmt(low)}, {_fmt(high)}]"


def _position(value, low, high, hp) -> float:
    from ..insight._common import own_scale

    x, lo, hi = own_scale([value, low, high], hp)
    return float((x - lo) / (hi - lo))


def _wider_range(answer, study=None, name="learning_rate", **_):
    read = _range_answer(answer, study, name)
    if isinstance(read, str):
        return [read], ""
    hp, low, high, where = read
    best = float(study.best_trials(1).iloc[0][name])
    p = _position(best, low, high, hp)
    if not 0 <= p <= 1:
        return [f"the best trial's {name} {_fmt(best)} lies outside {where}: the new range "
                "must contain what worked"], ""
    said = (f"the best trial's {name} {_fmt(best)} sits at {p:.0%} of {where} on its "
            f"{hp.scale} scale")
    if p > 1 - EDGE_FRACTION:
        return [f"{said}, in the outer {EDGE_FRACTION:.0%} at the upper edge: better values "
                "may lie above it; raise the upper bound"], ""
    if p < EDGE_FRACTION:
        return [f"{said}, in the outer {EDGE_FRACTION:.0%} at the lower edge: better values "
                "may lie below it; lower the lower bound"], ""
    return [], f"{said}, away from both edges (the outer {EDGE_FRACTION:.0%})"


def _adoption(answer, baseline=None, candidate=None, complexity_cost=0.0,
              direction="max", **_):
    from ..decisions.adoption import ADOPTION_METHODS, RECOMMENDATIONS, adoption_decision

    aliases = {"run more seeds": RECOMMENDATIONS[2], "inconclusive": RECOMMENDATIONS[2]}
    choices = (*RECOMMENDATIONS, *aliases)
    if answer not in choices:
        return [f"the answer {answer!r} is no decision; write one of "
                + ", ".join(repr(c) for c in RECOMMENDATIONS[:2]) + " or 'run more seeds'"], ""
    chosen = aliases.get(answer, answer)
    decision = adoption_decision(baseline, candidate, direction=direction,
                                 complexity_cost=complexity_cost)
    net = (f"the {decision.confidence:.0%} {ADOPTION_METHODS[decision.method]} of gain "
           f"minus complexity cost is {decision.net_ci_low:+.4f} to "
           f"{decision.net_ci_high:+.4f}")
    why = {RECOMMENDATIONS[0]: "all of it is above zero: the gain outweighs both retrain "
                               "variances and the cost",
           RECOMMENDATIONS[1]: "none of it is above zero: the change does not pay for "
                               "its complexity",
           RECOMMENDATIONS[2]: "it spans zero: the difference is within retrain variance"
                               + (f"; about {decision.suggested_runs} seeds per config "
                                  "would resolve it" if decision.suggested_runs else "")}
    if min(decision.baseline.n, decision.candidate.n) < decision.min_runs:
        why[RECOMMENDATIONS[2]] = (f"fewer than {decision.min_runs} runs per config "
                                  "measure no retrain variance")
    if chosen != decision.recommendation:
        return [f"you chose {chosen!r}, but {net}, and {why[decision.recommendation]}; the "
                f"toolkit's rule says {decision.recommendation!r}"], ""
    return [], f"{chosen}: {net}, and {why[chosen]}"


def _refined_range(answer, study=None, name="learning_rate", **_):
    from ..insight._common import own_scale
    from ..search.refine import good_trials

    read = _range_answer(answer, study, name)
    if isinstance(read, str):
        return [read], ""
    hp, low, high, where = read
    explored = f"[{_fmt(hp.low)}, {_fmt(hp.high)}]"
    values = sorted(good_trials(study)[name].astype(float))
    span = f"{name} {_fmt(values[0])} to {_fmt(values[-1])}"
    problems = []
    if low < hp.low * (1 - 1e-9) or high > hp.high * (1 + 1e-9):
        problems.append(f"{where} reaches beyond the explored range {explored}: exploitation "
                        "refines what exploration measured; stay inside it")
    cut = [v for v in values if not low <= v <= high]
    if cut:
        problems.append(f"{where} cuts off {len(cut)} good trial(s) ({name} "
                        f"{', '.join(_fmt(v) for v in cut)}): the refined space must "
                        f"comfortably contain the good region ({span})")
    x = own_scale([low, high, hp.low, hp.high], hp)
    share = float((x[1] - x[0]) / (x[3] - x[2]))
    if share >= NOT_NARROWER:
        problems.append(f"{where} is {share:.0%} of the explored range {explored}: "
                        "exploitation searches a smaller space around the good trials "
                        f"({span})")
    return problems, (f"{where} holds all {len(values)} good trials ({span}) in {share:.0%} "
                      f"of the explored range's width on its {hp.scale} scale")


def _batch_size(answer, scan=None, **_):
    from ..recipes.batch_size import SCALING_THRESHOLD

    table = scan.table[scan.table["status"] == "measured"]
    sizes = [int(b) for b in table["batch_size"]]
    if not isinstance(answer, numbers.Integral) or isinstance(answer, bool):
        return [f"the answer {answer!r} is no batch size; write one of the sizes the scan "
                f"measured: {', '.join(map(str, sizes))}"], ""
    if answer not in sizes:
        return [f"{answer} was not measured; choose one of the sizes the scan measured: "
                f"{', '.join(map(str, sizes))}"], ""
    best = scan.recommended_batch_size
    speedup = dict(zip(sizes, table["speedup"]))
    threshold = scan.numbers.get("scaling_threshold", SCALING_THRESHOLD)
    if answer > best:
        stop = sizes[sizes.index(best) + 1]
        return [f"the doubling from {best} to {stop} raised throughput only "
                f"{speedup[stop]:.2f}x, less than the {threshold:g}x that counts as nearly "
                f"doubling: from {best} on a larger batch buys little speed (a later doubling "
                "that scales again is noise or another regime, measured on a saturated "
                f"device); the playbook takes the largest size reached by doublings that all "
                "scale"], ""
    if answer < best:
        following = sizes[sizes.index(answer) + 1]
        return [f"doubling {answer} to {following} still raised throughput "
                f"{speedup[following]:.2f}x (at least {threshold:g}x): a larger batch trains "
                "faster per example, so keep doubling while it scales; the batch size is "
                "chosen for speed, never for validation performance"], ""
    rise = ", ".join(f"{speedup[b]:.2f}x" for b in sizes[1:sizes.index(best) + 1])
    after = (f"; the next, {speedup[sizes[sizes.index(best) + 1]]:.2f}x"
             if best != sizes[-1] else "")
    return [], (f"{best}: every doubling up to it raised throughput at least {threshold:g}x "
                f"({rise or 'the first size'}){after}; retune the learning rate for it")


def _warmup(answer, sweep=None, **_):
    table = sweep.table
    tried = [int(w) for w in table["warmup_steps"]]
    if not isinstance(answer, numbers.Integral) or isinstance(answer, bool) or answer < 0:
        return [f"the answer {answer!r} is no number of warmup steps; write an integer such "
                f"as one the sweep tried: {', '.join(map(str, tried))}"], ""
    best = sweep.recommended_warmup_steps
    rate = sweep.numbers["target_learning_rate"]
    if best is None:
        return [f"the sweep found no warmup that makes learning_rate={rate:.3g} stable; "
                "extend warmup_steps (or lower the target) and run it again"], ""
    rows = table.set_index("warmup_steps")
    if answer < best:
        if answer in tried:
            why = str(rows.loc[answer, "why"])
            return [f"with warmup_steps={answer} training at learning_rate={rate:.3g} is "
                    f"still unstable ({why}): a warmup that leaves the rate unstable has not "
                    "done its job"], ""
        return [f"warmup_steps={answer} is shorter than {best}, the shortest warmup the sweep "
                f"found stable (it tried {', '.join(map(str, tried))}): untested, and "
                "shorter ones failed"], ""
    if answer > best:
        return [f"warmup_steps={answer} is longer than needed: {best} already trains stably "
                f"at learning_rate={rate:.3g}, and every warmup step trains at a lower rate; "
                "the playbook takes the shortest warmup that makes the rate stable"], ""
    return [], (f"{best}: the shortest warmup of the sweep that trains stably at "
                f"learning_rate={rate:.3g} (the shorter ones: "
                + "; ".join(f"{w}: {rows.loc[w, 'why']}" for w in tried if w < best) + ")")


def _hypermodel_roles(answer, space=None, scientific="use_dropout", **_):
    from ..search.hyperparameter import ROLES

    hps = _space_entries(space)
    if not isinstance(answer, dict):
        return [f"the answer is a {type(answer).__name__}; write the roles as a dict "
                f"such as {{'{scientific}': 'scientific', ...}}"], ""
    problems = []
    for name, role in answer.items():
        if name not in hps:
            problems.append(f"{name} is not a hyperparameter of the hypermodel; it has "
                            f"{', '.join(hps)}")
        elif role not in ROLES:
            problems.append(f"{name}: role {role!r} is not a role; use one of "
                            f"{', '.join(ROLES)}")
    if problems:
        return problems, ""
    roles = {name: answer.get(name, "fixed" if hp.is_fixed else "nuisance")
             for name, hp in hps.items()}
    if roles[scientific] != "scientific":
        problems.append(f"{scientific} is {roles[scientific]}; the question is whether "
                        f"dropout helps, so {scientific} is scientific: its values are "
                        "compared, each at its own best other hyperparameters")
    for name, hp in hps.items():
        if name == scientific or hp.is_fixed:
            continue
        if roles[name] == "scientific":
            parent = (f"; it exists only when {hp.parent} is {list(hp.parent_values)}, so it "
                      "is tuned inside that branch" if hp.parent else "")
            problems.append(f"{name} is scientific; a round measures one effect: make it "
                            f"nuisance{parent}")
        elif roles[name] == "fixed":
            problems.append(f"{name} is fixed; leave it nuisance so that each value of "
                            f"{scientific} is compared at its own best {name} (fixed, the "
                            "conclusion would hold for that one value only)")
    nuisance = [n for n, r in roles.items() if r == "nuisance"]
    return problems, (f"{scientific} is scientific and {', '.join(nuisance)} nuisance: with "
                      "and without dropout, each compared at its own best settings")



EXERCISES = {e.name: e for e in [
    Exercise("baseline", "00_quickstart",
             "fix a proposed first baseline config so that it is simple, as the playbook "
             "starts", (), _baseline,
             '{"model": "mlp", "depth": 1, "width": 128, "optimizer": "adam",\n'
             ' "learning_rate": 3.0e-3, "schedule": "constant"}\n'
             "# constant learning rate, a small model, no dropout or other extras"),
    Exercise("roles", "01_exploration",
             "give depth and learning_rate their roles for the question 'does depth help?'",
             ("scientific",), _roles,
             'pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-1, scale="log")\n'
             '    .scientific("depth", values=[1, 2, 3]).fixed("activation", "relu")\n'
             "# depth is what the round compares; the learning rate is optimized away"),
    Exercise("log_scale", "01_exploration",
             "sample the learning rate on the scale the playbook uses", (), _log_scale,
             'pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-1, scale="log")\n'
             "# equal trials per factor of 10; a linear scale crowds them at the top"),
    Exercise("adam_budget", "01_exploration",
             "declare the Adam hyperparameters the playbook tunes with a given trial budget",
             ("trials",), _adam_budget,
             "pk.adam_space(30)  # 30 trials: learning_rate, beta1 and epsilon; beta2 fixed\n"
             "# fewer than 10: learning_rate; 10-25: + beta1; 25 or more: + epsilon; "
             "far more: + beta2"),
    Exercise("wider_range", "02_insight",
             "choose a new learning-rate range for the narrow study whose best trials sit "
             "at its upper edge", ("study", "name"), _wider_range,
             "[1.0e-4, 1.0e-2]  # the best learning rate (just under 1e-3) then sits "
             "mid-range\n# on the log scale; boundary_check suggests a similar range"),
    Exercise("adoption", "03_adopt_a_change",
             "decide from the retrain runs whether to adopt the deeper model",
             ("baseline", "candidate", "complexity_cost"), _adoption,
             '"run more seeds"  # with the defaults (5 seeds): the 95% Welch t interval of\n'
             "# gain minus the complexity cost spans zero; with the 9 seeds it asks for, "
             "adopt"),
    Exercise("refined_range", "04_exploitation",
             "narrow the explored learning-rate range around the good trials for "
             "exploitation", ("study", "name"), _refined_range,
             "the span of the good trials widened a little on each side, inside the\n"
             "explored range: what pk.refined_space(exploration, exploration.space) "
             "prints,\ne.g. [round(low, 5), round(high, 5)] of its learning_rate row"),
    Exercise("batch_size", "05_batch_size_and_training_length",
             "choose the batch size from the scan's throughput table", ("scan",),
             _batch_size,
             "scan.recommended_batch_size  # the largest size reached by doublings that each\n"
             "# raised throughput at least 1.8x; then retune the learning rate for it"),
    Exercise("warmup", "06_instability_warmup_clipping",
             "choose the warmup length from the warmup sweep", ("sweep",), _warmup,
             "warmup.recommended_warmup_steps  # the shortest warmup that trains stably at\n"
             "# the target rate (100 with the defaults): longer ones waste steps"),
    Exercise("hypermodel_roles", "07_your_own_model_and_data",
             "give the hypermodel's hyperparameters their roles for 'does dropout help?'",
             ("space", "scientific"), _hypermodel_roles,
             '{"use_dropout": "scientific"}  # rate (only with dropout), units and\n'
             "# learning_rate stay nuisance: each branch at its own best settings"),
]}


def _exercise(name: str) -> Exercise:
    return EXERCISES[check_choice("name", name, list(EXERCISES), where="exercise")]


def check_exercise(name: str, answer, **context) -> Feedback:
    """Judge ``answer`` to exercise ``name``; ``context`` gives what the judge reads (the
    study, the retrain runs...). Unknown names and context raise; wrong answers do not."""
    exercise = _exercise(name)
    unknown = sorted(set(context) - set(exercise.context) - {"direction"})
    if unknown:
        raise not_allowed("context", unknown[0], "it takes "
                          f"{', '.join(exercise.context) or 'no context'}",
                          where=f"exercise {name!r}")
    problems, praise = exercise.judge(answer, **context)
    return Feedback(name, not problems, tuple(problems) if problems else (praise,))


def exercise(name: str, answer, **context) -> None:
    """Print the feedback on a learner's answer: ``✓ ...`` when right, otherwise one
    ``✗ ...`` line per thing to change
    (``playbook_kit.teaching.workshop.check_exercise`` returns it).

    Args:
        name: the exercise (``pk.exercises()`` lists them).
        answer: the learner's answer: a config, a space, a range, a decision.
        **context: what the judge reads, as the exercise cell passes it (the study, the
            retrain runs, the trial budget...).

    Returns:
        None: prints the feedback.

    Raises:
        ValueError: an unknown exercise, or context it does not take (a wrong answer
            raises nothing).

    Example::

        pk.exercise("log_scale", pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-1))
        # ✗ learning_rate is sampled on a linear scale; the playbook samples it on a log ...
    """
    print(check_exercise(name, answer, **context))


def solution(name: str) -> None:
    """Print the solution of exercise ``name`` (for the facilitator).

    Args:
        name: the exercise.

    Returns:
        None: prints the solution with the exercise's notebook.

    Raises:
        ValueError: an unknown exercise, listing them.

    Example::

        pk.solution("log_scale")
    """
    print(f"{name} ({_exercise(name).notebook}):\n{_exercise(name).solution}")


def exercises():
    """Every exercise: its name, notebook and what the learner changes.

    Returns:
        pandas.DataFrame: ``name``, ``notebook``, ``task``.

    Raises nothing: the list is fixed.

    Example::

        pk.exercises()
    """
    import pandas as pd

    return pd.DataFrame([{"name": e.name, "notebook": e.notebook, "task": e.task}
                         for e in EXERCISES.values()])
