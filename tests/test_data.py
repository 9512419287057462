import numpy as np
import pandas as pd
import pytest


def test_digits_split_is_fixed_stratified_and_complete(pk):
    a, b = pk.load_digits(seed=0), pk.load_digits(seed=0)
    assert np.array_equal(a.y_val, b.y_val) and np.array_equal(a.train_sample_index,
                                                               b.train_sample_index)
    total = len(a.y_train) + len(a.y_val) + a.summary()["test"]
    assert total == 1797 and a.input_shape == (8, 8, 1) and a.num_classes == 10
    assert 0.0 <= a.x_train.min() and a.x_train.max() <= 1.0
    assert set(np.unique(a.y_val)) == set(range(10))
    assert not np.array_equal(pk.load_digits(seed=1).y_val, a.y_val)


def test_test_split_reads_are_counted(pk):
    data = pk.load_digits()
    assert data.test_reads == 0
    x_test, y_test = data.test()
    assert data.test_reads == 1 and x_test.shape == (360, 8, 8, 1) and y_test.shape == (360,)
    assert np.array_equal(data.test()[1], y_test) and data.test_reads == 2


@pytest.mark.parametrize("name", ["x_test", "y_test", "x_test_", "y_test_"])
def test_test_split_is_not_an_attribute(pk, name):
    data = pk.load_digits()
    with pytest.raises(AttributeError, match=(
            rf"^Dataset\.{name}: the test split is not an attribute; read it with "
            r"Dataset\.test\(\), which counts each read in test_reads")):
        getattr(data, name)
    assert [key for key in vars(data) if not key.startswith("_")] == [
        "name", "x_train", "y_train", "x_val", "y_val", "num_classes", "train_sample_index",
        "test_reads", "task", "labels", "classes", "sample_weight_train", "sample_weight_val",
        "source"]
    assert data.test_reads == 0


class _Untouchable:
    """A test array that fails the test when anything reads it."""

    def _touched(self, *args, **kwargs):
        raise AssertionError("the test split was read")

    __len__ = __getitem__ = __iter__ = __array__ = __bool__ = _touched

    def __getattr__(self, name):
        raise AssertionError(f"the test split was read (.{name})")


def test_study_and_retrain_never_touch_the_test_arrays(pk, digits, tmp_path):
    sealed = pk.Dataset("digits", digits.x_train, digits.y_train, digits.x_val, digits.y_val,
                        _Untouchable(), _Untouchable(), digits.num_classes,
                        digits.train_sample_index)
    workload = pk.Workload(sealed, defaults={"width": 16})
    space = pk.SearchSpace().nuisance("learning_rate", 1.0e-3, 1.0e-2, scale="log")
    study = pk.run_study(workload, space, max_trials=2, max_train_steps=20, eval_every=10,
                         directory=tmp_path, name="sealed", progress=False)
    assert list(study.trials["status"]) == ["completed", "completed"]
    runs = pk.retrain(study, study.trials["trial_id"].iloc[0], seeds=2, workload=workload,
                      progress=False)
    assert list(runs.runs["status"]) == ["completed", "completed"]
    assert sealed.test_reads == 0
    with pytest.raises(AssertionError, match="the test split was read"):
        len(sealed.test()[1])  # the poison works: the counted path reaches it
    assert sealed.test_reads == 1


def test_synthetic_and_user_files(pk, tmp_path):
    synthetic = pk.make_synthetic(n_samples=300, n_features=6, n_informative=4, n_classes=3)
    assert synthetic.input_shape == (6,) and synthetic.num_classes == 3
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 5)), rng.integers(0, 2, 200)
    np.savez(tmp_path / "mine.npz", features=x, labels=y)
    from_npz = pk.load_npz(tmp_path / "mine.npz", x_key="features", y_key="labels")
    assert from_npz.input_shape == (5,) and from_npz.name == "mine"
    frame = pd.DataFrame(x, columns=list("abcde")).assign(kind=np.where(y, "cat", "dog"))
    frame.to_csv(tmp_path / "pets.csv", index=False)
    from_csv = pk.load_csv(tmp_path / "pets.csv", target="kind")
    assert from_csv.num_classes == 2 and from_csv.input_shape == (5,)
    with pytest.raises(ValueError, match="'label'.*columns"):
        pk.load_csv(tmp_path / "pets.csv", target="label")
    with pytest.raises(ValueError, match="'x'"):
        pk.load_npz(tmp_path / "mine.npz")


def test_pipelines_batch_and_pad_without_dropping(pk):
    from playbook_kit.data.arrays import eval_batches, train_pipeline

    x = np.arange(101, dtype="float32")[:, None]
    y = np.arange(101) % 3
    xs, ys, ws = eval_batches(x, y, 32)
    assert tuple(xs.shape) == (4, 32, 1) and tuple(ws.shape) == (4, 32)
    weights = ws.numpy().ravel()
    seen = xs.numpy().ravel()[weights > 0]
    assert weights.sum() == 101 and sorted(seen) == list(range(101))
    train = iter(train_pipeline(x, y, 16, seed=0))
    first = [next(train)[0].shape[0] for _ in range(20)]
    assert first == [16] * 20


def test_train_pipeline_runs_without_autotuning_and_gives_the_autotuned_batches(pk):
    """The trainer's in-memory pipeline turns tf.data's autotuning off (its background work
    slowed the steps and each trial's end): same batches, in the same order, as with it."""
    import tensorflow as tf
    from playbook_kit.data.arrays import train_pipeline

    x = np.arange(200, dtype="float32")[:, None]
    y = np.arange(200) % 5
    pipeline = train_pipeline(x, y, 16, seed=3)
    assert pipeline.options().autotune.enabled is False
    autotuned = tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(
        200, seed=3, reshuffle_each_iteration=True).repeat().batch(16, drop_remainder=True)
    autotuned = autotuned.prefetch(tf.data.AUTOTUNE)
    for (xa, ya), (xb, yb) in zip(pipeline.take(40), autotuned.take(40)):
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
