"""The playbook's checklist for a study, as one report (playbook section 4).

Before judging a study's goal, the playbook asks: is the search space big enough? were
enough points sampled? what fraction of trials is infeasible? are there optimization
problems? what do the best trials' training curves show? :func:`audit` answers each
with the diagnostics of this package and returns an :class:`AuditReport`: a table of
checks (status "pass", "warn", "fail", or "skip" when the study lacks what the check
needs, e.g. curves from a plain keras-tuner directory), the tables behind them, and the
key figures, renderable as Markdown, HTML (figures embedded) or files on disk.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..core.statuses import mark
from ..reporting.rendering import render
from ..results.study_results import StudyResults
from ._common import (_check_study, fmt, _pct, best_set_size, feasible_mask, finished_mask,
                      infeasible_mask, varied_hyperparameters)
from .axes import plot_axes
from .boundaries import boundary_check
from .curves import (available_metrics, diagnose_curves, flagged_checks, objective_curve,
                     plot_curves, plot_trial, resolve_thresholds)
from .isolation import plot_isolation
from .sampling import best_of_n, good_region_counts, good_threshold, plot_best_of_n

CHECK_STATUSES = ("pass", "warn", "fail", "skip")
CHECK_COLUMNS = ["check", "status", "reason", "action"]

INFEASIBLE_WARN = 0.20
"""Toolkit's choice: warn when more than 20% of finished trials are infeasible."""
INFEASIBLE_FAIL = 0.50
"""Toolkit's choice: fail when more than half are (the playbook gives no number)."""
SPREAD_WARN = 0.25
"""Toolkit's choice: warn when the interquartile range of the bootstrapped best-of-N (N
= the study's size) exceeds 25% of the gap between the best and the median trial."""
MIN_GOOD = 3
"""Toolkit's choice: warn when fewer than 3 trials reach the good region."""
GOOD_FRACTION = 0.25
"""Good trials are within 25% of the best-to-median gap of the best (toolkit)."""
TOP_CURVES = 3
"""How many of the best trials' curves the report shows and checks."""

STABILITY_RECIPES = ("find the learning rate where training becomes unstable with "
                     "pk.instability_probe, then the shortest warmup that makes a higher rate "
                     "stable with pk.warmup_sweep (gradient clipping: pk.clipping_threshold; "
                     "notebook 06_instability_warmup_clipping)")
"""The audit's pointer to the stability recipes, added wherever it finds instability:
infeasible (diverged) trials, an instability edge, a training loss that rises."""

CURVE_CHECK_NAMES = ("optimization problems (all trials)", "training length (best trials)",
                     "best trials' curves")


@dataclass
class AuditReport:
    """Result of :func:`audit`: ``checks`` (columns check, status, reason, action), the
    ``tables`` behind them, ``figures`` (matplotlib Figures, not registered with
    pyplot), ``notes`` on what could not be checked.

    Attributes:
        study: the study's name.
        objective: the metric it optimizes.
        direction: ``"max"`` or ``"min"``.
        summary: one line: the study's size, feasible trials and best objective.
        checks: one row per check: ``check``, ``status`` (pass, warn, fail, skip),
            ``reason``, ``action``.
        tables: the tables behind the checks, by name.
        figures: matplotlib Figures, by name.
        notes: what could not be checked, and why.

    Example::

        report = pk.audit(study)
        report.status                # the worst status: "warn"
        report.to_markdown()
    """

    study: str
    objective: str
    direction: str
    summary: str
    checks: pd.DataFrame
    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def status(self) -> str:
        """The worst status among the checks ("fail" > "warn" > "pass"; "skip" only when
        nothing could be checked)."""
        statuses = set(self.checks["status"])
        for s in ("fail", "warn", "pass"):
            if s in statuses:
                return s
        return "skip"

    def __repr__(self) -> str:
        counts = Counter(self.checks["status"])
        parts = ", ".join(f"{counts[s]} {s}" for s in CHECK_STATUSES if counts[s])
        return f"AuditReport(study={self.study!r}, status={self.status!r}: {parts})"

    # ------------------------------------------------------------------ rendering
    def to_markdown(self) -> str:
        """The report as Markdown; figures are linked as ``<name>.png``, the files that
        :meth:`save` writes next to ``audit.md``."""
        out = [f"# Audit of study `{self.study}`", "", self.summary, "",
               "## Checklist (playbook section 4)", "",
               _markdown_table(self.checks.assign(status=self.checks["status"].map(mark))),
               ""]
        boundary = self.tables.get("boundary")
        if boundary is not None and not boundary.empty:
            cols = ["name", "scale", "low", "high", "best_value", "status",
                    "suggested_low", "suggested_high"]
            out += ["## Search-space boundaries", "", _markdown_table(boundary[cols]), ""]
        best = self.tables.get("best_trials")
        if best is not None and not best.empty:
            out += ["## Best trials", "", _markdown_table(best), ""]
        if self.figures:
            out += ["## Figures", ""]
            out += [f"![{name}]({name}.png)" for name in self.figures] + [""]
        if self.notes:
            out += ["## Not checked", ""] + [f"- {n}" for n in self.notes] + [""]
        return "\n".join(out)

    def to_html(self, full_document: bool = True) -> str:
        """The report as HTML with every figure embedded as a base64 PNG (the
        ``audit.html`` template; every value escaped). ``full_document=False`` gives
        the fragment a notebook displays."""
        tables = []
        boundary = self.tables.get("boundary")
        if boundary is not None and not boundary.empty:
            tables.append(("Search-space boundaries",
                           *_html_table(boundary.drop(columns=["reason", "action"]))))
        best = self.tables.get("best_trials")
        if best is not None and not best.empty:
            tables.append(("Best trials", *_html_table(best)))
        return render("audit.html" if full_document else "audit_body.html",
                      full_document=full_document, title=f"Audit: {self.study}",
                      study=self.study, summary=self.summary,
                      checks=self.checks.to_dict("records"), tables=tables,
                      figures=list(self.figures.items()), notes=self.notes)

    def _repr_html_(self) -> str:
        return self.to_html(full_document=False)

    def save(self, directory) -> dict[str, Path]:
        """Write ``audit.md``, ``audit.html``, ``checks.csv`` and one PNG per figure into
        ``directory`` (created if needed); returns name -> path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, fig in self.figures.items():
            paths[name] = directory / f"{name}.png"
            fig.savefig(paths[name], dpi=150, bbox_inches="tight")
        paths["audit.md"] = directory / "audit.md"
        paths["audit.md"].write_text(self.to_markdown(), encoding="utf-8")
        paths["audit.html"] = directory / "audit.html"
        paths["audit.html"].write_text(self.to_html(), encoding="utf-8")
        paths["checks.csv"] = directory / "checks.csv"
        self.checks.to_csv(paths["checks.csv"], index=False)
        return paths


def _cell(value) -> str:
    """A table cell as text: numbers short, as in the reasons."""
    return fmt(value, 3) if isinstance(value, float) else str(value)


def _markdown_table(df: pd.DataFrame) -> str:
    def cell(v) -> str:
        return _cell(v).replace("|", "\\|").replace("\n", " ")
    lines = ["| " + " | ".join(map(cell, df.columns)) + " |",
             "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |"
              for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _html_table(df: pd.DataFrame) -> tuple[list, list]:
    """A DataFrame as (column names, rows of cell texts) for the template."""
    return ([str(c) for c in df.columns],
            [[_cell(v) for v in row] for row in df.itertuples(index=False)])


def _row(check, status, reason, action="") -> dict:
    return dict(check=check, status=status, reason=reason, action=action)


# ----------------------------------------------------------------------------- checks
def _check_infeasible(study: StudyResults) -> dict:
    trials = study.trials[finished_mask(study.trials)]
    if trials.empty:
        return _row("infeasible fraction", "skip", "no finished trial")
    bad = trials[infeasible_mask(trials)]
    fraction = len(bad) / len(trials)
    reasons = Counter(r for r in bad["reason"] if isinstance(r, str) and r)
    common = ", ".join(f"'{r}' ({n})" for r, n in reasons.most_common(3))
    reason = (f"{len(bad)} of {len(trials)} finished trials infeasible ({fraction:.0%}; warn "
              f"above {INFEASIBLE_WARN:.0%}, fail above {INFEASIBLE_FAIL:.0%})"
              + (f"; most common reasons: {common}" if common else ""))
    if fraction > INFEASIBLE_FAIL or len(bad) == len(trials):
        return _row("infeasible fraction", "fail", reason,
                    "reshape the search space (shrink the ranges where the red crosses sit "
                    "on the axis plots) or look for a bug before reading anything else; if "
                    "they diverged: " + STABILITY_RECIPES)
    if fraction > INFEASIBLE_WARN:
        return _row("infeasible fraction", "warn", reason,
                    "look where the infeasible trials sit on the axis plots and shrink those "
                    "ranges, or make them trainable: " + STABILITY_RECIPES)
    return _row("infeasible fraction", "pass", reason)


def _check_unfinished(study: StudyResults) -> dict:
    status = study.trials["status"]
    failed, running = int((status == "failed").sum()), int((status == "running").sum())
    reason = f"{failed} failed, {running} still running"
    if failed:
        return _row("failed or unfinished trials", "warn", reason,
                    "failed trials crashed (not an infeasible objective): read their reasons, "
                    "fix, and rerun them")
    if running:
        return _row("failed or unfinished trials", "warn", reason,
                    "the study is unfinished: rerun the audit when it completes")
    return _row("failed or unfinished trials", "pass", reason)


def _boundary_rows(study, tables: dict) -> list[dict]:
    boundary = tables["boundary"] = boundary_check(study)
    varied = varied_hyperparameters(study)
    if boundary.empty:
        why = ("no hyperparameter varied" if not varied else
               f"no numeric hyperparameter varied ({', '.join(varied)} categorical)")
        return [_row("search space boundaries", "skip", f"{why}: no edges to check"),
                _row("instability", "skip", f"{why}: no edges to check")]
    checked = boundary[boundary["status"] != "not checked"]
    if checked.empty:
        why = "; ".join(boundary["reason"])
        return [_row("search space boundaries", "skip", why),
                _row("instability", "skip", why)]
    expand = checked[checked["status"] == "expand"]
    at_bound = checked[checked["status"] == "at bound"]
    n_best = int(checked["n_best"].max())
    if len(expand):
        row = _row("search space boundaries", "warn",
                   "best trials at an edge (" + ", ".join(
                       f"{r.name}: {r.rule} rule" for r in expand.itertuples()) + "): "
                   + "; ".join(f"{r.name}: {r.reason}" for r in expand.itertuples()),
                   "; ".join(expand["action"]))
    else:
        extra = ("; at a natural bound: " + ", ".join(at_bound["name"])) if len(at_bound) else ""
        row = _row("search space boundaries", "pass",
                   f"the {n_best} best trials are not bunched at an edge (majority rule) and "
                   "the objective does not improve steadily toward one (trend rule) for "
                   f"{', '.join(checked['name'])}{extra}")
    unstable = checked[checked["status"] == "instability"]
    if len(unstable):
        row2 = _row("instability", "warn", "; ".join(
            f"{r.name}: {r.reason}" for r in unstable.itertuples()),
            "; ".join([*unstable["action"], STABILITY_RECIPES]))
    else:
        row2 = _row("instability", "pass",
                    "no hyperparameter has all trials beyond its best value infeasible")
    return [row, row2]


def _check_sampling(study: StudyResults, n_boot: int, seed: int, tables: dict) -> dict:
    trials = study.trials[finished_mask(study.trials)]
    n_feasible = int(feasible_mask(trials).sum())
    if n_feasible < 2:
        return _row("sampling", "skip",
                    f"{n_feasible} feasible trial(s): best-of-n and good-region counts "
                    "need at least 2")
    n = len(trials)
    table = best_of_n(study, n_boot=n_boot, seed=seed)
    tables["best_of_n"] = table.groupby("budget")["best_objective"].agg(
        median="median", q25=lambda x: x.quantile(0.25), q75=lambda x: x.quantile(0.75),
        no_feasible=lambda x: float(x.isna().mean())).reset_index()
    at_n = table.loc[table["budget"] == n, "best_objective"].dropna()
    iqr = float(at_n.quantile(0.75) - at_n.quantile(0.25)) if len(at_n) else float("nan")
    objective = study.feasible["objective"].astype(float)
    best = study.best_value(objective)
    gap = abs(best - objective.median())
    ratio = iqr / gap if gap > 0 else 0.0
    threshold = good_threshold(study, GOOD_FRACTION)
    good = study.sign * objective >= study.sign * threshold
    n_good = int(good.sum())
    tables["good_region"] = good_region_counts(study, GOOD_FRACTION)
    reason = (f"best-of-{n} bootstrap IQR {fmt(iqr, 3)} = {ratio:.0%} of the best-to-median gap "
              f"{fmt(gap, 3)} (warn above {SPREAD_WARN:.0%}); {n_good} trial(s) within "
              f"{GOOD_FRACTION:.0%} of that gap from the best (warn below {MIN_GOOD})")
    if ratio > SPREAD_WARN or n_good < MIN_GOOD:
        return _row("sampling", "warn", reason,
                    "run more trials (or narrow the space around the good region): "
                    "another study of this size could find a different best")
    return _row("sampling", "pass", reason)


def _curve_rows(study, thresholds: dict, tables: dict) -> list[dict]:
    names = CURVE_CHECK_NAMES
    split, metric, _ = objective_curve(study)
    if study.curves.empty:
        why = ("no training curves recorded (a plain keras-tuner study stores final metrics "
               "only): run trials with playbook_kit's trainer to get per-step curves")
        return [_row(n, "skip", why) for n in names]
    diagnostics = tables["curve_diagnostics"] = diagnose_curves(study, **thresholds)
    flags = flagged_checks(diagnostics)
    checked = diagnostics[(diagnostics["check"] == "overfitting")
                          & diagnostics["flagged"].notna()]["trial_id"]
    if checked.empty:
        why = f"no completed trial has a {split} {metric} curve of at least 3 evaluations"
        return [_row(n, "skip", why) for n in names]
    rows = []
    overfit = [t for t in checked if "overfitting" in flags.get(t, [])]
    rising = [t for t, f in flags.items() if "training_loss_rising" in f]
    problems, actions = [], []
    if overfit:
        problems.append(f"{len(overfit)} of {len(checked)} trials overfit (validation "
                        f"objective worsens after its best): {', '.join(overfit[:8])}")
        actions.append("add or strengthen regularization (dropout, weight decay, "
                       "augmentation) and tune its strength as a nuisance hyperparameter")
    if rising:
        problems.append(f"training loss rises in {len(rising)} trial(s): {', '.join(rising[:8])}")
        actions.append("training loss rising usually means a pipeline bug: check shuffling, "
                       "augmentation, labels and the learning-rate schedule; if it rises "
                       "early, the learning rate is unstable: " + STABILITY_RECIPES)
    rows.append(_row(names[0], "warn" if problems else "pass",
                     "; ".join(problems) or f"no overfitting or rising training loss in "
                     f"{len(checked)} trials", "; ".join(actions)))

    n_best = best_set_size(len(study.feasible))
    best_ids = [str(t) for t in study.best_trials(n_best)["trial_id"] if str(t) in set(checked)]
    counts = {c: sum(c in flags.get(t, []) for t in best_ids)
              for c in ("best_step_early", "best_step_late", "still_improving", "saturated")}
    majority = len(best_ids) / 2
    tail = f"of the {len(best_ids)} best trials"
    if counts["best_step_early"] > majority:
        rows.append(_row(names[1], "warn",
                         f"best checkpoint in the first {_pct(thresholds['early_fraction'])} "
                         f"of training for {counts['best_step_early']} {tail}",
                         "max_train_steps is far too large: cut it (playbook section 2)"))
    elif max(counts["best_step_late"], counts["still_improving"]) > majority:
        rows.append(_row(names[1], "warn",
                         f"best checkpoint in the last {_pct(thresholds['late_fraction'])} of "
                         f"training for {counts['best_step_late']} and "
                         f"still improving at the end for {counts['still_improving']} {tail}",
                         "train longer (more max_train_steps) and retune the decay schedule; "
                         "if compute-bound, tune in rounds of growing length"))
    elif counts["saturated"] > majority:
        rows.append(_row(names[1], "warn",
                         f"saturated by {_pct(thresholds['saturation_fraction'])} of training "
                         f"for {counts['saturated']} {tail}",
                         "fewer steps would do: lower max_train_steps to save budget"))
    else:
        rows.append(_row(names[1], "pass",
                         "best checkpoints neither consistently early nor late: " + ", ".join(
                             f"{c} {n}" for c, n in counts.items()) + f" {tail}"))

    top = best_ids[:TOP_CURVES]
    noisy = {t: [c for c in flags.get(t, []) if c in ("overfitting", "high_variance",
                                                         "training_loss_rising")] for t in top}
    noisy = {t: f for t, f in noisy.items() if f}
    summary = "; ".join(f"trial {t}: {', '.join(f) or 'no flag'}"
                        for t, f in ((t, flags.get(t, [])) for t in top))
    rows.append(_row(names[2], "warn" if noisy else "pass",
                     f"{summary} (see the curves figure)",
                     "look at the flagged trials' curves: noisy late training calls for a "
                     "decaying learning rate or a larger evaluation set; overfitting for "
                     "regularization" if noisy else ""))
    tables["curve_flags"] = pd.DataFrame(
        [(t, ", ".join(f)) for t, f in flags.items()], columns=["trial_id", "flags"])
    return rows


def _summary(study: StudyResults) -> str:
    counts = Counter(study.trials["status"])
    if study.feasible.empty:
        best = "no feasible trial"
    else:
        top = study.best_trials(1).iloc[0]
        best = (f"best {study.objective} {fmt(float(top['objective']), 3)} "
                f"(trial {top['trial_id']})")
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    steps = f"; max_train_steps {study.max_train_steps}" if study.max_train_steps else ""
    return (f"{len(study.trials)} trials ({statuses}); objective {study.objective}, "
            f"{study.direction}imized; {best}{steps}{_engines(study)}")


def _engines(study: StudyResults) -> str:
    """Which engine trained the runs, and why (``engines`` module): a study's reader
    learns when Keras' ``fit`` ran the user's own training code."""
    runs = study.runs
    if runs.empty or "engine" not in runs:
        return ""
    reasons = runs["engine_reason"].fillna("") if "engine_reason" in runs else \
        pd.Series("", index=runs.index)
    engines = runs["engine"].fillna("compiled")
    groups = Counter(zip(engines, reasons.where(engines == "fit", "")))
    packed = int(reasons.str.contains("; packed with").sum())
    parts = [f"{n} run{'s' if n > 1 else ''} on the {engine} engine"
             + (f" ({reason.split(': ', 1)[-1]})" if reason and engine == "fit" else "")
             + (f" ({packed} packed)" if engine == "compiled" and packed else "")
             for (engine, reason), n in sorted(groups.items())]
    return "; " + ", ".join(parts) + _resumes(runs)


def _resumes(runs: pd.DataFrame) -> str:
    """How many runs continued from a resumable state after a kill, and the work lost."""
    if "resumed_from" not in runs:
        return ""
    resumed = runs[runs["resumed_from"].fillna("").astype(str) != ""]
    lost_steps = pd.to_numeric(runs.get("lost_steps"), errors="coerce").fillna(0)
    restarted = int(((lost_steps > 0) & (runs["resumed_from"].fillna("").astype(str) == ""))
                    .sum())
    if resumed.empty and not restarted:
        return ""
    kills = sum(len(str(v).split(",")) for v in resumed["resumed_from"])
    parts = []
    if len(resumed):
        parts.append(f"{len(resumed)} run{'s' if len(resumed) > 1 else ''} resumed from "
                     f"{'its state' if len(resumed) == 1 else 'their states'} after {kills} "
                     f"interruption{'s' if kills > 1 else ''}")
    if restarted:
        parts.append(f"{restarted} run{'s' if restarted > 1 else ''} killed before a first "
                     "state and restarted")
    return "; " + ", ".join(parts) + f", {int(lost_steps.sum())} steps of work lost"


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _check_disk(study: StudyResults, tables: dict) -> dict:
    """The study's disk use, and the checkpoints its retention kept and dropped
    (:mod:`playbook_kit.studies.retention`); informational, never a failure."""
    from ..studies.retention import KEEP_CHECKPOINTS, disk_use
    from ..studies.store import STUDY_FILE, read_study_spec

    if study.path is None or not Path(study.path).is_dir():
        return _row("disk use", "skip", "no study directory (results built in memory)")
    table = tables["disk"] = disk_use(study.path)
    total = int(table[["checkpoint_bytes", "other_bytes"]].to_numpy().sum())
    kept = table[table["checkpoint_bytes"] > 0]
    gone = table[table["dropped"]]
    pinned = int(((table["pinned_by"] != "") & ~table["dropped"]).sum())
    if (Path(study.path) / STUDY_FILE).exists():
        keep = read_study_spec(study.path).get("keep_checkpoints", KEEP_CHECKPOINTS)
        option = ("keep_checkpoints=None: every trial's kept" if keep is None else
                  f"keep_checkpoints={keep}: the best {keep} trials' and pinned ones'")
    else:
        option = "a plain keras-tuner study: no retention"
    reason = (f"{_size(total)} on disk, {_size(kept['checkpoint_bytes'].sum())} of it the "
              f"checkpoints of {len(kept)} trial(s) ({option}; {pinned} pinned)")
    if len(gone):
        reason += (f"; checkpoints of {len(gone)} trial(s) dropped, "
                   f"{_size(gone['dropped_bytes'].sum())} freed: "
                   f"{', '.join(gone['trial_id'].head(12))}"
                   + (" ..." if len(gone) > 12 else ""))
    return _row("disk use", "pass", reason,
                "" if not len(gone) else "final_evaluation needs a kept trial; retrain "
                "works on any trial (it needs only the config)")


def _guarded(names, fn, *args) -> list[dict]:
    """Run one check; a report must come back even when a check meets data it was not
    built for, so an error becomes a "skip" row that names it (never hidden)."""
    try:
        out = fn(*args)
        return out if isinstance(out, list) else [out]
    except Exception as error:  # noqa: BLE001 - reported in the row
        return [_row(name, "skip", f"could not run: {type(error).__name__}: {error}")
                for name in names]


def _figures(study, tables, scientific, n_boot, seed, notes) -> dict:
    """The key figures, closed in pyplot so that a notebook shows them once (in the
    report) and nothing leaks."""
    figs: dict = {}

    def draw(name, fn, *args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - reported in the notes
            notes.append(f"figure {name} could not be drawn: {type(error).__name__}: {error}")
            return
        fig = out if isinstance(out, plt.Figure) else out.figure
        plt.close(fig)
        figs[name] = fig

    if varied_hyperparameters(study):
        draw("axis_plots", plot_axes, study)
    for name in scientific:
        draw(f"isolation_{name}", plot_isolation, study, name)
    if "best_of_n" in tables:
        draw("best_of_n", plot_best_of_n, study, n_boot=n_boot, seed=seed)
    if "curve_diagnostics" in tables:
        _, metric, _ = objective_curve(study)
        if metric in available_metrics(study):
            draw("curves", plot_curves, study, metric=metric, top_k=TOP_CURVES)
        else:
            notes.append(f"no train/validation {metric} curves: training-curve figure skipped")
        if not study.feasible.empty:
            draw("best_trial", plot_trial, study, study.best_trials(1)["trial_id"].iloc[0])
    return figs


def audit(study: StudyResults, figures: bool = True, n_boot: int = 1000, seed: int = 0,
          curve_thresholds: dict | None = None) -> AuditReport:
    """Run the playbook's section-4 checklist on ``study`` and return an
    :class:`AuditReport`. Works on any study: one trial, no curves, no varied
    hyperparameter, all trials infeasible; what cannot be checked is reported as
    "skip". ``figures=False`` skips drawing (faster; nothing embedded);
    ``curve_thresholds`` go to :func:`~playbook_kit.insight.diagnose_curves`.

    Args:
        study: a study's results (:func:`load_study`, :func:`run_study`).
        figures: draw the figures behind the checks.
        n_boot: bootstrap draws of the sampling check (:func:`best_of_n`).
        seed: seeds those draws.
        curve_thresholds: thresholds for :func:`diagnose_curves`, or None.

    Returns:
        AuditReport: the checklist (``checks``: check, status, reason, action), its
        tables and figures; ``save`` writes it as HTML and Markdown.

    Raises:
        ValueError: ``study`` is not a :class:`StudyResults`, or an argument has the wrong type.

    Example::

        report = pk.audit(study)
        report.checks
        report.save("audit")        # audit/report.html, report.md, figures
    """
    study = _check_study(study)
    if not isinstance(figures, bool):
        raise ValueError(f"figures must be True or False, got {figures!r}")
    if not isinstance(curve_thresholds, (dict, type(None))):
        raise ValueError(f"curve_thresholds must be a dict or None, got {curve_thresholds!r}")
    thresholds = resolve_thresholds(**(curve_thresholds or {}))
    tables: dict = {}
    checks = (
        _guarded(["infeasible fraction"], _check_infeasible, study)
        + _guarded(["failed or unfinished trials"], _check_unfinished, study)
        + _guarded(["search space boundaries", "instability"], _boundary_rows, study, tables)
        + _guarded(["sampling"], _check_sampling, study, n_boot, seed, tables)
        + _guarded(list(CURVE_CHECK_NAMES), _curve_rows, study, thresholds, tables)
        + _guarded(["disk use"], _check_disk, study, tables))

    best = study.best_trials(TOP_CURVES)
    hp_cols = [n for n in study.hyperparameter_names if n in best.columns]
    tables["best_trials"] = best[["trial_id", "objective", "objective_std", "best_step"]
                                 + hp_cols].reset_index(drop=True)
    notes: list[str] = []
    roles = dict(zip(study.hyperparameters["name"], study.hyperparameters["role"]))
    scientific = [n for n in varied_hyperparameters(study) if roles.get(n) == "scientific"]
    if set(roles.values()) <= {"unknown"}:
        notes.append("hyperparameter roles are unknown (as from a plain keras-tuner "
                     "directory): isolation plots need a scientific hyperparameter")
    elif not scientific:
        notes.append("no scientific hyperparameter varied in this study: no isolation plot")
    if study.curves.empty:
        notes.append("no training curves: curve checks and curve figures skipped")
    figs = _figures(study, tables, scientific, n_boot, seed, notes) if figures else {}
    return AuditReport(study=study.name, objective=study.objective,
                       direction=study.direction, summary=_summary(study),
                       checks=pd.DataFrame(checks, columns=CHECK_COLUMNS), tables=tables,
                       figures=figs, notes=notes)


__all__ = ["AuditReport", "audit", "CHECK_STATUSES", "INFEASIBLE_WARN", "INFEASIBLE_FAIL",
           "SPREAD_WARN", "MIN_GOOD", "GOOD_FRACTION"]
