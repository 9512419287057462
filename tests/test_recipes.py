import re

import numpy as np
import pytest


@pytest.fixture(scope="module")
def explored(pk, digits_workload, tmp_path_factory):
    space = (pk.SearchSpace().scientific("depth", values=[1, 2])
             .nuisance("learning_rate", 1.0e-3, 3.0e-2, scale="log"))
    directory = tmp_path_factory.mktemp("studies")
    return pk.run_study(digits_workload, space, max_trials=4, max_train_steps=40, eval_every=20,
                        directory=directory, name="explore", progress=False)


def test_retrain_reruns_a_stored_trial_with_new_seeds(pk, explored):
    trial_id = explored.best_trials(1)["trial_id"].iloc[0]
    runs = pk.retrain(explored, trial_id, seeds=3, progress=False)
    values = pk.runs_from_study(runs, runs.trials["trial_id"][0])
    assert len(values) == 3 and len(set(runs.runs["seed"])) == 3
    assert explored.trials.loc[explored.trials["trial_id"] == trial_id, "seed"].iloc[0] \
        not in set(runs.runs["seed"])
    stored = runs.trials.iloc[0]
    original = explored.trials[explored.trials["trial_id"] == trial_id].iloc[0]
    assert stored["depth"] == original["depth"]
    assert stored["learning_rate"] == pytest.approx(original["learning_rate"])
    assert stored["objective"] == pytest.approx(values.mean())
    summary = pk.retrain_summary(values)
    assert (summary.n, summary.min, summary.max) == (3, values.min(), values.max())
    assert summary.mean == pytest.approx(values.mean())
    with pytest.raises(ValueError, match="seeds=1"):
        pk.retrain(explored, trial_id, seeds=1)
    with pytest.raises(ValueError, match="trial_id='99'"):
        pk.retrain(explored, "99", seeds=2)


def test_final_evaluation_is_the_only_reader_of_the_test_split(pk, explored, tmp_path):
    from playbook_kit.search.study import StudySpec

    spec_reads = []
    original = StudySpec.workload

    def counting(self):
        workload = original(self)
        spec_reads.append(workload.dataset)
        return workload

    StudySpec.workload = counting
    try:
        trial_id = explored.best_trials(1)["trial_id"].iloc[0]
        journal = pk.Journal(tmp_path / "journal.yaml")
        result = pk.final_evaluation(explored, trial_id, journal=journal)
    finally:
        StudySpec.workload = original
    assert [d.test_reads for d in spec_reads] == [1]
    metrics = result["metrics"]
    assert metrics["test_examples"] == 360 and 0 < metrics["test_accuracy"] <= 1
    assert metrics["val_accuracy"] == pytest.approx(
        explored.trials.set_index("trial_id").loc[trial_id, "objective"])
    assert journal.final_evaluations[-1]["metrics"]["test_accuracy"] == pytest.approx(
        metrics["test_accuracy"])


def test_refined_space_contains_the_good_region_and_pins_fixed_values(pk, explored):
    refined = pk.refined_space(explored, explored.space, fixed={"depth": 2})
    frame = refined.to_frame().set_index("name")
    assert frame.loc["depth", "role"] == "fixed"
    good = explored.feasible.sort_values("objective", ascending=False).head(1)
    lr = good["learning_rate"].iloc[0]
    assert frame.loc["learning_rate", "low"] <= lr <= frame.loc["learning_rate", "high"]
    assert frame.loc["learning_rate", "low"] >= 1.0e-3 and frame.loc["learning_rate", "high"] <= 3.0e-2
    with pytest.raises(ValueError, match="'width'"):
        pk.refined_space(explored, explored.space, fixed={"width": 3})


def test_best_so_far_is_monotone_per_study(pk, explored):
    ax = pk.plot_best_so_far([explored])
    (line,) = ax.lines
    y = np.asarray(line.get_ydata(), dtype=float)
    y = y[~np.isnan(y)]
    assert np.all(np.diff(y) >= 0) and y[-1] == pytest.approx(explored.trials["objective"].max())


def test_best_trial_picks_across_studies_with_a_filter(pk, explored):
    study, row = pk.best_trial([explored])
    assert study is explored and row["objective"] == explored.trials["objective"].max()
    depth_one = explored.feasible[explored.feasible["depth"] == 1]
    assert sorted(depth_one["trial_id"]) == ["0", "3"]
    _, row = pk.best_trial([explored], where={"depth": 1})
    assert row["objective"] == depth_one["objective"].max()
    assert row["objective"] < explored.trials["objective"].max()  # the filter mattered
    with pytest.raises(ValueError, match="no feasible trial"):
        pk.best_trial([explored], where={"depth": 7})


def test_final_evaluation_refuses_an_infeasible_trial_and_a_missing_checkpoint(
        pk, digits_workload, tmp_path):
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e4, scale="log").fixed(
        "optimizer", "sgd")
    study = pk.run_study(digits_workload, space, max_trials=2, max_train_steps=20,
                         eval_every=10, directory=tmp_path, name="mixed", algorithm="list",
                         configs=[{"learning_rate": 1.0e-2}, {"learning_rate": 1.0e4}],
                         progress=False)
    assert list(study.trials["status"]) == ["completed", "infeasible"]
    journal = pk.Journal(tmp_path / "journal.yaml")
    before = digits_workload.dataset.test_reads
    with pytest.raises(ValueError, match=r"^trial '1' is infeasible: it has no best checkpoint$"):
        pk.final_evaluation(study, "1", journal=journal, workload=digits_workload)
    from playbook_kit.search.study import read_trial_record

    record = read_trial_record(tmp_path / "mixed" / "trial_0")
    run = record["runs"][0]
    best = tmp_path / "mixed" / "trial_0" / run["checkpoints"][f"step-{run['best_step']}"]
    best.unlink()
    with pytest.raises(ValueError, match=(
            rf"^trial '0': best checkpoint {re.escape(repr(str(best)))} is missing$")):
        pk.final_evaluation(study, "0", journal=journal, workload=digits_workload)
    assert digits_workload.dataset.test_reads == before
    assert journal.final_evaluations == [] and not journal.path.exists()
