"""The notebooks' shared study file, overriding a spec's fields, and reproducing 01+02."""
import ast
import re
from pathlib import Path

import pytest

from playbook_kit.teaching.notebooks import list_notebooks, notebook_parameters
from playbook_kit.search.study import StudySpec

STUDY_FILE = Path(__file__).parent.parent / "notebooks" / "studies" / "depth.yaml"


@pytest.fixture
def spec():
    return StudySpec.from_yaml(STUDY_FILE)


def test_the_study_file_declares_the_round_the_notebooks_declared_in_code(pk, spec):
    assert spec.space == (pk.adam_space(12, learning_rate=(1.0e-4, 1.0e-3))
                          .scientific("depth", values=[1, 2, 3]).fixed("activation", "relu"))
    assert (spec.name, spec.algorithm, spec.max_trials, spec.max_train_steps, spec.eval_every,
            spec.seed) == ("depth", "quasi_random", 12, 300, 25, 0)
    assert spec.data == {"name": "digits", "seed": 0}
    assert spec.defaults == {"model": "mlp", "width": 64}
    assert spec.objective == "val_accuracy"
    assert spec.workload().dataset.source == pk.load_digits(seed=0).source


def _defaults(notebook: Path) -> dict:
    return {name: ast.literal_eval(default)
            for name, (_, default) in notebook_parameters(notebook).items()}


def test_notebook_defaults_are_the_study_file_values(spec):
    notebooks = {p.stem[:2]: p for p in list_notebooks()}
    expected = {"study_file": "studies/depth.yaml", "seed": 0, "max_trials": 12,
                "max_train_steps": 300, "eval_every": 25,
                "learning_rate_range": [1.0e-4, 1.0e-3], "depths": [1, 2, 3], "width": 64,
                "study_name": "depth"}
    assert (spec.space["learning_rate"].low, spec.space["learning_rate"].high) == (1.0e-4, 1.0e-3)
    for number in ("01", "02"):
        defaults = _defaults(notebooks[number])
        assert {k: defaults[k] for k in expected} == expected
    assert _defaults(notebooks["01"])["algorithm"] == spec.algorithm
    for number in ("03", "04"):
        defaults = _defaults(notebooks[number])
        assert (defaults["study_file"], defaults["study_name"]) == ("studies/depth.yaml",
                                                                   "depth")
        assert not {"learning_rate_range", "depths", "width", "max_train_steps",
                    "eval_every"} & set(defaults)


def test_with_overrides_replaces_fields_ranges_and_defaults(spec):
    changed = spec.with_overrides(name="depth_small", max_trials=6, seed=3,
                                  ranges={"learning_rate": [1.0e-3, 1.0e-1], "depth": [1, 2]},
                                  defaults={"width": 32})
    assert (changed.name, changed.max_trials, changed.seed) == ("depth_small", 6, 3)
    assert (changed.space["learning_rate"].low, changed.space["learning_rate"].high,
            changed.space["learning_rate"].scale) == (1.0e-3, 1.0e-1, "log")
    assert changed.space["depth"].values == (1, 2)
    assert changed.space.names == spec.space.names
    assert changed.defaults == {"model": "mlp", "width": 32}
    assert (changed.max_train_steps, changed.eval_every, changed.data) == \
        (300, 25, {"name": "digits", "seed": 0})
    assert (spec.name, spec.max_trials, spec.defaults["width"]) == ("depth", 12, 64)
    assert spec.space["learning_rate"].high == 1.0e-3
    assert spec.with_overrides() == spec


@pytest.mark.parametrize("overrides, message", [
    ({"max_trial": 6}, "study field 'max_trial' is unknown; allowed fields are algorithm, "
                       "checkpoint_every, configs, data, defaults, eval_every, extra_keys, "
                       "keep_best, keep_checkpoints, max_train_steps, max_trials, name, "
                       "objective, pack, parts, ranges, repeats, seed, space, warm_start"),
    ({"max_trials": 0}, "max_trials=0 is not allowed; use an integer >= 1"),
    ({"ranges": {"lr": [1.0e-3, 1.0e-2]}}, "ranges: hyperparameter='lr' is not allowed; use "
                                           "one the study varies: learning_rate, beta1, depth"),
    ({"ranges": {"activation": ["tanh"]}}, "ranges: hyperparameter='activation' is not "
                                           "allowed; use one the study varies: "),
    ({"ranges": {"learning_rate": 1.0e-3}}, "ranges: learning_rate=0.001 is not allowed; "
                                            "use a list"),
    ({"ranges": {"learning_rate": [1.0e-4, 1.0e-3, 1.0e-2]}},
     "ranges: learning_rate=[0.0001, 0.001, 0.01] is not allowed; use [low, high]"),
    ({"ranges": {"learning_rate": [1.0e-2, 1.0e-4]}},
     "hyperparameter 'learning_rate': reversed range [0.01, 0.0001]"),
    ({"defaults": ["width", 32]}, "defaults=['width', 32] is not allowed; use a mapping"),
])
def test_with_overrides_rejects_what_the_spec_cannot_take(spec, overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        spec.with_overrides(**overrides)


def test_from_study_needs_a_playbook_kit_study(tmp_path):
    with pytest.raises(ValueError, match=re.escape(
            f"study '{tmp_path}' was not written by playbook-kit (no playbook_study.json): "
            "it stores no study spec")):
        StudySpec.from_study(tmp_path)


def test_explore_and_expand_runs_the_steps_of_notebooks_01_and_02(pk, tmp_path):
    """Best trials at the upper learning rates: flagged, so the second study runs in the
    range widened by a decade, under ``<name>_wider``, with every other setting kept."""
    spec = StudySpec(
        name="lr", space={"learning_rate": {"role": "nuisance", "range": [1.0e-4, 1.0e-3],
                                            "scale": "log"},
                          "activation": {"role": "fixed", "value": "relu"}},
        max_trials=5, max_train_steps=30, eval_every=10, algorithm="list",
        configs=[{"learning_rate": v} for v in (1.0e-4, 2.0e-4, 7.0e-4, 8.5e-4, 1.0e-3)],
        data={"name": "digits"}, defaults={"model": "mlp", "width": 16})
    wider = pk.explore_and_expand(spec, tmp_path, progress=False)
    first = pk.load_study(tmp_path / "lr")
    checks = pk.boundary_check(first).set_index("name")
    assert checks.loc["learning_rate", "status"] == "expand"
    assert (wider.name, len(first.trials), len(wider.trials)) == ("lr_wider", 5, 5)
    expected = spec.with_overrides(name="lr_wider", ranges={"learning_rate": [1.0e-4, 1.0e-2]})
    assert StudySpec.from_study(wider).to_dict() == expected.to_dict()
    assert StudySpec.from_study(first).to_dict() == spec.to_dict()
    again = pk.explore_and_expand(spec, tmp_path, progress=False)
    assert again.trials["objective"].tolist() == wider.trials["objective"].tolist()
