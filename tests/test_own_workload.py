"""The user's own workload: model builders, losses, metrics, objectives and data pipelines."""
import re
from pathlib import Path

import numpy as np
import pytest

from own_workload_models import binary_logit, not_a_model, regression_mlp, two_inputs


@pytest.fixture(scope="module")
def diabetes(pk):
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    return pk.split_arrays("diabetes", (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std(),
                           task="regression")


@pytest.fixture(scope="module")
def cancer(pk):
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    return pk.split_arrays("cancer", (x - x.mean(0)) / x.std(0), y)


def regression_workload(pk, data, **kw):
    return pk.Workload(data, defaults={"width": 16, "dropout": 0.1, "learning_rate": 3.0e-3},
                       model=regression_mlp, loss="mse", metrics=["mae"],
                       objective=kw.pop("objective", "val_mae"), **kw)


def test_regression_split_keeps_labels_and_does_not_stratify(pk, diabetes):
    assert diabetes.task == "regression" and diabetes.num_classes == 1
    assert diabetes.y_train.dtype == np.float32
    assert len(np.unique(diabetes.y_train)) > 100  # not re-encoded as classes
    assert (len(diabetes.y_train), len(diabetes.y_val)) == (264, 89)


@pytest.mark.parametrize("objective, direction", [
    ("val_loss", "min"), ("val_mae", "min"), ("val_mean_squared_error", "min"),
    ("val_root_mean_squared_error", "min"), ("val_accuracy", "max"), ("val_auc", "max"),
    ("val_precision", "max"), ("val_recall", "max"), ("val_binary_accuracy", "max")])
def test_direction_is_inferred_from_the_metric_name(pk, objective, direction):
    from playbook_kit.workload.objectives import objective_direction

    assert objective_direction(objective) == direction


def test_an_ambiguous_objective_needs_a_direction(pk, diabetes):
    from playbook_kit.workload.objectives import objective_direction

    with pytest.raises(ValueError, match=r"^objective='val_r_squared_like': its direction "
                       r"cannot be inferred from the name; give direction='min' or "):
        objective_direction("val_r_squared_like")
    assert objective_direction("val_r_squared_like", "max") == "max"


def test_regression_trial_with_batch_norm_dropout_and_l2_trains(pk, diabetes):
    workload = regression_workload(pk, diabetes)
    assert workload.direction == "min"
    result = pk.train_trial(workload, {}, max_train_steps=60, eval_every=20)
    assert result.status == "completed"
    assert sorted(result.curves["metric"].unique()) == [
        "clipped_fraction", "grad_norm_max", "grad_norm_mean", "learning_rate", "loss", "mae",
        "minibatch_loss"]
    val_mae = result.curve("validation", "mae")
    assert result.objective == val_mae.min() == result.best_metrics["val_mae"]
    assert val_mae.iloc[-1] < val_mae.iloc[0]
    # the minibatch loss adds the L2 penalty (model.losses) to the data loss
    model = pk.restore_checkpoint(workload, result)
    assert len(model.losses) == 1 and float(model.losses[0]) > 0


def test_several_inputs_train(pk):
    rng = np.random.default_rng(0)
    x = {"a": rng.normal(size=(400, 3)), "b": rng.normal(size=(400, 2))}
    y = x["a"][:, 0] - 2 * x["b"][:, 1]
    data = pk.split_arrays("two", x, y, task="regression")
    assert data.input_shape == {"a": (3,), "b": (2,)}
    workload = pk.Workload(data, defaults={"width": 8, "learning_rate": 1.0e-2},
                           model=two_inputs, loss="mse", objective="val_loss")
    result = pk.train_trial(workload, {}, max_train_steps=60, eval_every=30)
    assert result.status == "completed"
    loss = result.curve("validation", "loss")
    assert loss.iloc[-1] < 0.5 * loss.iloc[0]


def test_binary_auc_equals_scikit_learns_on_the_same_predictions(pk, cancer):
    import keras
    from sklearn.metrics import roc_auc_score

    workload = pk.Workload(cancer, defaults={"width": 8}, model=binary_logit,
                           loss=keras.losses.BinaryCrossentropy(from_logits=True),
                           metrics=[keras.metrics.AUC(num_thresholds=20001, from_logits=True),
                                    "accuracy"], objective="val_auc")
    result = pk.train_trial(workload, {}, max_train_steps=20, eval_every=10)
    model = pk.restore_checkpoint(workload, result)
    measured = pk.evaluate_model(workload, model)
    logits = model.predict(cancer.x_val, verbose=0)[:, 0]
    assert measured["examples"] == len(cancer.y_val) == 114
    assert measured["auc"] == pytest.approx(roc_auc_score(cancer.y_val, logits), abs=1e-4)
    assert measured["accuracy"] == pytest.approx(np.mean((logits > 0) == cancer.y_val), abs=1e-6)


def test_padded_evaluation_batches_give_the_unpadded_metrics(pk, cancer):
    import keras

    workload = pk.Workload(cancer, defaults={"width": 8}, model=binary_logit,
                           loss=keras.losses.BinaryCrossentropy(from_logits=True),
                           metrics=["auc", "accuracy", "precision"], objective="val_auc")
    model = binary_logit({"width": 8})
    whole = pk.evaluate_model(workload, model, batch_size=114)  # one batch, no padding
    padded = pk.evaluate_model(workload, model, batch_size=50)  # 150 rows, 36 padded
    assert whole["examples"] == padded["examples"] == 114
    for key in ("auc", "accuracy", "precision"):
        assert padded[key] == whole[key]
    assert padded["loss"] == pytest.approx(whole["loss"], rel=1e-6)


def test_one_hot_and_multilabel_losses(pk):
    import keras

    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 10)).astype(np.float32)
    classes = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    one_hot = np.eye(3, dtype=np.float32)[classes]
    data = pk.split_arrays("onehot", x, one_hot, task="other")
    workload = pk.Workload(data, defaults={"width": 16}, loss=keras.losses.CategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"], objective="val_accuracy")
    assert workload.make_metrics()["accuracy"].__class__.__name__ == "CategoricalAccuracy"
    assert pk.dry_run(workload)["accuracy"] >= 0
    labels = np.stack([x[:, 0] > 0, x[:, 1] > 0], 1).astype(np.float32)
    multilabel = pk.split_arrays("multi", x, labels, task="multilabel")
    workload = pk.Workload(multilabel, defaults={"width": 16, "learning_rate": 1.0e-2},
                           loss=keras.losses.BinaryCrossentropy(from_logits=True),
                           metrics=["accuracy"], objective="val_accuracy")
    result = pk.train_trial(workload, {}, max_train_steps=80, eval_every=40)
    assert workload.make_metrics()["accuracy"].__class__.__name__ == "BinaryAccuracy"
    assert result.status == "completed" and result.objective > 0.9


# -- checked before any work (issue 10, item 7) ----------------------------------------

def test_a_builder_that_returns_no_model_raises(pk, diabetes):
    workload = pk.Workload(diabetes, model=not_a_model, loss="mse", objective="val_loss")
    message = (r"^model builder not_a_model returned str; it must return a keras\.Model$")
    with pytest.raises(pk.WorkloadError, match=message):
        pk.dry_run(workload)
    with pytest.raises(pk.WorkloadError, match=message):
        pk.train_trial(workload, {}, max_train_steps=10, eval_every=10)


def test_labels_that_do_not_fit_the_output_raise(pk, diabetes, cancer):
    three = pk.split_arrays("three", diabetes.x_train[:200],
                            np.tile(diabetes.y_train[:200, None], (1, 3)), task="regression")
    workload = regression_workload(pk, three)
    with pytest.raises(pk.WorkloadError, match=re.escape(
            "labels of shape (8, 3) do not fit the model's output of shape (8, 1) for loss "
            "'mean_squared_error': make the last layer output (3,) per example")):
        pk.dry_run(workload)
    digits_like = pk.Workload(cancer, defaults={"width": 8}, model=binary_logit,
                              objective="val_accuracy")  # sparse CE on one logit
    with pytest.raises(pk.WorkloadError, match=re.escape(
            "labels (shape (8,), values 0..1) do not fit the model's output of shape (8, 1) "
            "for loss 'sparse_categorical_crossentropy': use integer classes 0..0")):
        pk.dry_run(digits_like)


def test_unknown_metric_and_missing_objective_raise_at_construction(pk, diabetes):
    with pytest.raises(ValueError, match=r"^metrics entry 'maee' is not a metric Keras knows; "
                       r"use a Keras metric name \(accuracy, auc"):
        pk.Workload(diabetes, model=regression_mlp, loss="mse", metrics=["maee"],
                    objective="val_loss")
    with pytest.raises(pk.WorkloadError, match=r"^objective='val_accuracy' is not among the "
                       r"recorded validation metrics; use one of val_loss, val_mae$"):
        pk.Workload(diabetes, model=regression_mlp, loss="mse", metrics=["mae"])
    with pytest.raises(ValueError, match=r"^loss='hubber' is not allowed; use a loss name "
                       r"Keras knows \(sparse_categorical_crossentropy, "):
        pk.Workload(diabetes, model=regression_mlp, loss="hubber", objective="val_loss")


def test_nan_labels_raise(pk):
    import tensorflow as tf

    x = np.ones((32, 10), np.float32)
    y = np.ones((32, 1), np.float32)
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"^dataset 'nan': labels contain NaN or Inf"):
        pk.split_arrays("nan", x, y[:, 0], task="regression")
    split = tf.data.Dataset.from_tensor_slices((x, y))
    data = pk.from_tf_data(split, split, split, task="regression")
    workload = pk.Workload(data, defaults={"width": 4, "dropout": 0.0}, model=regression_mlp,
                           loss="mse", objective="val_loss")
    with pytest.raises(pk.WorkloadError, match=r"^labels contain NaN or Inf \(in the first "
                       r"training batch\); clean them"):
        pk.dry_run(workload)


def test_a_loss_that_is_not_per_example_raises(pk, diabetes):
    import tensorflow as tf

    def batch_mean(y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true[:, None] - y_pred))

    workload = pk.Workload(diabetes, defaults={"width": 4}, model=regression_mlp,
                           loss=batch_mean, objective="val_loss")
    with pytest.raises(pk.WorkloadError, match=re.escape(
            "loss 'batch_mean' returned shape (); it must return one value per example, "
            "shape (8,)")):
        pk.dry_run(workload)


# -- data pipelines (issue 10, item 4) ---------------------------------------------------

def test_batched_tf_data_splits_are_rebatched_and_validation_is_covered(pk, diabetes):
    import tensorflow as tf

    split = lambda x, y, b: tf.data.Dataset.from_tensor_slices((x, y[:, None])).batch(b)
    data = pk.from_tf_data(split(diabetes.x_train, diabetes.y_train, 7),
                           split(diabetes.x_val, diabetes.y_val, 13),
                           split(*diabetes.test(), 5), task="regression")
    assert data.input_shape == (10,) and data.n_train is None  # unbatching loses the count
    workload = regression_workload(pk, data)
    result = pk.train_trial(workload, {"batch_size": 32}, max_train_steps=40, eval_every=20)
    assert result.status == "completed"
    model = pk.restore_checkpoint(workload, result)
    assert pk.evaluate_model(workload, model)["examples"] == 89
    assert data.test_reads == 0
    assert pk.evaluate_model(workload, model, "test")["examples"] == 89
    assert data.test_reads == 1
    with pytest.raises(AttributeError):
        data.x_test


def test_a_streamed_dataset_is_never_materialized(pk):
    """An endless generator: training, evaluation on declared batches and the dry run
    read a bounded number of examples (caching or a full pass would never end)."""
    import tensorflow as tf

    produced = [0]

    def endless():
        rng = np.random.default_rng(0)
        while True:
            produced[0] += 1
            x = rng.normal(size=10).astype(np.float32)
            yield x, np.float32([x[0]])

    signature = (tf.TensorSpec((10,), tf.float32), tf.TensorSpec((1,), tf.float32))
    stream = lambda: tf.data.Dataset.from_generator(endless, output_signature=signature)
    data = pk.from_tf_data(stream(), stream(), stream(), task="regression", shuffle_buffer=16,
                           eval_batches=2, train_sample_size=32)
    assert data.n_train is None
    workload = regression_workload(pk, data, objective="val_loss")
    result = pk.train_trial(workload, {"batch_size": 8}, max_train_steps=20, eval_every=10)
    assert result.status == "completed"
    assert produced[0] < 2000


# -- files streamed from disk ------------------------------------------------------------

def _write_csv(path, rng, n):
    import pandas as pd

    x = rng.normal(size=(n, 4))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": x[:, 3],
                  "target": (x[:, 0] + x[:, 1] > 0).astype(int)}).to_csv(path, index=False)


def test_csv_files_stream_and_rebuild_from_their_spec(pk, tmp_path):
    rng = np.random.default_rng(0)
    paths = {split: tmp_path / f"{split}.csv" for split in ("train", "validation", "test")}
    for split, n in (("train", 300), ("validation", 101), ("test", 50)):
        _write_csv(paths[split], rng, n)
    data = pk.stream_csv(paths["train"], paths["validation"], paths["test"], label="target")
    assert data.input_shape == (4,) and data.num_classes is None
    workload = pk.Workload(data, defaults={"width": 16, "learning_rate": 1.0e-2, "batch_size": 32},
                           model="own_workload_models:binary_logit_4",
                           loss="binary_crossentropy", metrics=["accuracy"])
    result = pk.train_trial(workload, {}, max_train_steps=60, eval_every=30)
    assert result.status == "completed" and result.objective > 0.85
    from playbook_kit.data.loaders import load_data

    again = load_data(data.source)
    model = pk.restore_checkpoint(workload, result)
    assert pk.evaluate_model(pk.Workload(again, defaults=workload.defaults, model=workload.model,
                                         loss="binary_crossentropy", metrics=["accuracy"]),
                             model)["examples"] == 101
    assert data.test_reads == again.test_reads == 0


def test_an_image_folder_streams_with_its_classes(pk, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("validation", 6), ("test", 4)):
        for label, level in (("dark", 40), ("light", 210)):
            folder = tmp_path / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(level, 20, (8, 8, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    data = pk.stream_images(tmp_path / "train", tmp_path / "validation", tmp_path / "test",
                            image_size=(8, 8))
    assert (data.input_shape, data.num_classes) == ((8, 8, 3), 2)
    workload = pk.Workload(data, defaults={"width": 8, "batch_size": 8, "learning_rate": 1.0e-2})
    result = pk.train_trial(workload, {}, max_train_steps=30, eval_every=15)
    assert result.status == "completed" and result.objective == 1.0
    model = pk.restore_checkpoint(workload, result)
    assert pk.evaluate_model(workload, model)["examples"] == 12


def test_tfrecord_files_stream(pk, tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    paths = {}
    for split, n in (("train", 200), ("validation", 60), ("test", 40)):
        paths[split] = tmp_path / f"{split}.tfrecord"
        with tf.io.TFRecordWriter(str(paths[split])) as writer:
            for _ in range(n):
                x = rng.normal(size=10).astype(np.float32)
                feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=x)),
                           "y": tf.train.Feature(float_list=tf.train.FloatList(value=[x[0]]))}
                writer.write(tf.train.Example(features=tf.train.Features(
                    feature=feature)).SerializeToString())
    data = pk.stream_tfrecord(paths["train"], paths["validation"], paths["test"],
                              features={"x": [[10], "float32"], "y": [[1], "float32"]},
                              label="y", task="regression")
    workload = regression_workload(pk, data, objective="val_loss")
    result = pk.train_trial(workload, {"batch_size": 16}, max_train_steps=40, eval_every=20)
    assert result.status == "completed"
    model = pk.restore_checkpoint(workload, result)
    assert pk.evaluate_model(workload, model)["examples"] == 60


# -- studies on own workloads ------------------------------------------------------------

def test_a_regression_study_minimizes_and_resumes_from_the_stored_parts(pk, diabetes, tmp_path):
    space = pk.SearchSpace().add("learning_rate", "nuisance", 1.0e-4, 3.0e-2, scale="log")
    workload = pk.Workload(diabetes, defaults={"width": 16, "dropout": 0.1},
                           model="own_workload_models:regression_mlp", loss="mse",
                           metrics=["mae"], objective="val_loss")
    study = pk.run_study(workload, space, max_trials=4, max_train_steps=40, eval_every=20,
                         directory=tmp_path, name="reg", progress=False)
    assert study.direction == "min"
    trials = study.trials
    best = study.best_trials(1).iloc[0]
    assert best["objective"] == trials["objective"].min()
    lowest = study.curves.query("split == 'validation' and metric == 'loss'")["value"].min()
    assert best["objective"] == pytest.approx(lowest, rel=1e-6)
    assert trials["objective"].nunique() == 4
    from playbook_kit.studies.store import read_study_spec

    assert read_study_spec(tmp_path / "reg")["parts"] == {
        "model": "own_workload_models:regression_mlp", "model_importable": True,
        "loss": "mse", "metrics": ["mae"], "direction": "min"}
    from playbook_kit.workload.workload import rebuild_parts

    rebuilt = pk.Workload(diabetes, **rebuild_parts(read_study_spec(tmp_path / "reg")["parts"]),
                          defaults={"width": 16, "dropout": 0.1}, objective="val_loss")
    assert (rebuilt.builder, rebuilt.metric_names) == (regression_mlp, ["mae"])
    resumed = pk.run_study(rebuilt, space, max_trials=5, max_train_steps=40, eval_every=20,
                           directory=tmp_path, name="reg", progress=False)
    assert len(resumed.trials) == 5
    reads = diabetes.test_reads
    final = pk.final_evaluation(resumed, best["trial_id"], workload=rebuilt)
    assert sorted(final["metrics"]) == ["test_examples", "test_loss", "test_mae",
                                        "val_examples", "val_loss", "val_mae"]
    assert (final["metrics"]["test_examples"], diabetes.test_reads) == (89, reads + 1)
    assert final["metrics"]["val_loss"] == pytest.approx(best["objective"], rel=1e-5)
    assert resumed.trials.set_index("trial_id")["objective"].iloc[:4].tolist() == \
        trials.set_index("trial_id")["objective"].tolist()


def test_a_notebook_builder_fails_clearly_where_another_process_needs_it(pk, diabetes):
    def local_builder(config):
        return regression_mlp(config)

    workload = pk.Workload(diabetes, defaults={"width": 16}, model=local_builder, loss="mse",
                           objective="val_loss")
    parts = workload.spec()
    assert parts["model"] is None and parts["model_importable"] is False
    from playbook_kit.workload.workload import rebuild_parts

    with pytest.raises(pk.WorkloadError, match=r"^study 'reg' was run with a model builder "
                       r"defined in a notebook or __main__, which this process cannot import"):
        rebuild_parts(parts, "reg")


# -- keras-tuner hypermodels used as they are ----------------------------------------

def test_a_hypermodels_hyperparameters_appear_with_ranges_scales_and_roles(pk, cancer):
    from own_workload_models import cancer_hypermodel

    workload, space = pk.Workload.from_hypermodel(cancer_hypermodel, cancer,
                                                  roles={"layers": "scientific"})
    table = space.to_frame().set_index("name")
    assert list(table.index) == ["layers", "units", "use_dropout", "learning_rate", "rate"]
    assert table.loc["layers", ["role", "scale", "low", "high"]].tolist() == [
        "scientific", "integer", 1, 3]
    assert table.loc["units", "values"] == [8, 16, 24, 32, 40, 48, 56, 64]
    assert table.loc["learning_rate", ["role", "scale", "low", "high"]].tolist() == [
        "nuisance", "log", 1.0e-4, 0.1]
    assert table.loc["rate", ["scale", "low", "high", "parent"]].tolist() == [
        "linear", 0.1, 0.5, "use_dropout"]
    assert table.loc["use_dropout", "values"] == [False, True]
    # the model trains with its own compile: no toolkit optimizer field, its metrics
    assert workload.defaults == {}
    assert "optimizer" not in workload.config() and "model" not in workload.config()
    assert (workload.loss, workload.metric_names, workload.objective) == (
        None, ["accuracy", "auc"], "val_accuracy")
    assert workload.builder.aliases == {"learning_rate": "lr"}
    with pytest.raises(pk.WorkloadError, match=r"^roles name 'depth', which the hypermodel "
                       r"does not declare; it declares layers, units, use_dropout, "):
        pk.Workload.from_hypermodel(cancer_hypermodel, cancer, roles={"depth": "scientific"})


def test_a_hypermodel_study_trains_each_config_and_stores_the_hypermodel(pk, cancer, tmp_path):
    from playbook_kit.studies.store import read_study_spec
    from playbook_kit.workload.workload import rebuild_parts

    workload, space = pk.Workload.from_hypermodel("own_workload_models:cancer_hyper_instance",
                                                  cancer)
    study = pk.run_study(workload, space, max_trials=3, max_train_steps=20, eval_every=10,
                         directory=tmp_path, name="hm", progress=False)
    assert (study.trials["status"] == "completed").all()
    assert study.direction == "max"
    parts = read_study_spec(tmp_path / "hm")["parts"]
    assert parts["model"] == {"hypermodel": "own_workload_models:cancer_hyper_instance",
                              "aliases": {"learning_rate": "lr"}}
    rebuilt = rebuild_parts(parts)["model"]
    config = study.trials.iloc[0]
    model = rebuilt({"layers": int(config["layers"]), "units": int(config["units"]),
                     "use_dropout": False})
    assert len(model.layers) == int(config["layers"]) + 1
    assert model.layers[0].units == int(config["units"])


def test_a_data_builder_tunes_a_data_hyperparameter(pk, tmp_path):
    from playbook_kit.studies.store import read_study_spec

    workload = pk.Workload("own_workload_models:noisy_diabetes",
                           defaults={"width": 16, "dropout": 0.0, "label_noise": 0.0,
                                     "learning_rate": 1.0e-2},
                           extra_keys=("label_noise",), model=regression_mlp, loss="mse",
                           objective="val_loss")
    assert workload.data_source is None
    space = pk.SearchSpace().add("label_noise", "scientific", values=[0.0, 3.0])
    study = pk.run_study(workload, space, max_trials=2, max_train_steps=60, eval_every=30,
                         directory=tmp_path, name="noise", progress=False, algorithm="list",
                         configs=[{"label_noise": 0.0}, {"label_noise": 3.0}])
    by_noise = study.trials.set_index("label_noise")["objective"]
    assert by_noise[3.0] > by_noise[0.0]
    spec = pk.StudySpec.from_dict(read_study_spec(tmp_path / "noise"))
    assert spec.data is None and spec.parts["data"] == "own_workload_models:noisy_diabetes"
    rebuilt = spec.workload()
    assert rebuilt.data_for(rebuilt.config({"label_noise": 3.0})).y_train[0] == \
        workload.data_for(workload.config({"label_noise": 3.0})).y_train[0]


def test_the_cli_runs_a_study_of_an_own_workload_with_a_worker_and_retrains_it(
        pk, tmp_path, monkeypatch):
    """A study file names the user's code by path: the chief and a worker process
    rebuild the same workload (model builder, loss, metrics, CSV data)."""
    import os

    import pandas as pd
    import yaml

    from playbook_kit.cli import main

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(10)]).assign(target=x[:, 0] - x[:, 1])
    frame.to_csv(tmp_path / "reg.csv", index=False)
    tests = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]))
    spec = {"name": "cli_reg", "max_trials": 2, "max_train_steps": 20, "eval_every": 10,
            "space": {"learning_rate": {"role": "nuisance", "low": 1.0e-3, "high": 1.0e-2,
                                        "scale": "log"}},
            "data": {"name": "csv", "path": str(tmp_path / "reg.csv"), "target": "target",
                     "task": "regression"},
            "defaults": {"width": 8, "dropout": 0.0}, "objective": "val_mae",
            "parts": {"model": "own_workload_models:regression_mlp", "loss": "mse",
                      "metrics": ["mae"]}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(spec))
    assert main(["study", str(tmp_path / "study.yaml"), "--directory", str(tmp_path / "s"),
                 "--workers", "1"]) == 0
    study = pk.load_study(tmp_path / "s" / "cli_reg")
    assert study.direction == "min" and list(study.trials["status"]) == ["completed"] * 2
    assert set(study.curves["metric"]) >= {"loss", "mae"}
    retrained = pk.retrain(study, study.trials["trial_id"].iloc[0], seeds=2, progress=False)
    assert len(retrained.runs) == 2 and retrained.direction == "min"
