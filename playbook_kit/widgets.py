"""Front end: notebook widgets for browsing a study (optional; every result they show is
also available as a static figure, so notebooks run headless)."""
from __future__ import annotations

from .results import StudyResults


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
    (:func:`playbook_kit.insight.plot_trial`)."""
    import ipywidgets as widgets
    from IPython.display import display

    from .insight import plot_trial

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
