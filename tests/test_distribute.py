"""One trial over two devices (a CPU split into two logical devices) equals one device."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from playbook_kit.training.distribute import replica_count
from playbook_kit.workload.workload import resolve_config

HERE = Path(__file__).parent
pytestmark = pytest.mark.xdist_group("two_devices")  # one worker, so one two_devices run
LOSSES = ("validation/loss", "train/loss", "train/minibatch_loss", "optimizer/grad_norm_mean")


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    """What ``tests/two_devices.py`` measured in its own process (about 30 s)."""
    out = tmp_path_factory.mktemp("two_devices") / "report.json"
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, str(HERE / "two_devices.py"), str(out)], env=env,
                          timeout=600, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def largest_difference(report, first, second, metrics) -> float:
    a, b = report["curves"][first], report["curves"][second]
    assert a.keys() == b.keys() and len(a) == 5 + 3 * 9  # step 0, then 3 loops of 20 steps
    return max(abs(a[key] - b[key]) for key in a if key.rsplit("/", 1)[0] in metrics)


def test_the_cpu_is_split_into_two_devices(two_devices):
    assert two_devices["devices"] == ["/device:CPU:0", "/device:CPU:1"]


@pytest.mark.parametrize("name", ["none", "clip_l2", "momentum"])
def test_two_devices_give_one_devices_curves(two_devices, name):
    """Without normalization, with clipping (it clips: the fraction is checked) and an L2
    penalty, with momentum (unlike Adam, it moves twice as far on doubled gradients):
    every curve, accuracies and gradient norms included, agrees to 1e-5."""
    every = {key.rsplit("/", 1)[0] for key in two_devices["curves"]["none/1"]}
    assert largest_difference(two_devices, f"{name}/1", f"{name}/2", every) < 1e-5


def test_clipping_acts_on_the_global_norm_in_both(two_devices):
    for devices in (1, 2):
        curves = two_devices["curves"][f"clip_l2/{devices}"]
        assert [curves[f"optimizer/clipped_fraction/{s}"] for s in (20, 40, 60)] == \
            [0.8, 1.0, 1.0]


@pytest.mark.parametrize("name", ["sync_batch", "ghost_batch"])
def test_synchronized_and_ghost_batch_norm_match_one_device(two_devices, name):
    """Losses and gradient norms agree to 1e-3 (a dense bias before batch norm has a zero
    true gradient; Adam turns its rounding noise into learning-rate-sized steps, which the
    moving means follow: about 2e-4 in the evaluated losses here)."""
    assert largest_difference(two_devices, f"{name}/1", f"{name}/2", LOSSES) < 1e-3


def test_synchronized_batch_norm_on_two_devices_is_plain_batch_norm_on_one(two_devices):
    assert largest_difference(two_devices, "batch/1", "sync_batch/2", LOSSES) < 1e-3


def test_unsynchronized_batch_norm_changes_with_the_device_count(two_devices):
    """Each device normalizes its own 32 examples: the model differs from one device's."""
    assert largest_difference(two_devices, "batch/1", "batch/2", LOSSES) > 1e-2


def test_moving_statistics_agree_across_replicas(two_devices):
    assert two_devices["moving_statistics_spread"] == 0.0


def test_a_two_device_checkpoint_restores_on_one_device(two_devices):
    """The best checkpoint written from mirrored variables, loaded into a one-device model,
    evaluates to the recorded best validation metrics."""
    objective, loss, measured, names = two_devices["checkpoint"]
    assert names == ["last", "step-20", "step-40"]
    assert measured["accuracy"] == pytest.approx(objective, abs=1e-6)
    assert measured["loss"] == pytest.approx(loss, abs=1e-5)


def test_bad_device_configs_fail_before_any_work(two_devices):
    """Each error names the field, the value and what is allowed; no checkpoint folder."""
    assert two_devices["errors"] == {
        "devices": ["config field 'devices'=3 is not allowed; use at most 2 (the local "
                    "devices here) or 'all'", False],
        "batch_size": ["config field 'batch_size'=63 is not allowed; use a multiple of the 2 "
                       "devices (devices='all'): each device takes an equal slice", False],
        "ghost": ["config field 'ghost_batch_size'=64 is not allowed; use a divisor of each "
                  "device's slice of 32 examples (batch_size=64 over 2 devices)", False]}


def test_devices_defaults_to_one_and_takes_all():
    assert resolve_config({})["devices"] == 1
    assert resolve_config({"devices": "all"})["devices"] == "all"
    assert resolve_config({"devices": 4.0})["devices"] == 4


@pytest.mark.parametrize("value", [0, "two", True, 2.5, None])
def test_bad_devices_values_are_named(value):
    with pytest.raises(ValueError) as error:
        resolve_config({"devices": value})
    assert str(error.value) == (f"config field 'devices'={value!r} is not allowed; use an "
                                "integer >= 1 or 'all' (local devices one trial trains on, "
                                "data-parallel)")


def test_replica_count_without_tensorflow():
    config = resolve_config({"batch_size": 48, "normalization": "ghost_batch",
                             "ghost_batch_size": 8})
    assert replica_count({**config, "devices": "all"}, 6) == 6
    assert replica_count({**config, "devices": 3}, 4) == 3
    assert replica_count({**config, "batch_size": 7}, 4) == 1  # one device: any batch
    with pytest.raises(ValueError, match=r"'ghost_batch_size'=8 is not allowed; use a divisor "
                                         r"of each device's slice of 12 examples"):
        replica_count({**config, "devices": 4}, 4)


def test_sync_batch_builds_synchronized_batch_norm(pk):
    model = pk.build_model(resolve_config({"normalization": "sync_batch", "width": 8}),
                           (4,), 3)
    norms = [layer for layer in model.layers if "batch_normalization" in layer.name]
    assert [layer.synchronized for layer in norms] == [True]


def test_logical_cpus_after_tensorflow_started_is_refused(pk):
    """TensorFlow fixed this process's devices when it started (one CPU device)."""
    with pytest.raises(ValueError) as error:
        pk.setup(seed=0, logical_cpus=2)
    assert str(error.value) == ("setup: logical_cpus=2 is not allowed; call "
                                "setup(logical_cpus=...) first in a new process (TensorFlow "
                                "already started with 1 CPU device(s))")
    assert pk.setup(seed=0, logical_cpus=1)["seed"] == 0
