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
    assert "batch_sizes=[16, 48] is not allowed: 48 is not a power of two" in \
        capsys.readouterr().err
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
