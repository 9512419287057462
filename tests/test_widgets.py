import pytest


def test_trial_browser_lists_trials_best_first_and_redraws_on_choice(pk, digits_workload, tmp_path,
                                                                    monkeypatch):
    import playbook_kit.insight
    from playbook_kit.widgets import trial_options

    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e3, scale="log").fixed(
        "optimizer", "sgd")
    study = pk.run_study(digits_workload, space, max_trials=4, max_train_steps=20,
                         eval_every=10, directory=tmp_path, name="browse", progress=False)
    options = trial_options(study)
    assert len(options) == 4
    feasible = study.feasible.sort_values("objective", ascending=False)
    assert options[:3] == [(f"trial {row.trial_id}: val_accuracy {row.objective:.4f}",
                            row.trial_id) for row in feasible.itertuples()]
    assert options[3:] == [("trial 1: infeasible", "1")]  # learning rate 191 diverges
    drawn = []
    real_plot_trial = playbook_kit.insight.plot_trial

    def spy(study_arg, trial_id, *args, **kwargs):
        drawn.append((study_arg, trial_id))
        return real_plot_trial(study_arg, trial_id, *args, **kwargs)

    # trial_browser imports plot_trial from playbook_kit.insight when called
    monkeypatch.setattr(playbook_kit.insight, "plot_trial", spy)
    browser = pk.trial_browser(study)
    dropdown, output = browser.children
    assert dropdown.value == options[0][1]
    assert [tid for _, tid in drawn] == [options[0][1]]  # the best trial is drawn on open
    dropdown.value = options[-1][1]
    assert [tid for _, tid in drawn] == [options[0][1], options[-1][1]]  # redrawn on choice
    assert all(shown is study for shown, _ in drawn)
    dropdown.value = options[-1][1]  # choosing the shown trial again draws nothing new
    assert len(drawn) == 2
