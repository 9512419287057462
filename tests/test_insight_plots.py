"""Axis plots, isolation plots, training curves and best-of-n: the artists they draw."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from insight_fixtures import curves_study, hp, make_study, make_trials, sampled_study  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

import playbook_kit as pk  # noqa: E402
from playbook_kit.insight import (isolation_table, plot_axes, plot_axis,  # noqa: E402
                                  plot_best_of_n, plot_best_so_far, plot_curves,
                                  plot_isolation, plot_trial)
from playbook_kit.insight._plotting import JITTER  # noqa: E402
from playbook_kit.results.study_results import RUN_COLUMNS  # noqa: E402
from playbook_kit.reporting.style import apply_style, draw_best_so_far, study_colors  # noqa: E402

LR = hp("learning_rate", "log", 1e-4, 1.0)
DROPOUT = hp("dropout", "linear", 0.0, 0.5)
OPTIMIZER = hp("optimizer", "categorical", values=["adam", "sgd", "nadam"], role="scientific")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _collections(ax, gid):
    return [c for c in ax.collections if isinstance(c, PathCollection) and c.get_gid() == gid]


def _points(ax, gid):
    return np.concatenate([c.get_offsets() for c in _collections(ax, gid)] or [np.empty((0, 2))])


def _study(n=40, seed=0, name="main", threshold=10 ** -1.5, **kwargs):
    return sampled_study(
        [LR, DROPOUT, OPTIMIZER],
        lambda v: 0.5 + 0.1 * np.log10(v["learning_rate"]) + 0.02 * (v["optimizer"] == "adam"),
        status_fn=lambda v: v["learning_rate"] > threshold, n=n, seed=seed, name=name,
        **kwargs)


# ------------------------------------------------------------------------ axis plots
def test_axis_plot_points_red_crosses_and_log_axis():
    study = _study()
    n_feasible = len(study.feasible)
    n_infeasible = int((study.trials["status"] == "infeasible").sum())
    assert n_feasible > 0 and n_infeasible > 0
    ax = plot_axis(study, "learning_rate")
    assert ax.get_xscale() == "log"
    feasible = _points(ax, "feasible:main")
    assert len(feasible) == n_feasible
    assert np.allclose(np.sort(feasible[:, 0]), np.sort(study.feasible["learning_rate"]))
    (crosses,) = _collections(ax, "infeasible")
    assert len(crosses.get_offsets()) == n_infeasible
    assert to_hex(crosses.get_edgecolor()[0]) == "#ff0000"
    # crosses sit at the worst edge: below every feasible point when maximizing
    assert crosses.get_offsets()[:, 1].max() < feasible[:, 1].min()
    assert ax.get_ylim()[0] < crosses.get_offsets()[0, 1]
    best = _points(ax, "best")
    assert best[0, 1] == pytest.approx(study.feasible["objective"].max())
    bounds = [line.get_xdata()[0] for line in ax.lines if line.get_gid() == "bound"]
    assert sorted(bounds) == [1e-4, 1.0]
    assert "val_accuracy" in ax.get_ylabel() and "log scale" in ax.get_xlabel()
    assert "learning_rate" in ax.get_title()


def test_axis_plot_minimizing_puts_crosses_on_top_and_linear_axis():
    study = _study(objective="val_loss", direction="min")
    ax = plot_axis(study, "dropout")
    assert ax.get_xscale() == "linear"
    feasible = _points(ax, "feasible:main")
    crosses = _points(ax, "infeasible")
    assert crosses[:, 1].min() > feasible[:, 1].max()


def test_axis_plot_categorical_is_a_jittered_strip():
    study = _study()
    ax = plot_axis(study, "optimizer")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["adam", "sgd", "nadam"]
    points = np.concatenate([_points(ax, "feasible:main"), _points(ax, "infeasible")])
    assert len(points) == len(study.trials)
    index = {"adam": 0, "sgd": 1, "nadam": 2}
    expected = np.sort([index[v] for v in study.trials["optimizer"]])
    assert np.all(np.abs(np.sort(points[:, 0]) - expected) <= JITTER + 1e-9)
    assert np.ptp(points[:, 0] - np.round(points[:, 0])) > 0     # jittered, not stacked


def test_axis_plot_overlays_studies_by_colour():
    main, other = _study(), _study(n=30, seed=3, name="other", threshold=0.1)
    ax = plot_axis([main, other], "learning_rate")
    a, b = _collections(ax, "feasible:main"), _collections(ax, "feasible:other")
    assert len(a[0].get_offsets()) == len(main.feasible)
    assert len(b[0].get_offsets()) == len(other.feasible)
    assert to_hex(a[0].get_facecolor()[0]) != to_hex(b[0].get_facecolor()[0])
    n_bad = sum(int((s.trials["status"] == "infeasible").sum()) for s in (main, other))
    assert len(_points(ax, "infeasible")) == n_bad
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("main") for t in labels) and any(t.startswith("other") for t in labels)


def test_axis_plot_rejects_unknown_hyperparameter():
    with pytest.raises(ValueError, match="name 'momentum' is not a hyperparameter"):
        plot_axis(_study(), "momentum")


def test_axis_plots_grid_one_panel_per_varied_hyperparameter():
    study = _study()
    study.trials["units"] = 64                          # fixed: not varied, no panel
    study.hyperparameters.loc[len(study.hyperparameters)] = hp("units", "integer", 64, 64,
                                                                role="fixed")
    fig = plot_axes(study)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 3
    assert titles[0].startswith("Axis plot: optimizer")       # scientific first
    assert fig.legends and fig._suptitle.get_text().startswith("Axis plots: main")
    for ax in fig.axes:
        assert len(_points(ax, "infeasible")) == 15


def test_axis_plots_without_varied_hyperparameter_says_so():
    trials = make_trials({"learning_rate": [0.01, 0.01]}, [0.5, 0.6])
    fig = plot_axes(make_study(trials, [hp("learning_rate", "log", 1e-3, 1e-1)]))
    assert "no hyperparameter varied" in fig.axes[0].texts[0].get_text()


# -------------------------------------------------------------------- isolation plots
def _isolation_study():
    """Scientific num_layers (1-3) x nuisance learning_rate, some trials rerun."""
    rng = np.random.default_rng(3)
    layers = np.repeat([1, 2, 3], 8)
    lr = 10 ** rng.uniform(-4, -1, size=24)
    objective = 0.6 + 0.05 * layers - 0.02 * (np.log10(lr) + 2.5) ** 2
    trials = make_trials({"num_layers": layers, "learning_rate": lr}, objective,
                         n_runs=[1] * 24)
    runs = []
    for i in range(24):                                   # every trial: 3 seeds
        for seed, delta in enumerate((-0.01 * (i % 3), 0.0, 0.01 * (i % 3))):
            runs.append(dict(trial_id=f"t{i:03d}", seed=seed, status="completed",
                             objective=objective[i] + delta, best_step=100,
                             final_objective=objective[i], duration_s=1.0, reason=""))
    trials["n_runs"] = 3
    specs = [hp("num_layers", "integer", 1, 3, role="scientific"),
             hp("learning_rate", "log", 1e-4, 1e-1)]
    return make_study(trials, specs, runs=pd.DataFrame(runs, columns=RUN_COLUMNS))


def test_isolation_table_best_per_discrete_value():
    study = _isolation_study()
    table = isolation_table(study, "num_layers")
    t = study.trials
    expected = t.loc[t.groupby("num_layers")["objective"].idxmax()]
    assert list(table["value"]) == [1.0, 2.0, 3.0]
    assert list(table["trial_id"]) == list(expected["trial_id"])
    assert np.allclose(table["objective"], expected["objective"])
    assert list(table["n_trials"]) == [8, 8, 8]
    for _, row in table.iterrows():                        # retrain std over the 3 runs
        i = int(row["trial_id"][1:])
        assert row["std"] == pytest.approx(np.std([-0.01 * (i % 3), 0, 0.01 * (i % 3)],
                                                  ddof=1))
        assert row["n_runs"] == 3
        # the 95% t interval of the mean of 3 runs: +- t(0.975, 2) / sqrt(3) = 2.484 std
        half = 4.302653 * row["std"] / np.sqrt(3)
        assert (row["ci_low"], row["ci_high"]) == (
            pytest.approx(row["objective"] - half), pytest.approx(row["objective"] + half))


def test_isolation_table_best_per_bucket_in_log_scale():
    study = _isolation_study()
    table = isolation_table(study, "learning_rate", buckets=3)
    assert np.allclose(table["bucket_low"], [1e-4, 1e-3, 1e-2])
    assert np.allclose(table["bucket_high"], [1e-3, 1e-2, 1e-1])
    lr, obj = study.trials["learning_rate"], study.trials["objective"]
    for _, row in table.iterrows():
        inside = (lr >= row["bucket_low"]) & (lr <= row["bucket_high"])
        best = study.trials.loc[obj[inside].idxmax()]
        assert row["trial_id"] == best["trial_id"] and row["n_trials"] == inside.sum()
        assert row["value"] == pytest.approx(best["learning_rate"])
    quantile = isolation_table(study, "learning_rate", buckets=4, bucketing="quantile")
    assert list(quantile["n_trials"]) == [6, 6, 6, 6]
    explicit = isolation_table(study, "learning_rate", buckets=[1e-4, 1e-2, 1e-1])
    assert list(explicit["bucket"]) == ["[0.0001, 0.01)", "[0.01, 0.1]"]


def test_isolation_table_one_study_per_scientific_value_and_infeasible_groups():
    studies = [_study(n=20, seed=s, name=name)
               for s, name in enumerate(["adam", "sgd", "nadam"])]
    studies[2].trials["status"] = "infeasible"
    studies[2].trials["objective"] = np.nan
    table = isolation_table(studies)
    assert list(table["value"]) == ["adam", "sgd", "nadam"]
    assert list(table["bucket"]) == ["adam", "sgd", "nadam"]
    for s, (_, row) in zip(studies[:2], table.iloc[:2].iterrows()):
        best = s.best_trials(1).iloc[0]
        assert row["study"] == s.name and row["trial_id"] == best["trial_id"]
    assert np.isnan(table["objective"].iloc[2]) and pd.isna(table["trial_id"].iloc[2])
    assert table["n_trials"].iloc[2] == 20
    with pytest.raises(ValueError, match="scientific 'momentum'"):
        isolation_table(studies, "momentum")
    with pytest.raises(ValueError, match="bucketing"):
        isolation_table(studies, bucketing="kmeans")
    with pytest.raises(ValueError, match="buckets"):
        isolation_table(studies, buckets=0)


def test_isolation_plot_draws_best_points_error_bars_and_counts():
    study = _isolation_study()
    ax = plot_isolation(study, "learning_rate", buckets=3)
    assert ax.get_xscale() == "log"
    (line,) = [l for l in ax.lines if l.get_gid() == "isolation"]
    table = isolation_table(study, "learning_rate", buckets=3)
    assert len(line.get_xdata()) == len(table)
    assert np.allclose(np.sort(line.get_ydata()), np.sort(table["objective"]))
    (bars,) = [c for c in ax.containers
               if c.get_label() == "95% t interval of the best trial's mean over its runs"]
    segments = bars.lines[2][0].get_segments()
    assert len(segments) == len(table)                            # one bar per point
    ends = sorted((float(seg[0][1]), float(seg[1][1])) for seg in segments)
    assert np.allclose(ends, sorted(zip(table["ci_low"], table["ci_high"])))
    assert ax.get_ylim()[0] <= table["ci_low"].min() and ax.get_ylim()[1] >= \
        table["ci_high"].max()
    counts = [t.get_text() for t in ax.texts if t.get_gid() == "n_trials"]
    assert sorted(counts) == sorted(f"n={n}" for n in table["n_trials"])
    assert ax.get_title().startswith("Isolation plot: learning_rate")


def test_isolation_plot_marks_all_infeasible_groups():
    studies = [_study(n=20, seed=s, name=name) for s, name in enumerate(["adam", "sgd"])]
    studies[1].trials["status"] = "infeasible"
    ax = plot_isolation(studies)
    assert len(_points(ax, "infeasible")) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["adam", "sgd"]


# -------------------------------------------------------------------- training curves
KINDS = {"over": "overfit", "sat": "saturate", "imp": "improving", "early": "early",
         "late": "late", "diverged": "saturate"}


def test_plot_curves_highlights_the_best_trials_and_marks_best_steps():
    study = curves_study(KINDS, infeasible=("diverged",))
    fig = plot_curves(study, metric="accuracy", top_k=2)
    train, validation = fig.axes[:2]
    assert validation.get_title() == "validation accuracy"
    top = [str(t) for t in study.best_trials(2)["trial_id"]]
    assert len(validation.lines) == 5        # the diverged trial has no validation curve
    assert len(train.lines) == 6
    assert sorted(l.get_gid() for l in validation.lines if l.get_gid().startswith("top:")) \
        == sorted(f"top:{t}" for t in top)
    for tid in top:
        (marker,) = _collections(validation, f"best_step:{tid}")
        step = study.trials.set_index("trial_id").loc[tid, "best_step"]
        assert marker.get_offsets()[0, 0] == step
    assert validation.get_xlim() == (0, 1000)
    with pytest.raises(ValueError, match="metric 'f1'"):
        plot_curves(study, metric="f1")
    with pytest.raises(ValueError, match="top_k"):
        plot_curves(study, top_k=-1)


def test_plot_curves_without_curves_says_so():
    fig = plot_curves(_study())
    assert "no training curves" in fig.axes[0].texts[0].get_text()


def test_plot_trial_panels_and_best_step():
    study = curves_study(KINDS, infeasible=("diverged",), optimizer=True, seeds=2)
    fig = plot_trial(study, "over")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy", "learning rate", "grad norm"]
    for ax in fig.axes:
        (line,) = [l for l in ax.lines if l.get_gid() == "best_step"]
        assert line.get_xdata()[0] == 400
    loss = fig.axes[0]
    assert {l.get_gid() for l in loss.lines} >= {"train:loss", "validation:loss"}
    assert "Trial over" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="trial_id 'nope'"):
        plot_trial(study, "nope")
    diverged = plot_trial(study, "diverged")                # train curves only, no best step
    assert "infeasible" in diverged._suptitle.get_text()


# -------------------------------------------------------------------------- best-of-n
def test_plot_best_of_n_one_box_per_budget():
    study = _study()
    ax = plot_best_of_n(study, budgets=[1, 5, 20, 40], n_boot=200)
    assert len(ax.patches) == 4
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["1", "5", "20", "40"]
    (best,) = [l for l in ax.lines if l.get_gid() == "study_best"]
    assert best.get_ydata()[0] == pytest.approx(study.feasible["objective"].max())


# ---------------------------------------------------------------------------- best so far
def _best_so_far_study(direction="max"):
    objective = [0.5, 0.0, 0.7, 0.6, 0.9]
    status = ["completed", "infeasible", "completed", "completed", "completed"]
    trials = make_trials({"learning_rate": [1e-3, 1e-2, 3e-3, 1e-1, 2e-2]}, objective, status)
    trials["trial_id"] = ["0", "1", "2", "3", "4"]
    if direction == "min":
        trials["objective"] = -trials["objective"]
    return make_study(trials, [hp("learning_rate", "log", 1e-3, 1e-1)], direction=direction,
                      objective="val_accuracy" if direction == "max" else "val_loss")


def test_plot_best_so_far_known_answer_both_directions():
    ax = plot_best_so_far(_best_so_far_study())
    (line,) = [l for l in ax.lines if l.get_gid() == "best_so_far"]
    assert list(line.get_xdata()) == [1, 2, 3, 4, 5]
    assert list(line.get_ydata()) == [0.5, 0.5, 0.7, 0.7, 0.9]   # infeasible finds nothing
    ax = plot_best_so_far([_best_so_far_study("min")])
    (line,) = [l for l in ax.lines if l.get_gid() == "best_so_far"]
    assert list(line.get_ydata()) == [-0.5, -0.5, -0.7, -0.7, -0.9]
    assert ax.get_ylabel() == "best val_loss so far \u2193"
    with pytest.raises(ValueError, match="^direction='up' is not allowed; use 'max' when"):
        draw_best_so_far(ax, [1, 2], [0.5, 0.6], "up")


# ------------------------------------------------------------------------ one plot API
def _single_panel_plots():
    """name -> (plot, arguments) of every single-panel plot."""
    study = _study()
    return {"plot_axis": (plot_axis, (study, "learning_rate")),
            "plot_isolation": (plot_isolation, (_isolation_study(), "num_layers")),
            "plot_best_of_n": (plot_best_of_n, (study,)),
            "plot_best_so_far": (plot_best_so_far, ([study],))}


def _multi_panel_plots():
    study = curves_study(KINDS, infeasible=("diverged",))
    return {"plot_axes": (plot_axes, (_study(),)),
            "plot_curves": (plot_curves, (study,)),
            "plot_trial": (plot_trial, (study, "over"))}


def test_single_panel_plots_return_their_axes_and_draw_into_a_given_one():
    plots = _single_panel_plots()
    assert sorted(plots) == ["plot_axis", "plot_best_of_n", "plot_best_so_far",
                             "plot_isolation"]
    for name, (plot, args) in plots.items():
        own = plot(*args)
        assert isinstance(own, Axes), name
        assert isinstance(own.figure.get_layout_engine(), ConstrainedLayoutEngine), name
        _, given = plt.subplots(1, 2, layout="constrained")
        assert plot(*args, ax=given[1]) is given[1], name
        assert given[1].has_data() and not given[0].has_data(), name


def test_multi_panel_plots_return_their_figure_with_constrained_layout():
    plots = _multi_panel_plots()
    assert sorted(plots) == ["plot_axes", "plot_curves", "plot_trial"]
    for name, (plot, args) in plots.items():
        fig = plot(*args)
        assert isinstance(fig, Figure) and len(fig.axes) >= 2, name
        assert isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine), name


def test_the_old_plot_names_are_gone():
    """0.1.0's deprecated aliases (axis_plot, axis_plots, isolation_plot) had no users:
    one name per plot, plot_*."""
    import playbook_kit.insight as insight

    for old in ("axis_plot", "axis_plots", "isolation_plot"):
        assert old not in pk._EXPORTS and not hasattr(insight, old), old
        with pytest.raises(AttributeError):
            getattr(pk, old)


# ------------------------------------------------------------------------------ style
def test_apply_style_sets_theme_and_validates():
    apply_style(context="talk")
    assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["savefig.bbox"] == "tight"
    apply_style()
    assert len({to_hex(c) for c in study_colors(4)}) == 4
    with pytest.raises(ValueError, match="context"):
        apply_style(context="huge")
    with pytest.raises(ValueError, match="font_scale"):
        apply_style(font_scale=0)
