import math

import pandas as pd
import pytest


def _result(pk, losses, status="completed", steps=None, reason=""):
    rows = [(step, "train", "loss", loss) for step, loss in enumerate(losses)]
    rows += [(step, "optimizer", "grad_norm_mean", 1.0) for step in range(1, len(losses))]
    return pk.TrialResult(status, {}, 0, 10, 1, "val_accuracy", "max", reason=reason,
                          steps_completed=steps if steps is not None else len(losses) - 1,
                          curves=pd.DataFrame(rows, columns=["step", "split", "metric",
                                                             "value"]))


def test_a_run_that_diverges_at_step_3_is_flagged_unstable_at_step_3(pk):
    from playbook_kit.recipes.stability import classify_run

    diverged = _result(pk, [2.3, 2.2, 2.1], status="infeasible", steps=3,
                       reason="loss or gradient norm became NaN/Inf at step 3")
    verdict = classify_run(diverged)
    assert verdict == {"unstable": True, "unstable_step": 3, "max_loss_rise": 0.0,
                       "why": "loss or gradient norm became NaN/Inf at step 3"}


def test_rising_loss_is_unstable_and_a_falling_one_is_not(pk):
    from playbook_kit.recipes.stability import classify_run

    rising = classify_run(_result(pk, [2.0, 2.1, 2.3, 1.5]))
    assert rising["unstable"] and rising["unstable_step"] == 2
    assert rising["max_loss_rise"] == pytest.approx(0.15)
    assert rising["why"] == "training loss rose 15% above its initial 2 at step 2"
    assert classify_run(_result(pk, [2.0, 2.1, 2.19, 1.5]))["unstable"] is False
    tighter = classify_run(_result(pk, [2.0, 2.1, 2.19, 1.5]), rise_tolerance=0.06)
    assert tighter["unstable_step"] == 2


def test_probe_finds_the_lowest_unstable_rate(pk, digits_workload, tmp_path):
    probe = pk.instability_probe(digits_workload, {"optimizer": "sgd"},
                                 learning_rates=[0.01, 0.1, 300.0, 1000.0], steps=10)
    assert probe.table["learning_rate"].tolist() == [0.01, 0.1, 300.0, 1000.0]
    assert probe.table["unstable"].tolist() == [False, False, True, True]
    assert probe.unstable_base_learning_rate == 300.0
    assert probe.numbers["largest_stable_learning_rate"] == 0.1
    assert probe.table["unstable_step"].iloc[2] <= 3
    assert probe.recommendation.startswith("unstable_base_learning_rate=300:")
    ax = probe.plot()   # every recipe's plot returns the Axes it drew (here the first panel)
    figure = ax.figure
    assert ax is figure.axes[0]
    assert [ax.get_ylabel() for ax in figure.axes] == [
        "training loss (fixed sample)", "global gradient norm (before clipping)"]
    assert len(figure.axes[0].lines) == 4
    journal = pk.Journal(tmp_path)
    probe.to_journal(journal)
    assert journal.rounds[0]["decision"]["recommendation"] == "unstable_base_learning_rate=300"


def test_probe_stops_after_two_unstable_rates(pk, digits_workload):
    probe = pk.instability_probe(digits_workload, {"optimizer": "sgd", "learning_rate": 300.0},
                                 factor=2.0, n_rates=5, steps=5)
    assert probe.table["learning_rate"].tolist() == [300.0, 600.0]
    assert probe.warnings == ["even the lowest rate is unstable: start the sweep lower"]


def test_warmup_makes_a_deep_resnet_train_at_10x_the_unstable_rate(pk):
    """Known answer: a pre-norm resnet (4 residual blocks, 10 dense layers, non-zero
    residual init) with Adam rises 41% in loss at step 1 at learning rate 0.1 without
    warmup; a short linear warmup makes the same rate train."""
    data = pk.load_digits(seed=0, image=False)
    workload = pk.Workload(data, defaults={"model": "resnet", "depth": 4, "width": 32,
                                           "normalization": "layer",
                                           "zero_init_residual": False, "optimizer": "adam"})
    sweep = pk.warmup_sweep(workload, unstable_base_learning_rate=0.01,
                            warmup_steps=[0, 10, 30], max_train_steps=400)
    table = sweep.table
    assert sweep.numbers["target_learning_rate"] == pytest.approx(0.1)
    assert table["unstable"].iloc[0] and table["unstable_step"].iloc[0] == 1
    assert table["warmup_steps"].tolist() == [0, 10, 30]
    assert table["unstable"].tolist() == [True, True, False]
    assert table["unstable_step"].tolist()[:2] == [1, 12]
    assert sweep.recommended_warmup_steps == 30
    trained = table.iloc[2]
    assert trained["train_steps"] == 90
    assert trained["final_train_loss"] < 0.5 * trained["initial_train_loss"]
    assert sweep.recommendation.startswith(
        "Use warmup_steps=30 with learning_rate=0.1 (10x the unstable base rate 0.01)")
    assert sweep.warnings == ["warmup_steps=30 is 8% of max_train_steps=400 (over 5%): "
                              "consider increasing max_train_steps"]


@pytest.mark.parametrize("warmup, budget, expected", [
    (50, 400, "warmup_steps=50 is 12% of max_train_steps=400, above the playbook's 10% limit"),
    (30, 400, "warmup_steps=30 is 8% of max_train_steps=400 (over 5%): consider increasing"),
    (20, 400, None),
])
def test_warmup_budget_limits(warmup, budget, expected):
    from playbook_kit.recipes.stability import warmup_budget_warning

    warning = warmup_budget_warning(warmup, budget)
    assert (warning is None) if expected is None else warning.startswith(expected)


@pytest.mark.parametrize("kwargs, message", [
    ({"unstable_base_learning_rate": 0.1, "target_learning_rate": 0.05},
     r"target_learning_rate=0.05 is not allowed; use a rate above "
     r"unstable_base_learning_rate=0.1"),
    ({"unstable_base_learning_rate": -1.0}, "unstable_base_learning_rate=-1.0 is not allowed"),
    ({"unstable_base_learning_rate": 0.1, "warmup_steps": [0, 100, 10]},
     r"warmup_steps=\[0, 100, 10\] is not allowed; use strictly increasing"),
])
def test_warmup_bad_arguments_fail_before_training(pk, digits_workload, monkeypatch, kwargs,
                                                   message):
    import playbook_kit.training.trainer as trainer

    monkeypatch.setattr(trainer, "train_trial", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=message):
        pk.warmup_sweep(digits_workload, **kwargs)


def test_probe_bad_arguments_fail_before_training(pk, digits_workload, monkeypatch):
    import playbook_kit.training.trainer as trainer

    monkeypatch.setattr(trainer, "train_trial", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match="factor=0.5 is not allowed; use a number > 1"):
        pk.instability_probe(digits_workload, factor=0.5)
    with pytest.raises(ValueError, match=r"learning_rates=\[0.1, 0.1\] is not allowed"):
        pk.instability_probe(digits_workload, learning_rates=[0.1, 0.1])
