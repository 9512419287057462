"""Pinned known answers for the search space: the playbook's unit-cube mappings per scale
(section 9), their inverse, membership, conditional activity, and every validation error
with its exact message."""
import math

import numpy as np
import pytest

from playbook_kit.search.space import Hyperparameter, SearchSpace

LOG = Hyperparameter("learning_rate", "nuisance", "log", low=1e-4, high=1e-1)
LINEAR = Hyperparameter("dropout", "nuisance", "linear", low=0.0, high=0.5)
INTEGER = Hyperparameter("layers", "nuisance", "integer", low=2, high=5)
DISCRETE = Hyperparameter("batch_size", "nuisance", "discrete", values=(32, 64, 128))
FIXED = Hyperparameter("beta_1", "fixed", "discrete", values=(0.9,))


@pytest.mark.parametrize("hp, unit, value", [
    (LOG, 0.0, 1e-4), (LOG, 1 / 3, 1e-3), (LOG, 2 / 3, 1e-2), (LOG, 1.0, 1e-1),
    (LOG, -0.5, 1e-4), (LOG, 1.5, 1e-1),
    (LINEAR, 0.0, 0.0), (LINEAR, 0.25, 0.125), (LINEAR, 1.0, 0.5), (LINEAR, 2.0, 0.5),
    (INTEGER, 0.0, 2), (INTEGER, 0.2499, 2), (INTEGER, 0.25, 3), (INTEGER, 0.74, 4),
    (INTEGER, 0.75, 5), (INTEGER, 1.0, 5),
    (DISCRETE, 0.0, 32), (DISCRETE, 0.33, 32), (DISCRETE, 0.34, 64), (DISCRETE, 0.67, 128),
    (DISCRETE, 1.0, 128), (FIXED, 0.3, 0.9), (FIXED, None, 0.9),
])
def test_from_unit_per_scale(hp, unit, value):
    got = hp.from_unit(unit)
    assert got == pytest.approx(value, rel=1e-12)
    assert type(got) is type(value)


@pytest.mark.parametrize("hp, value, unit", [
    (LOG, 1e-4, 0.0), (LOG, 1e-3, 1 / 3), (LOG, 1e-1, 1.0),
    (LINEAR, 0.125, 0.25), (LINEAR, 0.5, 1.0),
    (INTEGER, 2, 0.125), (INTEGER, 3, 0.375), (INTEGER, 5, 0.875),
    (DISCRETE, 32, 1 / 6), (DISCRETE, 64, 0.5), (DISCRETE, 128, 5 / 6), (FIXED, 0.9, 0.5),
])
def test_to_unit_is_the_centre_of_the_cell(hp, value, unit):
    assert hp.to_unit(value) == pytest.approx(unit, rel=1e-12)
    assert hp.from_unit(hp.to_unit(value)) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("hp, value, inside", [
    (LOG, 1e-4, True), (LOG, 1e-1, True), (LOG, 0.99e-4, False), (LOG, 0.11, False),
    (LOG, "0.01", False), (LOG, True, False),
    (INTEGER, 2, True), (INTEGER, 5.0, True), (INTEGER, 3.5, False), (INTEGER, 6, False),
    (INTEGER, 1, False), (DISCRETE, 64, True), (DISCRETE, 64.0, True), (DISCRETE, 65, False),
    (DISCRETE, "64", False), (FIXED, 0.9, True), (FIXED, 0.8, False),
    (Hyperparameter("flag", "nuisance", "categorical", values=(True, False)), 1, False),
    (Hyperparameter("flag", "nuisance", "categorical", values=(True, False)), True, True),
    (Hyperparameter("n", "nuisance", "discrete", values=(0, 1)), False, False),
])
def test_contains(hp, value, inside):
    assert hp.contains(value) is inside


def _space():
    return (SearchSpace()
            .scientific("optimizer", values=["adam", "sgd"])
            .nuisance("learning_rate", 1e-4, 1e-1, scale="log")
            .nuisance("momentum", 0.8, 0.99, parent="optimizer", parent_values="sgd")
            .fixed("beta_1", 0.9, parent="optimizer", parent_values=["adam"])
            .nuisance("layers", 2, 5, scale="integer"))


def test_config_from_unit_leaves_out_inactive_children_and_adds_fixed_values():
    space = _space()
    assert space.varied == ["optimizer", "learning_rate", "momentum", "layers"]
    assert space.config_from_unit([0.0, 1 / 3, 0.5, 1.0]) == {
        "optimizer": "adam", "learning_rate": pytest.approx(1e-3), "beta_1": 0.9, "layers": 5}
    assert space.config_from_unit([0.9, 0.0, 1.0, 0.0]) == {
        "optimizer": "sgd", "learning_rate": pytest.approx(1e-4), "momentum": 0.99,
        "layers": 2}
    with pytest.raises(ValueError) as error:
        space.config_from_unit([0.5, 0.5, 0.5])
    assert str(error.value) == ("unit point has 3 coordinates; the space has 4 varied "
                                "hyperparameters ['optimizer', 'learning_rate', 'momentum', "
                                "'layers']")


def test_unit_from_config_puts_absent_children_at_the_inactive_value():
    space = _space()
    point = space.unit_from_config({"optimizer": "adam", "learning_rate": 1e-3,
                                    "beta_1": 0.9, "layers": 3})
    assert point.tolist() == pytest.approx([0.25, 1 / 3, 0.5, 0.375])
    point = space.unit_from_config({"optimizer": "sgd", "learning_rate": 1e-1,
                                    "momentum": 0.8, "layers": 2}, inactive=0.0)
    assert point.tolist() == pytest.approx([0.75, 1.0, 0.0, 0.125])
    assert space.unit_from_config({"optimizer": "sgd", "learning_rate": 1e-1, "layers": 2},
                                  inactive=0.0).tolist() == pytest.approx([0.75, 1.0, 0.0,
                                                                           0.125])


def test_is_active_follows_the_parent_chain():
    space = (SearchSpace().nuisance("a", values=[1, 2])
             .nuisance("b", values=["x", "y"], parent="a", parent_values=[2])
             .nuisance("c", 0.0, 1.0, parent="b", parent_values="y"))
    assert space.is_active("a", {}) is True
    assert space.is_active("b", {"a": 2}) is True
    assert space.is_active("b", {"a": 1}) is False
    assert space.is_active("b", {"a": 2.0}) is True
    assert space.is_active("b", {"a": True}) is False
    assert space.is_active("b", {}) is False
    assert space.is_active("c", {"a": 2, "b": "y"}) is True
    assert space.is_active("c", {"a": 1, "b": "y"}) is False
    assert space.is_active("c", {"a": 2, "b": "x"}) is False


def test_validate_config_completes_and_converts():
    space = _space()
    assert space.validate_config({"optimizer": "adam", "learning_rate": np.float32(0.5e-2),
                                  "layers": np.int64(4)}) == {
        "optimizer": "adam", "learning_rate": pytest.approx(0.005), "beta_1": 0.9,
        "layers": 4}
    out = space.validate_config({"optimizer": "sgd", "learning_rate": 1e-3, "momentum": 0.9,
                                 "layers": 3.0})
    assert out == {"optimizer": "sgd", "learning_rate": 1e-3, "momentum": 0.9, "layers": 3}
    assert type(out["layers"]) is int and type(out["learning_rate"]) is float
    integer_rate = SearchSpace().nuisance("learning_rate", 1, 10, scale="log")
    assert type(integer_rate.validate_config({"learning_rate": 2})["learning_rate"]) is float


@pytest.mark.parametrize("config, message", [
    ({"optimizer": "adam", "learning_rate": 1e-3, "layers": 3, "width": 4},
     "config {'optimizer': 'adam', 'learning_rate': 0.001, 'layers': 3, 'width': 4}: unknown "
     "hyperparameters ['width']; the space has ['optimizer', 'learning_rate', 'momentum', "
     "'beta_1', 'layers']"),
    ({"optimizer": "adam", "learning_rate": 1e-3, "momentum": 0.9, "layers": 3},
     "hyperparameter 'momentum': value 0.9 given but it is inactive (needs optimizer = "
     "sgd)"),
    ({"optimizer": "adam", "layers": 3},
     "hyperparameter 'learning_rate': missing from config {'optimizer': 'adam', 'layers': "
     "3}"),
    ({"optimizer": "adam", "learning_rate": 1.0, "layers": 3},
     "hyperparameter 'learning_rate': value 1.0 not allowed; allowed: [0.0001, 0.1]"),
    ({"optimizer": "rmsprop", "learning_rate": 1e-3, "layers": 3},
     "hyperparameter 'optimizer': value 'rmsprop' not allowed; allowed: {adam, sgd}"),
])
def test_validate_config_errors_name_the_hyperparameter(config, message):
    with pytest.raises(ValueError) as error:
        _space().validate_config(config)
    assert str(error.value) == message


def test_a_fixed_value_given_in_the_config_is_checked():
    space = _space()
    assert space.validate_config({"optimizer": "adam", "learning_rate": 1e-3, "beta_1": 0.9,
                                  "layers": 3})["beta_1"] == 0.9
    with pytest.raises(ValueError, match=r"^hyperparameter 'beta_1': value 0.8 not allowed"):
        space.validate_config({"optimizer": "adam", "learning_rate": 1e-3, "beta_1": 0.8,
                               "layers": 3})
    assert "beta_1" not in space.validate_config({"optimizer": "sgd", "learning_rate": 1e-3,
                                                  "momentum": 0.9, "beta_1": 0.9,
                                                  "layers": 3})


@pytest.mark.parametrize("call, message", [
    (lambda s: s.nuisance("", 0, 1), "hyperparameter name '': must be a non-empty string"),
    (lambda s: s.nuisance(3, 0, 1), "hyperparameter name 3: must be a non-empty string"),
    (lambda s: s.nuisance("a", 0, 1).nuisance("a", 0, 2),
     "hyperparameter 'a': duplicate name; names must be unique in a search space (already "
     "have ['a'])"),
    (lambda s: s.add("a", "main", 0, 1),
     "hyperparameter 'a': unknown role 'main'; allowed: ['scientific', 'nuisance', 'fixed']"),
    (lambda s: s.add("a", "fixed", 0, 1),
     "fixed hyperparameter 'a': got a range [0, 1]; a fixed hyperparameter takes one value "
     "(use fixed(name, value))"),
    (lambda s: s.add("a", "fixed", high=1),
     "fixed hyperparameter 'a': got a range [None, 1]; a fixed hyperparameter takes one "
     "value (use fixed(name, value))"),
    (lambda s: s.add("a", "fixed", values=[1, 2]),
     "fixed hyperparameter 'a': got values [1, 2]; a fixed hyperparameter takes exactly one "
     "value"),
    (lambda s: s.add("a", "fixed"),
     "fixed hyperparameter 'a': got values None; a fixed hyperparameter takes exactly one "
     "value"),
    (lambda s: s.fixed("a", [1]),
     "fixed hyperparameter 'a': value [1] is a collection; a fixed hyperparameter takes "
     "exactly one int, float, str or bool (declare it scientific or nuisance to vary it)"),
    (lambda s: s.fixed("a", None),
     "fixed hyperparameter 'a': value None has type NoneType; allowed: int, float, str, "
     "bool"),
    (lambda s: s.nuisance("a"), "hyperparameter 'a': give a range (low, high) or values=[...]"),
    (lambda s: s.nuisance("a", 0, 1, parent_values=[1]),
     "hyperparameter 'a': parent_values [1] given without a parent"),
    (lambda s: s.nuisance("a", 0, 1, scale="exp"),
     "hyperparameter 'a': unknown scale 'exp'; allowed: ['linear', 'log', 'integer', "
     "'discrete', 'categorical']"),
    (lambda s: s.nuisance("a", 0, 1, scale="discrete"),
     "hyperparameter 'a': scale 'discrete' takes values=[...], not a range; a range takes "
     "one of ['linear', 'log', 'integer']"),
    (lambda s: s.nuisance("a", 0, 1, values=[1, 2]),
     "hyperparameter 'a': give a range or values, not both"),
    (lambda s: s.nuisance("a", 0),
     "hyperparameter 'a': range [0, None] needs both low and high"),
    (lambda s: s.nuisance("a", None, 1),
     "hyperparameter 'a': range [None, 1] needs both low and high"),
    (lambda s: s.nuisance("a", 0, math.inf), "hyperparameter 'a': bound inf is not a finite "
     "number"),
    (lambda s: s.nuisance("a", "0", 1), "hyperparameter 'a': bound '0' is not a finite "
     "number"),
    (lambda s: s.nuisance("a", True, 2), "hyperparameter 'a': bound True is not a finite "
     "number"),
    (lambda s: s.nuisance("a", 1, 1), "hyperparameter 'a': empty range [1, 1]; need low < "
     "high (use fixed() for a single value)"),
    (lambda s: s.nuisance("a", 2, 1), "hyperparameter 'a': reversed range [2, 1]; need low "
     "< high (use fixed() for a single value)"),
    (lambda s: s.nuisance("a", 0, 1, scale="log"),
     "hyperparameter 'a': log scale needs 0 < low, got range [0, 1]"),
    (lambda s: s.nuisance("a", 1, 2.5, scale="integer"),
     "hyperparameter 'a': integer scale needs integer bounds, got [1, 2.5]"),
    (lambda s: s.nuisance("a", 1.5, 3, scale="integer"),
     "hyperparameter 'a': integer scale needs integer bounds, got [1.5, 3]"),
    (lambda s: s.nuisance("a", values="ab"), "hyperparameter 'a': values 'ab' must be a list"),
    (lambda s: s.nuisance("a", values=3), "hyperparameter 'a': values 3 must be a list"),
    (lambda s: s.nuisance("a", values=[1, 2], scale="exp"),
     "hyperparameter 'a': unknown scale 'exp'; allowed: ['linear', 'log', 'integer', "
     "'discrete', 'categorical']"),
    (lambda s: s.nuisance("a", values=[1, 2], scale="log"),
     "hyperparameter 'a': scale 'log' takes a range (low, high), not values; values take "
     "one of ['discrete', 'categorical']"),
    (lambda s: s.nuisance("a", values=[1]),
     "nuisance hyperparameter 'a': values [1] has fewer than two values; a varied "
     "hyperparameter needs at least two (use fixed() for one)"),
    (lambda s: s.scientific("a", values=[]),
     "scientific hyperparameter 'a': values [] has fewer than two values; a varied "
     "hyperparameter needs at least two (use fixed() for one)"),
    (lambda s: s.nuisance("a", values=[1, "x"], scale="discrete"),
     "hyperparameter 'a': discrete scale needs numbers, got [1, 'x'] (use "
     "scale='categorical')"),
    (lambda s: s.nuisance("a", values=[1, "x"]),
     "hyperparameter 'a': values [1, 'x'] must all be one of int, float, str or bool, all "
     "of the same type"),
    (lambda s: s.nuisance("a", values=[None, 1]),
     "hyperparameter 'a': values [None, 1] must all be one of int, float, str or bool, all "
     "of the same type"),
    (lambda s: s.nuisance("a", values=[1, 2.0, 1.0]),
     "hyperparameter 'a': values [1.0, 2.0, 1.0] has duplicates"),
    (lambda s: s.nuisance("a", values=["x", "x"]),
     "hyperparameter 'a': values ['x', 'x'] has duplicates"),
])
def test_declaration_errors_name_the_hyperparameter(call, message):
    with pytest.raises(ValueError) as error:
        call(SearchSpace())
    assert str(error.value) == message


@pytest.mark.parametrize("call, message", [
    (lambda s: s.nuisance("b", 0, 1, parent="z", parent_values=[1]),
     "hyperparameter 'b': unknown parent 'z'; declare the parent before its children "
     "(declared so far: ['a', 'r', 'n'])"),
    (lambda s: s.nuisance("b", 0, 1, parent="r", parent_values=[0.5]),
     "hyperparameter 'b': parent 'r' has scale 'linear'; a parent must be discrete, "
     "categorical, integer or fixed"),
    (lambda s: s.nuisance("b", 0, 1, parent="a", parent_values=[]),
     "hyperparameter 'b': parent_values is empty; give values of 'a'"),
    (lambda s: s.nuisance("b", 0, 1, parent="a", parent_values=["z"]),
     "hyperparameter 'b': parent value 'z' is not a value of 'a'; allowed: ['x', 'y']"),
    (lambda s: s.nuisance("b", 0, 1, parent="a"),
     "hyperparameter 'b': parent value None is not a value of 'a'; allowed: ['x', 'y']"),
    (lambda s: s.nuisance("b", 0, 1, parent="n", parent_values=[4]),
     "hyperparameter 'b': parent value 4 is not a value of 'n'; allowed: integers in "
     "[1, 3]"),
])
def test_condition_errors_name_the_parent(call, message):
    space = SearchSpace().nuisance("a", values=["x", "y"]).nuisance("r", 0.0, 1.0) \
        .nuisance("n", 1, 3, scale="integer")
    with pytest.raises(ValueError) as error:
        call(space)
    assert str(error.value) == message


def test_conditions_keep_their_parent_values():
    space = SearchSpace().nuisance("n", 1, 3, scale="integer") \
        .nuisance("b", 0, 1, parent="n", parent_values=np.int64(2)) \
        .nuisance("c", 0, 1, parent="n", parent_values=(1, 3))
    assert (space["b"].parent, space["b"].parent_values) == ("n", (2,))
    assert type(space["b"].parent_values[0]) is int
    assert space["c"].parent_values == (1, 3)


def test_declared_values_are_normalised():
    space = (SearchSpace().nuisance("a", np.float32(0.5), 2)
             .nuisance("i", 1.0, 4.0, scale="integer").nuisance("d", values=[1, 2.5])
             .nuisance("c", values=np.array(["x", "y"])).fixed("f", np.int64(3))
             .fixed("g", "relu").nuisance("t", values=[1, 2]))
    assert (space["a"].scale, space["a"].low, space["a"].high) == ("linear", 0.5, 2.0)
    assert type(space["a"].high) is float
    assert (space["i"].low, space["i"].high) == (1, 4) and type(space["i"].low) is int
    assert (space["d"].scale, space["d"].values) == ("discrete", (1.0, 2.5))
    assert type(space["d"].values[0]) is float
    assert (space["c"].scale, space["c"].values) == ("categorical", ("x", "y"))
    assert (space["f"].scale, space["f"].values, type(space["f"].values[0])) == (
        "discrete", (3,), int)
    assert (space["g"].scale, space["g"].values) == ("categorical", ("relu",))
    assert (space["t"].values, type(space["t"].values[0])) == ((1, 2), int)


@pytest.mark.parametrize("entry, message", [
    ("lr", "search space entry 'lr': must be a mapping"),
    ({"name": "a", "low": 0, "high": 1, "step": 2},
     "hyperparameter 'a': unknown keys ['step']; allowed: ['high', 'low', 'name', 'parent', "
     "'parent_values', 'range', 'role', 'scale', 'value', 'values']"),
    ({"name": "a", "range": [0, 1], "low": 0}, "hyperparameter 'a': give range or low/high, "
     "not both"),
    ({"name": "a", "range": [0, 1], "high": 1}, "hyperparameter 'a': give range or low/high, "
     "not both"),
    ({"name": "a", "range": [0, 1, 2]}, "hyperparameter 'a': range [0, 1, 2] must be "
     "[low, high]"),
    ({"name": "a", "range": "0,1"}, "hyperparameter 'a': range '0,1' must be [low, high]"),
    ({"name": "a", "value": 1, "values": [1, 2]}, "hyperparameter 'a': give value or "
     "values, not both"),
    ({"name": "a", "value": 1, "role": "nuisance"}, "hyperparameter 'a': value= is for role "
     "'fixed', got role 'nuisance' (use values=[...])"),
    ({"name": "a", "role": "fixed", "scale": "log", "low": 1, "high": 2},
     "fixed hyperparameter 'a': takes value=, not a scale and range"),
])
def test_entry_errors(entry, message):
    with pytest.raises(ValueError) as error:
        SearchSpace().from_dict([entry])
    assert str(error.value) == message


def test_entries_default_their_role_and_read_bounds_written_as_text():
    space = SearchSpace.from_dict([
        {"name": "lr", "range": ["1e-4", "1e-1"], "scale": "log"},
        {"name": "w", "low": 1, "high": 4, "scale": "integer", "role": "scientific"},
        {"name": "act", "value": "relu"},
        {"name": "opt", "role": "fixed", "values": ["adam"]},
        {"name": "m", "range": (0.1, 0.9), "parent": "w", "parent_values": [2]}])
    assert [(hp.name, hp.role, hp.scale) for hp in space] == [
        ("lr", "nuisance", "log"), ("w", "scientific", "integer"),
        ("act", "fixed", "categorical"), ("opt", "fixed", "categorical"),
        ("m", "nuisance", "linear")]
    assert (space["lr"].low, space["lr"].high) == (1e-4, 1e-1)
    assert (space["m"].low, space["m"].high, space["m"].parent_values) == (0.1, 0.9, (2,))
    fixed_child = SearchSpace.from_dict([
        {"name": "w", "values": [1, 2]},
        {"name": "f", "value": 3, "parent": "w", "parent_values": 2}])
    assert (fixed_child["f"].parent, fixed_child["f"].parent_values) == ("w", (2,))


# ------------------------------------------- edges found by mutation testing (make mutation)
def test_linear_mapping_with_a_nonzero_low():
    width = Hyperparameter("width", "nuisance", "linear", low=1.0, high=3.0)
    assert (width.to_unit(2.0), width.from_unit(0.25)) == (0.5, 1.5)


def test_bounds_that_are_not_numbers_name_the_hyperparameter():
    for entry in ({"name": "a", "low": "abc", "high": 1}, {"name": "a", "low": 0,
                                                           "high": "abc"}):
        with pytest.raises(ValueError) as error:
            SearchSpace.from_dict([entry])
        assert str(error.value) == "hyperparameter 'a': bound 'abc' is not a number"


def test_a_fixed_value_of_another_type_is_named():
    with pytest.raises(ValueError) as error:
        SearchSpace().fixed("a", 1 + 2j)
    assert str(error.value) == ("fixed hyperparameter 'a': value (1+2j) has type complex; "
                                "allowed: int, float, str, bool")


def test_a_unit_point_given_as_a_row_is_flattened():
    assert _space().config_from_unit([[0.0, 1 / 3, 0.5, 1.0]])["layers"] == 5


def test_validate_config_gives_floats_for_linear_scales():
    space = SearchSpace().nuisance("width", 0, 10)
    assert type(space.validate_config({"width": 3})["width"]) is float
