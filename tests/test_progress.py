"""A study's progress bar tells the truth: a resumed study starts at the trials done."""
import io

import pytest
import tqdm.auto
import tqdm.std


@pytest.fixture
def drawn(monkeypatch):
    """Every progress bar's text as drawn, in order (a real tqdm writing to a buffer)."""
    buffers = []

    def bar(*args, **kwargs):
        kwargs.pop("disable", None)
        buffers.append(io.StringIO())
        return tqdm.std.tqdm(*args, file=buffers[-1], mininterval=0, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", bar)
    return lambda: [[s.strip() for s in b.getvalue().split("\r") if s.strip()]
                    for b in buffers]


def test_progress_of_a_resumed_study_starts_at_the_trials_done(pk, digits_workload, tmp_path,
                                                                drawn):
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
    settings = dict(max_train_steps=20, eval_every=20, directory=tmp_path, name="lr")
    first = pk.run_study(digits_workload, space, max_trials=2, progress=True, **settings)
    best = f"best={first.trials['objective'].max():.4f}"
    pk.run_study(digits_workload, space, max_trials=2, progress=True, **settings)
    pk.run_study(digits_workload, space, max_trials=3, progress=True, **settings)
    fresh, resumed, extended = drawn()
    assert fresh[0] == "lr:   0%|          | 0/2 [00:00<?, ?trial/s, best=nan, infeasible=0]"
    assert fresh[-1].startswith("lr: 100%") and f"{best}, infeasible=0]" in fresh[-1]
    assert {line.split("|")[0] for line in resumed} == {"lr: 100%"}
    assert "| 2/2 [" in resumed[0] and resumed[0].endswith(f"{best}, infeasible=0]")
    assert "| 2/3 [" in extended[0] and "| 3/3 [" in extended[-1]


def test_live_figure_of_a_resumed_study_shows_the_trials_done(pk, digits_workload, tmp_path,
                                                              monkeypatch):
    import IPython.display

    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
    settings = dict(max_train_steps=20, eval_every=20, directory=tmp_path, name="lr",
                    max_trials=2, progress=False)
    pk.run_study(digits_workload, space, **settings)
    shown = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda figure, display_id=None: shown.append(figure))
    pk.run_study(digits_workload, space, live=True, **settings)
    assert len(shown) == 1
    axes = shown[0].axes[0]
    assert axes.get_title() == "lr: 2 of 2 trials"
    assert len(axes.collections[0].get_offsets()) == 2
