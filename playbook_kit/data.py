"""Workload data: fixed, seeded splits and the tf.data pipelines the trainer consumes.

A :class:`Dataset` holds train / validation / test arrays and a fixed sample of the
training set on which "training" curves are evaluated (the playbook's train curve, at a
known cost). The test split is only reachable through :meth:`Dataset.test`, which counts
its reads, so that a study can prove it never looked at it. Data that streams from
``tf.data`` pipelines or files on disk is :mod:`playbook_kit.streams`.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from pathlib import Path

import numpy as np

from .validation import check_choice, check_number

DEFAULT_TRAIN_SAMPLE = 512


class _TestSplit:
    """The held-out test arrays, kept out of :class:`Dataset`'s attributes so that the
    only way to them is :meth:`Dataset.test`, which counts the read."""

    __slots__ = ("_x", "_y")

    def __init__(self, x, y):
        self._x, self._y = x, y

    def __repr__(self) -> str:
        return "<test split: read it with Dataset.test()>"


_TEST_NAMES = ("x_test", "y_test", "x_test_", "y_test_")


@dataclass
class Dataset:
    """A classification dataset split for tuning; arrays are float32 features, int labels.

    ``x_test`` and ``y_test`` are taken at construction but not kept as attributes: the
    test split is read only through :meth:`test`, which counts each read.
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
    source: dict | None = None
    """How to load this dataset again (``{"name": "digits", ...}``; None for arrays given
    in memory): stored with a study so that workers, retraining and the final evaluation
    rebuild the same data."""
    _test_split: _TestSplit = field(init=False, repr=False, compare=False)

    def __post_init__(self, x_test, y_test):
        self._test_split = _TestSplit(x_test, y_test)

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
        return len(self.y_train)

    @property
    def train_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed subset of the training split used for training curves."""
        index = self.train_sample_index
        return _nest(lambda a: a[index], self.x_train), self.y_train[index]

    # -- what the trainer consumes ------------------------------------------------------
    def train_stream(self, batch_size: int, seed: int):
        """Shuffled (with the trial's seed), repeating, batched, prefetched batches."""
        return train_pipeline(self.x_train, self.y_train, batch_size, seed)

    def eval_size(self, batch_size: int) -> int:
        return eval_batch_size(batch_size, max(len(self.y_val), len(self.train_sample_index)))

    def eval_data(self, split: str, batch_size: int):
        """``"validation"`` or the fixed ``"train"`` sample as zero-weight-padded batches."""
        x, y = (self.x_val, self.y_val) if split == "validation" else self.train_sample
        return eval_batches(x, y, batch_size)

    def test_data(self, batch_size: int):
        """The test split as evaluation batches (a counted read, see :meth:`test`)."""
        return eval_batches(*self.test(), batch_size)

    def sample_batch(self, n: int = 8):
        """A few training examples for the workload's dry run."""
        return _nest(lambda a: a[:n], self.x_train), self.y_train[:n]

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out test split; each call is counted in ``test_reads``."""
        self.test_reads += 1
        return self._test_split._x, self._test_split._y

    def summary(self) -> dict:
        return {"name": self.name, "task": self.task, "train": len(self.y_train), "validation": len(self.y_val),
                "test": len(self._test_split._y), "train_sample": len(self.train_sample_index),
                "input_shape": self.input_shape, "num_classes": self.num_classes}


TASKS = ("classification", "regression", "multilabel", "other")


def split_arrays(name: str, x, y, seed: int = 0,
                 validation_fraction: float = 0.2, test_fraction: float = 0.2,
                 train_sample_size: int = DEFAULT_TRAIN_SAMPLE,
                 task: str = "classification") -> Dataset:
    """Split arrays (NumPy or pandas) into train / validation / test with a fixed seed.

    ``task="classification"`` re-encodes labels as classes 0..k-1 and stratifies;
    any other task (``"regression"``, ``"multilabel"``, ``"other"``) keeps the labels
    as given (float32) and splits at random. ``x`` may be a dict of arrays (several
    named inputs).
    """
    from sklearn.model_selection import train_test_split

    for field_name, fraction in (("validation_fraction", validation_fraction),
                                 ("test_fraction", test_fraction)):
        check_number(field_name, fraction, 0, 0.5, low_inclusive=False, high_inclusive=False)
    check_choice("task", task, TASKS)
    x = _nest(lambda a: np.asarray(a, dtype=np.float32), _frame_to_arrays(x))
    y = np.asarray(y)
    rows = {len(a) for a in _leaves(x)}
    if rows != {len(y)}:
        raise ValueError(f"features have {sorted(rows)} rows but labels have {len(y)}; "
                         "they must match")
    if not all(np.all(np.isfinite(a)) for a in _leaves(x)):
        raise ValueError(f"dataset {name!r}: features contain NaN or Inf; clean them first")
    if task == "classification":
        classes, y = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"dataset {name!r}: labels have {len(classes)} class; need at "
                             "least 2")
        y, num_classes, stratify = y.astype(np.int32), int(len(classes)), y
    else:
        y = y.astype(np.float32)
        if not np.all(np.isfinite(y)):
            raise ValueError(f"dataset {name!r}: labels contain NaN or Inf; clean them first")
        num_classes, stratify = int(np.prod(y.shape[1:], dtype=int)), None
    index = np.arange(len(y))
    rest, test = train_test_split(index, test_size=test_fraction, random_state=seed,
                                  stratify=stratify)
    train, val = train_test_split(
        rest, test_size=validation_fraction / (1 - test_fraction), random_state=seed + 1,
        stratify=stratify[rest] if stratify is not None else None)
    rng = np.random.default_rng(seed + 2)
    sample = np.sort(rng.choice(len(train), size=min(train_sample_size, len(train)),
                                replace=False))
    take = lambda idx: _nest(lambda a: a[idx], x)
    return Dataset(name, take(train), y[train], take(val), y[val], take(test), y[test],
                   num_classes, sample, task=task)


def _frame_to_arrays(x):
    """A pandas DataFrame becomes its numeric array; other values pass unchanged."""
    if hasattr(x, "to_numpy") and hasattr(x, "columns"):
        return x.to_numpy(np.float32)
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
    """A generated classification problem (scikit-learn ``make_classification``)."""
    from sklearn.datasets import make_classification

    if n_informative > n_features:
        raise ValueError(f"n_informative={n_informative} is not allowed; "
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
    """User data from an ``.npz`` file with a feature array and a label array."""
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
    """User data from a CSV file: numeric feature columns and a named target column."""
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


def train_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Shuffled, repeating, batched, cached and prefetched training batches.

    tf.data's autotuning is off, with a fixed prefetch buffer of ``PREFETCH_BATCHES``: on
    arrays in memory it has only that buffer to tune, and its background work competed with
    the steps for the cores (measured here, a digits-MLP step took 0.25 instead of 0.21 ms
    in one two-thread process, 0.38 instead of 0.27 ms in each of two one-thread workers
    side by side) and held up each trial's end for up to 0.6 s while the iterator was torn
    down. The batches are the same either way.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).repeat()
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.batch(batch_size, drop_remainder=True).prefetch(PREFETCH_BATCHES).with_options(
        options)


def eval_batches(x: np.ndarray, y: np.ndarray, batch_size: int):
    """Evaluation data as stacked tensors ``(batches, batch_size, ...)`` with zero-weight
    padding: no example dropped, each counted exactly once, one traced shape.

    Stacked tensors instead of a ``tf.data`` pipeline: the whole split is small enough to
    hold, and a per-evaluation pipeline start costs more than the forward pass here.
    """
    import tensorflow as tf

    n = len(y)
    padded = -(-n // batch_size) * batch_size
    weights = np.zeros(padded, np.float32)
    weights[:n] = 1.0
    pad = padded - n
    shape = (padded // batch_size, batch_size)

    def stack(a):
        a = np.asarray(a)
        a = np.concatenate([a, np.zeros((pad,) + a.shape[1:], a.dtype)]) if pad else a
        return tf.constant(a.reshape(shape + a.shape[1:]))

    return _nest(stack, x), stack(y), tf.constant(weights.reshape(shape))


def eval_batch_size(train_batch_size: int, n_examples: int, cap: int = 2048) -> int:
    """At least the training batch; the whole split in one batch when it fits ``cap``."""
    return max(train_batch_size, min(n_examples, cap))
