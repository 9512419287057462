"""Search spaces: declaration, validation, unit-cube mapping, tables, dict/YAML and
keras-tuner round trips, playbook presets."""
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from playbook_kit.results.study_results import HYPERPARAMETER_COLUMNS
from playbook_kit.search.presets import adam_space, momentum_space
from playbook_kit.search.space import SearchSpace


def optimizer_space():
    space = SearchSpace()
    space.scientific("optimizer", values=["adam", "nesterov"])
    space.nuisance("learning_rate", 1e-4, 1e-1, scale="log")
    space.nuisance("beta1", 0.8, 0.99, parent="optimizer", parent_values=["adam"])
    space.nuisance("one_minus_momentum", 1e-3, 0.5, scale="log",
                   parent="optimizer", parent_values=["nesterov"])
    space.scientific("depth", 1, 4, scale="integer")
    space.nuisance("width", values=[32, 64, 128])
    space.fixed("activation", "relu")
    space.fixed("epsilon", 1e-7, parent="optimizer", parent_values=["adam"])
    return space


def test_roles_varied_and_fixed_values():
    space = optimizer_space()
    assert space.varied == ["optimizer", "learning_rate", "beta1", "one_minus_momentum",
                            "depth", "width"]
    assert space.scientific_names == ["optimizer", "depth"]
    assert space.fixed_values == {"activation": "relu", "epsilon": 1e-7}
    assert space["width"].scale == "discrete"
    assert space["optimizer"].scale == "categorical"


def test_to_frame_is_the_results_contract():
    frame = optimizer_space().to_frame()
    assert list(frame.columns) == HYPERPARAMETER_COLUMNS
    row = frame.set_index("name")
    assert row.loc["learning_rate", "scale"] == "log"
    assert row.loc["learning_rate", "low"] == pytest.approx(1e-4)
    assert row.loc["learning_rate", "values"] is None
    assert math.isnan(row.loc["width", "low"]) and row.loc["width", "values"] == [32, 64, 128]
    assert row.loc["beta1", "parent"] == "optimizer"
    assert row.loc["beta1", "parent_values"] == ["adam"]
    assert row.loc["depth", "parent"] is None and row.loc["depth", "parent_values"] is None
    assert row.loc["activation", "role"] == "fixed"
    assert row.loc["activation", "values"] == ["relu"]
    assert frame["low"].dtype == float


def test_table_and_repr_show_condition_and_range():
    space = optimizer_space()
    table = space.table()
    assert list(table.columns) == ["name", "role", "scale", "range/values", "condition"]
    text = repr(space)
    assert "optimizer = nesterov" in text and "[0.0001, 0.1]" in text and "= relu" in text
    assert "<table" in space._repr_html_()


def test_repr_html_escapes_hyperparameter_values():
    space = SearchSpace()
    space.fixed("activation", "<script>alert(1)</script>")
    space.nuisance("norm", values=["<b>bold</b>", "none"])
    html = space._repr_html_()
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert html.startswith("<p>SearchSpace: 2 hyperparameters, 1 varied")


def test_config_from_unit_uses_the_playbook_mapping():
    space = SearchSpace()
    space.nuisance("lin", 2.0, 4.0)
    space.nuisance("lr", 1e-4, 1e-2, scale="log")
    space.nuisance("n", 1, 3, scale="integer")
    space.nuisance("c", values=["a", "b", "c", "d"])
    config = space.config_from_unit([0.25, 0.5, 0.5, 0.5])
    assert config["lin"] == pytest.approx(2.5)
    assert config["lr"] == pytest.approx(1e-3)
    assert config["n"] == 2 and isinstance(config["n"], int)
    assert config["c"] == "c"
    top = space.config_from_unit([1.0, 1.0, 1.0, 1.0])
    assert top == {"lin": 4.0, "lr": pytest.approx(1e-2), "n": 3, "c": "d"}
    assert space.config_from_unit([0.0, 0.0, 0.0, 0.0])["n"] == 1
    for u in np.linspace(0, 1, 7):
        cfg = space.config_from_unit([u] * 4)
        back = space.config_from_unit(space.unit_from_config(cfg))
        assert back["n"] == cfg["n"] and back["c"] == cfg["c"]
        assert back["lr"] == pytest.approx(cfg["lr"])
    with pytest.raises(ValueError, match="4 varied"):
        space.config_from_unit([0.5])


def test_inactive_children_absent_fixed_included():
    space = optimizer_space()
    adam = space.config_from_unit([0.1, 0.5, 0.5, 0.5, 0.5, 0.5])
    nesterov = space.config_from_unit([0.9, 0.5, 0.5, 0.5, 0.5, 0.5])
    assert adam["optimizer"] == "adam" and nesterov["optimizer"] == "nesterov"
    assert "one_minus_momentum" not in adam and adam["epsilon"] == 1e-7
    assert "beta1" not in nesterov and "epsilon" not in nesterov
    assert nesterov["activation"] == adam["activation"] == "relu"
    assert space.is_active("beta1", adam) and not space.is_active("beta1", nesterov)


def test_nested_conditions():
    space = SearchSpace()
    space.scientific("regularizer", values=["none", "dropout"])
    space.nuisance("dropout_kind", values=["plain", "spatial"], parent="regularizer",
                   parent_values="dropout")
    space.nuisance("spatial_rate", 0.0, 0.5, parent="dropout_kind", parent_values=["spatial"])
    assert not space.is_active("spatial_rate", {"regularizer": "none"})
    assert not space.is_active("spatial_rate",
                               {"regularizer": "none", "dropout_kind": "spatial"})
    assert space.is_active("spatial_rate",
                           {"regularizer": "dropout", "dropout_kind": "spatial"})
    assert space.config_from_unit([0.2, 0.9, 0.5]) == {"regularizer": "none"}
    assert space.config_from_unit([0.7, 0.9, 0.5])["spatial_rate"] == pytest.approx(0.25)
    hps = space.to_keras_tuner()
    hps.values.update({"regularizer": "dropout", "dropout_kind": "spatial"})
    assert hps.is_active("spatial_rate")
    hps.values["regularizer"] = "none"
    assert not hps.is_active("spatial_rate")


def _with_optimizer():
    return SearchSpace().scientific("optimizer", values=["adam", "nesterov"])


@pytest.mark.parametrize("declare, name, shown", [
    (lambda s: s.nuisance("lr", 0.1, 0.1), "lr", "0.1"),
    (lambda s: s.nuisance("lr", 0.1, 0.01), "lr", "0.01"),
    (lambda s: s.nuisance("lr", 0.0, 1.0, scale="log"), "lr", "0.0"),
    (lambda s: s.nuisance("lr", -1.0, 1.0, scale="log"), "lr", "-1.0"),
    (lambda s: s.nuisance("beta1", 0.8, 0.99, parent="opt", parent_values=["adam"]),
     "beta1", "opt"),
    (lambda s: s.nuisance("beta1", 0.8, 0.99, parent="optimizer", parent_values=["sgd"]),
     "beta1", "sgd"),
    (lambda s: s.nuisance("optimizer", 0.1, 0.2), "optimizer", "duplicate"),
    (lambda s: s.scientific("depth", values=[3]), "depth", "[3]"),
    (lambda s: s.add("act", "fixed", 0, 1), "act", "[0, 1]"),
    (lambda s: s.fixed("act", ["relu", "gelu"]), "act", "gelu"),
    (lambda s: s.add("act", "fixed", values=["relu", "gelu"]), "act", "gelu"),
    (lambda s: s.add("lr", "nuisence", 0.1, 0.2), "lr", "nuisence"),
    (lambda s: s.nuisance("lr", 0.1, 0.2, scale="logarithmic"), "lr", "logarithmic"),
    (lambda s: s.nuisance("depth", 1.5, 4, scale="integer"), "depth", "1.5"),
    (lambda s: s.nuisance("width", values=[32, 32]), "width", "duplicates"),
    (lambda s: s.nuisance("width", values=[32, "wide"], scale="discrete"), "width", "wide"),
    (lambda s: s.nuisance("lr", 0.1, 0.2, values=[0.1, 0.2]), "lr", "not both"),
    (lambda s: s.nuisance("lr", 0.1, None), "lr", "None"),
    (lambda s: s.nuisance("lr", 0.1, float("inf")), "lr", "inf"),
    (lambda s: s.nuisance("x", 0.0, 1.0, parent="lr_never"), "x", "lr_never"),
])
def test_validation_names_hyperparameter_and_value(declare, name, shown):
    space = _with_optimizer()
    with pytest.raises(ValueError) as err:
        declare(space)
    message = str(err.value)
    assert f"'{name}'" in message and shown in message


def test_parent_must_be_discrete_and_declared_first():
    space = SearchSpace().nuisance("lr", 1e-3, 1.0, scale="log")
    with pytest.raises(ValueError, match="'warmup'.*parent 'lr'"):
        space.nuisance("warmup", 0, 10, parent="lr", parent_values=[0.1])
    with pytest.raises(ValueError, match="'beta1'.*declare the parent before"):
        SearchSpace.from_dict([
            {"name": "beta1", "low": 0.8, "high": 0.99, "parent": "optimizer",
             "parent_values": ["adam"]},
            {"name": "optimizer", "role": "scientific", "values": ["adam", "sgd"]},
        ])


def test_dict_round_trip_and_yaml_keeps_order():
    space = optimizer_space()
    assert SearchSpace.from_dict(space.to_dict()) == space
    text = yaml.safe_dump(space.to_dict())
    again = SearchSpace.from_dict(yaml.safe_load(text))
    assert again == space and again.names == space.names


def test_from_dict_hand_written_mapping():
    text = """
    optimizer: {role: scientific, values: [adam, nesterov]}
    learning_rate: {range: [1e-4, 1e-1], scale: log}
    beta1: {low: 0.8, high: 0.99, parent: optimizer, parent_values: [adam]}
    activation: {value: relu}
    """
    space = SearchSpace.from_dict(yaml.safe_load(text))
    assert space.names == ["optimizer", "learning_rate", "beta1", "activation"]
    assert space["learning_rate"].low == pytest.approx(1e-4)
    assert space["learning_rate"].role == "nuisance"
    assert space["activation"].role == "fixed"
    with pytest.raises(ValueError, match="'lr'.*unknown keys.*'scal'"):
        SearchSpace.from_dict({"lr": {"low": 0.1, "high": 1, "scal": "log"}})
    with pytest.raises(ValueError, match="'act'.*value"):
        SearchSpace.from_dict({"act": {"role": "nuisance", "value": "relu"}})
    with pytest.raises(ValueError, match="schema_version"):
        SearchSpace.from_dict({"schema_version": 99, "hyperparameters": []})


def test_keras_tuner_round_trip_conditional():
    import keras_tuner as kt

    space = optimizer_space()
    hps = space.to_keras_tuner()
    assert isinstance(hps, kt.HyperParameters)
    by_name = {hp.name: hp for hp in hps.space}
    assert by_name["learning_rate"].sampling == "log"
    assert by_name["width"].ordered and not by_name["optimizer"].ordered
    assert type(by_name["activation"]).__name__ == "Fixed"
    beta1_conditions = by_name["beta1"].conditions
    assert [(c.name, c.values) for c in beta1_conditions] == [("optimizer", ["adam"])]
    hps.values["optimizer"] = "nesterov"
    assert hps.is_active("one_minus_momentum") and not hps.is_active("beta1")
    back = SearchSpace.from_keras_tuner(
        hps, roles={"optimizer": "scientific", "depth": "scientific"})
    assert back == space
    assert SearchSpace.from_keras_tuner(hps)["optimizer"].role == "nuisance"
    flags = SearchSpace().scientific("use_bn", values=[False, True])
    flags.nuisance("bn_momentum", 0.9, 0.999, parent="use_bn", parent_values=[True])
    assert SearchSpace.from_keras_tuner(
        flags.to_keras_tuner(), roles={"use_bn": "scientific"}) == flags
    assert flags.config_from_unit([0.7, 0.0]) == {"use_bn": True, "bn_momentum": 0.9}
    assert flags.config_from_unit([0.3, 0.0]) == {"use_bn": False}


def test_validate_config():
    space = optimizer_space()
    config = space.validate_config({"optimizer": "adam", "learning_rate": 0.01,
                                    "beta1": 0.9, "depth": 2, "width": 64})
    assert config["activation"] == "relu" and config["epsilon"] == 1e-7
    with pytest.raises(ValueError, match="'learning_rate'.*0.5"):
        space.validate_config({"optimizer": "adam", "learning_rate": 0.5, "beta1": 0.9,
                               "depth": 2, "width": 64})
    with pytest.raises(ValueError, match="'one_minus_momentum'.*inactive"):
        space.validate_config({"optimizer": "adam", "learning_rate": 0.01, "beta1": 0.9,
                               "one_minus_momentum": 0.1, "depth": 2, "width": 64})
    with pytest.raises(ValueError, match="'beta1'.*missing"):
        space.validate_config({"optimizer": "adam", "learning_rate": 0.01, "depth": 2,
                               "width": 64})


@pytest.mark.parametrize("budget, varied", [
    (5, ["learning_rate"]),
    (9, ["learning_rate"]),
    (10, ["learning_rate", "beta1"]),
    (24, ["learning_rate", "beta1"]),
    (25, ["learning_rate", "beta1", "epsilon"]),
    (99, ["learning_rate", "beta1", "epsilon"]),
    (100, ["learning_rate", "beta1", "beta2", "epsilon"]),
])
def test_adam_space_follows_trial_budget(budget, varied):
    space = adam_space(budget)
    assert space.varied == varied
    assert space["learning_rate"].scale == "log"
    assert space.fixed_values["optimizer"] == "adam"
    assert set(space.names) == {"optimizer", "learning_rate", "beta1", "beta2", "epsilon"}


def test_adam_and_momentum_presets():
    assert adam_space(30, learning_rate=(1e-3, 1.0))["learning_rate"].high == 1.0
    assert adam_space(30)["epsilon"].scale == "log"
    with pytest.raises(ValueError, match="trial_budget"):
        adam_space(0)
    space = momentum_space()
    assert space["one_minus_momentum"].scale == "log"
    assert space.fixed_values["optimizer"] == "nesterov"
    fixed = momentum_space(nesterov=False, tune_momentum=False)
    assert fixed.varied == ["learning_rate"]
    assert fixed.fixed_values == {"optimizer": "momentum", "one_minus_momentum": 0.1}


def test_frame_from_empty_space():
    frame = SearchSpace().to_frame()
    assert list(frame.columns) == HYPERPARAMETER_COLUMNS and len(frame) == 0
    assert isinstance(frame, pd.DataFrame)
