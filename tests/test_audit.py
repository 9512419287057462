"""audit(): the playbook's section-4 checklist on studies of every shape."""
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from insight_fixtures import (curves_study, hp, make_study, make_trials,  # noqa: E402
                              random_study, sampled_study)

from playbook_kit.insight import AuditReport, audit  # noqa: E402

CHECKS = ["infeasible fraction", "failed or unfinished trials", "search space boundaries",
          "instability", "sampling", "optimization problems (all trials)",
          "training length (best trials)", "best trials' curves", "disk use"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _status(report):
    return dict(zip(report.checks["check"], report.checks["status"]))


def _reason(report, check):
    return report.checks.set_index("check").loc[check, "reason"]


def _assert_well_formed(report):
    assert isinstance(report, AuditReport)
    assert list(report.checks.columns) == ["check", "status", "reason", "action"]
    assert list(report.checks["check"]) == CHECKS
    assert set(report.checks["status"]) <= {"pass", "warn", "fail", "skip"}
    assert not report.checks["reason"].str.contains("could not run").any(), report.checks
    assert (report.checks["reason"].str.len() > 0).all()
    warned = report.checks[report.checks["status"].isin(["warn", "fail"])]
    assert (warned["action"].str.len() > 0).all()       # every problem says what to do


def _keras_tuner_like(n=12):
    """What loading a plain keras-tuner directory gives: final metrics only, role
    'unknown', no curves, one run per trial."""
    specs = [hp("learning_rate", "log", 1e-4, 1e-1, role="unknown"),
             hp("units", "integer", 16, 128, role="unknown")]
    study = sampled_study(specs, lambda v: 0.9 - 0.05 * (np.log10(v["learning_rate"]) + 2.5) ** 2
                          + 0.0005 * v["units"], n=n, name="kt")
    study.trials["best_step"] = pd.array([pd.NA] * n, dtype="Int64")
    study.max_train_steps = None
    return study


def test_plain_keras_tuner_study_without_curves(tmp_path):
    study = _keras_tuner_like()
    assert study.curves.empty and set(study.hyperparameters["role"]) == {"unknown"}
    report = audit(study)
    _assert_well_formed(report)
    status = _status(report)
    assert status["infeasible fraction"] == "pass"
    assert status["search space boundaries"] == "pass"
    assert _reason(report, "search space boundaries") == \
        ("the 3 best trials are not bunched at an edge (majority rule) and the objective does "
         "not improve steadily toward one (trend rule) for learning_rate, units")
    assert status["sampling"] == "warn"  # 12 trials: the best is one lucky draw
    assert _reason(report, "sampling") == (
        "best-of-12 bootstrap IQR 0.0181 = 54% of the best-to-median gap 0.0334 (warn above "
        "25%); 1 trial(s) within 25% of that gap from the best (warn below 3)")
    for check in CHECKS[5:8]:
        assert status[check] == "skip"
        assert "no training curves" in _reason(report, check)
    assert status["disk use"] == "skip"  # results built in memory: no directory
    assert any("roles are unknown" in n for n in report.notes)
    assert set(report.figures) == {"axis_plots", "best_of_n"}
    assert plt.get_fignums() == []                       # figures kept out of pyplot
    markdown = report.to_markdown()
    assert markdown.startswith("# Audit of study `kt`")
    assert "| check | status | reason | action |" in markdown
    assert "| infeasible fraction | \u2713 pass |" in markdown   # statuses marked
    assert "| sampling | \u26a0 warn |" in markdown
    assert "![axis_plots](axis_plots.png)" in markdown
    page = report.to_html()
    assert page.count("data:image/png;base64,") == 2 and "<!DOCTYPE html>" in page
    fragment = report._repr_html_()
    assert "<!DOCTYPE" not in fragment
    assert re.search(r'<td class="pk-skip" style="text-align:left;vertical-align:top;'
                     r'white-space:nowrap;font-weight:bold;color:#707070">\u25cb skip</td>',
                     fragment)    # inline, as a notebook opened from disk keeps it
    paths = report.save(tmp_path / "audit")
    for name in ("audit.md", "audit.html", "checks.csv", "axis_plots.png", "best_of_n.png"):
        assert (tmp_path / "audit" / name).stat().st_size > 0
    assert paths["audit.md"].read_text() == markdown
    assert pd.read_csv(paths["checks.csv"])["status"].tolist() == report.checks["status"].tolist()


def test_one_trial_study():
    trials = make_trials({"learning_rate": [0.01]}, [0.7])
    study = make_study(trials, [hp("learning_rate", "log", 1e-3, 1e-1)])
    report = audit(study, figures=False)
    _assert_well_formed(report)
    status = _status(report)
    assert status["search space boundaries"] == "skip"
    assert "no hyperparameter varied" in _reason(report, "search space boundaries")
    assert status["sampling"] == "skip"
    assert report.figures == {}
    assert report.status == "pass"
    assert "best val_accuracy 0.7 (trial t000)" in report.summary


def test_empty_search_space_and_no_trials_do_not_crash():
    empty = make_study(make_trials({}, []), [])
    report = audit(empty, figures=False)
    _assert_well_formed(report)
    assert set(report.checks["status"]) == {"skip", "pass"}
    assert report.tables["best_trials"].empty


def test_all_infeasible_study_fails_the_infeasible_check():
    study = sampled_study([hp("learning_rate", "log", 1e-4, 1e-1)],
                          lambda v: np.zeros(len(v["learning_rate"])), n=10,
                          status_fn=lambda v: np.ones(len(v["learning_rate"]), bool))
    report = audit(study)
    _assert_well_formed(report)
    assert _status(report)["infeasible fraction"] == "fail"
    assert "10 of 10 finished trials infeasible (100%" in _reason(report, "infeasible fraction")
    assert "'loss is NaN' (10)" in _reason(report, "infeasible fraction")
    assert report.status == "fail"
    assert "axis_plots" in report.figures and "best_of_n" not in report.figures


@pytest.mark.parametrize("fraction, expected", [(0.1, "pass"), (0.3, "warn"), (0.6, "fail")])
def test_infeasible_fraction_thresholds(fraction, expected):
    n = 20
    status = np.where(np.arange(n) < round(fraction * n), "infeasible", "completed")
    trials = make_trials({"learning_rate": np.geomspace(1e-3, 1e-1, n)},
                         np.linspace(0.5, 0.9, n), status)
    report = audit(make_study(trials, [hp("learning_rate", "log", 1e-3, 1e-1)]),
                   figures=False)
    assert _status(report)["infeasible fraction"] == expected


def test_edge_and_instability_findings_reach_the_checklist():
    edge = sampled_study([hp("learning_rate", "log", 1e-4, 1e-1)],
                         lambda v: np.log10(v["learning_rate"]), n=30)
    report = audit(edge, figures=False)
    assert _status(report)["search space boundaries"] == "warn"
    assert "expand learning_rate to [0.0001, 1]" in report.checks.set_index("check").loc[
        "search space boundaries", "action"]
    assert _status(report)["instability"] == "pass"
    unstable = sampled_study([hp("learning_rate", "log", 1e-4, 1.0)],
                             lambda v: np.log10(v["learning_rate"]), n=30,
                             status_fn=lambda v: v["learning_rate"] > 10 ** -1.5)
    report = audit(unstable, figures=False)
    assert _status(report)["instability"] == "warn"
    assert "warmup" in report.checks.set_index("check").loc["instability", "action"]


def test_the_checklist_names_the_boundary_rule_that_fired():
    trend = random_study(lambda x: 0.5 + 0.1 * x, n=12, seed=2, noise=0.005)
    report = audit(trend, figures=False)
    assert _status(report)["search space boundaries"] == "warn"
    assert _reason(report, "search space boundaries").startswith(
        "best trials at an edge (learning_rate: trend rule): learning_rate: trend rule: the "
        "objective improves steadily toward the high edge")
    assert list(report.tables["boundary"]["rule"]) == ["trend"]
    flat = random_study(lambda x: np.full(len(x), 0.8), n=20, seed=0, noise=0.01)
    report = audit(flat, figures=False)
    assert _reason(report, "search space boundaries") == (
        "the 3 best trials are not bunched at an edge (majority rule) and the objective "
        "does not improve steadily toward one (trend rule) for learning_rate")


def test_curve_checks_in_the_checklist():
    study = curves_study({"over": "overfit", "sat": "saturate", "imp": "improving",
                          "early": "early", "late": "late", "rise": ("saturate", True)})
    report = audit(study)
    _assert_well_formed(report)
    status = _status(report)
    assert status["optimization problems (all trials)"] == "warn"
    reason = _reason(report, "optimization problems (all trials)")
    assert "1 of 6 trials overfit" in reason and ": over" in reason
    assert "training loss rises in 1 trial(s): rise" in reason
    assert "curve_diagnostics" in report.tables
    assert {"curves", "best_trial", "axis_plots", "best_of_n"} <= set(report.figures)
    assert "trial over: overfitting" in _reason(report, "best trials' curves")


def test_training_length_verdicts():
    late = curves_study({f"l{i}": "late" for i in range(5)})
    report = audit(late, figures=False)
    assert _status(report)["training length (best trials)"] == "warn"
    assert "train longer" in report.checks.set_index("check").loc[
        "training length (best trials)", "action"]
    early = curves_study({f"e{i}": "early" for i in range(5)})
    report = audit(early, figures=False)
    assert "far too large" in report.checks.set_index("check").loc[
        "training length (best trials)", "action"]
    assert _status(report)["optimization problems (all trials)"] == "pass"


def test_audit_rejects_bad_arguments():
    with pytest.raises(ValueError, match="study must be a StudyResults"):
        audit("runs/study")
    study = _keras_tuner_like()
    with pytest.raises(ValueError, match="figures"):
        audit(study, figures="yes")
    study = curves_study({"a": "late", "b": "late", "c": "late"})
    assert _status(audit(study, figures=False))["training length (best trials)"] == "warn"
    with pytest.raises(ValueError, match="unknown threshold"):
        audit(study, figures=False, curve_thresholds={"nope": 0.1})
    with pytest.raises(ValueError,
                       match=r"^late_fraction=2 is not allowed; use a number in \(0.0, 1.0\]$"):
        audit(study, figures=False, curve_thresholds={"late_fraction": 2})
    relaxed = audit(study, figures=False, curve_thresholds={"late_fraction": 0.05})
    assert _status(relaxed)["training length (best trials)"] == "pass"


def test_cli_audit_strict_exits_1_only_when_a_check_fails(pk, digits_workload, tmp_path, capsys):
    from playbook_kit.cli import main

    healthy = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 3.0e-2, scale="log")
    diverging = (pk.SearchSpace().nuisance("learning_rate", 1.0e3, 1.0e4, scale="log")
                 .fixed("optimizer", "sgd"))
    for name, space in (("healthy", healthy), ("diverging", diverging)):
        pk.run_study(digits_workload, space, max_trials=2, max_train_steps=40, eval_every=20,
                     directory=tmp_path, name=name, progress=False)

    def statuses(name, *flags):
        code = main(["audit", str(tmp_path / name), "--output", str(tmp_path / f"r_{name}"),
                     *flags])
        checks = pd.read_csv(tmp_path / f"r_{name}" / "checks.csv")
        return code, sorted(set(checks["status"]))

    assert statuses("healthy", "--strict") == (0, ["pass", "warn"])  # warnings do not count
    assert statuses("diverging") == (0, ["fail", "pass", "skip"])
    assert statuses("diverging", "--strict") == (1, ["fail", "pass", "skip"])
    out = capsys.readouterr().out      # wrapped to the terminal, the status marked
    assert re.search(r"^infeasible fraction +\u2717 fail +2 of 2 finished trials", out, re.M)
    assert "2 of 2 finished trials infeasible (100%; warn above 20%, fail above 50%)" in \
        " ".join(out.split())


def test_instability_findings_name_the_probe_and_warmup_recipes():
    """Where the audit finds instability (an unstable edge, too many diverged trials, a
    rising training loss), its action names pk.instability_probe and pk.warmup_sweep;
    where it finds none, no action mentions them."""
    from playbook_kit.insight.audit import STABILITY_RECIPES

    assert "pk.instability_probe" in STABILITY_RECIPES
    assert "pk.warmup_sweep" in STABILITY_RECIPES
    unstable = sampled_study([hp("learning_rate", "log", 1e-4, 1.0)],
                             lambda v: np.log10(v["learning_rate"]), n=30,
                             status_fn=lambda v: v["learning_rate"] > 10 ** -1.5)
    actions = audit(unstable, figures=False).checks.set_index("check")["action"]
    assert actions["instability"].endswith("; " + STABILITY_RECIPES)
    assert actions["infeasible fraction"].endswith("make them trainable: " + STABILITY_RECIPES)
    rising = audit(curves_study({"ok": "saturate", "rise": ("saturate", True)}),
                   figures=False).checks.set_index("check")["action"]
    assert rising["optimization problems (all trials)"].endswith(
        "if it rises early, the learning rate is unstable: " + STABILITY_RECIPES)
    calm = audit(sampled_study([hp("learning_rate", "log", 1e-4, 1e-1)],
                               lambda v: np.log10(v["learning_rate"]), n=30), figures=False)
    assert not calm.checks["action"].str.contains("pk.instability_probe", regex=False).any()
