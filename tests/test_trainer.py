import math
from pathlib import Path

import numpy as np
import pytest

STEPS = 60


def test_same_seed_same_config_identical_curves_other_seed_differs(pk, digits_workload):
    run = lambda seed: pk.train_trial(digits_workload, {"dropout": 0.1}, seed=seed,
                                      max_train_steps=STEPS, eval_every=20)
    a, b, c = run(3), run(3), run(4)
    assert a.status == "completed"
    assert a.curves.equals(b.curves)
    assert not np.allclose(a.curve("validation", "loss"), c.curve("validation", "loss"))


def test_curves_record_what_the_playbook_needs(pk, digits_workload):
    result = pk.train_trial(digits_workload, {"schedule": "linear"}, max_train_steps=STEPS,
                            eval_every=20)
    steps = sorted(result.curves["step"].unique())
    assert steps == [0, 20, 40, 60]
    for split, metric in [("train", "loss"), ("train", "accuracy"), ("validation", "loss"),
                          ("validation", "accuracy"), ("optimizer", "learning_rate"),
                          ("optimizer", "grad_norm_mean"), ("optimizer", "grad_norm_max"),
                          ("optimizer", "clipped_fraction"), ("train", "minibatch_loss")]:
        assert len(result.curve(split, metric)) >= 3, (split, metric)
    lr = result.curve("optimizer", "learning_rate")
    assert lr[0] == pytest.approx(3.0e-3) and lr[60] == pytest.approx(0.0, abs=1e-9)
    norms = result.curves[result.curves["metric"].str.startswith("grad_norm")]
    assert (norms["value"] > 0).all()
    mean, peak = result.curve("optimizer", "grad_norm_mean"), result.curve("optimizer", "grad_norm_max")
    assert (peak >= mean - 1e-6).all()
    assert result.curve("validation", "accuracy").iloc[-1] > 0.5


def test_clip_gradients_only_above_threshold(pk):
    import tensorflow as tf
    from playbook_kit.trainer import clip_gradients

    grads = [tf.constant([3.0, 0.0]), tf.constant([4.0])]  # global norm 5
    clipped, norm, was = clip_gradients(grads, 2.5)
    assert float(norm) == pytest.approx(5.0) and float(was) == 1.0
    assert float(tf.linalg.global_norm(clipped)) == pytest.approx(2.5)
    same, _, was = clip_gradients(grads, 10.0)
    assert float(was) == 0.0 and np.allclose(same[0], grads[0])
    _, _, was = clip_gradients(grads, None)
    assert float(was) == 0.0


def test_clipped_fraction_matches_the_norms_per_step(pk, digits_workload):
    free = pk.train_trial(digits_workload, {}, max_train_steps=30, eval_every=1)
    norms = free.curve("optimizer", "grad_norm_mean").to_numpy()
    threshold = float(np.median(norms))
    clipped = pk.train_trial(digits_workload, {"clip_norm": threshold}, max_train_steps=30,
                             eval_every=1)
    per_step_norm = clipped.curve("optimizer", "grad_norm_mean").to_numpy()
    per_step_clipped = clipped.curve("optimizer", "clipped_fraction").to_numpy()
    assert np.array_equal(per_step_clipped, (per_step_norm > threshold).astype(float))
    assert 0 < per_step_clipped.mean() < 1
    assert free.curve("optimizer", "clipped_fraction").sum() == 0
    tiny = pk.train_trial(digits_workload, {"clip_norm": 1e-6}, max_train_steps=20, eval_every=10)
    assert tiny.curve("optimizer", "clipped_fraction").tolist() == [1.0, 1.0]


def test_nan_learning_rate_is_infeasible_with_a_reason(pk, digits_workload):
    result = pk.train_trial(digits_workload, {"learning_rate": float("nan")},
                            max_train_steps=STEPS, eval_every=20)
    assert result.status == "infeasible" and "NaN" in result.reason
    assert math.isnan(result.objective) and result.steps_completed < STEPS


def test_exploding_config_is_infeasible_not_an_exception(pk, digits_workload):
    result = pk.train_trial(digits_workload, {"optimizer": "sgd", "learning_rate": 1.0e4},
                            max_train_steps=STEPS, eval_every=20)
    assert result.status == "infeasible"
    assert "diverged" in result.reason or "NaN" in result.reason


def test_user_model_that_fails_to_build_is_infeasible(pk, digits):
    def build(config, input_shape, num_classes):
        raise KeyError("width must be even for this architecture")

    pk.register_model("picky", build)
    workload = pk.Workload(digits, defaults={"model": "picky"})
    result = pk.train_trial(workload, {}, max_train_steps=10, eval_every=5)
    assert result.status == "infeasible" and "width must be even" in result.reason


def test_best_k_retention_keeps_k_plus_last_and_best_step_matches_curve(pk, digits_workload,
                                                                          tmp_path):
    result = pk.train_trial(digits_workload, {}, max_train_steps=100, eval_every=10,
                            checkpoint_dir=tmp_path, keep_best=3)
    files = sorted(p.name for p in Path(tmp_path).iterdir())
    assert len(files) == 4 and "last.weights.h5" in files
    accuracy = result.curve("validation", "accuracy").drop(index=0)
    loss = result.curve("validation", "loss").drop(index=0)
    top = accuracy[accuracy == accuracy.max()]
    assert result.best_step == int(loss[top.index].idxmin())
    assert result.objective == pytest.approx(accuracy.max())
    kept = sorted(int(name[5:13]) for name in files if name.startswith("step-"))
    assert result.best_step in kept
    restored = pk.restore_checkpoint(digits_workload, result)
    from playbook_kit.trainer import evaluate_model
    assert evaluate_model(digits_workload, restored)["accuracy"] == pytest.approx(result.objective)


def test_evaluation_counts_every_validation_example_once(pk, digits, digits_workload):
    from playbook_kit.trainer import evaluate_model

    result = pk.train_trial(digits_workload, {}, max_train_steps=20, eval_every=20)
    model = pk.restore_checkpoint(digits_workload, result)
    measured = evaluate_model(digits_workload, model, batch_size=64)  # 360 = 5*64 + 40
    assert measured["examples"] == len(digits.y_val) == 360
    predicted = np.argmax(model.predict(digits.x_val, verbose=0), axis=-1)
    assert measured["accuracy"] == pytest.approx(np.mean(predicted == digits.y_val))


def test_bad_arguments_raise_before_training(pk, digits_workload):
    with pytest.raises(ValueError, match="eval_every"):
        pk.train_trial(digits_workload, {}, max_train_steps=10, eval_every=20)
    with pytest.raises(ValueError, match="'batch_size'"):
        pk.train_trial(digits_workload, {"batch_size": 100000}, max_train_steps=10, eval_every=5)
    with pytest.raises(ValueError, match="'optimizer'"):
        pk.train_trial(digits_workload, {"optimizer": "lbfgs"})
    with pytest.raises(ValueError, match="'warmup_steps'"):
        pk.train_trial(digits_workload, {"warmup_steps": 100}, max_train_steps=50, eval_every=10)


def test_studies_never_read_the_test_split(pk, digits_workload):
    before = digits_workload.dataset.test_reads
    pk.train_trial(digits_workload, {}, max_train_steps=10, eval_every=5)
    assert digits_workload.dataset.test_reads == before
