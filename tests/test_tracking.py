"""A stored study exported to TensorBoard: every trial's hyperparameters and curves."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from insight_fixtures import curve_rows, hp, make_study, make_trials
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import metadata, plugin_data_pb2
from tensorboard.util import tensor_util

from playbook_kit.cli import main

STEPS, EVAL = 20, 10


def read_events(folder: Path):
    """``(scalars {tag: [(step, value)]}, hparams plugin data by tag)`` of one folder."""
    events = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.TENSORS: 0})
    events.Reload()
    scalars = {tag: [(e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
                     for e in events.Tensors(tag)]
               for tag in events.Tags()["tensors"] if not tag.startswith("_hparams_")}
    try:
        contents = events.PluginTagToContent("hparams")
    except KeyError:  # a curves folder: no HParams data
        contents = {}
    hparams = {tag: plugin_data_pb2.HParamsPluginData.FromString(content)
               for tag, content in contents.items()}
    return scalars, hparams


def session_values(hparams) -> dict:
    start = hparams[metadata.SESSION_START_INFO_TAG].session_start_info
    return {name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
            for name, value in start.hparams.items()}


@pytest.fixture(scope="module")
def study(pk, digits_workload, tmp_path_factory):
    space = (pk.SearchSpace().scientific("depth", values=[1, 2])
             .nuisance("learning_rate", 1.0e-3, 1.0e-1, scale="log")
             .fixed("activation", "relu"))
    return pk.run_study(digits_workload, space, max_trials=2, max_train_steps=STEPS,
                        eval_every=EVAL, directory=tmp_path_factory.mktemp("studies"),
                        name="depth", progress=False)


def test_our_study_exports_every_trial_hyperparameters_and_curves(pk, study, tmp_path):
    folder = pk.export_tensorboard(study, tmp_path / "logs")
    assert folder == tmp_path / "logs" / "depth"
    _, experiment = read_events(folder)
    config = experiment[metadata.EXPERIMENT_TAG].experiment
    domains = {h.name: h for h in config.hparam_infos}
    assert set(domains) == {"depth", "learning_rate", "activation"}
    assert (domains["learning_rate"].domain_interval.min_value,
            domains["learning_rate"].domain_interval.max_value) == (1.0e-3, 1.0e-1)
    assert [v.number_value for v in domains["depth"].domain_discrete.values] == [1.0, 2.0]
    tags = [(m.name.group, m.name.tag) for m in config.metric_infos]
    assert tags[0] == ("", "val_accuracy")
    assert {("validation", "accuracy"), ("train", "loss"), ("optimizer", "learning_rate")} \
        <= set(tags)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["trial_0", "trial_1"]
    for _, trial in study.trials.iterrows():
        trial_dir = folder / f"trial_{trial['trial_id']}"
        scalars, hparams = read_events(trial_dir)
        assert session_values(hparams) == {
            "depth": float(trial["depth"]), "learning_rate": trial["learning_rate"],
            "activation": "relu"}
        assert scalars == {"val_accuracy": [(int(trial["best_step"]), pytest.approx(
            trial["objective"]))]}
        curves = study.curves[study.curves["trial_id"] == trial["trial_id"]]
        for split in ("train", "validation", "optimizer"):
            written, _ = read_events(trial_dir / split)
            expected = curves[curves["split"] == split]
            assert set(written) == set(expected["metric"])
            for metric, frame in expected.groupby("metric"):
                assert written[metric] == [(s, pytest.approx(v, nan_ok=True))
                                           for s, v in zip(frame["step"], frame["value"])]
        assert [s for s, _ in read_events(trial_dir / "validation")[0]["accuracy"]] == [
            0, 10, 20]


def test_seeds_are_averaged_and_an_infeasible_trial_keeps_its_hyperparameters(pk, tmp_path):
    trials = make_trials({"learning_rate": [1.0e-3, 1.0e-1], "momentum": [0.9, np.nan],
                          "optimizer": ["momentum", "adam"]},
                         [0.8, np.nan], ["completed", "infeasible"], best_step=[20, pd.NA])
    curves = pd.concat([curve_rows("t000", [10, 20], [0.2, 0.7], "validation", "accuracy", 0),
                        curve_rows("t000", [10, 20], [0.4, 0.9], "validation", "accuracy", 1),
                        curve_rows("t001", [10], [np.inf], "train", "loss", 0)])
    study = make_study(trials, [hp("learning_rate", "log", 1.0e-3, 1.0e-1),
                                hp("momentum", "linear", 0.0, 0.99),
                                hp("optimizer", "categorical", values=["adam", "momentum"])],
                       curves=curves, name="synthetic")
    folder = pk.export_tensorboard(study, tmp_path)
    scalars, hparams = read_events(folder / "trial_t000")
    assert session_values(hparams) == {"learning_rate": 1.0e-3, "momentum": 0.9,
                                       "optimizer": "momentum"}
    assert scalars == {"val_accuracy": [(20, pytest.approx(0.8))]}
    assert read_events(folder / "trial_t000" / "validation")[0] == {
        "accuracy": [(10, pytest.approx(0.3)), (20, pytest.approx(0.8))]}
    scalars, hparams = read_events(folder / "trial_t001")
    assert session_values(hparams) == {"learning_rate": 1.0e-1, "optimizer": "adam"}
    assert scalars == {}
    assert read_events(folder / "trial_t001" / "train")[0] == {"loss": [(10, np.inf)]}
    config = read_events(folder)[1][metadata.EXPERIMENT_TAG].experiment
    domains = {h.name: h for h in config.hparam_infos}
    assert [v.string_value for v in domains["optimizer"].domain_discrete.values] == [
        "adam", "momentum"]


def test_an_earlier_export_is_kept_unless_overwritten(pk, study, tmp_path):
    pk.export_tensorboard(study, tmp_path)
    with pytest.raises(ValueError, match="already holds an export of study 'depth'; pass "
                                         "overwrite=True"):
        pk.export_tensorboard(study, tmp_path)
    pk.export_tensorboard(study.path, tmp_path, overwrite=True)
    assert len(list((tmp_path / "depth" / "trial_0" / "train").glob("events.*"))) == 1
    assert len(list((tmp_path / "depth").glob("events.*"))) == 1


def test_a_plain_keras_tuner_study_exports_from_the_command_line(pk, tmp_path, capsys,
                                                               plain_keras_tuner):
    tuner = plain_keras_tuner(max_trials=2, max_units=16, examples=256, epochs=1)
    assert main(["tensorboard", str(tmp_path / "plain"), str(tmp_path / "logs")]) == 0
    assert f"2 trials of study plain written to {tmp_path / 'logs' / 'plain'}" \
        in capsys.readouterr().out
    for trial_id, trial in tuner.oracle.trials.items():
        scalars, hparams = read_events(tmp_path / "logs" / "plain" / f"trial_{trial_id}")
        assert session_values(hparams) == {"units": float(trial.hyperparameters["units"]),
                                           "lr": trial.hyperparameters["lr"]}
        assert scalars == {"val_accuracy": [(0, pytest.approx(trial.score))]}
        curves, _ = read_events(tmp_path / "logs" / "plain" / f"trial_{trial_id}" / "validation")
        assert curves["accuracy"] == [(0, pytest.approx(trial.score))]
