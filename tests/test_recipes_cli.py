import numpy as np
import pandas as pd
import pytest
import yaml


@pytest.fixture(scope="module")
def study_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spec")
    path = folder / "tiny.study.yaml"
    path.write_text(yaml.safe_dump({
        "name": "tiny", "data": {"name": "digits"}, "defaults": {"width": 16},
        "space": {"learning_rate": {"role": "nuisance", "low": 1.0e-3, "high": 1.0e-2,
                                    "scale": "log"}},
        "max_trials": 2, "max_train_steps": 20, "eval_every": 1}))
    return path


def test_batch_size_writes_table_and_figure_beside_the_study_file(pk, study_file, capsys):
    from playbook_kit.cli import main

    code = main(["batch-size", str(study_file), "--batch-sizes", "16,32", "--steps", "3",
                 "--warmup-steps", "1", "--repeats", "1", "--no-progress", "-s", "width=8"])
    assert code == 0
    table = pd.read_csv(study_file.parent / "batch_size_scan.csv")
    assert table["batch_size"].tolist() == [16, 32]
    assert table["status"].tolist() == ["measured", "measured"]
    assert (study_file.parent / "batch_size_scan.png").read_bytes().startswith(b"\x89PNG")
    assert "Use batch_size=" in capsys.readouterr().out


def test_batch_size_bad_list_fails_naming_the_argument(pk, study_file, tmp_path, capsys):
    from playbook_kit.cli import main

    code = main(["batch-size", str(study_file), "--batch-sizes", "16,48", "--output",
                 str(tmp_path)])
    assert code == 2
    assert ("batch_sizes=[16, 48] is not allowed; use consecutive powers of two such as "
            "[16, 32, 64] (48 is not a power of two)") in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_clip_norm_reads_a_stored_study(pk, study_file, tmp_path, capsys):
    from playbook_kit.cli import main

    assert main(["study", str(study_file), "--directory", str(tmp_path), "--no-progress"]) == 0
    study = pk.load_study(tmp_path / "tiny")
    best = study.best_trials(1)["trial_id"].iloc[0]
    norms = study.curves[(study.curves["trial_id"] == best)
                         & (study.curves["metric"] == "grad_norm_mean")]["value"]
    out = tmp_path / "clip"
    assert main(["clip-norm", str(tmp_path / "tiny"), "--output", str(out)]) == 0
    table = pd.read_csv(out / "clip_norm.csv")
    assert table["grad_norm"].to_numpy() == pytest.approx(norms.to_numpy())
    assert (out / "clip_norm.png").exists()
    assert f"Use clip_norm={np.percentile(norms, 90):.4g}" in capsys.readouterr().out
    assert main(["clip-norm", str(tmp_path / "tiny"), "--percentile", "150"]) == 2
    assert "percentile=150.0 is not allowed" in capsys.readouterr().err


def test_batch_size_from_a_stored_study_directory_writes_into_it(pk, study_file, tmp_path,
                                                                 capsys):
    from playbook_kit.cli import main

    assert main(["study", str(study_file), "--directory", str(tmp_path), "--no-progress",
                 "--max-trials", "1"]) == 0
    code = main(["batch-size", str(tmp_path / "tiny"), "--batch-sizes", "16,32", "--steps",
                 "2", "--warmup-steps", "1", "--repeats", "1", "--no-progress"])
    assert code == 0
    assert pd.read_csv(tmp_path / "tiny" / "batch_size_scan.csv")["batch_size"].tolist() == [
        16, 32]
    assert main(["batch-size", str(tmp_path)]) == 2
    assert "has no playbook_study.json" in capsys.readouterr().err


@pytest.fixture()
def fake_pipeline_timing(monkeypatch):
    """Compute only 10 ms a step, training 25 ms, the pipeline alone 20 ms a batch: an
    input-bound study whose pipeline itself is slower than compute."""
    from playbook_kit.recipes import input_pipeline as module

    calls = {}

    def time_training(workload, config, interleaved, last, steps, warmup_steps, repeats,
                      seed):
        calls.update(batch_size=config["batch_size"], warmup_steps=warmup_steps,
                     datasets=list(interleaved) + list(last))
        return {"compute only": 0.010, "training": 0.025}

    monkeypatch.setattr(module, "_time_training", time_training)
    monkeypatch.setattr(module, "_time_iteration", lambda *args: 0.020)
    return calls


def test_pipeline_check_reports_an_input_bound_study_and_the_fix(pk, study_file, tmp_path,
                                                                capsys, fake_pipeline_timing):
    from playbook_kit.cli import main
    from playbook_kit.search.study import StudySpec

    code = main(["pipeline-check", str(study_file), "--output", str(tmp_path), "-s",
                 "batch_size=128"])
    assert code == 0
    n_train = len(StudySpec.from_yaml(study_file).workload().dataset.y_train)
    assert fake_pipeline_timing == {"batch_size": 128, "datasets": ["compute only", "training"],
                                    "warmup_steps": -(-n_train // 128) + 1}
    table = pd.read_csv(tmp_path / "input_pipeline.csv")
    assert table["measurement"].tolist() == ["compute only", "pipeline alone", "training"]
    assert table["fraction_of_compute"].tolist() == pytest.approx([1.0, 0.5, 0.4])
    assert table["examples_per_s"].tolist() == pytest.approx([12800, 6400, 5120])
    assert (tmp_path / "input_pipeline.png").read_bytes().startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert ("Training is input-bound: a step takes 2.50x the compute-only step, so 60% of it "
            "waits for input. The pipeline alone delivers a batch in 20 ms against 10 ms of "
            "compute: parallelize the map") in out
    assert f"table written to {tmp_path / 'input_pipeline.csv'}" in out


def test_pipeline_check_measures_the_trainers_pipeline_beside_the_study(pk, study_file,
                                                                        capsys):
    from playbook_kit.cli import main

    code = main(["pipeline-check", str(study_file), "--steps", "2", "--warmup-steps", "2",
                 "--repeats", "1", "-s", "batch_size=32"])
    assert code == 0
    table = pd.read_csv(study_file.parent / "input_pipeline.csv")
    assert table["measurement"].tolist() == ["compute only", "pipeline alone", "training"]
    assert table["examples_per_s"].to_numpy() == pytest.approx(
        32 / table["seconds_per_step"].to_numpy())
    assert table["fraction_of_compute"][0] == 1.0
    assert "Training is " in capsys.readouterr().out


def test_pipeline_check_bad_arguments_fail_before_any_measurement(pk, study_file, tmp_path,
                                                                 capsys, fake_pipeline_timing):
    from playbook_kit.cli import main

    assert main(["pipeline-check", str(study_file), "--tolerance", "0", "--output",
                 str(tmp_path)]) == 2
    assert "tolerance=0.0 is not allowed; use a number > 0.0" in capsys.readouterr().err
    assert main(["pipeline-check", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml' is not allowed; give a study YAML file or a playbook-kit study (no " \
        "such file or directory)" in capsys.readouterr().err
    assert fake_pipeline_timing == {} and list(tmp_path.iterdir()) == []
