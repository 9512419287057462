"""Workload data that streams: ``tf.data`` pipelines and files read from disk.

A :class:`PipelineDataset` holds train / validation / test as ``tf.data`` pipelines, never
loaded whole, for data that does not fit in memory or already comes as a pipeline: the
user's own (:func:`from_tf_data`), CSV files (:func:`stream_csv`), an image folder
(:func:`stream_images`) or TFRecord files (:func:`stream_tfrecord`). Like
:class:`~playbook_kit.data.Dataset`, it reaches the test split only through a counted
:meth:`PipelineDataset.test`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import DEFAULT_TRAIN_SAMPLE, TASKS, _nest, eval_batches


class _TestStream:
    """The test pipeline, kept out of the attributes like :class:`_TestSplit`."""

    __slots__ = ("_dataset",)

    def __init__(self, dataset):
        self._dataset = dataset

    def __repr__(self) -> str:
        return "<test split: read it with PipelineDataset.test()>"


class PipelineDataset:
    """Train / validation / test as ``tf.data.Dataset`` pipelines, never loaded whole.

    Each split may be batched or not (a batched one is unbatched, so that the config's
    ``batch_size`` decides). Training reads the train pipeline through a
    ``shuffle_buffer``-element buffer reshuffled with the trial's seed, repeating, so a
    fixed number of steps is well defined; each evaluation covers the whole validation
    split, or its first ``eval_batches`` batches when given. Training curves are
    measured on the first ``train_sample_size`` training examples. The test pipeline is
    reached only through the counted :meth:`test`.

    Args:
        train, validation, test: ``tf.data.Dataset`` of ``(features, label)``.
        batched: whether the splits are batched; ``None`` infers it (every component's
            leading dimension unknown, as ``.batch()`` leaves it).
    """

    def __init__(self, train, validation, test, *, name: str = "pipeline",
                 batched: bool | None = None, shuffle_buffer: int = 1024,
                 eval_batches: int | None = None, train_sample_size: int = DEFAULT_TRAIN_SAMPLE,
                 task: str = "classification", num_classes: int | None = None,
                 source: dict | None = None):
        import tensorflow as tf

        for split, value in (("train", train), ("validation", validation), ("test", test)):
            if not isinstance(value, tf.data.Dataset):
                raise ValueError(f"{split}={type(value).__name__} is not allowed; use a "
                                 "tf.data.Dataset of (features, label)")
            if not isinstance(value.element_spec, tuple) or len(value.element_spec) != 2:
                raise ValueError(f"{split} yields {value.element_spec}; use a dataset of "
                                 "(features, label) pairs")
        for field_name, value in (("shuffle_buffer", shuffle_buffer),
                                  ("train_sample_size", train_sample_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{field_name}={value!r} is not allowed; use an integer >= 1")
        if eval_batches is not None and (not isinstance(eval_batches, int) or eval_batches < 1):
            raise ValueError(f"eval_batches={eval_batches!r} is not allowed; use None (the "
                             "whole validation split) or an integer >= 1")
        if task not in TASKS:
            raise ValueError(f"task={task!r} is not allowed; use one of {', '.join(TASKS)}")
        unbatch = lambda d: d.unbatch() if (_is_batched(d) if batched is None else batched) else d
        self.name, self.task, self.source = name, task, source
        self.train, self.validation = unbatch(train), unbatch(validation)
        self._test_split = _TestStream(unbatch(test))
        self.shuffle_buffer, self.eval_batches = shuffle_buffer, eval_batches
        self.train_sample_size = train_sample_size
        self.test_reads = 0
        self._held: dict = {}
        features, label = self.train.element_spec
        self.input_shape = _nest(lambda s: tuple(s.shape), _spec_tree(features))
        self.num_classes = num_classes if num_classes is not None else \
            int(np.prod(label.shape, dtype=int)) if label.shape.rank else None

    def __repr__(self) -> str:
        return f"PipelineDataset({self.name!r}, task={self.task!r})"

    @property
    def n_train(self) -> int | None:
        """The training split's size when the pipeline knows it (else None)."""
        n = int(self.train.cardinality())
        return n if n >= 0 else None

    def train_stream(self, batch_size: int, seed: int):
        import tensorflow as tf

        ds = self.train.shuffle(self.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        return ds.repeat().batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    def eval_size(self, batch_size: int) -> int:
        return max(batch_size, 256)

    def eval_data(self, split: str, batch_size: int):
        """The training sample, and the validation split's first ``eval_batches`` batches
        when declared, are read once and held as padded batches (bounded in size, and a
        pipeline restart per evaluation costs more than the pass); a whole validation
        split is streamed at each evaluation."""
        if split == "validation" and not self.eval_batches:
            return _weighted(self.validation.batch(batch_size))
        key = (split, batch_size)
        if key not in self._held:
            source = self.validation.take(self.eval_batches * batch_size) \
                if split == "validation" else self.train.take(self.train_sample_size)
            x, y = next(iter(source.batch(1 << 30)))
            self._held[key] = eval_batches(_nest(lambda t: t.numpy(), _spec_tree(x)),
                                           y.numpy(), batch_size)
        return self._held[key]

    def test(self):
        """The test pipeline (unbatched); each call is counted in ``test_reads``."""
        self.test_reads += 1
        return self._test_split._dataset

    def test_data(self, batch_size: int):
        return _weighted(self.test().batch(batch_size))

    def sample_batch(self, n: int = 8):
        batch = next(iter(self.train.batch(n).take(1)))
        return batch[0], batch[1]

    def summary(self) -> dict:
        return {"name": self.name, "task": self.task, "train": self.n_train,
                "input_shape": self.input_shape, "num_classes": self.num_classes,
                "shuffle_buffer": self.shuffle_buffer, "eval_batches": self.eval_batches}


def _spec_tree(spec):
    if isinstance(spec, dict):
        return {k: _spec_tree(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return tuple(_spec_tree(v) for v in spec)
    return spec


def _is_batched(dataset) -> bool:
    import tensorflow as tf

    shapes = [s.shape for s in tf.nest.flatten(dataset.element_spec)]
    return all(s.rank and s.rank >= 1 and s[0] is None for s in shapes)


def _weighted(batches):
    """Evaluation batches ``(x, y, weight 1 per example)`` for the compiled evaluator."""
    import tensorflow as tf

    def add(x, y):
        return x, y, tf.ones(tf.shape(y)[:1], tf.float32)

    return batches.map(add).prefetch(tf.data.AUTOTUNE)


def from_tf_data(train, validation, test, **options) -> PipelineDataset:
    """A :class:`PipelineDataset` from the user's ``tf.data`` pipelines (see its args)."""
    return PipelineDataset(train, validation, test, **options)


def _split_paths(train, validation, test):
    for split, value in (("train", train), ("validation", validation), ("test", test)):
        paths = [value] if isinstance(value, (str, Path)) else list(value)
        for path in paths:
            if not Path(path).exists():
                raise FileNotFoundError(f"{split} path {str(path)!r} does not exist")
    return train, validation, test


def stream_csv(train, validation, test, label: str, task: str = "classification",
               read_batch: int = 256, **options) -> PipelineDataset:
    """CSV files streamed with ``tf.data.experimental.make_csv_dataset`` (one pass, no
    shuffle there: the trainer shuffles with the trial's seed); the numeric feature
    columns are stacked into one float32 vector, ``label`` is the target column."""
    import tensorflow as tf

    _split_paths(train, validation, test)

    def read(path):
        ds = tf.data.experimental.make_csv_dataset(
            str(path), batch_size=read_batch, label_name=label, num_epochs=1, shuffle=False)
        return ds.map(lambda f, y: (tf.stack([tf.cast(v, tf.float32) for v in f.values()], -1),
                                    y)).unbatch()

    source = {"name": "csv_stream", "train": str(train), "validation": str(validation),
              "test": str(test), "label": label, "task": task, "read_batch": read_batch,
              **options}
    return PipelineDataset(read(train), read(validation), read(test), name=Path(train).stem,
                           batched=False, task=task, source=source, **options)


def stream_images(train, validation, test, image_size=(32, 32), color_mode: str = "rgb",
                  scale: float = 1 / 255, **options) -> PipelineDataset:
    """Image folders (one subfolder per class) streamed with
    ``keras.utils.image_dataset_from_directory``, pixel values times ``scale``."""
    import tensorflow as tf
    import keras

    _split_paths(train, validation, test)
    classes = []

    def read(path):
        ds = keras.utils.image_dataset_from_directory(
            str(path), image_size=tuple(image_size), color_mode=color_mode, batch_size=64,
            shuffle=False, verbose=False)
        classes.append(len(ds.class_names))
        return ds.map(lambda x, y: (tf.cast(x, tf.float32) * scale, y)).unbatch()

    splits = [read(p) for p in (train, validation, test)]
    source = {"name": "image_folder", "train": str(train), "validation": str(validation),
              "test": str(test), "image_size": list(image_size), "color_mode": color_mode,
              "scale": scale, **options}
    return PipelineDataset(*splits, name=Path(train).name, batched=False,
                           num_classes=classes[0], source=source, **options)


def stream_tfrecord(train, validation, test, features: dict, label: str,
                    task: str = "classification", **options) -> PipelineDataset:
    """TFRecord files of ``tf.train.Example``: ``features`` maps each feature name to
    ``[shape, dtype]`` (``label`` among them); the other features are stacked into one
    float32 vector when they are all scalars or vectors, else kept as a dict."""
    import tensorflow as tf

    _split_paths(train, validation, test)
    if label not in features:
        raise ValueError(f"label={label!r} is not among the features {sorted(features)}")
    parse_spec = {k: tf.io.FixedLenFeature(tuple(shape), dtype)
                  for k, (shape, dtype) in features.items()}
    inputs = [k for k in features if k != label]

    def read(paths):
        paths = [str(paths)] if isinstance(paths, (str, Path)) else [str(p) for p in paths]

        def parse(record):
            example = tf.io.parse_single_example(record, parse_spec)
            x = tf.concat([tf.reshape(tf.cast(example[k], tf.float32), [-1]) for k in inputs],
                          0)
            return x, example[label]

        return tf.data.TFRecordDataset(paths).map(parse, num_parallel_calls=tf.data.AUTOTUNE)

    source = {"name": "tfrecord", "train": _jsonable_paths(train),
              "validation": _jsonable_paths(validation), "test": _jsonable_paths(test),
              "features": {k: [list(s), d] for k, (s, d) in features.items()},
              "label": label, "task": task, **options}
    return PipelineDataset(read(train), read(validation), read(test), name="tfrecord",
                           batched=False, task=task, source=source, **options)


def _jsonable_paths(paths):
    return str(paths) if isinstance(paths, (str, Path)) else [str(p) for p in paths]
