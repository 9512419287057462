"""Studies stored before the two engines and the hypermodel namespace (by playbook-kit
0.1.0 at commit 083455b, in tests/data/legacy_studies) still load, audit, resume and
evaluate: a keras-tuner hypermodel study whose stored defaults hold the compiled optimizer
(``optimizer: adam``) and whose trial records hold the families' fields, and a study of
the toolkit's own mlp family."""
import shutil
from pathlib import Path

import pytest

LEGACY = Path(__file__).parent / "data" / "legacy_studies"


@pytest.fixture
def legacy(tmp_path):
    shutil.copytree(LEGACY, tmp_path / "studies")
    return tmp_path / "studies"


@pytest.mark.parametrize("name", ["hypermodel", "family"])
def test_a_legacy_study_loads_audits_and_resumes(pk, legacy, name):
    study = pk.load_study(legacy / name)
    assert list(study.trials["status"]) == ["completed"] * 2
    assert set(study.runs["engine"]) == {"compiled"}
    report = pk.audit(study, figures=False)
    assert "2 runs on the compiled engine" in report.summary
    spec = pk.StudySpec.from_study(study)
    resumed = pk.run_spec(spec.with_overrides(max_trials=3), legacy, progress=False)
    assert list(resumed.trials["status"]) == ["completed"] * 3
    assert resumed.trials.iloc[:2]["objective"].tolist() == study.trials["objective"].tolist()


def test_a_legacy_hypermodel_trial_is_evaluated_and_retrained(pk, legacy):
    from playbook_kit.studies.store import read_trial_record

    record = read_trial_record(legacy / "hypermodel" / "trial_0")
    assert record["config"]["model"] == "mlp"  # the families' fields, stored before
    result = pk.final_evaluation(legacy / "hypermodel", "0")
    assert 0 <= result["metrics"]["test_accuracy"] <= 1
    retrained = pk.retrain(legacy / "hypermodel", "0", seeds=2, progress=False)
    assert len(retrained.runs) == 2 and set(retrained.runs["status"]) == {"completed"}
    new = read_trial_record(next((legacy / retrained.name).glob("trial_*")))
    assert "model" not in new["config"] and new["config"]["units"] == record["config"]["units"]
