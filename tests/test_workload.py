import math

import numpy as np
import pytest

from playbook_kit.workload.schedules import PlaybookSchedule
from playbook_kit.workload.workload import resolve_config


def lr_at(schedule, step):
    return float(schedule(step))


def test_warmup_ramps_linearly_from_zero_to_base(pk):
    schedule = PlaybookSchedule(0.1, "constant", max_train_steps=1000, warmup_steps=100)
    assert lr_at(schedule, 0) == 0.0
    assert lr_at(schedule, 50) == pytest.approx(0.05)
    assert lr_at(schedule, 100) == pytest.approx(0.1)
    assert lr_at(schedule, 900) == pytest.approx(0.1)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_decay_reaches_the_end_factor_at_max_train_steps(pk, kind):
    schedule = PlaybookSchedule(0.2, kind, max_train_steps=1000, warmup_steps=0, decay_factor=0.1)
    assert lr_at(schedule, 0) == pytest.approx(0.2)
    assert lr_at(schedule, 1000) == pytest.approx(0.02)
    assert lr_at(schedule, 2000) == pytest.approx(0.02)
    midpoint = 0.2 * (0.1 + 0.9 * 0.5)
    assert lr_at(schedule, 500) == pytest.approx(midpoint, rel=1e-5)


def test_cosine_after_warmup_differs_from_linear_in_between(pk):
    cosine = PlaybookSchedule(1.0, "cosine", 1100, warmup_steps=100)
    linear = PlaybookSchedule(1.0, "linear", 1100, warmup_steps=100)
    assert lr_at(cosine, 100) == pytest.approx(1.0)
    assert lr_at(linear, 350) == pytest.approx(0.75)
    assert lr_at(cosine, 350) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)), rel=1e-5)


@pytest.mark.parametrize("field,value", [
    ("optimizer", "adagradx"), ("activation", "relux"), ("learning_rate", -1.0), ("width", 0), ("width", 2.5),
    ("normalization", "group"), ("dropout", 1.0), ("beta2", 1.0), ("schedule", "step"),
    ("batch_size", "64"), ("model", "transformer"), ("clip_norm", 0.0),
])
def test_bad_config_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"'{field}'"):
        resolve_config({field: value})


def test_unknown_field_is_named_and_allowed_fields_listed():
    with pytest.raises(ValueError, match="'lr'.*learning_rate"):
        resolve_config({"lr": 0.1})


def test_one_minus_momentum_sets_momentum_and_conflicts_are_rejected():
    assert resolve_config({"one_minus_momentum": 0.1})["momentum"] == pytest.approx(0.9)
    with pytest.raises(ValueError, match="disagree"):
        resolve_config({"one_minus_momentum": 0.1, "momentum": 0.5})


@pytest.mark.parametrize("optimizer,cls", [("sgd", "SGD"), ("nesterov", "SGD"), ("adam", "Adam"),
                                           ("nadam", "Nadam"), ("adamw", "AdamW")])
def test_optimizers_get_the_playbook_hyperparameters(pk, optimizer, cls):
    config = resolve_config({"optimizer": optimizer, "beta1": 0.8, "one_minus_momentum": 0.05})
    built = pk.build_optimizer(config, 100)
    assert type(built).__name__ == cls
    if optimizer == "nesterov":
        assert built.nesterov and built.momentum == pytest.approx(0.95)
    if optimizer in ("adam", "nadam", "adamw"):
        assert built.beta_1 == pytest.approx(0.8)


@pytest.mark.parametrize("model", ["mlp", "cnn", "resnet"])
@pytest.mark.parametrize("normalization", ["none", "batch", "sync_batch", "layer", "ghost_batch"])
def test_model_families_build_for_digits(pk, digits, model, normalization):
    config = resolve_config({"model": model, "depth": 2, "width": 8,
                             "normalization": normalization})
    built = pk.build_model(config, digits.input_shape, digits.num_classes)
    assert built.output_shape == (None, 10)
    norm_layers = [l for l in built.layers if "normalization" in type(l).__name__.lower()]
    assert (len(norm_layers) > 0) == (normalization != "none")


def test_resnet_branch_is_pre_norm_and_zero_initialised(pk, digits):
    config = resolve_config({"model": "resnet", "depth": 1, "width": 8, "normalization": "layer"})
    model = pk.build_model(config, digits.input_shape, digits.num_classes)
    x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
    add = next(l for l in model.layers if type(l).__name__ == "Add")
    assert np.allclose(add.input[0].shape[1:], add.input[1].shape[1:])
    stem = pk.build_model(config, digits.input_shape, digits.num_classes)
    # zero-initialised last conv: the branch adds nothing at initialisation
    branch_last = [l for l in model.layers if type(l).__name__ == "Conv2D"][-1]
    assert not np.any(branch_last.get_weights()[0])
    assert model(x).shape == (4, 10) and stem is not model


def test_ghost_batch_norm_normalises_each_ghost_batch(pk):
    layer = pk.GhostBatchNormalization(virtual_batch_size=4)
    x = np.concatenate([np.full((4, 2), 10.0), np.full((4, 2), -5.0)]).astype("float32")
    x += np.random.default_rng(0).normal(size=x.shape).astype("float32")
    out = np.asarray(layer(x, training=True))
    for ghost in (out[:4], out[4:]):
        assert np.allclose(ghost.mean(axis=0), 0.0, atol=1e-4)
    assert not np.allclose(np.asarray(layer.moving_mean), 0.0)


def test_workload_override_of_one_minus_momentum_replaces_a_momentum_default(pk, digits):
    workload = pk.Workload(digits, defaults={"optimizer": "nesterov", "momentum": 0.5})
    assert workload.config()["momentum"] == pytest.approx(0.5)
    assert workload.config({"one_minus_momentum": 0.01})["momentum"] == pytest.approx(0.99)
    space = pk.momentum_space()
    from playbook_kit.search.points import quasi_random_points
    for point in quasi_random_points(space, 3, seed=0):
        config = workload.config({**space.fixed_values, **point})
        assert config["momentum"] == pytest.approx(1 - point["one_minus_momentum"])
