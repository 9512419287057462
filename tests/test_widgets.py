import numpy as np
import pytest


def test_trial_browser_lists_trials_best_first_and_redraws_on_choice(pk, digits_workload, tmp_path,
                                                                    monkeypatch):
    import playbook_kit.insight
    from playbook_kit.teaching.widgets import trial_options

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


# ------------------------------------------------------------- search-space explorer
def test_largest_gap_counts_the_ends_of_the_range():
    from playbook_kit.teaching.widgets import largest_gap

    assert largest_gap([0.1, 0.5, 0.9]) == pytest.approx(0.4)
    assert largest_gap([0.5, 0.7]) == pytest.approx(0.5)       # 0 .. 0.5 is empty
    assert largest_gap([0.05, 0.2, 0.25]) == pytest.approx(0.75)  # 0.25 .. 1 is empty


def test_quasi_random_points_cover_a_log_range_better_than_random_ones():
    from playbook_kit.teaching.widgets import coverage_table, explorer_space, sample_points

    space = explorer_space("learning_rate", 1.0e-4, 1.0e-1, "log")
    points = sample_points(space, 12, seed=0)
    assert list(points.columns) == ["generator", "trial", "learning_rate",
                                    "unit_learning_rate"]
    assert list(points["generator"]) == ["quasi_random"] * 12 + ["random"] * 12
    assert points["learning_rate"].between(1.0e-4, 1.0e-1).all()
    unit = np.log10(points["learning_rate"].to_numpy() / 1.0e-4) / 3   # log scale position
    assert np.allclose(points["unit_learning_rate"], unit)
    table = coverage_table(space, 12, seed=0)
    assert list(table.index) == ["quasi_random", "random"]
    assert list(table["points"]) == [12, 12]
    # 12 points of the base-2 Halton sequence leave at most 1/8 of the range empty
    assert table.loc["quasi_random", "largest_gap"] == pytest.approx(0.125)
    assert table.loc["random", "largest_gap"] == pytest.approx(0.3013, abs=1e-4)
    assert table.loc["quasi_random", "discrepancy"] == pytest.approx(0.00416, abs=1e-5)
    assert table.loc["random", "discrepancy"] == pytest.approx(0.00739, abs=1e-5)
    for seed in range(3):                                      # not one lucky seed
        other = coverage_table(space, 24, seed=seed)
        assert other.loc["quasi_random", "largest_gap"] == pytest.approx(1 / 16)
        assert other.loc["quasi_random", "discrepancy"] < other.loc["random", "discrepancy"]


def test_search_space_explorer_rejects_bad_settings_before_drawing():
    from playbook_kit.teaching.widgets import search_space_explorer

    with pytest.raises(ValueError, match=r"scale='integer' is not allowed; use one of "
                                         r"'linear', 'log'"):
        search_space_explorer(scale="integer", interactive=False)
    with pytest.raises(ValueError, match=r"n=1 is not allowed; use an integer from 2 to 200"):
        search_space_explorer(n=1, interactive=False)
    with pytest.raises(ValueError, match="learning_rate"):
        search_space_explorer(low=1.0e-1, high=1.0e-4, interactive=False)
    from playbook_kit.search.space import SearchSpace
    from playbook_kit.teaching.widgets import coverage_table

    with pytest.raises(ValueError, match="the space varies no hyperparameter; there is "
                                         "nothing to cover"):
        coverage_table(SearchSpace().fixed("optimizer", "adam"))


def test_search_space_explorer_static_figure_shows_both_generators_and_their_numbers():
    from matplotlib.figure import Figure

    from playbook_kit.teaching.widgets import search_space_explorer

    figure = search_space_explorer(n=12, seed=0, interactive=False)
    assert isinstance(figure, Figure)
    quasi, rand = figure.axes
    assert quasi.get_title() == ("quasi-random: discrepancy 0.0042\n"
                                 "largest gap (shaded) 12.5% of the range")
    assert rand.get_title() == ("random: discrepancy 0.0074\n"
                                "largest gap (shaded) 30.1% of the range")
    assert quasi.get_xscale() == "log" and quasi.get_xlim() == pytest.approx((1.0e-4, 1.0e-1))
    (points,) = [c for c in quasi.collections if c.get_gid() == "points"]
    assert len(points.get_offsets()) == 12
    linear = search_space_explorer(scale="linear", low=0.0, high=1.0, name="dropout",
                                   n=5, interactive=False)
    assert linear.axes[0].get_xscale() == "linear"
    assert linear.axes[0].get_xlabel() == "dropout (linear scale)"


def test_search_space_explorer_widget_redraws_on_every_control(monkeypatch, capsys):
    import ipywidgets

    import playbook_kit.teaching.widgets as widgets_module

    drawn = []
    real = widgets_module.plot_search_space_samples

    def spy(space, n, seed):
        hp = space[space.varied[0]]
        drawn.append((hp.low, hp.high, hp.scale, n, seed))
        return real(space, n, seed)

    monkeypatch.setattr(widgets_module, "plot_search_space_samples", spy)
    explorer = widgets_module.search_space_explorer(n=8, seed=1)
    assert isinstance(explorer, ipywidgets.VBox)
    ranges, counts, output = explorer.children
    low, high, scale = ranges.children
    n, seed = counts.children
    assert isinstance(output, ipywidgets.Output)
    assert [type(w).__name__ for w in (low, high, scale, n, seed)] == [
        "FloatText", "FloatText", "Dropdown", "IntSlider", "IntText"]
    assert drawn == [(1.0e-4, 1.0e-1, "log", 8, 1)]
    scale.value = "linear"
    n.value = 20
    assert drawn[1:] == [(1.0e-4, 1.0e-1, "linear", 8, 1), (1.0e-4, 1.0e-1, "linear", 20, 1)]
    capsys.readouterr()
    low.value = 1.0                     # low above high: the error is shown, nothing drawn
    assert len(drawn) == 3
    # outside a kernel the Output widget captures nothing: its print reaches stdout
    assert capsys.readouterr().out.endswith(
        "hyperparameter 'learning_rate': reversed range [1.0, 0.1]; need low < high "
        "(use fixed() for a single value)\n")


# ----------------------------------------------------------------- isolation explorer
def _isolation_study():
    from tests.test_insight_plots import _isolation_study as build

    return build()


def test_isolation_explorer_offers_the_scientific_hyperparameter_first():
    from playbook_kit.teaching.widgets import isolation_choices, isolation_explorer

    study = _isolation_study()
    assert isolation_choices(study) == ["num_layers", "learning_rate"]
    with pytest.raises(ValueError, match=r"isolation_explorer: scientific='depth' is not "
                                         r"allowed; use one of 'num_layers', 'learning_rate'"):
        isolation_explorer(study, "depth", interactive=False)


def test_isolation_explorer_static_figure_is_the_isolation_plot_with_error_bars():
    from matplotlib.figure import Figure

    from playbook_kit.insight import isolation_table
    from playbook_kit.teaching.widgets import isolation_explorer

    study = _isolation_study()
    figure = isolation_explorer(study, interactive=False)
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert ax.get_title().startswith("Isolation plot: num_layers")
    (line,) = [l for l in ax.lines if l.get_gid() == "isolation"]
    table = isolation_table(study, "num_layers")
    assert list(line.get_xdata()) == [1.0, 2.0, 3.0]
    assert np.allclose(line.get_ydata(), table["objective"])
    (bars,) = [c for c in ax.containers if c.get_label().startswith("95% t interval")]
    assert len(bars.lines[2][0].get_segments()) == 3


def test_isolation_explorer_widget_redraws_for_the_chosen_hyperparameter(monkeypatch):
    import ipywidgets

    import playbook_kit.insight

    drawn = []
    real = playbook_kit.insight.plot_isolation

    def spy(study, scientific, buckets, ax):
        drawn.append((scientific, buckets))
        return real(study, scientific, buckets=buckets, ax=ax)

    monkeypatch.setattr(playbook_kit.insight, "plot_isolation", spy)
    from playbook_kit.teaching.widgets import isolation_explorer

    explorer = isolation_explorer(_isolation_study(), buckets=3)
    controls, output = explorer.children
    choice, buckets = controls.children
    assert isinstance(choice, ipywidgets.Dropdown) and isinstance(output, ipywidgets.Output)
    assert choice.options == ("num_layers", "learning_rate")
    assert drawn == [("num_layers", 3)]
    choice.value = "learning_rate"
    buckets.value = 4
    assert drawn == [("num_layers", 3), ("learning_rate", 3), ("learning_rate", 4)]
