"""Workload data: fixed, seeded splits and the tf.data pipelines the trainer consumes.

A :class:`Dataset` holds train / validation / test arrays and a fixed sample of the
training set on which "training" curves are evaluated (the playbook's train curve, at a
known cost). The test split is only reachable through :meth:`Dataset.test`, which counts
its reads, so that a study can prove it never looked at it.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from pathlib import Path

import numpy as np

from .validation import check_number

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
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def train_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The fixed subset of the training split used for training curves."""
        return self.x_train[self.train_sample_index], self.y_train[self.train_sample_index]

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """The held-out test split; each call is counted in ``test_reads``."""
        self.test_reads += 1
        return self._test_split._x, self._test_split._y

    def summary(self) -> dict:
        return {"name": self.name, "train": len(self.y_train), "validation": len(self.y_val),
                "test": len(self._test_split._y), "train_sample": len(self.train_sample_index),
                "input_shape": self.input_shape, "num_classes": self.num_classes}


def split_arrays(name: str, x: np.ndarray, y: np.ndarray, seed: int = 0,
                 validation_fraction: float = 0.2, test_fraction: float = 0.2,
                 train_sample_size: int = DEFAULT_TRAIN_SAMPLE) -> Dataset:
    """Split arrays into stratified train / validation / test with a fixed seed."""
    from sklearn.model_selection import train_test_split

    for field_name, fraction in (("validation_fraction", validation_fraction),
                                 ("test_fraction", test_fraction)):
        check_number(field_name, fraction, 0, 0.5, low_inclusive=False, high_inclusive=False)
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"features have {len(x)} rows but labels have {len(y)}; they must match")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"dataset {name!r}: features contain NaN or Inf; clean them first")
    classes, y = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"dataset {name!r}: labels have {len(classes)} class; need at least 2")
    y = y.astype(np.int32)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation_fraction / (1 - test_fraction),
        random_state=seed + 1, stratify=y_rest)
    rng = np.random.default_rng(seed + 2)
    sample = np.sort(rng.choice(len(y_train), size=min(train_sample_size, len(y_train)),
                                replace=False))
    return Dataset(name, x_train, y_train, x_val, y_val, x_test, y_test,
                   int(len(classes)), sample)


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


LOADERS = {"digits": "load_digits", "synthetic": "make_synthetic", "npz": "load_npz",
           "csv": "load_csv"}


def load_data(spec: dict) -> Dataset:
    """A dataset from its spec (a :attr:`Dataset.source`, or a study file's ``data``):
    ``{"name": "digits" | "synthetic" | "npz" | "csv", <the loader's arguments>}``."""
    import inspect

    if not isinstance(spec, dict):
        raise ValueError(f"data={spec!r} is not allowed; use a mapping such as "
                         "{'name': 'digits'}")
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in LOADERS:
        raise ValueError(f"data name={name!r} is not allowed; use one of {', '.join(LOADERS)}")
    loader = globals()[LOADERS[name]]
    parameters = inspect.signature(loader).parameters
    takes_split = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    allowed = [p for p in parameters if parameters[p].kind is not inspect.Parameter.VAR_KEYWORD]
    if takes_split:
        allowed += ["seed", "validation_fraction", "test_fraction", "train_sample_size"]
    unknown = [key for key in spec if key not in allowed]
    if unknown:
        raise ValueError(f"data field {unknown[0]!r} is not allowed for {name!r}; allowed "
                         f"fields are {', '.join(allowed)}")
    missing = [p for p, v in parameters.items()
               if v.default is inspect.Parameter.empty and v.kind is not v.VAR_KEYWORD
               and p not in spec]
    if missing:
        raise ValueError(f"data field {missing[0]!r} is required for {name!r}")
    return loader(**spec)


def train_pipeline(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Shuffled, repeating, batched, cached and prefetched training batches."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True).repeat()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


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
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)]) if pad else x
    yp = np.concatenate([y, np.zeros(pad, y.dtype)]) if pad else y
    shape = (padded // batch_size, batch_size)
    return (tf.constant(xp.reshape(shape + x.shape[1:])), tf.constant(yp.reshape(shape)),
            tf.constant(weights.reshape(shape)))


def eval_batch_size(train_batch_size: int, n_examples: int, cap: int = 2048) -> int:
    """At least the training batch; the whole split in one batch when it fits ``cap``."""
    return max(train_batch_size, min(n_examples, cap))
