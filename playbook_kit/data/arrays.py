"""Workload data: fixed, seeded splits and the tf.data pipelines the trainer consumes.

A :class:`Dataset` holds train / validation / test arrays and a fixed sample of the
training set on which "training" curves are evaluated (the playbook's train curve, at a
known cost). The test split is only reachable through :meth:`Dataset.test`, which counts
its reads, so that a study can prove it never looked at it. Data that streams from
``tf.data`` pipelines or files on disk is :mod:`playbook_kit.data.streams`.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from pathlib import Path

import numpy as np

from ..core.validation import check_choice, check_number, not_allowed

DEFAULT_TRAIN_SAMPLE = 512


class _TestSplit:
    """The held-out test arrays, kept out of :class:`Dataset`'s attributes so that the
    only way to them is :meth:`Dataset.test`, which counts the read."""

    __slots__ = ("_x", "_y", "_w")

    def __init__(self, x, y, w=None):
        self._x, self._y, self._w = x, y, w

    def __repr__(self) -> str:
        return "<test split: read it with Dataset.test()>"


_TEST_NAMES = ("x_test", "y_test", "x_test_", "y_test_")


@dataclass
class Dataset:
    """A dataset split for tuning: features as the user gave them (floating point as
    float32; integer and string features keep their dtype), labels as :attr:`Dataset.labels` says.

    ``x_test`` and ``y_test`` are taken at construction but not kept as attributes: the
    test split is read only through :meth:`test`, which counts each read.

    Attributes:
        name: the dataset's name (the data builder's, the file's stem).
        x_train: the training split's features.
        y_train: its labels.
        x_val: the validation split's features.
        y_val: its labels.
        num_classes: classes of a classification task (0 otherwise).
        train_sample_index: rows of the training split on which training curves are measured.
        test_reads: how often the test split was read (by :meth:`test`).
        task: see below; so are ``labels``, ``classes``, the sample weights and ``source``.

    Example::

        data = pk.load_digits()
        data.summary()            # splits' sizes, input shape, classes
        x_test, y_test = data.test()   # counted: data.test_reads == 1
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: InitVar[np.ndarray]
    y_test: InitVar[np.ndarray]
    num_classes: int
    train_sample_index: np.ndarray = field(repr=False)
    test_reads: int = 0
    task: str = "classification"
    """``"classification"`` (integer classes, stratified splits) or ``"regression"`` /
    ``"multilabel"`` / ``"other"`` (labels kept as given, plain splits)."""
    labels: str = "classes"
    """``"classes"`` (integers 0..k-1), ``"one_hot"`` (one column per class, kept as
    given) or ``"values"`` (regression, multi-label and other targets, kept as given)."""
    classes: np.ndarray | None = field(default=None, repr=False)
    """The original class of each class index (``split_arrays`` with classification)."""
    sample_weight_train: np.ndarray | None = field(default=None, repr=False)
    sample_weight_val: np.ndarray | None = field(default=None, repr=False)
    """Per-example weights (``split_arrays(sample_weight=...)``): they weight the training
    loss and the validation loss as Keras' ``sample_weight`` does; metrics stay unweighted,
    as Keras' ``metrics`` are."""
    source: dict | None = None
    """How to load this dataset again (``{"name": "digits", ...}``; None for arrays given
    in memory): stored with a study so that workers, retraining and the final evaluation
    rebuild the same data."""
    _test_split: _TestSplit = field(init=False, repr=False, compare=False)

    def __post_init__(self, x_test, y_test):
        self._test_split = _TestSplit(x_test, y_test)

    def _with_test_weights(self, weights) -> "Dataset":
        self._test_split._w = weights
        return self

    def __getattr__(self, name):
        if name in _TEST_NAMES:
            raise AttributeError(
                f"Dataset.{name}: the test split is not an attribute; read it with "
                "Dataset.test(), which counts each read in test_reads (only the final "
                "evaluation should)")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def input_shape(self):
        """One input's shape; a dict or tuple of shapes for several inputs."""
        return _nest(lambda a: tuple(a.shape[1:]), self.x_train)

    @property
    def n_train(self) -> int:
        return _rows(self.y_train)

    @property
    def train_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed subset of the training split used for training curves."""
        index = self.train_sample_index
        return _nest(lambda a: a[index], self.x_train), _nest(lambda a: a[index], self.y_train)

    # -- what the trainer consumes ------------------------------------------------------
    def train_stream(self, batch_size: int, seed: int):
        """Shuffled (with the trial's seed), repeating, batched, prefetched batches:
        ``(x, y)``, or ``(x, y, sample_weight)`` when the dataset has weights."""
        return train_pipeline(self.x_train, self.y_train, batch_size, seed,
                              self.sample_weight_train)

    def eval_size(self, batch_size: int) -> int:
        return eval_batch_size(batch_size, max(_rows(self.y_val), len(self.train_sample_index)))

    def eval_data(self, split: str, batch_size: int):
        """``"validation"`` or the fixed ``"train"`` sample as zero-weight-padded batches
        (with the examples' own weights, when the dataset has them)."""
        if split == "validation":
            return eval_batches(self.x_val, self.y_val, batch_size, self.sample_weight_val)
        weights = self.sample_weight_train
        return eval_batches(*self.train_sample, batch_size,
                            None if weights is None else weights[self.train_sample_index])

    def test_data(self, batch_size: int):
        """The test split as evaluation batches (a counted read, see :meth:`test`)."""
        x, y = self.test()
        return eval_batches(x, y, batch_size, self._test_split._w)

    def sample_batch(self, n: int = 8):
        """A few training examples for the workload's dry run."""
        return _nest(lambda a: a[:n], self.x_train), _nest(lambda a: a[:n], self.y_train)

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out test split; each call is counted in ``test_reads``."""
        self.test_reads += 1
        return self._test_split._x, self._test_split._y

    def summary(self) -> dict:
        return {"name": self.name, "task": self.task, "labels": self.labels,
                "train": self.n_train, "validation": _rows(self.y_val),
                "test": _rows(self._test_split._y), "train_sample": len(self.train_sample_index),
                "input_shape": self.input_shape, "num_classes": self.num_classes,
                "sample_weight": self.sample_weight_train is not None}


TASKS = ("classification", "regression", "multilabel", "other")


def split_arrays(name: str, x, y, seed: int = 0,
                 validation_fraction: float = 0.2, test_fraction: float = 0.2,
                 train_sample_size: int = DEFAULT_TRAIN_SAMPLE,
                 task: str = "classification", sample_weight=None) -> Dataset:
    """Split arrays (NumPy or pandas) into train / validation / test with a fixed seed.

    ``task="classification"`` stratifies. Its labels are read as the user meant them:
    integer or string classes become classes 0..k-1 (the original ones in
    ``dataset.classes``); one-hot rows (one 1 per row) are kept one-hot, as
    ``categorical_crossentropy`` needs them (``dataset.labels == "one_hot"``); multi-hot
    rows are refused, naming ``task="multilabel"``. Any other task (``"regression"``,
    ``"multilabel"``, ``"other"``) keeps the labels as given (float32) and splits at
    random. ``x`` may be a dict or tuple of arrays (several named inputs), ``y`` too
    (several outputs; not with ``"classification"``). Floating-point features become
    float32; integer and string features keep their dtype (for ``Embedding``,
    ``StringLookup``, ``TextVectorization``). ``sample_weight``: one weight per example,
    split with it (see :attr:`Dataset.sample_weight_train`).

    Args:
        name: the dataset's name, shown in summaries and stored with studies.
        x: features: an array, a DataFrame, or a dict or tuple of them (several inputs).
        y: labels or targets: an array or Series (a dict or tuple for several outputs).
        seed: seeds the split (and the training sample).
        validation_fraction: share of the examples for validation, in (0, 0.5).
        test_fraction: share of the examples for the test split, in (0, 0.5).
        train_sample_size: training examples on which the "train" curve is measured.
        task: ``"classification"``, ``"regression"``, ``"multilabel"`` or ``"other"``.
        sample_weight: one weight per example, or None.

    Returns:
        Dataset: the three splits and the training sample.

    Raises:
        ValueError: a fraction out of range, an unknown task, features and labels of
            different lengths, NaN or Inf in them, multi-hot or single-class labels for
            classification, non-numeric DataFrame columns, or weights of the wrong shape;
            the message names the argument.

    Example::

        from sklearn.datasets import load_diabetes

        x, y = load_diabetes(return_X_y=True)
        data = pk.split_arrays("diabetes", x, y, task="regression")
    """
    from sklearn.model_selection import train_test_split

    for field_name, fraction in (("validation_fraction", validation_fraction),
                                 ("test_fraction", test_fraction)):
        check_number(field_name, fraction, 0, 0.5, low_inclusive=False, high_inclusive=False)
    check_choice("task", task, TASKS)
    x = _nest(_feature_array, _frame_to_arrays(x))
    y = _nest(np.asarray, _frame_to_arrays(y, "y"))
    rows = {len(a) for a in _leaves(x)}
    if rows != {_rows(y)} or len({len(a) for a in _leaves(y)}) != 1:
        raise ValueError(f"features have {sorted(rows)} rows but labels have "
                         f"{sorted({len(a) for a in _leaves(y)})}; they must match")
    if not all(np.all(np.isfinite(a)) for a in _leaves(x) if a.dtype.kind == "f"):
        raise ValueError(f"dataset {name!r}: features contain NaN or Inf; clean them first")
    weights = _sample_weights(sample_weight, _rows(y))
    classes = None
    if task == "classification":
        y, num_classes, stratify, labels, classes = _class_labels(name, y)
    else:
        y = _nest(lambda a: a.astype(np.float32), y)
        if not all(np.all(np.isfinite(a)) for a in _leaves(y)):
            raise ValueError(f"dataset {name!r}: labels contain NaN or Inf; clean them first")
        num_classes, stratify, labels = _output_width(y), None, "values"
    index = np.arange(_rows(y))
    rest, test = train_test_split(index, test_size=test_fraction, random_state=seed,
                                  stratify=stratify)
    train, val = train_test_split(
        rest, test_size=validation_fraction / (1 - test_fraction), random_state=seed + 1,
        stratify=stratify[rest] if stratify is not None else None)
    rng = np.random.default_rng(seed + 2)
    sample = np.sort(rng.choice(len(train), size=min(train_sample_size, len(train)),
                                replace=False))
    take = lambda data, idx: _nest(lambda a: a[idx], data)
    weight = lambda idx: None if weights is None else weights[idx]
    dataset = Dataset(name, take(x, train), take(y, train), take(x, val), take(y, val),
                      take(x, test), take(y, test), num_classes, sample, task=task,
                      labels=labels, sample_weight_train=weight(train),
                      sample_weight_val=weight(val), classes=classes)
    return dataset._with_test_weights(weight(test))


def _feature_array(a) -> np.ndarray:
    """Floating point (and bool) as float32; integers and strings as they are."""
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype.kind in "fb" else a


def _sample_weights(sample_weight, n: int):
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float32)
    if weights.shape != (n,) or not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise not_allowed("sample_weight", f"<array of shape {weights.shape}>",
                          f"use one finite weight >= 0 per example, shape ({n},)")
    return weights


def _class_labels(name: str, y):
    """``(labels, num_classes, stratify, kind, original classes)`` of classification
    labels, read as the user meant them (see :func:`split_arrays`)."""
    if isinstance(y, (dict, tuple)):
        raise not_allowed("task", "classification", "with several label arrays (one per "
                          "output) use task='other' and the model's own losses")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        binary = np.isin(y, (0, 1)).all()
        if binary and np.all(y.sum(axis=1) == 1):
            return (y.astype(np.float32), int(y.shape[1]), y.argmax(axis=1), "one_hot",
                    np.arange(y.shape[1]))
        kind = "multi-hot (several 1s in a row)" if binary else "not class labels"
        raise ValueError(f"dataset {name!r}: labels of shape {y.shape} are {kind}; pass "
                         f"task={'multilabel' if binary else 'regression'!r} (or 'other') "
                         "to keep them as they are")
    if y.ndim != 1:
        raise ValueError(f"dataset {name!r}: labels of shape {y.shape} are not class labels; "
                         "pass task='other' to keep them as they are")
    classes, y = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"dataset {name!r}: labels have {len(classes)} class; need at "
                         "least 2")
    return y.astype(np.int32), int(len(classes)), y, "classes", classes


def _output_width(y) -> int | None:
    if isinstance(y, (dict, tuple)):
        return None
    return int(np.prod(y.shape[1:], dtype=int))


def _rows(y) -> int:
    return len(_leaves(y)[0])


def _frame_to_arrays(x, what: str = "x"):
    """A pandas DataFrame becomes its numeric array (a Series its values); other values
    pass unchanged. A frame with non-numeric columns is refused: give ``dict(frame)``
    (one named input per column) as Keras' structured-data examples do."""
    if hasattr(x, "to_numpy") and hasattr(x, "columns"):
        import pandas as pd

        other = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
        if other:
            raise not_allowed(what, f"<DataFrame with non-numeric columns {other[:3]}>",
                              "give dict(frame) (one named input per column) or encode them")
        return x.to_numpy(np.float32)
    if hasattr(x, "to_numpy"):
        return x.to_numpy()
    if isinstance(x, dict):
        return {k: np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v)
                for k, v in x.items()}
    return x


def _leaves(x) -> list:
    if isinstance(x, dict):
        return [a for v in x.values() for a in _leaves(v)]
    if isinstance(x, (list, tuple)):
        return [a for v in x for a in _leaves(v)]
    return [x]


def _nest(function, x):
    """``function`` applied to every array of one input, or of several (dict / tuple)."""
    if isinstance(x, dict):
        return {k: _nest(function, v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return tuple(_nest(function, v) for v in x)
    return function(x)


def load_digits(seed: int = 0, validation_fraction: float = 0.2, test_fraction: float = 0.2,
                train_sample_size: int = DEFAULT_TRAIN_SAMPLE, image: bool = True) -> Dataset:
    """scikit-learn's digits (1,797 8x8 images, 10 classes), scaled to [0, 1].

    Ships with scikit-learn, so nothing is downloaded. ``image=True`` keeps the
    ``(8, 8, 1)`` shape that convolutional models need; MLPs flatten it themselves.

    Args:
        seed: seeds the split (and the training sample).
        validation_fraction: share of the examples for validation, in (0, 0.5).
        test_fraction: share of the examples for the test split, in (0, 0.5).
        train_sample_size: training examples on which the "train" curve is measured.
        image: keep each digit as an ``(8, 8, 1)`` image; False gives 64 features.

    Returns:
        Dataset: 10 classes; its ``source`` lets a study load it again.

    Raises:
        ValueError: a fraction out of (0, 0.5).

    Example::

        data = pk.load_digits(seed=0)
        workload = pk.Workload(data, defaults={"model": "mlp", "width": 64})
    """
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = bunch.images.astype(np.float32) / 16.0
    x = x[..., None] if image else x.reshape(len(x), -1)
    dataset = split_arrays("digits", x, bunch.target, seed, validation_fraction,
                           test_fraction, train_sample_size)
    dataset.source = {"name": "digits", "seed": seed, "validation_fraction": validation_fraction,
                      "test_fraction": test_fraction, "train_sample_size": train_sample_size,
                      "image": image}
    return dataset


def make_synthetic(n_samples: int = 2000, n_features: int = 20, n_classes: int = 3,
                   n_informative: int = 8, class_sep: float = 1.0, seed: int = 0,
                   validation_fraction: float = 0.2, test_fraction: float = 0.2,
                   train_sample_size: int = DEFAULT_TRAIN_SAMPLE) -> Dataset:
    """A generated classification problem (scikit-learn ``make_classification``).

    Args:
        n_samples: examples to generate.
        n_features: features per example.
        n_classes: classes.
        n_informative: features that carry the signal (at most ``n_features``).
        class_sep: how far apart the classes lie; smaller is harder.
        seed: seeds the data and the split.
        validation_fraction: share of the examples for validation, in (0, 0.5).
        test_fraction: share of the examples for the test split, in (0, 0.5).
        train_sample_size: training examples on which the "train" curve is measured.

    Returns:
        Dataset: the generated problem's splits.

    Raises:
        ValueError: ``n_informative`` above ``n_features``, or a fraction out of range
            (scikit-learn's own checks raise for impossible class counts).

    Example::

        data = pk.make_synthetic(n_samples=1000, n_classes=4, class_sep=0.5)
    """
    from sklearn.datasets import make_classification

    if n_informative > n_features:
        raise not_allowed("n_informative", n_informative,
                          f"use at most n_features={n_features}")
    x, y = make_classification(n_samples=n_samples, n_features=n_features,
                               n_informative=n_informative, n_redundant=0,
                               n_classes=n_classes, class_sep=class_sep, random_state=seed)
    dataset = split_arrays("synthetic", x, y, seed, validation_fraction, test_fraction,
                           train_sample_size)
    dataset.source = {"name": "synthetic", "n_samples": n_samples, "n_features": n_features,
                      "n_classes": n_classes, "n_informative": n_informative,
                      "class_sep": class_sep, "seed": seed,
                      "validation_fraction": validation_fraction,
                      "test_fraction": test_fraction, "train_sample_size": train_sample_size}
    return dataset


def load_npz(path: str | Path, x_key: str = "x", y_key: str = "y", **split) -> Dataset:
    """User data from an ``.npz`` file with a feature array and a label array.

    Args:
        path: the ``.npz`` file.
        x_key: the name of the feature array in the file.
        y_key: the name of the label array.
        **split: passed to :func:`split_arrays` (``seed``, fractions, ``task``, ...).

    Returns:
        Dataset: the splits; its ``source`` names the file, so studies load it again.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: an array is missing (the message lists the file's arrays), or
            :func:`split_arrays` refuses the data.

    Example::

        data = pk.load_npz("data/mine.npz", x_key="images", y_key="labels")
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"npz file {str(path)!r} does not exist")
    with np.load(path) as arrays:
        for key in (x_key, y_key):
            if key not in arrays:
                raise ValueError(f"{path}: array {key!r} not found; "
                                 f"the file has {sorted(arrays.files)}")
        x, y = arrays[x_key], arrays[y_key]
    dataset = split_arrays(path.stem, x, y, **split)
    dataset.source = {"name": "npz", "path": str(path.resolve()), "x_key": x_key,
                      "y_key": y_key, **split}
    return dataset


def load_csv(path: str | Path, target: str, **split) -> Dataset:
    """User data from a CSV file: numeric feature columns and a named target column.

    Args:
        path: the CSV file, with a header row.
        target: the column holding the labels; every other column is a feature.
        **split: passed to :func:`split_arrays` (``seed``, fractions, ``task``, ...).

    Returns:
        Dataset: the splits; its ``source`` names the file, so studies load it again.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the target column is missing or a feature column is not numeric (each
            named), or :func:`split_arrays` refuses the data.

    Example::

        data = pk.load_csv("data/mine.csv", target="label", task="classification")
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"csv file {str(path)!r} does not exist")
    frame = pd.read_csv(path)
    if target not in frame.columns:
        raise ValueError(f"{path}: target column {target!r} not found; "
                         f"columns are {list(frame.columns)}")
    features = frame.drop(columns=[target])
    non_numeric = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise ValueError(f"{path}: feature columns {non_numeric} are not numeric; "
                         "encode them before loading")
    dataset = split_arrays(path.stem, features.to_numpy(np.float32),
                           frame[target].to_numpy(), **split)
    dataset.source = {"name": "csv", "path": str(path.resolve()), "target": target, **split}
    return dataset


PREFETCH_BATCHES = 2


def train_pipeline(x, y, batch_size: int, seed: int, sample_weight=None):
    """Shuffled, repeating, batched, cached and prefetched training batches: ``(x, y)``, or
    ``(x, y, sample_weight)`` with weights.

    tf.data's autotuning is off, with a fixed prefetch buffer of ``PREFETCH_BATCHES``: on
    arrays in memory it has only that buffer to tune, and its background work competed with
    the steps for the cores (measured here, a digits-MLP step took 0.25 instead of 0.21 ms
    in one two-thread process, 0.38 instead of 0.27 ms in each of two one-thread workers
    side by side) and held up each trial's end for up to 0.6 s while the iterator was torn
    down. The batches are the same either way.
    """
    import tensorflow as tf

    elements = (x, y) if sample_weight is None else (x, y, sample_weight)
    ds = tf.data.Dataset.from_tensor_slices(elements).cache()
    ds = ds.shuffle(_rows(y), seed=seed, reshuffle_each_iteration=True).repeat()
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.batch(batch_size, drop_remainder=True).prefetch(PREFETCH_BATCHES).with_options(
        options)


def with_class_weights(stream, class_weight: dict | None):
    """Training batches ``(x, y)`` -> ``(x, y, weight of y's class)``, as Keras' ``fit``
    maps ``class_weight``: the class of an integer label, of a one-hot row's largest entry,
    of a single output rounded (binary). Refused beside sample weights, as in ``fit``."""
    import tensorflow as tf

    if class_weight is None:
        return stream
    if len(stream.element_spec) == 3:
        raise not_allowed("class_weight", class_weight, "not with sample weights as well "
                          "(as in model.fit); give one of them")
    size = max(class_weight) + 1
    table = tf.constant([class_weight.get(k, 1.0) for k in range(size)], tf.float32)

    def add(x, y):
        labels = y
        if labels.shape.rank == 2 and labels.shape[-1] > 1:
            labels = tf.argmax(labels, axis=-1)
        elif labels.shape.rank == 2:
            labels = tf.round(tf.squeeze(labels, -1))
        return x, y, tf.gather(table, tf.cast(labels, tf.int64))

    return stream.map(add)


def eval_batches(x, y, batch_size: int, sample_weight=None):
    """Evaluation data as stacked tensors ``(batches, batch_size, ...)`` with zero-weight
    padding: no example dropped, each counted exactly once, one traced shape. Returns
    ``(xs, ys, weights)``, with ``sample_weights`` as a fourth item when given (padding
    weights mark the real examples; sample weights weight the loss, as in Keras).

    Stacked tensors instead of a ``tf.data`` pipeline: the whole split is small enough to
    hold, and a per-evaluation pipeline start costs more than the forward pass here.
    String features are padded with empty strings.
    """
    import tensorflow as tf

    n = _rows(y)
    padded = -(-n // batch_size) * batch_size
    weights = np.zeros(padded, np.float32)
    weights[:n] = 1.0
    pad = padded - n
    shape = (padded // batch_size, batch_size)

    def stack(a):
        a = np.asarray(a)
        if pad:
            filler = "" if a.dtype.kind in "OSU" else 0
            a = np.concatenate([a, np.full((pad,) + a.shape[1:], filler, a.dtype)])
        return tf.constant(a.reshape(shape + a.shape[1:]))

    out = (_nest(stack, x), _nest(stack, y), tf.constant(weights.reshape(shape)))
    return out if sample_weight is None else out + (stack(np.asarray(sample_weight,
                                                                       np.float32)),)


def eval_batch_size(train_batch_size: int, n_examples: int, cap: int = 2048) -> int:
    """At least the training batch; the whole split in one batch when it fits ``cap``."""
    return max(train_batch_size, min(n_examples, cap))
