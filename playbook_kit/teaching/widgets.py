"""Front end: notebook widgets for browsing a study and for teaching (optional; every
result they show is also available as a static figure, so notebooks run headless).

* :func:`trial_browser`: a study's trials, best first, and the chosen trial's curves.
* :func:`search_space_explorer`: quasi-random against random points of a range and scale,
  with their coverage (:func:`coverage_table`).
* :func:`isolation_explorer`: the isolation plot over a chosen scientific hyperparameter.

Each widget takes ``interactive=False`` (or has a ``plot_*`` twin) that returns the same
view as a Figure; the numbers behind the views are plain functions, testable without
ipywidgets.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.validation import check_choice, check_int, check_seed
from ..results.study_results import StudyResults


def _ipywidgets():
    """ipywidgets and IPython's ``display``, or an error that says which extra installs
    them (the core package runs without them)."""
    try:
        import ipywidgets
        from IPython.display import display
    except ModuleNotFoundError as missing:
        from .notebooks import NOTEBOOKS_EXTRA

        raise ModuleNotFoundError(f"the widgets need {missing.name}, which is not "
                                  f"installed: {NOTEBOOKS_EXTRA}", name=missing.name) from None
    return ipywidgets, display


def trial_options(study: StudyResults) -> list[tuple[str, str]]:
    """Dropdown entries ``(label, trial_id)``: feasible trials best first, then the rest."""
    ranked = study.best_trials(k=None)
    others = study.trials[~study.trials["trial_id"].isin(ranked["trial_id"])]
    options = [(f"trial {row.trial_id}: {study.objective} {row.objective:.4f}", str(row.trial_id))
               for row in ranked.itertuples()]
    options += [(f"trial {row.trial_id}: {row.status}", str(row.trial_id))
                for row in others.itertuples()]
    return options


def trial_browser(study: StudyResults):
    """A dropdown of the study's trials (best first) above that trial's curves
    (:func:`playbook_kit.insight.plot_trial`).

    Args:
        study: a study's results.

    Returns:
        None: the widget is displayed in the notebook.

    Raises:
        ValueError: the study has no trials.
        ModuleNotFoundError: ipywidgets is not installed (the notebooks extra).

    Example::

        pk.trial_browser(study)      # in JupyterLab, with a live kernel
    """
    widgets, display = _ipywidgets()

    from ..insight import plot_trial

    options = trial_options(study)
    if not options:
        raise ValueError(f"study {study.name!r} has no trials to browse")
    choice = widgets.Dropdown(options=options, description="trial",
                              layout=widgets.Layout(width="28em"))
    output = widgets.Output()

    def show(change=None):
        output.clear_output(wait=True)
        with output:
            display(plot_trial(study, choice.value))

    choice.observe(show, names="value")
    show()
    return widgets.VBox([choice, output])


# ------------------------------------------------------------- search-space explorer
EXPLORER_SCALES = ("linear", "log")
"""Scales the search-space explorer offers: the two a continuous range takes."""
GENERATORS = ("quasi_random", "random")
"""The point generators compared, as :mod:`playbook_kit.search.points` names them."""
EXPLORER_MAX_POINTS = 200
"""Most points the explorer draws (toolkit's limit, to keep a redraw instant)."""


def largest_gap(unit_values) -> float:
    """The largest stretch of [0, 1] with no point in it, ends included: the part of a
    range (on its own scale) that the trials left unexplored."""
    edges = np.concatenate([[0.0], np.sort(np.asarray(unit_values, dtype=float)), [1.0]])
    return float(np.max(np.diff(edges)))


def explorer_space(name: str = "learning_rate", low: float = 1.0e-4, high: float = 1.0e-1,
                   scale: str = "log"):
    """The one-hyperparameter space the explorer samples (validated by SearchSpace)."""
    from ..search.space import SearchSpace

    check_choice("scale", scale, EXPLORER_SCALES, where="search_space_explorer")
    return SearchSpace().nuisance(name, low, high, scale=scale)


def _check_points(n, seed, where):
    return (check_int("n", n, minimum=2, maximum=EXPLORER_MAX_POINTS, where=where),
            check_seed("seed", seed, where=where))


def sample_points(space, n: int = 12, seed: int = 0) -> pd.DataFrame:
    """The first ``n`` trials of each generator in ``space``: one row per (generator,
    trial) with the config's values and ``unit_<name>``, its position on the
    hyperparameter's own scale (0 = low end, 1 = high end)."""
    from ..search.points import quasi_random_points, random_points

    n, seed = _check_points(n, seed, "sample_points")
    if not space.varied:
        raise ValueError("sample_points: the space varies no hyperparameter; there is "
                         "nothing to cover")
    rows = []
    for generator, draw in zip(GENERATORS, (quasi_random_points, random_points)):
        for trial, config in enumerate(draw(space, n, seed=seed)):
            unit = space.unit_from_config(config)
            rows.append({"generator": generator, "trial": trial,
                         **{name: config[name] for name in space.varied},
                         **{f"unit_{name}": u for name, u in zip(space.varied, unit)}})
    return pd.DataFrame(rows)


def coverage_table(space, n: int = 12, seed: int = 0) -> pd.DataFrame:
    """How evenly each generator's first ``n`` trials cover ``space``, one row per
    generator: ``discrepancy`` (scipy's centered L2 discrepancy of the unit-cube points;
    lower is more even) and ``largest_gap`` (the largest unexplored share of any varied
    hyperparameter's range, on its own scale; lower is better).

    Args:
        space: a :class:`SearchSpace` with a varied hyperparameter.
        n: trials of each generator, from 2 to 200.
        seed: seeds the generators.

    Returns:
        pandas.DataFrame: indexed by ``generator``: ``points``, ``discrepancy``,
        ``largest_gap``.

    Raises:
        ValueError: the space varies no hyperparameter, or ``n`` / ``seed`` not allowed.

    Example::

        pk.coverage_table(pk.adam_space(12), n=12)
    """
    from scipy.stats import qmc

    points = sample_points(space, n, seed)
    units = [f"unit_{name}" for name in space.varied]
    rows = []
    for generator in GENERATORS:
        unit = points.loc[points["generator"] == generator, units].to_numpy(dtype=float)
        rows.append({"generator": generator, "points": len(unit),
                     "discrepancy": float(qmc.discrepancy(unit, method="CD")),
                     "largest_gap": max(largest_gap(unit[:, i]) for i in range(len(units)))})
    return pd.DataFrame(rows).set_index("generator")


def plot_search_space_samples(space, n: int = 12, seed: int = 0):
    """Quasi-random against random trials of a space's first varied hyperparameter: each
    panel shows trial number against value (on the hyperparameter's scale), the largest
    gap shaded and the coverage numbers of :func:`coverage_table` in its title.

    Args:
        space: a :class:`SearchSpace` with a varied hyperparameter.
        n: trials of each generator, from 2 to 200.
        seed: seeds the generators.

    Returns:
        matplotlib.figure.Figure: one panel per generator.

    Raises:
        ValueError: the space varies no hyperparameter, or ``n`` / ``seed`` not allowed.

    Example::

        space = pk.SearchSpace().nuisance("learning_rate", 1.0e-4, 1.0e-1, scale="log")
        pk.plot_search_space_samples(space, n=12)
    """
    from matplotlib.ticker import NullFormatter

    from ..insight._plotting import new_figure
    from ..reporting.style import BOUND_COLOR, detach, study_colors

    points = sample_points(space, n, seed)
    coverage = coverage_table(space, n, seed)
    hp = space[space.varied[0]]
    fig, axes = new_figure(1, 2, figsize=(9.5, 3.6), sharey=True)
    for ax, generator, color in zip(axes, GENERATORS, study_colors(2)):
        mine = points[points["generator"] == generator]
        values = mine[hp.name].to_numpy(dtype=float)
        ax.scatter(values, mine["trial"] + 1, color=color, zorder=3, gid="points")
        edges = np.concatenate([[0.0], np.sort(mine[f"unit_{hp.name}"]), [1.0]])
        widest = int(np.argmax(np.diff(edges)))
        ax.axvspan(hp.from_unit(edges[widest]), hp.from_unit(edges[widest + 1]),
                   color=BOUND_COLOR, alpha=0.2, gid="largest_gap")
        ax.set_xscale("log" if hp.scale == "log" else "linear")
        ax.xaxis.set_minor_formatter(NullFormatter())  # within a decade they overlap
        ax.set_xlim(hp.low, hp.high)
        row = coverage.loc[generator]  # discrepancy over every varied hyperparameter
        ax.set_title(f"{generator.replace('_', '-')}: discrepancy {row['discrepancy']:.4f}\n"
                     f"largest gap (shaded) {edges[widest + 1] - edges[widest]:.1%} of the "
                     "range")
        ax.set_xlabel(f"{hp.name} ({hp.scale} scale)")
    axes[0].set_ylabel("trial")
    fig.suptitle(f"{n} trials, seed {seed}: lower discrepancy and a smaller largest gap "
                 "mean more even coverage")
    return detach(fig)


def search_space_explorer(name: str = "learning_rate", low: float = 1.0e-4,
                          high: float = 1.0e-1, scale: str = "log", n: int = 12,
                          seed: int = 0, interactive: bool = True):
    """Pick a range, a scale and a number of trials; see quasi-random against random
    points and their coverage (playbook section 9).

    ``interactive=False`` (headless runs) returns the static figure of
    :func:`plot_search_space_samples` for the given settings; otherwise a widget whose
    controls redraw that figure and :func:`coverage_table`.

    Args:
        name: the hyperparameter's name (its label).
        low, high: its range.
        scale: ``"linear"``, ``"log"`` or ``"integer"``.
        n: trials of each generator, from 2 to 200.
        seed: seeds the random generator (and the scrambled quasi-random one).
        interactive: a widget; False returns the static figure.

    Returns:
        matplotlib.figure.Figure | None: the figure when ``interactive=False``; else the
        widget is displayed and None returned.

    Raises:
        ValueError: a range, scale, ``n`` or ``seed`` not allowed, naming it.
        ModuleNotFoundError: ipywidgets is missing, with ``interactive=True``.

    Example::

        pk.search_space_explorer("learning_rate", 1.0e-4, 1.0e-1, scale="log", n=12,
                                 interactive=False)
    """
    where = "search_space_explorer"
    space = explorer_space(name, low, high, scale)
    n, seed = _check_points(n, seed, where)
    if not interactive:
        return plot_search_space_samples(space, n, seed)
    widgets, display = _ipywidgets()

    controls = {"low": widgets.FloatText(value=low, description="low"),
                "high": widgets.FloatText(value=high, description="high"),
                "scale": widgets.Dropdown(options=EXPLORER_SCALES, value=scale,
                                          description="scale"),
                "n": widgets.IntSlider(value=n, min=2, max=EXPLORER_MAX_POINTS,
                                       description="trials"),
                "seed": widgets.IntText(value=seed, description="seed")}
    output = widgets.Output()

    def show(change=None):
        output.clear_output(wait=True)
        with output:
            try:
                chosen = explorer_space(name, controls["low"].value, controls["high"].value,
                                        controls["scale"].value)
                display(plot_search_space_samples(chosen, controls["n"].value,
                                                  controls["seed"].value))
                display(coverage_table(chosen, controls["n"].value, controls["seed"].value))
            except ValueError as error:
                print(error)

    for control in controls.values():
        control.observe(show, names="value")
    show()
    return widgets.VBox([widgets.HBox([controls["low"], controls["high"], controls["scale"]]),
                         widgets.HBox([controls["n"], controls["seed"]]), output])


# ----------------------------------------------------------------- isolation explorer
def isolation_choices(study: StudyResults) -> list[str]:
    """Hyperparameters an isolation plot can be drawn over: the study's varied ones with
    a trials column, scientific first (the question of the round), then the rest."""
    table = study.hyperparameters
    varied = table[(table["role"] != "fixed") & table["name"].isin(study.trials.columns)]
    ordered = pd.concat([varied[varied["role"] == "scientific"],
                         varied[varied["role"] != "scientific"]])
    return list(ordered["name"])


def isolation_explorer(study: StudyResults, scientific: str | None = None, buckets: int = 5,
                       interactive: bool = True):
    """Choose the scientific hyperparameter; see the best trial per value (or bucket)
    after optimizing the others away, with the 95% t interval of the best trial's mean
    where it has several runs (:func:`playbook_kit.insight.plot_isolation`).

    ``scientific`` defaults to the study's first scientific hyperparameter.
    ``interactive=False`` (headless runs) returns that isolation plot's Figure;
    otherwise a widget (hyperparameter, buckets) above the plot and the table.

    Args:
        study: a study's results.
        scientific: the hyperparameter to isolate; None: the first scientific one.
        buckets: buckets of a numeric hyperparameter, from 1 to 20.
        interactive: a widget; False returns the static figure.

    Returns:
        matplotlib.figure.Figure | None: the figure when ``interactive=False``; else the
        widget is displayed and None returned.

    Raises:
        ValueError: the study varies no hyperparameter, or ``scientific`` / ``buckets``
            not allowed.
        ModuleNotFoundError: ipywidgets is missing, with ``interactive=True``.

    Example::

        pk.isolation_explorer(study, "depth", interactive=False)
    """
    from ..insight import isolation_table, plot_isolation
    from ..insight._plotting import new_figure
    from ..reporting.style import detach

    choices = isolation_choices(study)
    if not choices:
        raise ValueError(f"study {study.name!r} varies no hyperparameter; an isolation "
                         "plot needs one")
    scientific = choices[0] if scientific is None else check_choice(
        "scientific", scientific, choices, where="isolation_explorer")
    buckets = check_int("buckets", buckets, minimum=1, maximum=20, where="isolation_explorer")

    def figure(name, n_buckets):
        fig, ax = new_figure(figsize=(6.2, 4.2))
        plot_isolation(study, name, n_buckets, ax=ax)
        return detach(fig)

    if not interactive:
        return figure(scientific, buckets)
    widgets, display = _ipywidgets()

    choice = widgets.Dropdown(options=choices, value=scientific, description="scientific")
    bucket_slider = widgets.IntSlider(value=buckets, min=1, max=20, description="buckets")
    output = widgets.Output()

    def show(change=None):
        output.clear_output(wait=True)
        with output:
            display(figure(choice.value, bucket_slider.value))
            display(isolation_table(study, choice.value, buckets=bucket_slider.value)[
                ["bucket", "objective", "std", "n_runs", "ci_low", "ci_high", "trial_id",
                 "n_trials"]])

    choice.observe(show, names="value")
    bucket_slider.observe(show, names="value")
    show()
    return widgets.VBox([widgets.HBox([choice, bucket_slider]), output])
