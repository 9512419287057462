import math

import pandas as pd
import pytest


def test_recommends_the_steps_the_fastest_rate_needs(pk, digits_workload, tmp_path):
    result = pk.initial_training_length(digits_workload, learning_rates=[1.0e-3, 1.0e-2, 3.0e-1],
                                        max_train_steps=200, eval_every=20,
                                        target_accuracy=0.9)
    table = result.table
    assert table["learning_rate"].tolist() == [1.0e-3, 1.0e-2, 3.0e-1]
    for run, steps in zip(result.runs, table["steps_to_target"]):
        accuracy = run.curve("train", "accuracy")
        assert run.config["schedule"] == "constant" and run.config["dropout"] == 0.0
        first = accuracy[accuracy >= 0.9]
        assert (steps == first.index[0]) if len(first) else math.isnan(steps)
    fastest = table.dropna(subset=["steps_to_target"]).sort_values(
        ["steps_to_target", "learning_rate"]).iloc[0]
    assert result.recommended_max_train_steps == int(fastest["steps_to_target"])
    assert result.numbers["fastest_learning_rate"] == fastest["learning_rate"]
    assert result.recommendation.startswith(
        f"Use max_train_steps={result.recommended_max_train_steps}: the fastest run")
    assert table["best_step_fraction"].tolist() == pytest.approx(
        [r.best_step / 200 for r in result.runs])
    assert result.plot().get_xlabel() == "step"
    journal = pk.Journal(tmp_path)
    result.to_journal(journal)
    assert journal.rounds[0]["decision"]["recommendation"] == (
        f"max_train_steps={result.recommended_max_train_steps}")


def _table(steps, late=(False, False, False), early=(False, False, False)):
    return pd.DataFrame({"learning_rate": [0.001, 0.01, 0.1], "status": "completed",
                         "steps_to_target": steps, "final_train_accuracy": 1.0,
                         "best_step": 900, "best_step_fraction": 0.9,
                         "best_step_early": list(early), "best_step_late": list(late)})


def test_rules_grid_edge_and_best_checkpoint_position():
    from playbook_kit.recipes.training_length import _recommendation

    text, warnings, numbers = _recommendation(_table([300.0, 200.0, 200.0]), 1000, 0.99)
    assert numbers["recommended_max_train_steps"] == 200
    assert numbers["fastest_learning_rate"] == 0.01 and warnings == []
    text, warnings, numbers = _recommendation(_table([300.0, 250.0, 100.0], late=(0, 0, 1)),
                                              1000, 0.99)
    assert numbers["recommended_max_train_steps"] == 100
    assert warnings[0] == ("the fastest learning rate 0.1 is the grid's highest: extend the "
                           "grid past it and rerun")
    assert warnings[1].startswith("the fastest run's best checkpoint is at 90% of the "
                                  "generous budget (last 25%)")
    text, warnings, numbers = _recommendation(_table([math.nan] * 3), 1000, 0.99)
    assert numbers["recommended_max_train_steps"] is None
    assert text.startswith("No learning rate reached training accuracy >= 0.99 within 1000 "
                           "steps: double max_train_steps")


@pytest.mark.parametrize("kwargs, message", [
    ({"learning_rates": [0.1, 0.01]}, r"learning_rates=\[0.1, 0.01\] is not allowed"),
    ({"learning_rates": [0.01], "eval_every": 0}, "eval_every=0 is not allowed"),
    ({"learning_rates": [0.01], "target_accuracy": 1.5}, "target_accuracy=1.5 is not allowed"),
    ({"learning_rates": [0.01], "max_train_steps": 10, "eval_every": 20},
     "eval_every=20 is not allowed; use at most max_train_steps=10"),
])
def test_bad_arguments_fail_before_training(pk, digits_workload, kwargs, message, monkeypatch):
    import playbook_kit.training.trainer as trainer

    monkeypatch.setattr(trainer, "train_trial", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=message):
        pk.initial_training_length(digits_workload, **kwargs)
