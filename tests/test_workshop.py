"""Workshop exercises: the right answer is confirmed, each wrong one gets its own advice."""
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playbook_kit.teaching.workshop import (EDGE_FRACTION, EXERCISES, Feedback, check_exercise,
                                            exercise, exercises, solution)
from tests.insight_fixtures import hp, make_study, make_trials

NOTEBOOK_NAMES = ["00_quickstart", "01_exploration", "02_insight", "03_adopt_a_change",
                  "04_exploitation", "05_batch_size_and_training_length",
                  "06_instability_warmup_clipping", "07_your_own_model_and_data"]


def space(pk, learning_rate_scale="log", depth_role="scientific", learning_rate_role="nuisance"):
    s = pk.SearchSpace()
    if learning_rate_role == "fixed":
        s.fixed("learning_rate", 1.0e-3)
    else:
        s.add("learning_rate", learning_rate_role, 1.0e-4, 1.0e-1, scale=learning_rate_scale)
    return s.add("depth", depth_role, values=[1, 2, 3]).fixed("activation", "relu")


def test_every_guided_notebook_has_an_exercise_and_each_a_solution(capsys):
    table = exercises()
    assert list(table.columns) == ["name", "notebook", "task"]
    assert set(table["notebook"]) == set(NOTEBOOK_NAMES)
    solution("log_scale")
    assert capsys.readouterr().out == (
        "log_scale (01_exploration):\n"
        'pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-1, scale="log")\n'
        "# equal trials per factor of 10; a linear scale crowds them at the top\n")
    with pytest.raises(ValueError, match=r"exercise: name='log_scales' is not allowed; "
                                         r"use one of 'baseline', 'roles', 'log_scale'"):
        solution("log_scales")
    with pytest.raises(ValueError, match=r"^exercise 'roles': context='study' is not "
                                         r"allowed; it takes scientific"):
        check_exercise("roles", None, study=None)


def test_feedback_prints_a_tick_when_right_and_a_cross_per_problem(capsys):
    right = Feedback("x", True, ("all good",))
    wrong = Feedback("x", False, ("first", "second"))
    assert str(right) == "\u2713 all good" and bool(right)
    assert str(wrong) == "\u2717 first\n\u2717 second" and not wrong


def test_baseline_exercise(pk):
    proposed = {"model": "mlp", "depth": 4, "width": 128, "optimizer": "adam",
                "learning_rate": 3.0e-3, "schedule": "cosine", "dropout": 0.2}
    feedback = check_exercise("baseline", proposed)
    assert feedback.lines == (
        "schedule is 'cosine'; the playbook's first baseline uses a constant learning "
        "rate: a schedule is a later round's change",
        "dropout is 0.2; a first baseline has no regularization or extras (dropout=0.0): "
        "add it later as the scientific hyperparameter of its own round",
        "depth is 4; start from a small model (at most 2 hidden layers here) and let a "
        "round ask whether depth helps")
    assert not feedback.correct
    typo = check_exercise("baseline", {"lr": 0.1})
    assert typo.lines[0].startswith("config field 'lr' is unknown") and not typo
    fixed = {**proposed, "depth": 1, "schedule": "constant", "dropout": 0.0}
    assert str(check_exercise("baseline", fixed)) == (
        "\u2713 a simple baseline: constant learning rate, depth 1, no regularization or "
        "extras, as the playbook starts")


def test_roles_exercise(pk):
    assert str(check_exercise("roles", space(pk))) == (
        "\u2713 depth is scientific and learning_rate nuisance: each depth is compared at "
        "its own best learning rate")
    wrong = check_exercise("roles", space(pk, depth_role="nuisance", learning_rate_role="fixed"))
    assert wrong.lines == (
        "depth is nuisance; the round asks whether depth helps, so depth is the scientific "
        "hyperparameter: its values are compared, not optimized away",
        "learning_rate is fixed; optimizer hyperparameters are nearly always nuisance: each "
        "depth needs its own best learning rate for a fair comparison")
    two = space(pk).scientific("beta1", 0.8, 0.99)
    assert check_exercise("roles", two).lines == (
        "beta1 is scientific; a round measures one effect: make beta1 nuisance (or fixed, "
        "a caveat on the conclusion)",)
    with pytest.raises(TypeError, match="use a pk.SearchSpace"):
        check_exercise("roles", {"depth": "scientific"})


def test_log_scale_exercise(pk, capsys):
    exercise("log_scale", space(pk, learning_rate_scale="linear"))
    assert capsys.readouterr().out == (
        "\u2717 learning_rate is sampled on a linear scale; the playbook samples it on a "
        "log scale (on [0.0001, 0.1] a linear scale puts 90% of the trials above 0.01)\n")
    exercise("log_scale", space(pk))
    assert capsys.readouterr().out == (
        "\u2713 learning_rate is sampled on a log scale: each factor of 10 gets the same "
        "share of trials\n")
    assert check_exercise("log_scale", pk.SearchSpace().scientific("depth", values=[1, 2])
                          ).lines == ("the space varies none of learning_rate, epsilon, "
                                      "one_minus_momentum, weight_decay, l2; declare "
                                      "learning_rate as nuisance with scale='log'",)


def test_adam_budget_exercise(pk):
    only_lr = pk.adam_space(5)
    assert check_exercise("adam_budget", only_lr, trials=30).lines == (
        "beta1 is fixed; with 30 trials the playbook tunes it too",
        "epsilon is fixed; with 30 trials the playbook tunes it too")
    assert check_exercise("adam_budget", pk.adam_space(200), trials=30).lines == (
        "beta2 is tuned; with 30 trials the playbook leaves it fixed at Keras' default (it "
        "is tuned only with more trials)",)
    assert str(check_exercise("adam_budget", pk.adam_space(30), trials=30)) == (
        "\u2713 with 30 trials: learning_rate, beta1, epsilon tuned, the rest fixed, as the "
        "playbook advises for Adam")


def narrow_study():
    """A learning-rate study on [1e-4, 1e-3] whose objective rises with the learning rate:
    its best trial (9e-4) sits at the upper edge."""
    lr = [1.0e-4, 2.0e-4, 4.0e-4, 6.0e-4, 9.0e-4]
    trials = make_trials({"learning_rate": lr}, [0.5, 0.6, 0.7, 0.8, 0.9])
    return make_study(trials, [hp("learning_rate", "log", 1.0e-4, 1.0e-3)])


def test_the_edge_is_the_boundary_checks_edge():
    from playbook_kit.insight import boundary_check

    assert inspect.signature(boundary_check).parameters["edge_fraction"].default == \
        EDGE_FRACTION


def test_wider_range_exercise():
    study = narrow_study()
    assert check_exercise("wider_range", [1.0e-4, 1.0e-3], study=study).lines == (
        "the best trial's learning_rate 0.0009 sits at 95% of [0.0001, 0.001] on its "
        "log scale, in the outer 20% at the upper edge: better values may lie above it; "
        "raise the upper bound",)
    assert check_exercise("wider_range", [1.0e-3, 1.0e-1], study=study).lines == (
        "the best trial's learning_rate 0.0009 lies outside [0.001, 0.1]: the new range "
        "must contain what worked",)
    assert check_exercise("wider_range", [8.0e-4, 1.0e-1], study=study).lines[0].endswith(
        "at the lower edge: better values may lie below it; lower the lower bound")
    assert check_exercise("wider_range", [0.0, 1.0e-2], study=study).lines == (
        "the answer [0.0, 0.01] is no range; write [low, high] with low < high and low > 0 "
        "(log scale)",)
    assert str(check_exercise("wider_range", [1.0e-4, 1.0e-2], study=study)) == (
        "\u2713 the best trial's learning_rate 0.0009 sits at 48% of [0.0001, 0.01] on "
        "its log scale, away from both edges (the outer 20%)")


def test_adoption_exercise():
    baseline = np.array([0.90, 0.91, 0.90, 0.91, 0.90])
    better = baseline + 0.03
    assert check_exercise("adoption", "keep baseline", baseline=baseline, candidate=better,
                          complexity_cost=0.002).lines == (
        "you chose 'keep baseline', but the 95% Welch t interval of gain minus complexity "
        "cost is +0.0200 to +0.0360, and all of it is above zero: the gain outweighs both "
        "retrain variances and the cost; the toolkit's rule says 'adopt'",)
    assert str(check_exercise("adoption", "adopt", baseline=baseline, candidate=better,
                              complexity_cost=0.002)) == (
        "\u2713 adopt: the 95% Welch t interval of gain minus complexity cost is +0.0200 to "
        "+0.0360, and all of it is above zero: the gain outweighs both retrain variances "
        "and the cost")
    noisy = np.array([0.88, 0.93, 0.89, 0.94, 0.90])
    more = check_exercise("adoption", "run more seeds", baseline=baseline, candidate=noisy,
                          complexity_cost=0.0)
    assert more.correct and str(more).endswith(
        "it spans zero: the difference is within retrain variance; about 346 seeds per config "
        "would resolve it")
    assert check_exercise("adoption", "maybe", baseline=baseline, candidate=noisy).lines == (
        "the answer 'maybe' is no decision; write one of 'adopt', 'keep baseline' or "
        "'run more seeds'",)


def exploration_study():
    """Learning rates over [1e-4, 1e-2]; the good trials (objective >= 0.85) span
    1e-3 to 3e-3."""
    lr = [1.0e-4, 3.0e-4, 1.0e-3, 2.0e-3, 3.0e-3, 6.0e-3, 1.0e-2]
    trials = make_trials({"learning_rate": lr}, [0.5, 0.7, 0.88, 0.9, 0.89, 0.8, 0.6])
    return make_study(trials, [hp("learning_rate", "log", 1.0e-4, 1.0e-2)])


def test_refined_range_exercise():
    study = exploration_study()
    assert check_exercise("refined_range", [1.0e-4, 1.0e-2], study=study).lines == (
        "[0.0001, 0.01] is 100% of the explored range [0.0001, 0.01]: exploitation "
        "searches a smaller space around the good trials (learning_rate 0.001 to "
        "0.003)",)
    assert check_exercise("refined_range", [1.5e-3, 2.0e-2], study=study).lines == (
        "[0.0015, 0.02] reaches beyond the explored range [0.0001, 0.01]: exploitation "
        "refines what exploration measured; stay inside it",
        "[0.0015, 0.02] cuts off 1 good trial(s) (learning_rate 0.001): the refined "
        "space must comfortably contain the good region (learning_rate 0.001 to "
        "0.003)")
    assert str(check_exercise("refined_range", [5.0e-4, 5.0e-3], study=study)) == (
        "\u2713 [0.0005, 0.005] holds all 3 good trials (learning_rate 0.001 to "
        "0.003) in 50% of the explored range's width on its log scale")


def scan_result():
    """A batch size scan as notebook 05 measured one on 2 shared cores: 16 -> 32 -> 64
    scale, 128 does not, 256 scales again (noise on a saturated device)."""
    from playbook_kit.recipes.batch_size import BatchSizeScan

    table = pd.DataFrame({"batch_size": [16, 32, 64, 128, 256], "status": ["measured"] * 5,
                          "throughput": [86905.0, 170413.0, 452814.0, 487520.0, 1107370.0],
                          "speedup": [np.nan, 1.96, 2.66, 1.08, 2.27],
                          "scales": [False, True, True, False, True]})
    return BatchSizeScan(table, "Use batch_size=64", {"recommended_batch_size": 64,
                                                      "scaling_threshold": 1.8})


def test_batch_size_exercise():
    scan = scan_result()
    assert check_exercise("batch_size", 256, scan=scan).lines == (
        "the doubling from 64 to 128 raised throughput only 1.08x, less than the 1.8x that "
        "counts as nearly doubling: from 64 on a larger batch buys little speed (a later "
        "doubling that scales again is noise or another regime, measured on a saturated "
        "device); the playbook takes the largest size reached by doublings that all scale",)
    assert check_exercise("batch_size", 16, scan=scan).lines == (
        "doubling 16 to 32 still raised throughput 1.96x (at least 1.8x): a larger batch "
        "trains faster per example, so keep doubling while it scales; the batch size is "
        "chosen for speed, never for validation performance",)
    assert check_exercise("batch_size", 100, scan=scan).lines == (
        "100 was not measured; choose one of the sizes the scan measured: 16, 32, 64, 128, 256",)
    assert check_exercise("batch_size", "64", scan=scan).lines[0].startswith(
        "the answer '64' is no batch size")
    assert str(check_exercise("batch_size", 64, scan=scan)) == (
        "\u2713 64: every doubling up to it raised throughput at least 1.8x (1.96x, 2.66x); "
        "the next, 1.08x; retune the learning rate for it")


def warmup_result():
    """Notebook 06's warmup sweep at 0.81: 0, 10 and 30 steps unstable, 100 stable."""
    from playbook_kit.recipes.stability import WarmupSweep

    table = pd.DataFrame({"warmup_steps": [0, 10, 30, 100],
                          "unstable": [True, True, True, False],
                          "why": ["diverged: training loss 20.14 at step 1 exceeds 5x its "
                                  "initial 2.607",
                                  "training loss rose 30% above its initial 2.607 at step 2",
                                  "training loss rose 25% above its initial 2.607 at step 36",
                                  "stable"]})
    return WarmupSweep(table, "Use warmup_steps=100", {"recommended_warmup_steps": 100,
                                                       "target_learning_rate": 0.81})


def test_warmup_exercise():
    sweep = warmup_result()
    assert check_exercise("warmup", 10, sweep=sweep).lines == (
        "with warmup_steps=10 training at learning_rate=0.81 is still unstable (training "
        "loss rose 30% above its initial 2.607 at step 2): a warmup that leaves the rate "
        "unstable has not done its job",)
    assert check_exercise("warmup", 50, sweep=sweep).lines == (
        "warmup_steps=50 is shorter than 100, the shortest warmup the sweep found stable "
        "(it tried 0, 10, 30, 100): untested, and shorter ones failed",)
    assert check_exercise("warmup", 1000, sweep=sweep).lines == (
        "warmup_steps=1000 is longer than needed: 100 already trains stably at "
        "learning_rate=0.81, and every warmup step trains at a lower rate; the playbook "
        "takes the shortest warmup that makes the rate stable",)
    assert check_exercise("warmup", -5, sweep=sweep).lines[0].startswith(
        "the answer -5 is no number of warmup steps")
    assert str(check_exercise("warmup", 100, sweep=sweep)).startswith(
        "\u2713 100: the shortest warmup of the sweep that trains stably at "
        "learning_rate=0.81 (the shorter ones: 0: diverged")


def hypermodel_space(pk):
    """Notebook 07's hypermodel as its space: units, use_dropout, rate (only with dropout),
    learning_rate."""
    return (pk.SearchSpace().nuisance("units", 8, 64, scale="integer")
            .nuisance("use_dropout", values=[False, True])
            .nuisance("rate", 0.1, 0.5, parent="use_dropout", parent_values=[True])
            .nuisance("learning_rate", 1.0e-4, 1.0e-1, scale="log"))


def test_hypermodel_roles_exercise(pk):
    space = hypermodel_space(pk)
    assert check_exercise("hypermodel_roles", {"use_dropout": "nuisance", "rate": "scientific"},
                          space=space).lines == (
        "use_dropout is nuisance; the question is whether dropout helps, so use_dropout is "
        "scientific: its values are compared, each at its own best other hyperparameters",
        "rate is scientific; a round measures one effect: make it nuisance; it exists only "
        "when use_dropout is [True], so it is tuned inside that branch")
    assert check_exercise("hypermodel_roles", {"use_dropout": "scientific",
                                               "learning_rate": "fixed"},
                          space=space).lines == (
        "learning_rate is fixed; leave it nuisance so that each value of use_dropout is "
        "compared at its own best learning_rate (fixed, the conclusion would hold for that "
        "one value only)",)
    assert check_exercise("hypermodel_roles", {"dropout": "scientific"}, space=space).lines == (
        "dropout is not a hyperparameter of the hypermodel; it has units, use_dropout, rate, "
        "learning_rate",)
    assert check_exercise("hypermodel_roles", {"use_dropout": "science"},
                          space=space).lines == (
        "use_dropout: role 'science' is not a role; use one of scientific, nuisance, fixed",)
    assert str(check_exercise("hypermodel_roles", {"use_dropout": "scientific"},
                              space=space)) == (
        "\u2713 use_dropout is scientific and units, rate, learning_rate nuisance: with and "
        "without dropout, each compared at its own best settings")


# ------------------------------------------------------------ the notebooks' exercise cells
def cell_source(stem, cell_id):
    path = Path(__file__).resolve().parent.parent / "notebooks" / f"{stem}.ipynb"
    (cell,) = [c for c in json.loads(path.read_text())["cells"] if c.get("id") == cell_id]
    return "".join(cell["source"])


def test_every_exercise_is_called_in_its_notebook_and_named_in_the_guide():
    root = Path(__file__).resolve().parent.parent
    guide = (root / "docs" / "WORKSHOP.md").read_text()
    assert "make workshop" in guide and "\nworkshop: $(STAMP)\n" in (root / "Makefile").read_text()
    for exercise_ in EXERCISES.values():
        notebook = (root / "notebooks" / f"{exercise_.notebook}.ipynb").read_text()
        assert f'pk.exercise(\\"{exercise_.name}\\"' in notebook, exercise_.name
        assert f"| `{exercise_.name}` |" in guide, exercise_.name


def test_exercise_cells_run_unsolved_and_say_what_to_change(pk, capsys):
    """The default (CI) run executes each exercise cell as the learner finds it: the check
    prints what to change and raises nothing."""
    baseline = np.array([0.95, 0.96, 0.95, 0.95, 0.96])
    cells = [
        ("00_quickstart", "exercise-baseline", {}, [
            "schedule is 'cosine'; the playbook's first baseline",
            "dropout is 0.2; a first baseline has no regularization"]),
        ("01_exploration", "exercise-roles", {}, [
            "depth is nuisance; the round asks whether depth helps",
            "learning_rate is sampled on a linear scale; the playbook samples it on a log "
            "scale"]),
        ("01_exploration", "exercise-budget", {}, [
            "beta1 is fixed; with 30 trials the playbook tunes it too",
            "epsilon is fixed; with 30 trials the playbook tunes it too"]),
        ("02_insight", "exercise-wider-range", {"study": narrow_study()}, [
            "the best trial's learning_rate 0.0009 sits at 95% of [0.0001, 0.001]"]),
        ("03_adopt_a_change", "exercise-adoption",
         {"baseline_values": baseline, "candidate_values": baseline + 0.02,
          "complexity_cost": 2.0e-3, "study": exploration_study()}, [
            "you chose 'keep baseline', but the 95% Welch t interval of gain minus "
            "complexity cost"]),
        ("04_exploitation", "exercise-refined-range", {"exploration": exploration_study()}, [
            "[0.0001, 0.01] is 100% of the explored range"]),
        ("05_batch_size_and_training_length", "exercise-batch-size",
         {"scan": scan_result(), "start_batch_size": 16}, [
            "doubling 16 to 32 still raised throughput 1.96x"]),
        ("06_instability_warmup_clipping", "exercise-warmup", {"warmup": warmup_result()}, [
            "with warmup_steps=10 training at learning_rate=0.81 is still unstable"]),
        ("07_your_own_model_and_data", "exercise-hypermodel-roles",
         {"hyper_space": hypermodel_space(pk)}, [
            "use_dropout is nuisance; the question is whether dropout helps",
            "rate is scientific; a round measures one effect"]),
    ]
    for stem, cell_id, context, starts in cells:
        exec(cell_source(stem, cell_id), {"pk": pk, **context})
        lines = capsys.readouterr().out.splitlines()
        assert [line[:len(start) + 2] for line, start in zip(lines, starts)] == [
            "\u2717 " + start for start in starts], (cell_id, lines)
        assert len(lines) == len(starts), (cell_id, lines)
