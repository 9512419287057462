import math
import re

import pandas as pd
import pytest


@pytest.fixture()
def fake_timing(pk, monkeypatch):
    """Time per step constant up to 64 (perfect scaling), then proportional to the batch;
    an out-of-memory error at ``oom`` when set."""
    import tensorflow as tf
    from playbook_kit.recipes import batch_size as module

    calls = []
    settings = {"oom": None}

    def measure(workload, config, steps, warmup_steps, repeats, seed=0):
        batch_size = config["batch_size"]
        calls.append(batch_size)
        if settings["oom"] is not None and batch_size >= settings["oom"]:
            raise tf.errors.ResourceExhaustedError(None, None, "simulated OOM")
        return 0.01 * max(1.0, batch_size / 64)

    monkeypatch.setattr(module, "measure_throughput", measure)
    return calls, settings


def test_recommends_the_last_size_whose_doubling_nearly_doubles_throughput(pk, digits_workload,
                                                                          fake_timing):
    calls, _ = fake_timing
    scan = pk.batch_size_scan(digits_workload, batch_sizes=[16, 32, 64, 128, 256])
    assert calls == [16, 32, 64, 128, 256]
    assert scan.recommended_batch_size == 64
    assert scan.table["throughput"].tolist() == pytest.approx([1600, 3200, 6400, 6400, 6400])
    assert scan.table["scales"].tolist() == [False, True, True, False, False]
    assert scan.numbers["out_of_memory_batch_size"] is None
    assert scan.recommendation.startswith(
        "Use batch_size=64: doubling from 64 to 128 raised throughput only 1.00x")
    assert "learning rate" in scan.recommendation and "retuned" in scan.recommendation


def test_simulated_out_of_memory_stops_the_scan_and_is_the_limit(pk, digits_workload,
                                                                fake_timing):
    calls, settings = fake_timing
    settings["oom"] = 32
    scan = pk.batch_size_scan(digits_workload, start=8, max_batch_size=1024)
    assert calls == [8, 16, 32]
    assert scan.table["status"].tolist() == ["measured", "measured", "out of memory"]
    assert scan.numbers["out_of_memory_batch_size"] == 32
    assert scan.numbers["largest_feasible_batch_size"] == 16
    assert scan.recommended_batch_size == 16
    assert scan.warnings[0] == "batch size 32 ran out of memory: 16 is the largest that fits"


def test_ceiling_bounds_the_generated_sizes(pk, digits_workload, fake_timing):
    calls, _ = fake_timing
    scan = pk.batch_size_scan(digits_workload, start=16, max_batch_size=100)
    assert calls == [16, 32, 64]
    assert scan.numbers["ceiling"] == 100
    assert scan.warnings[0].startswith("throughput still nearly doubles at 64")


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_sizes": [16, 48, 96]}, "batch_sizes=[16, 48, 96] is not allowed; use consecutive "
                                    "powers of two such as [16, 32, 64] (48 is not a power of "
                                    "two)"),
    ({"batch_sizes": [16, 64]}, "batch_sizes=[16, 64] is not allowed; use consecutive powers "
                                "of two so that each doubling is measured (64 does not double "
                                "16)"),
    ({"batch_sizes": [32, 16]}, "batch_sizes=[32, 16] is not allowed; use strictly increasing"),
    ({"batch_sizes": [64]}, "a scan needs at least two sizes"),
    ({"start": 12}, "start=12 is not allowed; use a power of two"),
    ({"scaling_threshold": 2.5}, "scaling_threshold=2.5 is not allowed"),
    ({"steps": 0}, "steps=0 is not allowed; use an integer >= 1"),
    ({"learning_rates": [0.1, 0.01]}, "learning_rates=[0.1, 0.01] is not allowed"),
    ({"learning_rates": [0.1], "target_metric": "val_accuracy"},
     "target_metric='val_accuracy' is not allowed"),
])
def test_bad_arguments_fail_before_any_training(pk, digits_workload, fake_timing, kwargs,
                                                message):
    calls, _ = fake_timing
    with pytest.raises(ValueError, match=re.escape(message)):
        pk.batch_size_scan(digits_workload, **kwargs)
    assert calls == []


def test_real_measurement_and_time_to_result(pk, digits_workload, tmp_path):
    scan = pk.batch_size_scan(digits_workload, batch_sizes=[16, 32], steps=5, warmup_steps=2,
                              repeats=1, learning_rates=[1.0e-2], target=0.5,
                              max_train_steps=40, eval_every=10)
    assert scan.table["batch_size"].tolist() == [16, 32]
    measured = scan.table["throughput"]
    assert (measured > 0).all()
    assert scan.table["time_per_step_s"].tolist() == pytest.approx(
        (scan.table["batch_size"] / measured).tolist())
    assert scan.time_to_result[["batch_size", "learning_rate"]].values.tolist() == [
        [16, 0.01], [32, 0.01]]
    steps = scan.numbers["steps_to_target"]
    assert set(steps) == {16, 32} and all(s in (10, 20, 30, 40) for s in steps.values())
    paths = scan.save(tmp_path)
    assert pd.read_csv(paths["table"])["batch_size"].tolist() == [16, 32]
    assert paths["figure"].read_bytes().startswith(b"\x89PNG")
    journal = pk.Journal(tmp_path / "project")
    assert scan.to_journal(journal) == 1
    decision = journal.rounds[0]["decision"]
    assert decision["recommendation"] == f"batch_size={scan.recommended_batch_size}"
    assert decision["details"]["steps_to_target"] == {str(k): v for k, v in steps.items()}
