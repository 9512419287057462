"""Warm-started exploitation: the Bayesian oracle driven directly on synthetic objectives
(no training), plus one tiny warm-started study on the digits workload."""
import json
import math
import os
import shutil

import numpy as np
import pytest

from playbook_kit.search.bayesian import InfeasibleAwareBayesianOracle
from playbook_kit.search.oracles import make_oracle, run_oracle
from playbook_kit.search.points import quasi_random_points
from playbook_kit.search.space import SearchSpace

OPTIMUM = {"x": 0.3, "y": 0.7}


def attach(oracle, directory, name="study"):
    oracle.verbose = 0
    oracle._set_project_dir(str(directory), name)
    return oracle


def run(oracle, n, objective):
    """Run up to ``n`` trials; ``objective`` returning None means infeasible."""
    return run_oracle(oracle, n, objective)


def plane():
    return SearchSpace().nuisance("x", 0.0, 1.0).nuisance("y", 0.0, 1.0)


def bowl(values):
    return (values["x"] - OPTIMUM["x"]) ** 2 + (values["y"] - OPTIMUM["y"]) ** 2


def distance_to_optimum(values):
    return math.hypot(values["x"] - OPTIMUM["x"], values["y"] - OPTIMUM["y"])


def priors_from(space, n, seed, objective):
    return [(c, objective(c)) for c in quasi_random_points(space, n, seed=seed)]


def test_priors_inside_the_space_are_kept_and_the_others_dropped_and_counted():
    space = SearchSpace().scientific("optimizer", values=["adam", "nesterov"])
    space.nuisance("learning_rate", 1e-3, 1e-1, scale="log")
    space.nuisance("width", values=[32, 64])
    space.nuisance("beta1", 0.8, 0.99, parent="optimizer", parent_values=["adam"])
    space.fixed("activation", "relu")
    adam = {"optimizer": "adam", "learning_rate": 0.01, "width": 64, "beta1": 0.9,
            "activation": "relu"}
    observations = [
        ({**adam, "dropout": 0.1}, 0.9),                       # kept; unused name ignored
        ({"optimizer": "nesterov", "learning_rate": 0.1, "width": np.float64(32.0),
          "beta1": float("nan"), "activation": "relu"}, None),  # kept, infeasible
        ({**adam, "learning_rate": 1e-3}, float("nan")),        # kept (bound), infeasible
        ({**adam, "learning_rate": 0.5}, 0.5),                  # outside the range
        ({**adam, "width": 128}, 0.8),                          # not one of the values
        ({**adam, "optimizer": "sgd"}, 0.8),                    # not one of the values
        ({**adam, "activation": "tanh"}, 0.8),                  # fixed at another value
        ({**adam, "beta1": float("nan")}, 0.8),                 # active but unknown
        ({k: v for k, v in adam.items() if k != "width"}, 0.8),  # missing
        ({k: v for k, v in adam.items() if k != "activation"}, 0.8),  # fixed one missing
    ]
    oracle = InfeasibleAwareBayesianOracle(space, 5, objective="loss",
                                           prior_observations=observations)
    assert oracle.prior_summary == {"given": 10, "kept": 3, "infeasible": 2, "outside": 4,
                                    "unknown": 3}
    kept = oracle.prior_observations
    assert kept[0] == ({"optimizer": "adam", "learning_rate": 0.01, "width": 64,
                        "beta1": 0.9, "activation": "relu"}, 0.9)
    assert kept[1] == ({"optimizer": "nesterov", "learning_rate": 0.1, "width": 32,
                        "activation": "relu"}, None)
    assert type(kept[1][0]["width"]) is int
    assert kept[2][1] is None
    assert oracle.set_prior_observations([]) == {"given": 0, "kept": 0, "infeasible": 0,
                                                 "outside": 0, "unknown": 0}


def test_warm_started_first_proposal_is_near_the_prior_best(tmp_path):
    space = plane()
    priors = priors_from(space, 12, seed=11, objective=bowl)
    best_prior = min(distance_to_optimum(c) for c, _ in priors)
    cold = attach(InfeasibleAwareBayesianOracle(space, 3, seed=0, objective="loss"),
                  tmp_path, "cold")
    warm = attach(InfeasibleAwareBayesianOracle(space, 3, seed=0, objective="loss",
                                                prior_observations=priors),
                  tmp_path, "warm")
    cold_first = run(cold, 1, bowl)[0].hyperparameters.values
    warm_first = run(warm, 1, bowl)[0].hyperparameters.values
    assert cold_first == quasi_random_points(space, 1, seed=0)[0]
    assert warm_first != cold_first
    assert distance_to_optimum(warm_first) < min(0.1, best_prior)
    assert distance_to_optimum(cold_first) > 0.2


def test_priors_count_toward_the_initial_points(tmp_path):
    space = plane()
    priors = priors_from(space, 2, seed=11, objective=bowl)
    oracle = attach(InfeasibleAwareBayesianOracle(space, 4, seed=0, objective="loss",
                                                  num_initial_points=4,
                                                  prior_observations=priors), tmp_path)
    values = [t.hyperparameters.values for t in run(oracle, 4, bowl)]
    quasi_random = quasi_random_points(space, 4, seed=0)
    assert values[:2] == quasi_random[:2]
    assert values[2] != quasi_random[2] and values[3] != quasi_random[3]


def test_infeasible_priors_steer_proposals_away_from_the_infeasible_region(tmp_path):
    space = SearchSpace().nuisance("learning_rate", 1e-4, 1.0, scale="log")

    def unstable(values):  # diverges above 1e-2; best loss at 10**-2.5
        lr = values["learning_rate"]
        return None if lr > 1e-2 else (math.log10(lr) + 2.5) ** 2

    priors = priors_from(space, 10, seed=5, objective=unstable)
    assert sum(score is None for _, score in priors) >= 4
    oracle = attach(InfeasibleAwareBayesianOracle(space, 6, seed=0, objective="loss",
                                                  prior_observations=priors), tmp_path)
    trials = run(oracle, 6, unstable)
    assert sum(t.status == "FAILED" for t in trials) <= 1
    assert min(t.score for t in trials if t.status == "COMPLETED") < 0.01


def test_the_budget_counts_only_new_trials(tmp_path):
    space = plane()
    priors = priors_from(space, 20, seed=11, objective=bowl)
    oracle = attach(make_oracle("bayesian", space, 4, seed=1, objective="loss",
                                prior_observations=priors), tmp_path)
    trials = run(oracle, 10, bowl)
    assert [t.trial_id for t in trials] == ["0", "1", "2", "3"]
    assert sorted(oracle.trials) == ["0", "1", "2", "3"]
    assert oracle.create_trial("tuner0").status == "STOPPED"
    prior_configs = [c for c, _ in priors]
    assert not any(t.hyperparameters.values in prior_configs for t in trials)


def test_a_resumed_oracle_keeps_the_priors_it_started_with(tmp_path):
    space = plane()
    priors = priors_from(space, 8, seed=11, objective=bowl)
    first = attach(InfeasibleAwareBayesianOracle(space, 4, seed=0, objective="loss",
                                                 prior_observations=priors), tmp_path)
    run(first, 2, bowl)
    first.save()  # what the tuner does after each trial's end
    resumed = attach(InfeasibleAwareBayesianOracle(space, 4, seed=0, objective="loss"),
                     tmp_path)
    resumed.reload()
    assert resumed.prior_observations == first.prior_observations
    assert resumed.prior_summary == first.prior_summary
    other = attach(InfeasibleAwareBayesianOracle(space, 4, seed=0, objective="loss",
                                                 prior_observations=priors[:3]), tmp_path)
    with pytest.warns(UserWarning, match="started with 8 prior observations"):
        other.reload()
    assert len(other.prior_observations) == 8
    assert [t.trial_id for t in run(resumed, 5, bowl)] == ["2", "3"]


def test_warm_started_study(pk, digits_workload, tmp_path):
    explore_space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
    explore = pk.run_study(digits_workload, explore_space, max_trials=2, max_train_steps=20,
                           eval_every=20, directory=tmp_path, name="explore", progress=False)
    assert list(explore.trials["status"]) == ["completed", "completed"]
    # refined: width (the workload default in the exploration) is now fixed in the space
    refined = (pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
               .fixed("width", 32))
    kwargs = dict(max_trials=2, max_train_steps=20, eval_every=20, directory=tmp_path,
                  progress=False)
    with pytest.raises(ValueError, match="warm_start.*algorithm='quasi_random'"):
        pk.run_study(digits_workload, refined, name="nope", warm_start=explore, **kwargs)
    assert not (tmp_path / "nope").exists()

    exploit = pk.run_study(digits_workload, refined, name="exploit", algorithm="bayesian",
                           warm_start=explore, **kwargs)
    assert list(exploit.trials["trial_id"]) == ["0", "1"]
    assert set(exploit.trials["status"]) == {"completed"}
    stored = json.loads((tmp_path / "exploit" / "playbook_study.json").read_text())
    assert stored["warm_start"] == os.path.abspath(tmp_path / "explore")
    state = json.loads((tmp_path / "exploit" / "oracle.json").read_text())
    assert state["playbook_kit"]["warm_start"]["summary"]["kept"] == 2
    explored = sorted(explore.trials["learning_rate"])
    priors = sorted(p["values"]["learning_rate"] for p in
                    state["playbook_kit"]["warm_start"]["priors"])
    assert priors == pytest.approx(explored)

    again = pk.run_study(digits_workload, refined, name="exploit", algorithm="bayesian",
                         warm_start=str(tmp_path / "explore"), **kwargs)
    assert list(again.trials["objective"]) == list(exploit.trials["objective"])
    with pytest.raises(ValueError, match="warm_start"):
        pk.run_study(digits_workload, refined, name="exploit", algorithm="bayesian", **kwargs)

    # the studies folder moved (copied elsewhere) resumes with its source beside it
    moved = tmp_path / "moved"
    for name in ("explore", "exploit"):
        shutil.copytree(tmp_path / name, moved / name)
    shutil.copytree(tmp_path / "explore", moved / "other")
    resumed = pk.run_study(digits_workload, refined, name="exploit", algorithm="bayesian",
                           warm_start=moved / "explore", **{**kwargs, "directory": moved})
    assert list(resumed.trials["objective"]) == list(exploit.trials["objective"])
    assert json.loads((moved / "exploit" / "playbook_study.json").read_text())[
        "warm_start"] == os.path.abspath(moved / "explore")
    with pytest.raises(ValueError, match="was created with warm_start="):
        pk.run_study(digits_workload, refined, name="exploit", algorithm="bayesian",
                     warm_start=moved / "other", **{**kwargs, "directory": moved})

    spec = pk.StudySpec.from_dict(stored)
    assert spec.warm_start == stored["warm_start"] and spec.to_dict() == stored
    with pytest.raises(ValueError, match="warm_start"):
        pk.StudySpec.from_dict({**stored, "algorithm": "random"})
