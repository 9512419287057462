"""Two engines, one trial record: the fit engine gives the compiled engine's record, a
compiled model trains exactly as written (and reuses its program exactly), the engine is
chosen and shown per trial, and a user's own names and compile reach the model."""
import numpy as np
import pytest

from own_workload_models import digits_hypermodel

STEPS, EVERY = 20, 10


@pytest.fixture
def programs(pk):
    from playbook_kit.training import programs

    programs.clear()
    programs.set_reuse(True)
    yield programs
    programs.set_reuse(True)


def test_the_fit_engine_gives_the_same_trial_record(pk, digits, tmp_path):
    """The toolkit's own family forced onto Keras' fit: the same splits, metrics, steps,
    best-k checkpoints and best-step selection; no gradient norms (not exposed)."""
    workload = pk.Workload(digits, defaults={"width": 32, "learning_rate": 3e-3}, engine="fit")
    compiled = pk.train_trial(pk.Workload(digits, defaults={"width": 32, "learning_rate": 3e-3}),
                              {}, 0, max_train_steps=STEPS, eval_every=EVERY)
    fit = pk.train_trial(workload, {}, 0, max_train_steps=STEPS, eval_every=EVERY,
                         checkpoint_dir=tmp_path, keep_best=1)
    assert (fit.engine, fit.engine_reason) == ("fit", "fit: forced (engine='fit')")
    assert fit.status == "completed" and fit.steps_completed == STEPS
    metrics = lambda r: {(s, m) for s, m in zip(r.curves["split"], r.curves["metric"])}
    assert metrics(compiled) - metrics(fit) == {
        ("optimizer", "grad_norm_mean"), ("optimizer", "grad_norm_max"),
        ("optimizer", "clipped_fraction")}
    assert sorted(set(fit.curves["step"])) == [0, 10, 20]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"step-{fit.best_step:08d}.weights.h5", "last.weights.h5"])
    assert fit.objective == fit.best_metrics["val_accuracy"] > 0.2  # chance: 0.1
    restored = pk.restore_checkpoint(workload, fit)
    assert pk.evaluate_model(workload, restored)["accuracy"] == pytest.approx(fit.objective)


def test_the_fit_engine_stops_a_nan_trial_at_its_step_and_marks_it_infeasible(pk, digits):
    workload = pk.Workload(digits, defaults={"width": 32, "learning_rate": 1e6,
                                             "optimizer": "sgd"}, engine="fit")
    result = pk.train_trial(workload, {}, 0, max_train_steps=STEPS, eval_every=EVERY)
    assert result.status == "infeasible"
    assert result.reason.startswith(("loss or gradient norm became NaN/Inf at step",
                                     "diverged: training loss"))
    assert result.steps_completed < STEPS


def test_a_compiled_hypermodel_trial_reuses_its_program_exactly(pk, digits, programs):
    """The user's optimizer is cloned with its learning rate as a value: a trial of a
    compiled model gives the same curves first, after another learning rate on the same
    program, and without reuse."""
    workload, _ = pk.Workload.from_hypermodel(digits_hypermodel, digits)
    config = {"units": 16, "learning_rate": 3e-3}
    run = lambda c: pk.train_trial(workload, c, 0, max_train_steps=STEPS, eval_every=EVERY)
    first = run(config)
    assert first.engine == "compiled"
    built = programs.programs_built()
    other = run({**config, "learning_rate": 5e-2})
    again = run(config)
    assert programs.programs_built() == built
    programs.set_reuse(False)
    fresh = run(config)
    assert again.curves.equals(first.curves) and fresh.curves.equals(first.curves)
    assert not other.curves.equals(first.curves)
    rates = first.curves.query("metric == 'learning_rate'")["value"]
    assert set(rates) == {np.float32(3e-3)}


def test_a_compiled_model_trains_as_keras_fit_would(pk, digits):
    """One step of the compiled engine on a compiled model moves the weights exactly as
    Keras' own train_step on the same batch."""
    import keras
    import tensorflow as tf

    workload, _ = pk.Workload.from_hypermodel(digits_hypermodel, digits)
    config = workload.config({"units": 8, "learning_rate": 1e-2})
    ours = pk.train_trial(workload, config, 0, max_train_steps=1, eval_every=1)
    from playbook_kit.training.trainer import seeded_model

    model, _ = seeded_model(workload, config, 0)
    batch = next(iter(digits.train_stream(config["batch_size"], 0)))
    model.train_on_batch(*batch)
    keras_weights = model.get_weights()
    ours_weights = ours.best_weights if ours.best_step == 1 else None
    if ours_weights is None:  # the initial weights were better: compare the program's
        from playbook_kit.training import programs

        ours_weights = next(reversed(programs._STATE["cache"].values())).model.get_weights()
    for a, b in zip(ours_weights, keras_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    del keras, tf


def test_a_loss_dict_on_an_uncompiled_model_is_compiled_by_the_toolkit(pk):
    """Two outputs, the workload's loss dict and loss_weights: the toolkit compiles the
    model with the config's optimizer; Keras' names are recorded and usable."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype("float32")
    y = {"a": (x[:, 0] > 0).astype("float32")[:, None], "b": x[:, 1:2] * 2}
    data = pk.split_arrays("two", x, y, task="other")

    def build(config):
        inputs = keras.Input((6,))
        hidden = keras.layers.Dense(config["width"], activation="relu")(inputs)
        return keras.Model(inputs, {"a": keras.layers.Dense(1, name="a")(hidden),
                                    "b": keras.layers.Dense(1, name="b")(hidden)})

    workload = pk.Workload(data, model=build, defaults={"width": 8},
                           loss={"a": keras.losses.BinaryCrossentropy(from_logits=True),
                                 "b": "mse"},
                           loss_weights={"a": 1.0, "b": 0.5}, metrics={"b": ["mae"]},
                           objective="val_b_mae")
    assert workload.direction == "min" and "b_mae" in workload.metric_names
    result = pk.train_trial(workload, {"learning_rate": 1e-2}, 0, max_train_steps=STEPS,
                            eval_every=EVERY)
    assert result.engine == "compiled" and result.status == "completed"
    last = result.final_metrics
    assert last["val_loss"] == pytest.approx(last["val_a_loss"] + 0.5 * last["val_b_loss"],
                                             rel=1e-5)
    assert result.curves.query("metric == 'learning_rate'")["value"].iloc[0] == \
        np.float32(1e-2)


def test_the_recorded_config_holds_what_reached_the_model(pk, digits):
    """A builder's record lists the fields it read and the trainer's, not the families'
    unused ones; the family's own trials keep the whole config."""
    import keras

    def build(config):
        inputs = keras.Input((8, 8, 1))
        hidden = keras.layers.Dense(config["width"])(keras.layers.Flatten()(inputs))
        return keras.Model(inputs, keras.layers.Dense(10)(hidden))

    result = pk.train_trial(pk.Workload(digits, model=build, defaults={"width": 8}),
                            {"optimizer": "momentum"}, 0, max_train_steps=2, eval_every=1)
    assert set(result.config) == {"width", "optimizer", "learning_rate", "momentum",
                                  "schedule", "warmup_steps", "decay_factor", "batch_size",
                                  "clip_norm", "devices"}
    family = pk.train_trial(pk.Workload(digits, defaults={"width": 8}), {}, 0,
                            max_train_steps=2, eval_every=1)
    assert {"model", "depth", "ghost_batch_size"} <= set(family.config)


def test_compile_overrides_are_stored_and_rebuilt(pk, digits, tmp_path):
    """A hypermodel's compile overridden (keras-tuner's tuner arguments) is stored with
    the study, and the rebuilt workload compiles the same."""
    import keras

    from playbook_kit.studies.store import read_study_spec
    from playbook_kit.workload.workload import rebuild_parts

    workload, space = pk.Workload.from_hypermodel(
        "own_workload_models:digits_hypermodel", digits,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="ce"),
        metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")],
        optimizer=keras.optimizers.SGD(0.05))
    assert workload.metric_names == ["accuracy", "top3"]
    study = pk.run_study(workload, space, max_trials=1, max_train_steps=2, eval_every=1,
                         directory=tmp_path, name="over", progress=False)
    assert "top3" in set(study.curves["metric"])
    builder = rebuild_parts(read_study_spec(tmp_path / "over")["parts"])["model"]
    model = builder({"units": 8, "learning_rate": 1e-2})
    assert type(model.optimizer).__name__ == "SGD"
    assert model.get_compile_config()["metrics"][0] == "accuracy"


def test_class_weights_beside_sample_weights_are_refused(pk):
    rng = np.random.default_rng(0)
    data = pk.split_arrays("w", rng.normal(size=(300, 4)), rng.integers(0, 2, 300),
                           sample_weight=np.ones(300))
    workload = pk.Workload(data, defaults={"width": 4}, class_weight={0: 1.0, 1: 2.0})
    with pytest.raises(ValueError, match=r"^class_weight=\{0: 1.0, 1: 2.0\} is not allowed; "
                                         r"not with sample weights as well"):
        pk.train_trial(workload, {}, 0, max_train_steps=2, eval_every=1)
    with pytest.raises(pk.WorkloadError, match=r"^class_weight=\{'a': 1\} is not allowed"):
        pk.Workload(data, class_weight={"a": 1})
    with pytest.raises(pk.WorkloadError, match=r"^engine='keras' is not allowed; use one of "
                                               r"auto, compiled, fit$"):
        pk.Workload(data, engine="keras")


def test_the_data_keeps_features_and_reads_labels_as_meant(pk):
    rng = np.random.default_rng(0)
    x = {"ids": rng.integers(0, 50, (60, 3)), "text": np.array(["a b"] * 60)[:, None],
         "value": rng.normal(size=(60, 2))}
    data = pk.split_arrays("mixed", x, rng.integers(0, 2, 60))
    assert (data.x_train["ids"].dtype.kind, data.x_train["text"].dtype.kind,
            data.x_train["value"].dtype) == ("i", "U", np.float32)
    batches = data.eval_data("validation", 16)
    assert batches[0]["text"].dtype.name == "string"
    assert set(batches[0]["text"].numpy()[-1, -1].tolist()) <= {b"a b", b""}
    with pytest.raises(ValueError, match=r"labels of shape \(60, 2\) are not class labels; "
                                         r"pass task='regression'"):
        pk.split_arrays("values", x, rng.normal(size=(60, 2)))
    strings = pk.split_arrays("names", x, np.array(["cat", "dog"] * 30))
    assert strings.labels == "classes" and list(strings.classes) == ["cat", "dog"]
