"""The journal's entries: what a round and a final evaluation hold, checked on the way in.

* ``kind: journal`` (entry 0, the header): ``title``;
* ``kind: round``: ``round`` (1, 2, ...), ``goal``, ``hyperparameters`` (``scientific``,
  ``nuisance``: lists; ``fixed``: name -> value), ``caveats`` (fixed name -> text),
  ``studies`` (list of name, path, n_trials, best_objective, objective, config_path or
  config, command, notes), ``findings`` (list of text), ``decision`` (recommendation,
  text, details; an AdoptionDecision's details hold its ``method``, absent from those
  recorded before it was stored: :func:`decision_method`), ``new_baseline`` (config or
  null: baseline unchanged), ``notes``, ``figures`` (paths);
* ``kind: final_evaluation``: ``config``, ``checkpoint``, ``metrics``, ``notes``.

Every builder here validates all of its input before anything is written, and raises
``ValueError`` naming the field, the value and what is allowed. :func:`stored_problem`
checks an entry read back from the file, so that a hand-written entry fails on load
rather than deep inside a report.
"""
from __future__ import annotations

import math
import numbers
import os
import reprlib
from pathlib import Path
from typing import Iterable, Mapping

from ..reporting.rendering import figure_png

STUDY_KEYS = ("name", "path", "n_trials", "best_objective", "objective", "config_path",
              "config", "command", "notes")
ENTRY_KINDS = ("journal", "round", "final_evaluation")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------- plain data

def _journal_data(value, field: str):
    """``value`` as YAML/JSON-safe plain data (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, (str, numbers.Number)) or isinstance(k, bool):
                raise ValueError(
                    f"{field}: key {k!r} must be a string (a hyperparameter or metric name)")
            out[str(k)] = _journal_data(v, f"{field}[{k!r}]")
        return out
    if isinstance(value, (list, tuple)):
        return [_journal_data(v, f"{field}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays and scalars
        return _journal_data(value.tolist(), field)
    raise ValueError(
        f"{field}={value!r}: type {type(value).__name__} cannot be stored in the journal; "
        "use numbers, strings, booleans, None, lists and dicts")


# ------------------------------------------------------------------------- validation

def _text(value, field: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{field}={value!r}: must be a non-empty string" if required
                         else f"{field}={value!r}: must be a string")
    return value


def _names(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ValueError(
            f"{field}={value!r}: must be a list of hyperparameter names (e.g. "
            "['learning_rate'])")
    names = list(value)
    for n in names:
        if not isinstance(n, str) or not n.strip():
            raise ValueError(f"{field}: {n!r} is not a hyperparameter name (non-empty string)")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{field}: {dup} listed more than once")
    return names


def _texts(value, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise ValueError(f"{field}={value!r}: must be a string or a list of strings")
    out = list(value)
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise ValueError(f"{field}[{i}]={v!r}: must be a string")
    return out


def _config(value, field: str) -> dict:
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{field}={value!r}: must be a dict of hyperparameter name -> value")
    return _journal_data(value, field)


def _number_or_none(value, field: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{field}={value!r}: must be a number (or None)")
    value = float(value)
    return None if math.isnan(value) else value


def _study(study, i: int) -> dict:
    field = f"studies[{i}]"
    if not isinstance(study, Mapping):
        raise ValueError(
            f"{field}={study!r}: must be a dict with keys name, n_trials, best_objective, "
            "config_path or config, command (optional: path, objective, notes); "
            "study_record() builds one from a StudyResults")
    unknown = sorted(set(study) - set(STUDY_KEYS))
    if unknown:
        raise ValueError(f"{field}: unknown keys {unknown}; allowed: {list(STUDY_KEYS)}")
    out = {"name": _text(study.get("name"), f"{field}.name")}
    path = study.get("path")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"{field}.path={path!r}: must be a path (string) or None")
    out["path"] = None if path is None else os.fspath(path)
    n = study.get("n_trials")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{field}.n_trials={n!r}: must be an integer >= 0")
    out["n_trials"] = int(n)
    out["best_objective"] = _number_or_none(study.get("best_objective"),
                                            f"{field}.best_objective")
    objective = study.get("objective")
    if objective is not None:
        out["objective"] = _text(objective, f"{field}.objective")
    has_path, has_cfg = study.get("config_path") is not None, study.get("config") is not None
    if has_path == has_cfg:
        raise ValueError(
            f"{field}: give exactly one of config_path (where the config lives) or config "
            f"(the config dict); got config_path={study.get('config_path')!r}, "
            f"config={study.get('config')!r}")
    if has_path:
        cp = study["config_path"]
        if not isinstance(cp, (str, os.PathLike)) or not os.fspath(cp).strip():
            raise ValueError(f"{field}.config_path={cp!r}: must be a non-empty path")
        out["config_path"] = os.fspath(cp)
    else:
        out["config"] = _config(study["config"], f"{field}.config")
    out["command"] = _text(study.get("command"), f"{field}.command (how to reproduce)")
    out["notes"] = _text(study.get("notes"), f"{field}.notes", required=False)
    return out


def _decision(decision) -> dict | None:
    """A decision as {recommendation, text, details}; accepts an AdoptionDecision."""
    if decision is None:
        return None
    if isinstance(decision, str):
        return {"recommendation": _text(decision, "decision"), "text": "", "details": None}
    if hasattr(decision, "recommendation") and hasattr(decision, "reason"):
        details = decision.as_dict() if hasattr(decision, "as_dict") else None
        if details is not None:  # already stored as recommendation and text
            details = {k: v for k, v in details.items() if k not in ("recommendation",
                                                                      "reason")}
        return {"recommendation": _text(decision.recommendation, "decision.recommendation"),
                "text": _text(decision.reason, "decision.reason", required=False),
                "details": None if details is None
                else _journal_data(details, "decision.details")}
    if isinstance(decision, Mapping):
        unknown = sorted(set(decision) - {"recommendation", "text", "details"})
        if unknown:
            raise ValueError(
                f"decision: unknown keys {unknown}; allowed: recommendation, text, details")
        details = decision.get("details")
        return {"recommendation": _text(decision.get("recommendation"),
                                        "decision.recommendation"),
                "text": _text(decision.get("text"), "decision.text", required=False),
                "details": None if details is None
                else _journal_data(details, "decision.details")}
    raise ValueError(
        f"decision={decision!r}: must be None, a string (e.g. 'adopt'), a dict with "
        "recommendation and text, or an AdoptionDecision")


def decision_method(decision: Mapping | None) -> str | None:
    """The method a recorded decision was made with: ``details.method`` (e.g.
    ``"welch_t"``), or :data:`~playbook_kit.decisions.adoption.LEGACY_METHOD` (the percentile
    bootstrap) for an :class:`~playbook_kit.decisions.adoption.AdoptionDecision` recorded before
    the method was stored; None for a decision without the toolkit's details (a string,
    a hand-written dict)."""
    from ..decisions.adoption import LEGACY_METHOD

    details = decision.get("details") if isinstance(decision, Mapping) else None
    if not isinstance(details, Mapping):
        return None
    if isinstance(details.get("method"), str):
        return details["method"]
    return LEGACY_METHOD if "net_ci_low" in details else None


def method_label(method: str | None) -> str:
    """A decision method as words for the reports ("Welch t interval"); an unknown name
    (from a newer playbook-kit) as it is stored; "" for none."""
    from ..decisions.adoption import ADOPTION_METHODS

    return "" if method is None else ADOPTION_METHODS.get(method, method)


def default_caveat(value) -> str:
    """The caveat a fixed hyperparameter puts on a round's conclusions (playbook, sec. 3)."""
    return f"fixed at {value!r}: conclusions hold only for this value"


def study_record(study, command: str, config_path: str | None = None,
                 notes: str = "") -> dict:
    """A ``studies`` item for :meth:`Journal.add_round` from a loaded StudyResults.

    The config is ``config_path`` if given, else the best feasible trial's
    hyperparameter values (inactive conditional ones left out). That trial is pinned in
    a stored study, so that its checkpoints stay whatever the study's
    ``keep_checkpoints`` (:mod:`playbook_kit.studies.retention`).

    Args:
        study: a study's results.
        command: how the study was run (a command line, a notebook), for the record.
        config_path: a file holding the config; None records the best trial's config.
        notes: free text.

    Returns:
        dict: the study's name, path, size, best objective, objective, command, notes and
        config (or ``config_path``).

    Raises:
        ValueError: the study has no feasible trial and no ``config_path`` was given.

    Example::

        journal.add_round("does depth help?", studies=[pk.study_record(study, "pk.run_study")])
    """
    best = study.best_trials(1)
    if study.path is not None and not best.empty:
        _pin(study.path, best["trial_id"].iloc[0])
    record = {"name": study.name, "path": study.path, "n_trials": int(len(study.trials)),
              "best_objective": None if best.empty else float(best["objective"].iloc[0]),
              "objective": study.objective, "command": command, "notes": notes}
    if config_path is not None:
        record["config_path"] = config_path
    elif best.empty:
        raise ValueError(
            f"study {study.name!r} has no feasible trial, so there is no best config; "
            "pass config_path")
    else:
        from ..results.study_results import config_of

        record["config"] = {name: _journal_data(value, f"config[{name!r}]")
                            for name, value in config_of(study, best["trial_id"].iloc[0]).items()}
    return record


def _pin(path, trial_id) -> None:
    from ..studies.retention import pin_trial
    from ..studies.store import STUDY_FILE

    if (Path(path) / STUDY_FILE).exists():
        pin_trial(path, trial_id, "journal")


# ---------------------------------------------------------------------------- figures

def figure_paths(figures, field: str) -> list:
    """A round's ``figures`` argument as a list of paths."""
    if figures is None:
        return []
    if isinstance(figures, (str, os.PathLike)):
        figures = [figures]
    out = []
    for i, f in enumerate(figures):
        if not isinstance(f, (str, os.PathLike)):
            raise ValueError(f"{field}[{i}]={f!r}: must be the path of a PNG file")
        out.append(f)
    return out


def png_bytes(fig, field: str) -> bytes:
    """The PNG of a matplotlib Figure, or of a PNG file (checked to be one)."""
    if hasattr(fig, "savefig"):
        return figure_png(fig)
    if not isinstance(fig, (str, os.PathLike)):
        raise ValueError(f"{field}: {fig!r} must be a PNG path or a matplotlib Figure")
    p = Path(fig)
    if not p.is_file():
        raise ValueError(f"{field}: {str(p)!r} does not exist (PNG file expected)")
    data = p.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{field}: {str(p)!r} is not a PNG file")
    return data


def _stored_figure(fig, field: str, folder: Path) -> str:
    """Check a round's figure is a PNG; its path relative to ``folder`` (the journal's)
    when it lies inside it (so the project folder can move), else absolute."""
    png_bytes(fig, field)
    p = Path(fig).resolve()
    try:
        return p.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return str(p)


# ----------------------------------------------------------------------------- bodies

def round_body(folder: Path, goal: str, scientific=(), nuisance=(), fixed=None,
               caveats=None, studies=(), findings=(), decision=None, new_baseline=None,
               notes: str = "", figures=()) -> dict:
    """The content of a ``round`` entry (see :meth:`Journal.add_round`), all validated;
    ``folder`` is the journal's, against which figure paths are stored."""
    goal = _text(goal, "goal")
    sci = _names(scientific, "scientific")
    nui = _names(nuisance, "nuisance")
    if fixed is None:
        fixed = {}
    if not isinstance(fixed, Mapping):
        raise ValueError(
            f"fixed={fixed!r}: must be a dict of hyperparameter name -> fixed value")
    fixed = _config(fixed, "fixed")
    for a_name, a, b_name, b in (("scientific", sci, "nuisance", nui),
                                 ("scientific", sci, "fixed", fixed),
                                 ("nuisance", nui, "fixed", fixed)):
        both = sorted(set(a) & set(b))
        if both:
            raise ValueError(
                f"{a_name} and {b_name}: {both} listed in both; each hyperparameter of "
                "a round has exactly one role (scientific, nuisance or fixed)")
    if caveats is None:
        caveats = {}
    if not isinstance(caveats, Mapping):
        raise ValueError(f"caveats={caveats!r}: must be a dict of fixed "
                         "hyperparameter name -> caveat text")
    extra = sorted(set(caveats) - set(fixed))
    if extra:
        raise ValueError(f"caveats: {extra} are not fixed hyperparameters of this "
                         f"round (fixed: {sorted(fixed)}); caveats belong to fixed ones")
    cav = {}
    for name, value in fixed.items():
        cav[name] = (_text(caveats[name], f"caveats[{name!r}]") if name in caveats
                     else default_caveat(value))
    if isinstance(studies, Mapping) or isinstance(studies, str):
        raise ValueError(f"studies={studies!r}: must be a list of study dicts")
    study_list = [_study(s, i) for i, s in enumerate(studies)]
    names = [s["name"] for s in study_list]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"studies: names {dup} appear more than once in this round")
    dec = _decision(decision)
    baseline = None if new_baseline is None else _config(new_baseline, "new_baseline")
    rec = dec["recommendation"] if dec else None
    if rec == "adopt" and baseline is None:
        raise ValueError("new_baseline=None: the decision is 'adopt', so give the "
                         "adopted config as new_baseline (it becomes the baseline)")
    if rec == "keep baseline" and baseline is not None:
        raise ValueError(f"new_baseline={new_baseline!r}: the decision is 'keep "
                         "baseline', so new_baseline must be None")
    return {
        "kind": "round",
        "goal": goal,
        "hyperparameters": {"scientific": sci, "nuisance": nui, "fixed": fixed},
        "caveats": cav,
        "studies": study_list,
        "findings": _texts(findings, "findings"),
        "decision": dec,
        "new_baseline": baseline,
        "notes": _text(notes, "notes", required=False),
        "figures": [_stored_figure(f, f"figures[{i}]", folder)
                    for i, f in enumerate(figure_paths(figures, "figures"))],
    }


def final_evaluation_body(config, checkpoint, metrics: Mapping, notes: str = "") -> dict:
    """The content of a ``final_evaluation`` entry, all validated."""
    if isinstance(config, (str, os.PathLike)):
        cfg = _text(os.fspath(config), "config")
    else:
        cfg = _config(config, "config")
    if not isinstance(checkpoint, (str, os.PathLike)) or not os.fspath(checkpoint).strip():
        raise ValueError(f"checkpoint={checkpoint!r}: must be the path of the "
                         "evaluated checkpoint (non-empty)")
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError(f"metrics={metrics!r}: must be a non-empty dict of metric "
                         "name -> number (e.g. {'test_accuracy': 0.91})")
    clean = {}
    for k, v in metrics.items():
        if not isinstance(k, str) or not k.strip():
            raise ValueError(f"metrics: key {k!r} must be a metric name")
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise ValueError(f"metrics[{k!r}]={v!r}: must be a number")
        clean[k] = float(v)
    return {"kind": "final_evaluation", "config": cfg, "checkpoint": os.fspath(checkpoint),
            "metrics": clean, "notes": _text(notes, "notes", required=False)}


# --------------------------------------------------------------- entries read back

_TEXTS = "a list of strings"
_ROUND_FIELDS = {"recorded_at": str, "goal": str, "hyperparameters": dict, "caveats": dict,
                 "studies": list, "findings": _TEXTS, "decision": (dict, type(None)),
                 "new_baseline": (dict, type(None)), "notes": str, "figures": _TEXTS}
_HYPERPARAMETER_FIELDS = {"scientific": _TEXTS, "nuisance": _TEXTS, "fixed": dict}
_STUDY_FIELDS = {"name": str, "n_trials": int, "best_objective": (int, float, type(None)),
                 "command": str}
_FINAL_FIELDS = {"recorded_at": str, "config": (str, dict), "checkpoint": str,
                 "metrics": dict, "notes": str}


def _wrong_field(content: dict, fields: dict, where: str = "") -> str | None:
    """The first field of ``fields`` (name -> type, or ``_TEXTS``) that ``content``
    lacks or holds with another type; None when all are right."""
    for key, kind in fields.items():
        if key not in content:
            return f"has no {where + key!r}"
        value = content[key]
        ok = (isinstance(value, list) and all(isinstance(v, str) for v in value)
              if kind is _TEXTS else isinstance(value, kind) and not isinstance(value, bool))
        if not ok:
            return (f"has {where}{key}={reprlib.repr(value)}, not "
                    + (_TEXTS if kind is _TEXTS else "the type this journal writes"))
    return None


def stored_problem(content: dict, earlier: list[dict]) -> str | None:
    """What is wrong with an entry read back from the file after the entries
    ``earlier`` (None: nothing), checked as far as the reports and the baseline rely
    on it: a hand-written entry fails on load, not deep inside a report."""
    kind = content["kind"]
    if kind not in ENTRY_KINDS:
        return (f"has kind {kind!r}; this playbook-kit knows {list(ENTRY_KINDS)} "
                "(upgrade playbook-kit if a newer one wrote it)")
    if kind == "journal":
        return _wrong_field(content, {"title": (str, type(None))}) if "title" in content \
            else None
    if kind == "final_evaluation":
        problem = _wrong_field(content, _FINAL_FIELDS)
        if problem is None and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                       for v in content["metrics"].values()):
            problem = f"has metrics={reprlib.repr(content['metrics'])}, not all numbers"
        return problem
    expected = sum(e["kind"] == "round" for e in earlier) + 1
    if content.get("round") != expected:
        return f"has round={content.get('round')!r} where {expected} was expected"
    problem = (_wrong_field(content, _ROUND_FIELDS)
               or _wrong_field(content["hyperparameters"], _HYPERPARAMETER_FIELDS,
                               "hyperparameters."))
    if problem is None and not all(isinstance(v, str) for v in content["caveats"].values()):
        problem = f"has caveats={reprlib.repr(content['caveats'])}, not all strings"
    for i, study in enumerate(content["studies"]):
        if problem is None:
            problem = (_wrong_field(study, _STUDY_FIELDS, f"studies[{i}].")
                       if isinstance(study, dict)
                       else f"has studies[{i}]={reprlib.repr(study)}, not a dict")
    decision = content["decision"]
    if problem is None and decision is not None and not isinstance(
            decision.get("recommendation"), str):
        problem = f"has decision={reprlib.repr(decision)}, without a recommendation"
    return problem
