import math
import re
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
    recorded = {(split, metric): list(result.curve(split, metric).index)
                for split, metric in result.curves[["split", "metric"]].drop_duplicates()
                .itertuples(index=False)}
    evaluated, trained = [0, 20, 40, 60], [20, 40, 60]  # step 0 is before any training
    assert recorded == {
        ("train", "loss"): evaluated, ("train", "accuracy"): evaluated,
        ("validation", "loss"): evaluated, ("validation", "accuracy"): evaluated,
        ("optimizer", "learning_rate"): evaluated, ("optimizer", "grad_norm_mean"): trained,
        ("optimizer", "grad_norm_max"): trained, ("optimizer", "clipped_fraction"): trained,
        ("train", "minibatch_loss"): trained}
    lr = result.curve("optimizer", "learning_rate")
    assert lr[0] == pytest.approx(3.0e-3) and lr[60] == pytest.approx(0.0, abs=1e-9)
    norms = result.curves[result.curves["metric"].str.startswith("grad_norm")]
    assert (norms["value"] > 0).all()
    mean, peak = result.curve("optimizer", "grad_norm_mean"), result.curve("optimizer", "grad_norm_max")
    assert (peak >= mean - 1e-6).all()
    assert result.curve("validation", "accuracy").iloc[-1] > 0.5


def test_clip_gradients_only_above_threshold(pk):
    import tensorflow as tf
    from playbook_kit.training.trainer import clip_gradients

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
    from playbook_kit.training.trainer import evaluate_model
    assert evaluate_model(digits_workload, restored)["accuracy"] == pytest.approx(result.objective)


def test_evaluation_counts_every_validation_example_once(pk, digits, digits_workload):
    from playbook_kit.training.trainer import evaluate_model

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


def _scripted_train_loss(monkeypatch, digits, losses):
    """Make the evaluation on the training sample return ``losses`` in turn (one per
    evaluation, step 0 first); validation stays at loss 1.0, accuracy 0.5. The steps
    themselves train for real: this controls only what the divergence rule sees. Programs
    are not reused meanwhile (each trial builds its own, with this evaluator)."""
    import playbook_kit.training.programs as programs
    import playbook_kit.core.runtime as runtime

    script = iter(losses)
    n_sample = len(digits.train_sample_index)
    assert n_sample != len(digits.y_val)  # the example count tells the two splits apart

    def make_evaluator(model, loss_fn=None, metrics=None):
        def evaluate(batches):
            count = float(np.sum(batches[2]))
            loss = next(script) if count == n_sample else 1.0
            return loss, {"accuracy": 0.5}, count
        return evaluate

    monkeypatch.setattr(programs, "make_evaluator", make_evaluator)
    monkeypatch.setitem(runtime._STATE, "reuse_programs", False)


def test_divergence_threshold_is_the_factor_times_the_initial_training_loss(
        pk, digits, digits_workload, monkeypatch):
    losses = [1.0, 1.8, 2.9, 2.4, 2.0]  # peaks at 2.9x its start at step 20
    _scripted_train_loss(monkeypatch, digits, losses)
    tolerant = pk.train_trial(digits_workload, {}, max_train_steps=40, eval_every=10,
                              divergence_factor=5)
    assert tolerant.status == "completed" and tolerant.reason == ""
    assert tolerant.steps_completed == 40
    assert tolerant.curve("train", "loss").tolist() == losses
    _scripted_train_loss(monkeypatch, digits, losses)
    strict = pk.train_trial(digits_workload, {}, max_train_steps=40, eval_every=10,
                            divergence_factor=2)
    assert strict.status == "infeasible" and strict.steps_completed == 20
    assert strict.reason == "diverged: training loss 2.9 at step 20 exceeds 2x its initial 1"
    assert math.isnan(strict.objective)
    _scripted_train_loss(monkeypatch, digits, [1.0, 4.9, 5.2, 1.0])
    default = pk.train_trial(digits_workload, {}, max_train_steps=30, eval_every=10)
    assert default.status == "infeasible" and default.steps_completed == 20
    assert default.reason == "diverged: training loss 5.2 at step 20 exceeds 5x its initial 1"


@pytest.mark.parametrize("factor", [1, 0.5, -5, float("nan"), True, "5", None])
def test_divergence_factor_is_validated_before_training(pk, digits_workload, factor):
    with pytest.raises(ValueError, match=(
            rf"^divergence_factor={re.escape(repr(factor))} is not allowed; use a number > 1")):
        pk.train_trial(digits_workload, {}, max_train_steps=10, eval_every=5,
                       divergence_factor=factor)


@pytest.mark.parametrize("fail_at, steps_completed, calls_made, curve_steps", [
    ("first evaluation", 0, {"train_steps": 0, "evaluate": 1}, []),
    ("second step chunk", 10, {"train_steps": 2, "evaluate": 4}, [0, 10])])
def test_out_of_memory_is_infeasible_with_a_reason(pk, digits_workload, monkeypatch, fail_at,
                                                   steps_completed, calls_made, curve_steps):
    import tensorflow as tf
    import playbook_kit.training.programs as programs
    import playbook_kit.core.runtime as runtime

    message = "OOM when allocating tensor with shape[4096,4096] on /device:GPU:0"
    calls = {"train_steps": 0, "evaluate": 0}

    class OutOfMemory(programs.Program):
        def __init__(self, *args):
            super().__init__(*args)
            real_steps, real_evaluate = self.train_steps, self.evaluate

            def train_steps(iterator, n, carry=None):
                calls["train_steps"] += 1
                if fail_at == "second step chunk" and calls["train_steps"] == 2:
                    raise tf.errors.ResourceExhaustedError(None, None, message)
                return real_steps(iterator, n, carry)

            def evaluate(batches):
                calls["evaluate"] += 1
                if fail_at == "first evaluation":
                    raise tf.errors.ResourceExhaustedError(None, None, message)
                return real_evaluate(batches)
            self.train_steps, self.evaluate = train_steps, evaluate

    monkeypatch.setattr(programs, "Program", OutOfMemory)
    monkeypatch.setitem(runtime._STATE, "reuse_programs", False)  # a new program per trial
    result = pk.train_trial(digits_workload, {}, max_train_steps=30, eval_every=10)
    assert result.status == "infeasible" and result.reason == f"out of memory: {message}"
    assert math.isnan(result.objective) and result.steps_completed == steps_completed
    assert calls == calls_made
    assert sorted(result.curves["step"].unique()) == curve_steps


@pytest.fixture
def written(monkeypatch):
    """The names of the checkpoint files the trainer saves (copies not counted)."""
    from playbook_kit.training import trainer

    names, real_save = [], trainer.CheckpointKeeper._save

    def save(self, path):
        names.append(Path(path).name)
        real_save(self, path)

    monkeypatch.setattr(trainer.CheckpointKeeper, "_save", save)
    return names


def test_checkpoints_written_are_exactly_the_best_k_plus_the_last(pk, digits_workload, tmp_path,
                                                                  written):
    from playbook_kit.training.trainer import evaluate_model

    result = pk.train_trial(digits_workload, {}, max_train_steps=100, eval_every=10,
                            checkpoint_dir=tmp_path, keep_best=3)
    accuracy = result.curve("validation", "accuracy").drop(index=0)
    loss = result.curve("validation", "loss").drop(index=0)
    rank = lambda s: (-accuracy[s], loss[s], s)  # better accuracy, then lower loss, then earlier
    best = sorted(accuracy.index, key=rank)[:3]
    entered = sum(rank(s) <= sorted(map(rank, accuracy.index[:i + 1]))[:3][-1]
                  for i, s in enumerate(accuracy.index))
    assert entered > 4  # writing on entry would have written more than best 3 + last
    expected = sorted([f"step-{s:08d}.weights.h5" for s in best] + ["last.weights.h5"])
    # a last step among the best is copied from its file, not saved again
    assert sorted(written) == sorted(expected if 100 not in best else expected[1:])
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == expected
    assert sorted(result.checkpoints) == sorted([f"step-{s}" for s in best] + ["last"])
    last = pk.restore_checkpoint(digits_workload, result, which="last")
    assert evaluate_model(digits_workload, last)["accuracy"] == pytest.approx(
        result.final_metrics["val_accuracy"])
    kept = pk.restore_checkpoint(digits_workload, result)
    assert evaluate_model(digits_workload, kept)["accuracy"] == pytest.approx(result.objective)


def test_a_last_step_among_the_best_is_copied_not_saved_again(pk, digits_workload, tmp_path,
                                                              written):
    result = pk.train_trial(digits_workload, {}, max_train_steps=30, eval_every=10,
                            checkpoint_dir=tmp_path, keep_best=5)  # every step is kept
    steps = [f"step-{s:08d}.weights.h5" for s in (10, 20, 30)]
    assert sorted(written) == steps
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["last.weights.h5"] + steps
    assert (tmp_path / "last.weights.h5").read_bytes() == (tmp_path / steps[-1]).read_bytes()
    assert result.checkpoints["last"] == str(tmp_path / "last.weights.h5")


@pytest.mark.parametrize("config", [{}, {"model": "resnet", "depth": 2, "width": 16,
                                         "normalization": "batch", "dropout": 0.1, "l2": 1e-4},
                                    {"normalization": "ghost_batch", "dropout": 0.2}])
def test_replayed_saves_write_the_file_keras_writes(pk, digits_workload, tmp_path, config):
    """programs.save_weights replays the model's first save: every group, attribute and
    dataset of the file equals what ``model.save_weights`` writes, after training moved
    the weights, and the file loads into a fresh model."""
    import h5py
    import numpy as np

    from playbook_kit.training import programs

    config = digits_workload.config(config)
    model = digits_workload.build_model(config)
    programs.save_weights(model, tmp_path / "first.weights.h5")  # records the plan
    model.set_weights([w + 0.5 for w in model.get_weights()])
    model.save_weights(tmp_path / "keras.weights.h5")
    programs.save_weights(model, tmp_path / "replay.weights.h5")

    def contents(path):
        out = {}
        with h5py.File(path) as f:
            f.visititems(lambda name, obj: out.__setitem__(name, (
                sorted((k, str(v)) for k, v in obj.attrs.items()),
                np.array(obj).tolist() if isinstance(obj, h5py.Dataset) else None)))
        return out

    keras_file = contents(tmp_path / "keras.weights.h5")
    assert len(keras_file) > 10 and contents(tmp_path / "replay.weights.h5") == keras_file
    fresh = digits_workload.build_model(config)
    fresh.load_weights(tmp_path / "replay.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), model.get_weights()))


def test_a_last_step_outside_the_best_is_saved(pk, digits_workload, tmp_path, monkeypatch):
    from playbook_kit.training import trainer

    model = digits_workload.build_model(digits_workload.config())
    written = []
    monkeypatch.setattr(trainer.CheckpointKeeper, "_save",
                        lambda self, path: written.append(Path(path).name))
    keeper = trainer.CheckpointKeeper(tmp_path, 1, "max", model)
    for step, accuracy in ((10, 0.5), (20, 0.9), (30, 0.7)):
        keeper.offer(step, accuracy, 1.0)
    keeper.save_last(30)
    keeper.write()
    assert written == ["step-00000020.weights.h5", "last.weights.h5"]
    assert keeper.files() == {"step-20": str(tmp_path / "step-00000020.weights.h5"),
                              "last": str(tmp_path / "last.weights.h5")}
