"""The journal as reports: the playbook's tracking sheet, Markdown, and an HTML page.

The HTML page is the ``journal.html`` template (:mod:`playbook_kit.reporting.rendering`): every
value escaped, free text rendered as Markdown without raw HTML.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Mapping

from ..core.statuses import mark
from ..reporting.rendering import number, render
from .entries import decision_method, method_label, png_bytes

TRACKING_COLUMNS = ["round", "study name", "config", "notes", "number of trials",
                    "best validation result", "command to reproduce"]


def tracking_sheet(rounds: list[dict], path_csv=None):
    """The experiment-tracking sheet of ``rounds`` (see :meth:`Journal.to_tracking_sheet`)."""
    import pandas as pd

    rows = []
    for r in rounds:
        for s in r["studies"]:
            config = s.get("config_path") or json.dumps(
                s.get("config"), sort_keys=True, separators=(",", ":"))
            rows.append({
                "round": r["round"], "study name": s["name"], "config": config,
                "notes": s.get("notes") or f"round {r['round']}: {r['goal']}",
                "number of trials": s["n_trials"],
                "best validation result": s["best_objective"],
                "command to reproduce": s["command"]})
    sheet = pd.DataFrame(rows, columns=TRACKING_COLUMNS)
    if path_csv is not None:
        path_csv = Path(path_csv)
        path_csv.parent.mkdir(parents=True, exist_ok=True)
        sheet.to_csv(path_csv, index=False, quoting=csv.QUOTE_MINIMAL)
    return sheet


def markdown_report(title: str, path: Path, rounds: list[dict], finals: list[dict]) -> str:
    """All rounds and final evaluations as one Markdown document."""
    out = [f"# {title}\n",
           f"Journal `{path}`: {_count(len(rounds), 'round')}. Each round: one goal, "
           "its scientific / nuisance / fixed hyperparameters, studies, findings and "
           "the adoption decision (Deep Learning Tuning Playbook, incremental "
           "tuning).\n"]
    out += [_round_markdown(r) for r in rounds]
    out += [_final_markdown(e) for e in finals]
    return "\n".join(out)


def html_report(title: str, path: Path, rounds: list[dict], finals: list[dict],
                figures: Mapping | None = None) -> str:
    """All rounds and final evaluations as one standalone HTML page; ``figures`` maps a
    round number to PNG paths or matplotlib Figures, embedded after the round's own
    recorded figures (paths relative to ``path``'s folder)."""
    numbers_ = {r["round"] for r in rounds}
    extra = {}
    for key, value in (figures or {}).items():
        if key not in numbers_:
            raise ValueError(f"figures[{key!r}]: no such round; rounds are "
                             f"{sorted(numbers_)}")
        items = value if isinstance(value, (list, tuple)) else [value]
        extra[key] = [png_bytes(v, f"figures[{key!r}]") for v in items]
    embedded = {}
    for r in rounds:  # a recorded figure that has moved is reported, not fatal
        recorded = []
        for f in r.get("figures", []):
            p = path.parent / f
            recorded.append(p.read_bytes() if p.is_file() else str(f))
        embedded[r["round"]] = recorded + extra.get(r["round"], [])
    methods = {r["round"]: method_label(decision_method(r["decision"])) for r in rounds}
    return render("journal.html", title=title, path=str(path), rounds=rounds,
                  finals=finals, figures=embedded, methods=methods,
                  summary=_count(len(rounds), "round"),
                  config_rows=config_rows)


def config_rows(config: dict, hyperparameters: dict | None = None) -> list[tuple]:
    """A recorded config as (hyperparameter, value, role) rows, the tuned ones first, so
    that reports show it as a table rather than as a JSON string. ``hyperparameters`` is a
    round's (scientific and nuisance names, fixed values): a name it does not list is
    "fixed (default)"; without it the role is ""."""
    if not hyperparameters:
        return [(name, value, "") for name, value in config.items()]
    roles = {**{n: "fixed" for n in hyperparameters.get("fixed", {})},
             **{n: "nuisance" for n in hyperparameters.get("nuisance", [])},
             **{n: "scientific" for n in hyperparameters.get("scientific", [])}}
    order = {"scientific": 0, "nuisance": 1, "fixed": 2}
    rows = [(name, value, roles.get(name, "fixed (default)")) for name, value in config.items()]
    return sorted(rows, key=lambda row: order.get(row[2], 3))


def write_text(path, text: str) -> None:
    """Write a report (not the journal: that is appended atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- Markdown

def _cell(value) -> str:
    """A value in a Markdown table cell."""
    return number(value).replace("|", "\\|").replace("\n", "<br>")


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _indent(text: str) -> str:
    """Multi-line text as one Markdown block: continuation lines indented."""
    return "\n  ".join(text.splitlines())


def _round_markdown(r: dict) -> str:
    hp = r["hyperparameters"]
    lines = [f"## Round {r['round']}: {' '.join(r['goal'].split())}\n",
             f"*Recorded {r['recorded_at']}.*\n",
             f"- **Scientific:** {', '.join(hp['scientific']) or '(none)'}",
             f"- **Nuisance:** {', '.join(hp['nuisance']) or '(none)'}",
             "- **Fixed:** " + (", ".join(f"{k}={_cell(v)}" for k, v in hp["fixed"].items())
                                or "(none)")]
    if r["caveats"]:
        lines.append("\n**Caveats** (each fixed hyperparameter limits the conclusions):\n")
        lines += [f"- `{k}` {v}" for k, v in r["caveats"].items()]
    if r["studies"]:
        lines.append("\n**Studies**\n")
        lines.append("| study | trials | best validation result | config | "
                     "command to reproduce | notes |")
        lines.append("|---|---|---|---|---|---|")
        for s in r["studies"]:
            cfg = s.get("config_path") or "<br>".join(
                f"{name}={number(value)}" + (f" ({role})" if role else "")
                for name, value, role in config_rows(s.get("config") or {}, hp))
            best = _cell(s["best_objective"]) + (f" ({s['objective']})" if s.get("objective")
                                                 and s["best_objective"] is not None else "")
            lines.append(f"| {_cell(s['name'])} | {s['n_trials']} | {best} | {_cell(cfg)} | "
                         f"`{_cell(s['command'])}` | {_cell(s.get('notes'))} |")
    if r["findings"]:
        lines.append("\n**Findings**\n")
        lines += [f"- {_indent(f)}" for f in r["findings"]]
    d = r["decision"]
    method = method_label(decision_method(d))
    lines.append("\n**Decision:** " + (f"**{mark(d['recommendation'])}**" if d else "(none)")
                 + (f" ({method})" if method else "")
                 + (f" -- {_indent(d['text'])}" if d and d.get("text") else ""))
    if r["new_baseline"] is not None:
        lines += ["\n**New baseline:**\n", "| hyperparameter | value | role |", "|---|---|---|"]
        lines += [f"| {_cell(name)} | {_cell(value)} | {role} |"
                  for name, value, role in config_rows(r["new_baseline"], hp)]
    else:
        lines.append("\n**Baseline:** unchanged.")
    if r.get("notes"):
        lines.append(f"\n**Notes:** {_indent(r['notes'])}")
    return "\n".join(lines) + "\n"


def _final_markdown(e: dict) -> str:
    config = e["config"]
    lines = ["## Final evaluation\n",
             f"*Recorded {e['recorded_at']}.* Test-set performance of the chosen config, "
             "checked once at the end.\n"]
    if isinstance(config, str):
        lines.append(f"- **Config:** `{config}`")
    lines.append(f"- **Checkpoint:** `{e['checkpoint']}`")
    lines += [f"- **{k}:** {number(v)}" for k, v in e["metrics"].items()]
    if not isinstance(config, str):
        lines += ["\n**Config:**\n", "| hyperparameter | value |", "|---|---|"]
        lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value, _ in
                  config_rows(config)]
    if e.get("notes"):
        lines.append(f"\n**Notes:** {_indent(e['notes'])}")
    return "\n".join(lines) + "\n"
