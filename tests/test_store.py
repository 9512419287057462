"""The study store: one atomic write, and damaged or foreign files reported in one line
(from Python and from the CLI) without hiding the other trials."""
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from playbook_kit.studies.store import StoreError, atomic_write

STEPS, EVAL = 20, 10
RERUN = "resume the study with its settings to rerun this trial"
RESTORE = ("restore it from a copy, or delete it and resume the study with its original "
           "settings, which writes it again")


def small_study(pk, workload, directory, **kwargs):
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
    return pk.run_study(workload, space, max_trials=3, max_train_steps=STEPS,
                        eval_every=EVAL, directory=directory, name="lr", progress=False,
                        **kwargs)


@pytest.fixture(scope="module")
def stored(pk, digits_workload, tmp_path_factory):
    """A finished three-trial study, and its trials table."""
    directory = tmp_path_factory.mktemp("stored")
    study = small_study(pk, digits_workload, directory)
    assert list(study.trials["status"]) == ["completed"] * 3
    return directory / "lr", study.trials


@pytest.fixture
def study_copy(stored, tmp_path):
    shutil.copytree(stored[0], tmp_path / "lr")
    return tmp_path / "lr"


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "data.json"
    path.write_text("old")
    path.chmod(0o640)
    with pytest.raises(RuntimeError, match="half-way"):
        with atomic_write(path) as tmp:
            tmp.write_text("new, but torn")
            raise RuntimeError("half-way")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]
    with atomic_write(path) as tmp:
        tmp.write_text("new")
    assert path.read_text() == "new" and path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.json"]


def test_truncated_trial_record_is_one_failed_row_and_hides_no_other_trial(pk, stored,
                                                                        study_copy):
    record = study_copy / "trial_1" / "playbook.json"
    record.write_text(record.read_text()[:12])
    expected = (f"{record}: is damaged: not valid JSON: Unterminated string starting at "
                f"(line 2, column 2); {RERUN}")
    with pytest.warns(UserWarning) as caught:
        study = pk.load_study(study_copy)
    assert [str(w.message) for w in caught if w.category is UserWarning] == [expected]
    assert list(study.trials["trial_id"]) == ["0", "1", "2"]
    assert list(study.trials["status"]) == ["completed", "failed", "completed"]
    assert study.trials["reason"][1] == expected
    original = stored[1].set_index("trial_id")["objective"]
    assert study.trials.set_index("trial_id")["objective"][["0", "2"]].tolist() == \
        original[["0", "2"]].tolist()
    assert sorted(study.runs["trial_id"]) == ["0", "2"]


@pytest.mark.parametrize("edit, problem", [
    (lambda r: r.pop("runs"), "is damaged: field 'runs' is missing"),
    (lambda r: r.update(status="done"),
     "is damaged: status='done' is not 'completed' or 'infeasible'"),
    (lambda r: r.update(objective="high"),
     "is damaged: field 'objective' is 'high', expected a number or null"),
    (lambda r: r["runs"][0].update(seed=1.5),
     "is damaged: field 'runs[0].seed' is 1.5, expected an integer"),
    (lambda r: r.update(objective=None),
     "is damaged: a completed trial with objective=None"),
])
def test_hand_edited_trial_record_names_the_field(pk, study_copy, edit, problem):
    path = study_copy / "trial_2" / "playbook.json"
    record = json.loads(path.read_text())
    edit(record)
    path.write_text(json.dumps(record))
    with pytest.warns(UserWarning):
        study = pk.load_study(study_copy)
    assert list(study.trials["status"]) == ["completed", "completed", "failed"]
    assert study.trials["reason"][2] == f"{path}: {problem}; {RERUN}"


@pytest.mark.parametrize("cut, problem", [
    (lambda text: text.rstrip().rsplit(",", 2)[0],
     "is damaged: a row is incomplete (truncated?)"),
    (lambda text: text.replace("\n", "\nseed", 1),
     "is damaged: a seed, step or value is not a number"),
    (lambda text: text.replace("value", "val", 1), "is damaged: column 'value' is missing"),
])
def test_damaged_curves_fail_their_trial_only(pk, study_copy, cut, problem):
    path = study_copy / "trial_0" / "curves.csv"
    path.write_text(cut(path.read_text()))
    with pytest.warns(UserWarning):
        study = pk.load_study(study_copy)
    assert list(study.trials["status"]) == ["failed", "completed", "completed"]
    assert study.trials["reason"][0] == f"{path}: {problem}; {RERUN}"
    assert sorted(set(study.curves["trial_id"])) == ["1", "2"]


def test_resume_reruns_a_damaged_trial_once_and_keeps_the_others(pk, digits_workload,
                                                                 stored, study_copy):
    record = study_copy / "trial_1" / "playbook.json"
    record.write_text("")
    untouched = {k: (study_copy / f"trial_{k}" / "playbook.json").stat().st_mtime_ns
                 for k in (0, 2)}
    with pytest.warns(UserWarning) as caught:
        study = small_study(pk, digits_workload, study_copy.parent)
    assert [str(w.message) for w in caught if w.category is UserWarning] == [
        f"{record}: is empty; {RERUN}: rerunning trial 1"]
    assert list(study.trials["trial_id"]) == ["0", "1", "2"]
    assert list(study.trials["status"]) == ["completed"] * 3
    assert study.trials["learning_rate"].tolist() == stored[1]["learning_rate"].tolist()
    assert json.loads(record.read_text())["trial_id"] == "1"
    assert {k: (study_copy / f"trial_{k}" / "playbook.json").stat().st_mtime_ns
            for k in (0, 2)} == untouched
    oracle = json.loads((study_copy / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1", "2"]


def test_damaged_study_spec_is_one_line_from_load_and_resume(pk, digits_workload,
                                                              study_copy):
    spec_path = study_copy / "playbook_study.json"
    spec = json.loads(spec_path.read_text())
    spec_path.write_text(json.dumps({**spec, "objective": "val_foo"}))
    message = (f"{spec_path}: is damaged: objective='val_foo': its direction cannot be "
               f"inferred from the name; give direction='min' or direction='max'; {RESTORE}")
    with pytest.raises(StoreError) as error:
        pk.load_study(study_copy)
    assert str(error.value) == message
    spec_path.write_text(json.dumps(spec)[:40])
    with pytest.raises(StoreError) as error:
        small_study(pk, digits_workload, study_copy.parent)
    assert str(error.value).startswith(f"{spec_path}: is damaged: not valid JSON: ")
    assert str(error.value).endswith(f"; {RESTORE}")
    assert "\n" not in str(error.value)


def test_paths_that_are_not_studies(pk, tmp_path):
    (tmp_path / "empty").mkdir()
    cases = {
        tmp_path / "empty": "is not a study directory (no oracle.json) and no study below "
                            "it; give the folder of one study",
        tmp_path / "missing": "does not exist; give the folder of a study (the one holding "
                              "oracle.json)",
    }
    for path, problem in cases.items():
        with pytest.raises(StoreError) as error:
            pk.load_study(path)
        assert str(error.value) == f"{path}: {problem}"


def test_study_yaml_with_a_syntax_error(tmp_path):
    from playbook_kit.search.study import StudySpec

    path = tmp_path / "bad.yaml"
    path.write_text("name: s\nspace: {learning_rate: {range: [1.0e-3, 1.0e-1]}\n"
                    "max_trials: 2\n")
    with pytest.raises(StoreError) as error:
        StudySpec.from_yaml(path)
    assert str(error.value) == (f"{path}: YAML syntax error at line 3 column 1: expected "
                                "',' or '}', but got '<scalar>'; fix the study file")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "playbook_kit.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_reports_each_damaged_or_foreign_file_in_one_line(stored, tmp_path):
    yaml_path = tmp_path / "bad.yaml"
    yaml_path.write_text("name: s\nmax_trials: [3\n")
    (tmp_path / "empty").mkdir()
    shutil.copytree(stored[0], tmp_path / "lr")
    spec_path = tmp_path / "lr" / "playbook_study.json"
    spec_path.write_text(spec_path.read_text()[:30])
    cases = [
        (("study", yaml_path, "--directory", tmp_path),
         f"{yaml_path}: YAML syntax error at line 3 column 1: expected ',' or ']', but got "
         "'<stream end>'; fix the study file"),
        (("audit", tmp_path / "empty"),
         f"{tmp_path / 'empty'}: is not a study directory (no oracle.json) and no study "
         "below it; give the folder of one study"),
        (("audit", tmp_path / "lr"),
         f"{spec_path}: is damaged: not valid JSON: Unterminated string starting at "
         f"(line 3, column 2); {RESTORE}"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert (result.returncode, result.stdout, result.stderr) == \
            (2, "", f"playbook-kit: error: {message}\n")


def test_cli_study_resumes_over_a_damaged_trial_record(stored, tmp_path):
    shutil.copytree(stored[0], tmp_path / "lr")
    record = tmp_path / "lr" / "trial_0" / "playbook.json"
    record.write_text("{")
    spec = json.loads((tmp_path / "lr" / "playbook_study.json").read_text())
    spec.pop("schema_version")
    (tmp_path / "lr.yaml").write_text(yaml.safe_dump(spec))
    result = cli("study", tmp_path / "lr.yaml", "--directory", tmp_path, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "study lr: 3 trials {'completed': 3}" in result.stdout
    assert f"{record}: is damaged: not valid JSON: Expecting property name enclosed in " \
        f"double quotes (line 1, column 2); {RERUN}: rerunning trial 0" in result.stderr
    assert json.loads(record.read_text())["status"] == "completed"
