
import matplotlib.pyplot as plt
import numpy as np
import pytest

from insight_fixtures import curves_study  # noqa: E402


@pytest.fixture(scope="module")
def free_run(pk, digits_workload):
    return pk.train_trial(digits_workload, {}, max_train_steps=30, eval_every=1)


@pytest.fixture(scope="module")
def stored(pk, digits_workload, tmp_path_factory):
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 3.0e-2, scale="log")
    return pk.run_study(digits_workload, space, max_trials=2, max_train_steps=20, eval_every=1,
                        directory=tmp_path_factory.mktemp("studies"), name="clip",
                        progress=False)


def test_threshold_is_the_90th_percentile_of_the_recorded_norms(pk, free_run, tmp_path):
    norms = free_run.curve("optimizer", "grad_norm_mean").to_numpy()
    result = pk.clipping_threshold(free_run)
    assert result.recommended_clip_norm == np.percentile(norms, 90)
    assert result.table["grad_norm"].tolist() == norms.tolist()
    assert result.numbers["n_norms"] == 30 and result.numbers["clipped_fraction"] == 0.0
    assert result.warnings == []
    assert result.recommendation.startswith(
        f"Use clip_norm={np.percentile(norms, 90):.4g}: the 90th percentile of the 30 "
        "gradient norms recorded for trial")
    figure = result.plot().figure
    assert [ax.get_xlabel() for ax in figure.axes] == ["step", "global gradient norm"]
    _, given = plt.subplots()
    assert result.plot(ax=given) is given and len(given.figure.axes) == 1, \
        "given an Axes, the first panel is drawn there"
    plt.close("all")
    assert pk.clipping_threshold(free_run, percentile=50).recommended_clip_norm == \
        np.percentile(norms, 50)
    journal = pk.Journal(tmp_path)
    result.to_journal(journal)
    assert journal.rounds[0]["decision"]["details"]["recommended_clip_norm"] == \
        pytest.approx(np.percentile(norms, 90))


def test_a_run_clipped_on_most_updates_gets_the_lower_the_learning_rate_warning(
        pk, digits_workload, free_run):
    low = float(np.percentile(free_run.curve("optimizer", "grad_norm_mean"), 10))
    clipped = pk.train_trial(digits_workload, {"clip_norm": low}, max_train_steps=30,
                             eval_every=1)
    norms = clipped.curve("optimizer", "grad_norm_mean").to_numpy()
    result = pk.clipping_threshold(clipped)
    fraction = float(np.mean(norms > low))
    assert fraction > 0.5
    assert result.numbers["clipped_fraction"] == pytest.approx(fraction)
    assert result.warnings == [
        f"this run clipped {fraction:.0%} of its updates (clip_norm={low}): more than half "
        "is too aggressive; lower the learning rate instead of clipping harder"]


def test_stored_study_uses_the_best_trial_or_the_one_named(pk, stored):
    curves = stored.curves
    for trial_id in (None, stored.trials["trial_id"].iloc[-1]):
        chosen = trial_id if trial_id is not None else stored.best_trials(1)["trial_id"].iloc[0]
        norms = curves[(curves["trial_id"] == chosen) & (curves["metric"] == "grad_norm_mean")]
        result = pk.clipping_threshold(stored.path, trial_id)
        assert result.recommended_clip_norm == np.percentile(norms["value"], 90)
        assert f"trial {chosen} of study 'clip'" in result.recommendation
    with pytest.raises(ValueError, match="trial_id='99' is not a trial of study 'clip'"):
        pk.clipping_threshold(stored, "99")


def test_a_study_without_gradient_norms_is_a_clear_error(pk):
    study = curves_study({"a": "saturate", "b": "overfit"}, name="plain")
    with pytest.raises(ValueError, match="study 'plain' has no recorded gradient norms"):
        pk.clipping_threshold(study)
    with_norms = curves_study({"a": "saturate"}, name="coarse", optimizer=True)
    result = pk.clipping_threshold(with_norms, "a")
    assert result.warnings[-1].startswith("norms were recorded as means over")


def test_bad_arguments(pk, free_run):
    with pytest.raises(ValueError, match="percentile=0 is not allowed; use a number in"):
        pk.clipping_threshold(free_run, percentile=0)
    with pytest.raises(ValueError, match="^trial_id='1' is not allowed; give trial_id only "
                                         "with a study, not with a TrialResult$"):
        pk.clipping_threshold(free_run, "1")
    with pytest.raises(ValueError, match="study=3 is not allowed"):
        pk.clipping_threshold(3)
