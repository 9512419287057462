"""Oracles driven directly (create_trial / update_trial / end_trial) on a temp project
directory with synthetic objectives: no training."""
import math

import keras_tuner as kt
import numpy as np
import pytest
from scipy.stats import qmc

from playbook_kit.search import bayesian
from playbook_kit.search.bayesian import InfeasibleAwareBayesianOracle
from playbook_kit.search.oracles import (
    ALGORITHMS, GridOracle, ListOracle, QuasiRandomOracle, RandomOracle, make_oracle,
    run_oracle,
)
from playbook_kit.search.points import (
    grid_configs, quasi_random_points, quasi_random_unit, random_points,
)
from playbook_kit.search.space import SearchSpace


def conditional_space():
    space = SearchSpace()
    space.scientific("optimizer", values=["adam", "nesterov"])
    space.nuisance("learning_rate", 1e-4, 1e-1, scale="log")
    space.nuisance("beta1", 0.8, 0.99, parent="optimizer", parent_values=["adam"])
    space.nuisance("one_minus_momentum", 1e-3, 0.5, scale="log",
                   parent="optimizer", parent_values=["nesterov"])
    space.fixed("activation", "relu")
    return space


def attach(oracle, directory, name="study"):
    oracle.verbose = 0
    oracle._set_project_dir(str(directory), name)
    return oracle


def run(oracle, n, objective=lambda values: 0.0, metric="loss"):
    """Run up to ``n`` trials; ``objective`` returning None means infeasible."""
    return run_oracle(oracle, n, objective, metric)


def test_seed_changes_the_point_set_not_the_order():
    a = quasi_random_unit(3, 32, seed=0)
    b = quasi_random_unit(3, 32, seed=1)
    assert not np.allclose(np.sort(a, axis=0), np.sort(b, axis=0))
    distances = np.abs(a[:, None, :] - b[None, :, :]).max(-1)
    assert distances.min() > 1e-6
    np.testing.assert_array_equal(a, quasi_random_unit(3, 32, seed=0))


def test_point_k_is_computed_directly():
    full = quasi_random_unit(4, 20, seed=7)
    np.testing.assert_allclose(quasi_random_unit(4, 8, seed=7, start=12), full[12:])
    space = conditional_space()
    assert quasi_random_points(space, 5, seed=3, start=10) == \
        quasi_random_points(space, 15, seed=3)[10:]
    assert random_points(space, 4, seed=3, start=2) == random_points(space, 6, seed=3)[2:]


def test_quasi_random_discrepancy_beats_pseudo_random():
    n, d = 50, 4
    ours = np.mean([qmc.discrepancy(quasi_random_unit(d, n, seed=s)) for s in range(5)])
    pseudo = np.mean([qmc.discrepancy(np.random.default_rng(s).random((n, d)))
                      for s in range(20)])
    assert ours < pseudo / 2


def test_oracle_draws_the_pure_points_and_stops(tmp_path):
    space = conditional_space()
    oracle = attach(QuasiRandomOracle(space, max_trials=6, seed=0, objective="loss"),
                    tmp_path)
    trials = run(oracle, 10)
    assert [t.trial_id for t in trials] == ["0", "1", "2", "3", "4", "5"]
    assert [t.hyperparameters.values for t in trials] == quasi_random_points(space, 6, 0)
    assert oracle.seed == 0
    assert oracle.create_trial("tuner0").status == "STOPPED"


def test_conditional_children_active_only_under_their_parent(tmp_path):
    space = conditional_space()
    oracle = attach(QuasiRandomOracle(space, max_trials=40, seed=2, objective="loss"),
                    tmp_path)
    trials = run(oracle, 40)
    units = quasi_random_unit(space.dimension, 40, seed=2)
    counts = {"adam": 0, "nesterov": 0}
    for trial, u in zip(trials, units):
        values = trial.hyperparameters.values
        counts[values["optimizer"]] += 1
        assert values["activation"] == "relu"
        if values["optimizer"] == "adam":
            assert "one_minus_momentum" not in values
            assert values["beta1"] == pytest.approx(0.8 + u[2] * 0.19)
            assert trial.hyperparameters.is_active("beta1")
        else:
            assert "beta1" not in values
            assert values["one_minus_momentum"] == pytest.approx(
                1e-3 * math.exp(u[3] * math.log(0.5 / 1e-3)))
            assert not trial.hyperparameters.is_active("beta1")
    assert abs(counts["adam"] - 20) <= 2


def test_resumed_oracle_continues_at_k(tmp_path):
    space = conditional_space()
    first = attach(QuasiRandomOracle(space, max_trials=10, seed=5, objective="loss"),
                   tmp_path)
    run(first, 6)
    crashed = first.create_trial("tuner0")
    assert crashed.trial_id == "06"

    resumed = attach(QuasiRandomOracle(space, max_trials=10, seed=5, objective="loss"),
                     tmp_path)
    resumed.reload()
    rerun = resumed.create_trial("tuner0")
    assert rerun.trial_id == "06"
    assert rerun.hyperparameters.values == crashed.hyperparameters.values
    rerun.status = "COMPLETED"
    resumed.update_trial(rerun.trial_id, {"loss": 1.0})
    resumed.end_trial(rerun)
    later = run(resumed, 10)
    assert [t.trial_id for t in later] == ["07", "08", "09"]
    all_values = [resumed.trials[f"{k:02d}"].hyperparameters.values for k in range(10)]
    assert all_values == quasi_random_points(space, 10, seed=5)


def test_resume_with_another_space_or_seed_is_refused(tmp_path):
    oracle = attach(QuasiRandomOracle(conditional_space(), 4, seed=0, objective="loss"),
                    tmp_path)
    run(oracle, 2)
    other = SearchSpace().nuisance("learning_rate", 1e-3, 1.0, scale="log")
    resumed = attach(QuasiRandomOracle(other, 4, seed=0, objective="loss"), tmp_path)
    with pytest.raises(ValueError, match="search space"):
        resumed.reload()
    reseeded = attach(QuasiRandomOracle(conditional_space(), 4, seed=1, objective="loss"),
                      tmp_path)
    with pytest.raises(ValueError, match="seed 1.*seed 0"):
        reseeded.reload()


def test_random_oracle_is_seeded_per_trial(tmp_path):
    space = conditional_space()
    oracle = attach(RandomOracle(space, 5, seed=4, objective="loss"), tmp_path)
    assert [t.hyperparameters.values for t in run(oracle, 5)] == \
        random_points(space, 5, seed=4)
    assert random_points(space, 5, seed=4) != random_points(space, 5, seed=5)


def test_grid(tmp_path):
    space = SearchSpace().nuisance("learning_rate", 1e-3, 1e-1, scale="log")
    space.scientific("width", values=[16, 32])
    grid = grid_configs(space, points_per_dimension=3)
    assert len(grid) == 6
    assert sorted({c["learning_rate"] for c in grid}) == pytest.approx([1e-3, 1e-2, 1e-1])
    oracle = attach(GridOracle(space, seed=0, objective="loss", points_per_dimension=3),
                    tmp_path)
    assert [t.hyperparameters.values for t in run(oracle, 10)] == grid
    assert len(grid_configs(conditional_space(), 2)) == 2 * 2 + 2 * 2
    with pytest.warns(UserWarning, match="one or\\s+two dimensions"):
        GridOracle(conditional_space(), objective="loss")
    with pytest.warns(UserWarning, match="first 2 grid points"):
        GridOracle(space, max_trials=2, objective="loss", points_per_dimension=3)


def test_list_oracle(tmp_path):
    space = conditional_space()
    configs = [{"optimizer": "adam", "learning_rate": 0.01, "beta1": 0.9},
               {"optimizer": "nesterov", "learning_rate": 0.1, "one_minus_momentum": 0.1}]
    oracle = attach(ListOracle(space, configs, objective="loss"), tmp_path)
    values = [t.hyperparameters.values for t in run(oracle, 5)]
    assert values == [{**c, "activation": "relu"} for c in configs]
    with pytest.raises(ValueError, match="'beta1'"):
        ListOracle(space, [{"optimizer": "adam", "learning_rate": 0.01, "beta1": 2.0}])


def test_make_oracle_by_name():
    space = conditional_space()
    assert ALGORITHMS[0] == "quasi_random"
    assert isinstance(make_oracle(space=space, max_trials=3), QuasiRandomOracle)
    assert isinstance(make_oracle("random", space, 3), RandomOracle)
    assert isinstance(make_oracle("bayesian", space, 3), InfeasibleAwareBayesianOracle)
    assert isinstance(make_oracle("grid", SearchSpace().nuisance("x", 0.0, 1.0)), GridOracle)
    assert isinstance(make_oracle("list", space, configs=[
        {"optimizer": "adam", "learning_rate": 0.01, "beta1": 0.9}]), ListOracle)
    assert isinstance(make_oracle("quasi_random", space.to_dict(), 3), QuasiRandomOracle)
    with pytest.raises(ValueError) as err:
        make_oracle("hyperband", space, 3)
    assert "algorithm" in str(err.value) and "hyperband" in str(err.value)
    assert all(name in str(err.value) for name in ALGORITHMS)
    with pytest.raises(ValueError, match="configs"):
        make_oracle("list", space, 3)


@pytest.mark.filterwarnings("ignore:max_trials 8 is smaller than the grid")
@pytest.mark.parametrize("algorithm", ["quasi_random", "random", "grid", "bayesian", "list"])
def test_no_oracle_aborts_on_infeasible_trials_in_a_row(tmp_path, algorithm):
    space = SearchSpace().nuisance("learning_rate", 1e-4, 1.0, scale="log")
    space.nuisance("width", values=[16, 32, 64])
    configs = [{"learning_rate": 10.0 ** -k, "width": 16} for k in range(1, 5)] * 2
    oracle = make_oracle(algorithm, space, 8, seed=0, objective="loss",
                         configs=configs if algorithm == "list" else None,
                         **({"points_per_dimension": 3} if algorithm == "grid" else {}))
    attach(oracle, tmp_path)
    trials = run(oracle, 20, objective=lambda values: None)
    assert len(trials) == 8
    assert all(t.status == "FAILED" for t in trials)
    assert len(oracle.infeasible_trial_ids) == 8


def test_mark_infeasible_persists(tmp_path):
    space = SearchSpace().nuisance("learning_rate", 1e-4, 1.0, scale="log")
    oracle = attach(QuasiRandomOracle(space, 5, seed=0, objective="loss"), tmp_path)
    run(oracle, 2, objective=lambda values: 1.0)
    oracle.mark_infeasible("1")
    assert oracle.infeasible_trial_ids == ["1"]
    resumed = attach(QuasiRandomOracle(space, 5, seed=0, objective="loss"), tmp_path)
    resumed.reload()
    assert resumed.infeasible_trial_ids == ["1"]
    with pytest.raises(ValueError, match="'7'"):
        resumed.mark_infeasible("7")


def _unstable_above(threshold):
    """Synthetic workload: diverges above ``threshold``; best loss at 10**-2.5."""
    def objective(values):
        lr = values["learning_rate"]
        return None if lr > threshold else (math.log10(lr) + 2.5) ** 2
    return objective


def test_bayesian_avoids_the_infeasible_half(tmp_path):
    space = SearchSpace().nuisance("learning_rate", 1e-4, 1.0, scale="log")
    objective = _unstable_above(1e-2)
    budget, seeds = 20, (0, 1, 2)
    infeasible = {"quasi_random": [], "bayesian": []}
    best = []
    for seed in seeds:
        for algorithm in infeasible:
            oracle = make_oracle(algorithm, space, budget, seed=seed, objective="loss",
                                 **({"num_initial_points": 3}
                                    if algorithm == "bayesian" else {}))
            attach(oracle, tmp_path, f"{algorithm}_{seed}")
            trials = run(oracle, budget, objective)
            infeasible[algorithm].append(sum(t.status == "FAILED" for t in trials))
            if algorithm == "bayesian":
                best.append(min(t.score for t in trials if t.status == "COMPLETED"))
    assert np.mean(infeasible["quasi_random"]) >= 8
    assert np.mean(infeasible["bayesian"]) <= 0.5 * np.mean(infeasible["quasi_random"])
    assert max(best) < 0.01


def test_bayesian_uses_quasi_random_start_and_maximize(tmp_path):
    space = SearchSpace().nuisance("x", 0.0, 1.0)
    oracle = attach(InfeasibleAwareBayesianOracle(
        space, 8, seed=3, objective=kt.Objective("score", "max"), num_initial_points=3),
        tmp_path)
    trials = run(oracle, 8, objective=lambda v: -(v["x"] - 0.3) ** 2, metric="score")
    assert [t.hyperparameters.values for t in trials[:3]] == quasi_random_points(space, 3, 3)
    assert oracle.objective.direction == "max"
    assert abs(max(trials, key=lambda t: t.score).hyperparameters["x"] - 0.3) < 0.05


def test_feasibility_floor_keeps_proposals_off_the_infeasible_edge(tmp_path):
    """Known answer: the loss falls toward x = 0.5 and every x above 0.5 is infeasible, so
    the optimum sits at the infeasible edge. Once the three quasi-random starting points
    have shown both sides, the floor keeps every proposal within 0.1 of the edge; without
    it (FEASIBILITY_FLOOR = 0), EI x P(feasible) jumps to x >= 0.75 in each of these
    seeds (measured: 1.0, 1.0, 0.89)."""
    space = SearchSpace().nuisance("x", 0.0, 1.0)
    beyond_edge, best = [], []
    for seed in (0, 1, 2):
        oracle = attach(InfeasibleAwareBayesianOracle(space, 9, seed=seed, objective="loss",
                                                      num_initial_points=3),
                        tmp_path, f"edge_{seed}")
        trials = run(oracle, 9, lambda v: None if v["x"] > 0.5 else 0.5 - v["x"])
        assert len(trials) == 9
        beyond_edge += [(seed, round(t.hyperparameters["x"], 3)) for t in trials[3:]
                        if t.hyperparameters["x"] > 0.6]
        best.append(min(t.score for t in trials if t.status == "COMPLETED"))
    assert beyond_edge == []
    assert max(best) < 0.05


def test_bayesian_counts_a_completed_trial_marked_infeasible_as_infeasible(tmp_path):
    space = SearchSpace().nuisance("x", 0.0, 1.0)
    oracle = attach(InfeasibleAwareBayesianOracle(space, 8, seed=0, objective="loss",
                                                  num_initial_points=4), tmp_path)
    trials = run(oracle, 4, lambda v: (v["x"] - 0.3) ** 2)
    assert [t.status for t in trials] == ["COMPLETED"] * 4
    marked = min(trials, key=lambda t: t.score)  # e.g. its loss curve was unusable
    oracle.mark_infeasible(marked.trial_id)
    assert oracle.infeasible_trial_ids == [marked.trial_id]
    x_done, feasible, y, x_running = oracle._observations()
    order = sorted(trials, key=lambda t: t.trial_id)
    np.testing.assert_allclose(x_done[:, 0], [t.hyperparameters["x"] for t in order])
    assert feasible.tolist() == [t is not marked for t in order]
    np.testing.assert_allclose(y, [t.score for t in order if t is not marked])
    assert x_running.shape == (0, 1)
    p_feasible = oracle._feasibility(x_done, feasible)
    assert p_feasible(np.array([[marked.hyperparameters["x"]]]))[0] < \
        bayesian.FEASIBILITY_FLOOR
    resumed = attach(InfeasibleAwareBayesianOracle(space, 8, seed=0, objective="loss",
                                                   num_initial_points=4), tmp_path)
    resumed.reload()
    assert resumed._observations()[1].tolist() == feasible.tolist()


def test_point_generators_need_neither_keras_tuner_nor_tensorflow():
    import subprocess
    import sys

    code = ("import sys, playbook_kit.search.points\n"
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert (result.returncode, result.stdout) == (0, "[]\n")
