"""Known-answer tests for the boundary check, curve diagnostics and sampling checks."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from insight_fixtures import (EVAL_STEPS, curve_rows, curves_study, hp, make_study,  # noqa: E402
                              make_trials, random_study, sampled_study, shape_curve)

from playbook_kit.insight import (CURVE_CHECKS, best_of_n, best_set_size,  # noqa: E402
                                  boundary_check, diagnose_curves, flagged_checks,
                                  good_region_counts)

LR = hp("learning_rate", "log", 1e-4, 1e-1)
DROPOUT = hp("dropout", "linear", 0.0, 0.5)


def _row(table, name):
    rows = table[table["name"] == name]
    assert len(rows) == 1, f"no single row for {name}: {list(table['name'])}"
    return rows.iloc[0]


# ------------------------------------------------------------------ boundary check
def test_best_set_size_rule():
    assert [best_set_size(n) for n in (0, 1, 2, 3, 10, 30, 31, 50, 200)] == \
        [0, 1, 2, 3, 3, 3, 4, 5, 20]
    assert best_set_size(40, top_fraction=0.25) == 10


def test_best_at_upper_edge_is_flagged_and_range_extended_by_a_decade():
    study = sampled_study([LR, DROPOUT], lambda v: 0.5 + 0.1 * np.log10(v["learning_rate"]))
    table = boundary_check(study)
    lr = _row(table, "learning_rate")
    assert lr["status"] == "expand" and lr["edge"] == "high"
    assert lr["n_best"] == 4 and lr["n_best_near_high"] == 4
    assert lr["suggested_low"] == pytest.approx(1e-4)
    assert lr["suggested_high"] == pytest.approx(1.0)
    assert "expand learning_rate to [0.0001, 1]" in lr["action"]
    # dropout has no effect on the objective: its best trials are spread out
    assert _row(table, "dropout")["status"] == "ok"


def test_best_in_the_middle_is_not_flagged():
    study = sampled_study(
        [LR, DROPOUT], lambda v: 0.9 - 0.05 * (np.log10(v["learning_rate"]) + 2.5) ** 2)
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["status"] == "ok" and lr["edge"] == "none"
    assert (lr["suggested_low"], lr["suggested_high"]) == (lr["low"], lr["high"])
    assert 10 ** -3.2 < lr["best_value"] < 10 ** -1.8


def test_lower_edge_minimizing_objective():
    study = sampled_study([LR], lambda v: np.log10(v["learning_rate"]) + 5,
                          objective="val_loss", direction="min")
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["edge"] == "low" and lr["status"] == "expand"
    assert lr["suggested_low"] == pytest.approx(1e-5)
    assert lr["suggested_high"] == pytest.approx(1e-1)


@pytest.mark.parametrize("spec, score, expected_high", [
    (hp("width_multiplier", "linear", 1.0, 3.0), lambda x: x, 4.0),     # + half the width
    (hp("layers", "integer", 2, 6), lambda x: x, 8),                    # rounded outwards
    (hp("batch_size", "discrete", values=[32, 64, 128, 256]), lambda x: x.astype(float),
     512),                                                              # next power of 2
    (hp("one_minus_momentum", "log", 1e-3, 1e-1), lambda x: x, 0.999),  # clamped to [0, 1)
])
def test_upper_edge_extensions(spec, score, expected_high):
    study = sampled_study([spec, DROPOUT], lambda v: score(v[spec["name"]]), n=40)
    row = _row(boundary_check(study), spec["name"])
    assert row["edge"] == "high" and row["status"] == "expand"
    assert row["suggested_low"] == pytest.approx(spec["low"] if spec["values"] is None else 32)
    assert row["suggested_high"] == pytest.approx(expected_high)


def test_non_negative_range_is_not_extended_below_zero():
    study = sampled_study([DROPOUT, LR], lambda v: -v["dropout"], n=40)
    dropout = _row(boundary_check(study), "dropout")
    assert dropout["edge"] == "low" and dropout["status"] == "at bound"
    assert dropout["suggested_low"] == 0.0 and "natural bound 0" in dropout["action"]


def test_instability_is_reported_instead_of_expansion():
    specs = [hp("learning_rate", "log", 1e-4, 1.0), DROPOUT]
    study = sampled_study(specs, lambda v: 0.5 + 0.1 * np.log10(v["learning_rate"]),
                          status_fn=lambda v: v["learning_rate"] > 10 ** -1.5)
    table = boundary_check(study)
    lr = _row(table, "learning_rate")
    assert lr["status"] == "instability" and lr["instability"] == "high"
    assert lr["edge"] == "none"
    feasible = study.feasible["learning_rate"]
    assert lr["unstable_beyond"] == pytest.approx(feasible.max())
    n_above = int((study.trials["learning_rate"] > feasible.max()).sum())
    n_infeasible = int((study.trials["status"] == "infeasible").sum())
    assert lr["n_infeasible_beyond"] == n_above == n_infeasible
    assert "warmup" in lr["action"] and "clipping" in lr["action"]
    assert (lr["suggested_low"], lr["suggested_high"]) == (1e-4, 1.0)
    assert _row(table, "dropout")["instability"] == "none"


def test_infeasible_region_without_best_trials_there_is_not_instability():
    specs = [hp("learning_rate", "log", 1e-4, 1.0)]
    study = sampled_study(specs, lambda v: -(np.log10(v["learning_rate"]) + 3) ** 2,
                          status_fn=lambda v: v["learning_rate"] > 10 ** -1.0)
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["instability"] == "none" and lr["status"] == "ok"


def test_boundary_check_skips_categorical_and_unvaried_and_validates_arguments():
    specs = [LR, hp("optimizer", "categorical", values=["adam", "sgd"]),
             hp("beta_1", "linear", 0.9, 0.9, role="fixed")]
    study = sampled_study(specs[:2], lambda v: np.log10(v["learning_rate"]))
    study.trials["beta_1"] = 0.9
    study.hyperparameters = pd.concat([study.hyperparameters,
                                       pd.DataFrame([specs[2]])], ignore_index=True)
    assert list(boundary_check(study)["name"]) == ["learning_rate"]
    with pytest.raises(ValueError, match="top_fraction"):
        boundary_check(study, top_fraction=0)
    with pytest.raises(ValueError, match="edge_fraction"):
        boundary_check(study, edge_fraction=0.6)
    with pytest.raises(ValueError, match="study must be a StudyResults"):
        boundary_check(study.trials)


def test_boundary_check_with_all_infeasible_does_not_flag():
    study = sampled_study([LR], lambda v: v["learning_rate"],
                          status_fn=lambda v: np.ones(len(v["learning_rate"]), bool))
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["status"] == "not checked" and "no feasible trial" in lr["reason"]


# ------------------------------------------------------------ boundary trend rule
def test_steady_rise_to_an_edge_with_few_points_there_is_flagged_by_the_trend_rule():
    # 12 random trials, the objective rising with log10(learning_rate); only one of the
    # 3 best trials landed in the outer 20% of the range, so the majority rule misses it
    study = random_study(lambda x: 0.5 + 0.1 * x, n=12, seed=2, noise=0.005)
    lr = _row(boundary_check(study), "learning_rate")
    assert (lr["n_best"], lr["n_best_near_high"]) == (3, 1)
    assert lr["rule"] == "trend" and lr["edge"] == "high" and lr["status"] == "expand"
    assert (lr["n_trend"], lr["trend_rho"], lr["trend_p"]) == (6, 1.0, 0.0)
    assert lr["best_value"] == study.trials["learning_rate"].max()
    assert lr["suggested_high"] == pytest.approx(1.0)
    assert lr["reason"] == (
        "trend rule: the objective improves steadily toward the high edge (Spearman rho "
        "+1.00, p < 0.001, over the better half of the feasible trials, 6; log scale) and "
        "the best trial has the highest learning_rate sampled (0.0277)")


def test_trend_rule_when_minimizing():
    # the same trials as above, a loss falling as the learning rate grows
    study = random_study(lambda x: 1.0 - 0.1 * x, n=12, seed=2, noise=0.005,
                         objective="val_loss", direction="min")
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["rule"] == "trend" and lr["edge"] == "high" and lr["trend_rho"] == 1.0
    assert lr["best_value"] == study.trials["learning_rate"].max()
    assert lr["suggested_high"] == pytest.approx(1.0)


def test_trend_rule_toward_the_low_edge():
    study = random_study(lambda x: 0.5 - 0.1 * x, n=12, seed=14, noise=0.005)
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["n_best_near_low"] == 1 and lr["rule"] == "trend" and lr["edge"] == "low"
    assert lr["trend_rho"] == -1.0 and lr["best_value"] == study.trials["learning_rate"].min()
    assert lr["suggested_low"] == pytest.approx(1e-5) and lr["suggested_high"] == 0.1
    assert "the best trial has the lowest learning_rate sampled" in lr["reason"]


def test_both_rules_are_named_when_both_fire():
    study = random_study(lambda x: 0.5 + 0.1 * x, n=12, seed=0, noise=0.005)
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["rule"] == "majority and trend" and lr["status"] == "expand"
    assert lr["reason"].startswith("majority rule: 3 of the 3 best trials lie in the outer")
    assert "; trend rule: the objective improves steadily" in lr["reason"]


def test_optimum_in_the_middle_is_not_flagged_even_with_a_strong_half_trend():
    # seed 1: the better half is strongly rank-correlated with the learning rate (the
    # rising side of the optimum), but the best trial is not the highest value sampled
    study = random_study(lambda x: 0.9 - 0.05 * (x + 2.5) ** 2, n=12, seed=1, noise=0.005)
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["trend_rho"] == pytest.approx(0.943, abs=1e-3) and lr["trend_p"] < 0.05
    assert lr["best_value"] < study.trials["learning_rate"].max()
    assert (lr["rule"], lr["edge"], lr["status"]) == ("none", "none", "ok")
    assert "; trend rule: no steady trend toward an edge" in lr["reason"]


def test_noisy_flat_study_is_not_flagged_by_the_trend_rule():
    rules = [_row(boundary_check(random_study(lambda x: np.full(len(x), 0.8), n=20,
                                              seed=seed, noise=0.01)),
                  "learning_rate")["rule"] for seed in range(10)]
    # seed 6: the majority rule's known false alarm (2 of 3 best trials in the outer 40%)
    assert rules == ["none"] * 6 + ["majority"] + ["none"] * 3


def test_trend_rule_needs_five_trials_in_the_better_half():
    study = random_study(lambda x: 0.9 - 0.05 * (x + 2.5) ** 2, n=8, seed=0)
    lr = _row(boundary_check(study), "learning_rate")
    assert lr["n_trend"] == 4 and np.isnan(lr["trend_rho"]) and lr["rule"] == "none"
    assert "trend rule: not run (4 trials in the better half, needs 5)" in lr["reason"]


# -------------------------------------------------------------- curve diagnostics
KINDS = {"over": "overfit", "sat": "saturate", "imp": "improving", "early": "early",
         "late": "late", "rise": ("saturate", True), "diverged": "saturate"}
EXPECTED = {
    "over": ["overfitting"],
    "sat": ["saturated"],
    "imp": ["still_improving", "best_step_late"],   # still improving implies a late best
    "early": ["best_step_early"],
    "late": ["best_step_late"],
    "rise": ["saturated", "training_loss_rising"],
    "diverged": ["infeasible"],
}


@pytest.fixture(scope="module")
def curves():
    return curves_study(KINDS, infeasible=("diverged",))


def test_each_clean_curve_is_flagged_by_exactly_its_rule(curves):
    table = diagnose_curves(curves)
    assert list(table.columns) == ["trial_id", "check", "flagged", "value", "threshold",
                                   "reason"]
    assert len(table) == len(KINDS) * len(CURVE_CHECKS)
    assert flagged_checks(table) == EXPECTED


def test_same_flags_when_minimizing_validation_loss():
    study = curves_study(KINDS, infeasible=("diverged",))
    study.objective, study.direction = "val_loss", "min"
    study.trials["objective"] = 2.0 - 2.0 * study.trials["objective"]
    assert flagged_checks(diagnose_curves(study)) == EXPECTED


def test_runs_are_averaged_per_step():
    study = curves_study({"over": "overfit", "late": "late"}, seeds=3)
    assert flagged_checks(diagnose_curves(study)) == {"over": ["overfitting"],
                                                      "late": ["best_step_late"]}


def test_values_and_reasons(curves):
    table = diagnose_curves(curves).set_index(["trial_id", "check"])
    early = table.loc[("early", "best_step_early")]
    assert early["value"] == pytest.approx(0.05) and early["threshold"] == 0.10
    late = table.loc[("late", "best_step_late")]
    assert late["value"] == pytest.approx(0.90) and late["threshold"] == 0.75
    over = table.loc[("over", "overfitting")]
    assert over["value"] > 0.3 and "overfitting:" in over["reason"]
    diverged = table.loc["diverged"]
    assert diverged.loc["infeasible", "flagged"]
    assert "loss is NaN" in diverged.loc["infeasible", "reason"]
    assert diverged.drop(index="infeasible")["flagged"].isna().all()


def test_noisy_late_training_is_high_variance_not_overfitting():
    for seed in range(5):
        acc = shape_curve("noisy", seed=seed)
        study = make_study(make_trials({"learning_rate": [0.01]}, [acc.max()]), [LR],
                           curves=curve_rows("t000", EVAL_STEPS, acc, "validation",
                                             "accuracy"))
        flags = flagged_checks(diagnose_curves(study))["t000"]
        assert "high_variance" in flags and "overfitting" not in flags, (seed, flags)


def test_thresholds_are_configurable_and_validated(curves):
    relaxed = flagged_checks(diagnose_curves(curves, overfitting_tolerance=0.5))
    assert "overfitting" not in relaxed["over"]
    assert flagged_checks(diagnose_curves(curves, late_fraction=0.05))["late"] == []
    with pytest.raises(ValueError, match="unknown threshold"):
        diagnose_curves(curves, overfit=0.1)
    with pytest.raises(ValueError,
                       match=r"^early_fraction=1.5 is not allowed; use a number in \(0.0, 1.0\]$"):
        diagnose_curves(curves, early_fraction=1.5)


def test_no_curves_reports_every_check_as_not_checkable():
    study = sampled_study([LR], lambda v: np.log10(v["learning_rate"]), n=5)
    table = diagnose_curves(study)
    assert (table.loc[table["check"] == "infeasible", "flagged"] == False).all()  # noqa: E712
    rest = table[table["check"] != "infeasible"]
    assert rest["flagged"].isna().all()
    assert rest["reason"].str.contains("no training curves recorded|no train loss curve").all()
    assert all(flags == [] for flags in flagged_checks(table).values())


# ------------------------------------------------------------ sampling sufficiency
def test_best_of_n_counts_infeasible_trials_as_failed_draws():
    study = sampled_study([LR], lambda v: np.log10(v["learning_rate"]), n=40,
                          status_fn=lambda v: np.arange(40) % 2 == 0)
    table = best_of_n(study, budgets=[1, 2, 40], n_boot=4000, seed=1)
    assert list(table.columns) == ["budget", "draw", "best_objective"]
    missing = table.groupby("budget")["best_objective"].apply(lambda x: x.isna().mean())
    assert missing[1] == pytest.approx(0.5, abs=0.03)
    assert missing[2] == pytest.approx(0.25, abs=0.03)
    assert missing[40] < 1e-3
    best = study.feasible["objective"].max()
    assert table["best_objective"].max() == pytest.approx(best)
    # best-of-n improves with n, and its spread narrows
    medians = table.groupby("budget")["best_objective"].median()
    assert medians[1] < medians[2] < medians[40] <= best
    table2 = best_of_n(study, budgets=[1, 2, 40], n_boot=4000, seed=1)
    pd.testing.assert_frame_equal(table, table2)


def test_best_of_n_default_budgets_and_validation():
    study = sampled_study([LR], lambda v: np.log10(v["learning_rate"]), n=12)
    assert sorted(best_of_n(study, n_boot=10)["budget"].unique()) == [1, 2, 3, 5, 10, 12]
    for bad in ([0], [13], [], "5"):
        with pytest.raises(ValueError, match="budgets"):
            best_of_n(study, budgets=bad)
    with pytest.raises(ValueError, match="n_boot"):
        best_of_n(study, n_boot=0)


def test_good_region_counts_known_answer():
    objective = [0.90, 0.85, 0.50, 0.40, 0.30, 0.0]
    status = ["completed"] * 5 + ["infeasible"]
    lr = [0.010, 0.020, 0.015, 0.001, 0.1, 0.012]
    trials = make_trials({"learning_rate": lr,
                          "optimizer": ["adam", "sgd", "adam", "sgd", "nadam", "nadam"]},
                         objective, status)
    study = make_study(trials, [hp("learning_rate", "log", 1e-3, 1e-1),
                                hp("optimizer", "categorical",
                                   values=["adam", "sgd", "nadam"])])
    table = good_region_counts(study, fraction=0.25)
    # median of feasible = 0.5, gap 0.4: good means >= 0.9 - 0.1 = 0.8
    row = _row(table, "learning_rate")
    assert row["threshold"] == pytest.approx(0.8) and row["n_good"] == 2
    assert (row["region_low"], row["region_high"]) == (0.010, 0.020)
    assert row["n_in_region"] == 4          # 0.010, 0.020, 0.015 and the infeasible 0.012
    assert row["n_infeasible_in_region"] == 1
    assert row["region_fraction"] == pytest.approx(np.log10(2) / 2)
    opt = _row(table, "optimizer")
    assert opt["region_values"] == ["adam", "sgd"] and opt["n_in_region"] == 4
    assert opt["region_fraction"] == pytest.approx(2 / 3)


def test_expanded_space_applies_the_suggested_nuisance_ranges_only():
    import pandas as pd
    from playbook_kit.insight import expanded_space
    from playbook_kit.search import SearchSpace

    space = (SearchSpace().nuisance("learning_rate", 1e-4, 1e-3, scale="log")
             .scientific("depth", values=[1, 2, 3]).nuisance("beta1", 0.8, 0.99))
    checks = pd.DataFrame([
        {"name": "learning_rate", "role": "nuisance", "status": "expand",
         "suggested_low": 1e-4, "suggested_high": 1e-2},
        {"name": "depth", "role": "scientific", "status": "expand",
         "suggested_low": 1, "suggested_high": 4},
        {"name": "beta1", "role": "nuisance", "status": "ok",
         "suggested_low": 0.8, "suggested_high": 0.99}])
    frame = expanded_space(space, checks).to_frame().set_index("name")
    assert frame.loc["learning_rate", "high"] == pytest.approx(1e-2)
    assert frame.loc["learning_rate", "scale"] == "log"
    assert frame.loc["depth", "values"] == [1, 2, 3]
    assert frame.loc["beta1", "high"] == pytest.approx(0.99)
