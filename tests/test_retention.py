"""Disk that stays bounded (issue 22): a study keeps the checkpoints of its best
``keep_checkpoints`` trials and of pinned ones, drops the others' atomically as they fall
out, says so in the audit, and final_evaluation / retrain on a dropped trial say so in
one line naming the option."""
import json
import shutil
import warnings
from pathlib import Path

import pytest
import yaml

from playbook_kit.studies import retention
from playbook_kit.studies.retention import DROPPED_FILE, KEEP_CHECKPOINTS


@pytest.fixture(scope="module")
def kept_two(pk, digits_workload, tmp_path_factory):
    """A stored study of 6 trials run with keep_checkpoints=2 (copied per test)."""
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
    folder = tmp_path_factory.mktemp("retention")
    pk.run_study(digits_workload, space, max_trials=6, max_train_steps=10, eval_every=5,
                 directory=folder, name="s", progress=False, keep_checkpoints=2)
    return folder / "s"


@pytest.fixture
def study(pk, kept_two, tmp_path):
    shutil.copytree(kept_two, tmp_path / "s")
    return pk.load_study(tmp_path / "s")


def ranked(study) -> list[str]:
    return list(study.sort_best_first(study.feasible)["trial_id"])


def test_only_the_best_trials_keep_their_checkpoints(study):
    path = Path(study.path)
    best = ranked(study)
    assert len(best) == 6
    for k, trial_id in enumerate(best):
        trial_dir = path / f"trial_{trial_id}"
        marker = retention.dropped(trial_dir)
        if k < 2:
            assert marker is None
            assert len(list((trial_dir / "checkpoints").rglob("*.weights.h5"))) == 3
        else:
            assert not (trial_dir / "checkpoints").exists()
            assert marker["keep_checkpoints"] == 2 and marker["files"] == 3
            assert marker["bytes"] > 0 and "not among the best 2" in marker["reason"]
            assert (trial_dir / "playbook.json").exists() and (trial_dir / "curves.csv").exists()
        assert not list(trial_dir.glob(".checkpoints.dropped-*"))
    assert json.loads((path / "playbook_study.json").read_text())["keep_checkpoints"] == 2
    assert study.curves["trial_id"].nunique() == 6  # the curves stay whole


def test_the_audit_reports_disk_use_and_what_was_dropped(pk, study):
    report = pk.audit(study, figures=False)
    row = report.checks.set_index("check").loc["disk use"]
    dropped = sorted(ranked(study)[2:], key=int)
    assert row["status"] == "pass"
    assert "checkpoints of 2 trial(s) (keep_checkpoints=2" in row["reason"]
    assert f"checkpoints of 4 trial(s) dropped" in row["reason"]
    assert ", ".join(dropped) in row["reason"]
    table = report.tables["disk"]
    assert sorted(table.loc[table["dropped"], "trial_id"], key=int) == dropped
    assert (table.loc[table["dropped"], "checkpoint_bytes"] == 0).all()
    assert (table.loc[table["dropped"], "dropped_bytes"] > 0).all()


def test_final_evaluation_and_retrain_of_a_dropped_trial_say_so(pk, study):
    worst = ranked(study)[-1]
    with pytest.raises(ValueError) as refused:
        pk.final_evaluation(study, worst)
    message = str(refused.value)
    assert "\n" not in message and f"trial {worst}'s checkpoints were dropped" in message
    assert "keep_checkpoints=2" in message
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        retrained = pk.retrain(study, worst, seeds=2, progress=False)
    said = [str(w.message) for w in caught if "were dropped" in str(w.message)]
    assert len(said) == 1 and "keep_checkpoints=2" in said[0] and "retraining" in said[0]
    assert list(retrained.runs["status"]) == ["completed"] * 2
    best = ranked(study)[0]
    assert pk.final_evaluation(study, best)["best_step"] in (5, 10)


def test_a_pinned_trial_keeps_its_checkpoints_when_the_study_grows(pk, digits_workload,
                                                                   study):
    """A final evaluation pins the trial it read: resumed with more trials (and
    keep_checkpoints=1), the study drops every other trial outside the best, not that one."""
    second = ranked(study)[1]
    pk.final_evaluation(study, second)
    assert retention.pins(study.path) == {second: ["final_evaluation"]}
    spec = pk.StudySpec.from_study(study).with_overrides(max_trials=8, keep_checkpoints=1)
    grown = pk.run_spec(spec, Path(study.path).parent, workload=digits_workload,
                        progress=False)
    kept = {p.parent.name[6:] for p in Path(study.path).glob("trial_*/checkpoints")}
    assert kept == {ranked(grown)[0], second}
    assert sum(retention.dropped(p) is not None
               for p in Path(study.path).glob("trial_*")) == 8 - len(kept)


def test_the_journal_and_decisions_pin_the_trials_they_refer_to(pk, study, tmp_path):
    from playbook_kit.journal import Journal, study_record

    best, second, third = ranked(study)[:3]
    study_record(study, command="playbook-kit study s.yaml")
    checkpoint = next((Path(study.path) / f"trial_{second}").rglob("*.weights.h5"))
    Journal(tmp_path / "journal.yaml").record_final_evaluation({"a": 1}, checkpoint,
                                                               {"test_accuracy": 0.5})
    pk.runs_from_study(study, third)
    assert retention.pins(study.path) == {best: ["journal"], second: ["journal"],
                                          third: ["decision"]}


def test_keep_none_keeps_every_trial_and_a_resume_applies_a_new_value(pk, digits_workload,
                                                                      tmp_path):
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
    run = dict(max_train_steps=10, eval_every=5, directory=tmp_path, name="all",
               progress=False)
    study = pk.run_study(digits_workload, space, max_trials=3, keep_checkpoints=None, **run)
    assert len(list(Path(study.path).glob("trial_*/checkpoints"))) == 3
    assert not list(Path(study.path).glob(f"trial_*/{DROPPED_FILE}"))
    study = pk.run_study(digits_workload, space, max_trials=3, keep_checkpoints=1, **run)
    assert [p.parent.name[6:] for p in Path(study.path).glob("trial_*/checkpoints")] == \
        ranked(study)[:1]


def test_the_default_and_bad_values(pk):
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
    spec = pk.StudySpec(name="s", space=space, max_trials=2, max_train_steps=10,
                        eval_every=5)
    assert spec.keep_checkpoints == KEEP_CHECKPOINTS == 5
    assert pk.StudySpec.from_dict({**spec.to_dict(), "keep_checkpoints": "all"}) \
        .keep_checkpoints is None
    for bad in (-1, 2.5, True, "some"):
        with pytest.raises(ValueError, match=rf"keep_checkpoints={bad!r} is not allowed; use "
                           r"an integer >= 0 .* or None or 'all'"):
            spec.with_overrides(keep_checkpoints=bad)
    with pytest.raises(ValueError, match="by='someone' is not allowed"):
        retention.pin_trial(".", "1", by="someone")


def test_a_study_file_and_the_command_line_set_it(tmp_path, capsys):
    from playbook_kit.cli import build_parser
    from playbook_kit.search.study import StudySpec

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({
        "name": "s", "data": {"name": "digits"}, "max_trials": 2, "max_train_steps": 10,
        "eval_every": 5, "keep_checkpoints": 3,
        "space": {"learning_rate": {"role": "nuisance", "range": [1.0e-3, 1.0e-2]}}}))
    assert StudySpec.from_yaml(path).keep_checkpoints == 3
    parser = build_parser()
    assert parser.parse_args(["study", str(path), "--keep-checkpoints", "all"]) \
        .keep_checkpoints == "all"
    assert parser.parse_args(["study", str(path), "--keep-checkpoints", "0"]) \
        .keep_checkpoints == 0
    with pytest.raises(SystemExit):
        parser.parse_args(["study", str(path), "--keep-checkpoints", "-2"])
    assert "--keep-checkpoints='-2' is not allowed; use an integer >= 0 or 'all'" in \
        capsys.readouterr().err


def test_an_interrupted_drop_is_finished_and_running_trials_are_never_touched(study):
    """A kill between the rename and the delete leaves the renamed folder: the next pass
    deletes it. A trial that keras-tuner still marks as running keeps its folder."""
    path = Path(study.path)
    best, *_, worst = ranked(study)
    leftover = path / f"trial_{worst}" / ".checkpoints.dropped-dead"
    (leftover / "seed-1").mkdir(parents=True)
    (leftover / "seed-1" / "x.weights.h5").write_bytes(b"x")
    running = path / f"trial_{best}"
    state = json.loads((running / "trial.json").read_text())
    (running / "trial.json").write_text(json.dumps({**state, "status": "RUNNING"}))
    assert retention.apply_retention(path, 0, "max") == [ranked(study)[1]]
    assert not leftover.exists()
    assert (running / "checkpoints").is_dir()


def test_a_study_stored_before_the_option_loads_and_audits(pk, tmp_path):
    """A legacy study (no keep_checkpoints in its spec, no markers) loads, and its audit
    reports every trial's checkpoints as kept."""
    legacy = Path(__file__).parent / "data" / "legacy_studies"
    shutil.copytree(legacy, tmp_path / "studies")
    study = pk.load_study(tmp_path / "studies" / "family")
    assert "keep_checkpoints" not in json.loads(
        (Path(study.path) / "playbook_study.json").read_text())
    assert pk.StudySpec.from_study(study).keep_checkpoints == KEEP_CHECKPOINTS
    row = pk.audit(study, figures=False).checks.set_index("check").loc["disk use"]
    assert row["status"] == "pass" and "checkpoints of 2 trial(s)" in row["reason"]
    assert "dropped" not in row["reason"]
