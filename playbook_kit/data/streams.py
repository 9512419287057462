"""Workload data that streams: ``tf.data`` pipelines and files read from disk.

A :class:`PipelineDataset` holds train / validation / test as ``tf.data`` pipelines, never
loaded whole, for data that does not fit in memory or already comes as a pipeline: the
user's own (:func:`from_tf_data`), CSV files (:func:`stream_csv`), an image folder
(:func:`stream_images`) or TFRecord files (:func:`stream_tfrecord`). Like
:class:`~playbook_kit.data.arrays.Dataset`, it reaches the test split only through a counted
:meth:`PipelineDataset.test`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.validation import not_allowed, shown_as
from .arrays import DEFAULT_TRAIN_SAMPLE, TASKS, _nest, eval_batches


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

    Batched pipelines whose batches cannot be re-batched exactly (``padded_batch`` of
    variable-length sequences, ragged or sparse features: a dimension besides the batch's
    that is unknown) are kept as the user batched them: training repeats them in their
    order, evaluation streams over them, and the config's ``batch_size`` does not apply.

    Args:
        train, validation, test: ``tf.data.Dataset`` of ``(features, label)`` or
            ``(features, label, sample_weight)``.
        batched: whether the splits are batched; ``None`` infers it (every component's
            leading dimension unknown, as ``.batch()`` leaves it).
        name: the dataset's name.
        shuffle_buffer: elements in the training shuffle buffer.
        eval_batches: evaluate on this many validation batches; None: the whole split.
        train_sample_size: training examples on which the "train" curve is measured.
        task: ``"classification"``, ``"regression"``, ``"multilabel"`` or ``"other"``.
        num_classes: the model's classes when the labels do not say.
        source: how to build this data again (the ``stream_*`` functions set it).

    Raises:
        ValueError: a split that is not a ``tf.data.Dataset`` of 2- or 3-tuples, or an
            option out of range; the message names it.

    Example::

        import tensorflow as tf

        train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
        val = tf.data.Dataset.from_tensor_slices((x_val, y_val))
        test = tf.data.Dataset.from_tensor_slices((x_test, y_test))
        data = pk.from_tf_data(train, val, test, shuffle_buffer=4096)
    """

    def __init__(self, train, validation, test, *, name: str = "pipeline",
                 batched: bool | None = None, shuffle_buffer: int = 1024,
                 eval_batches: int | None = None, train_sample_size: int = DEFAULT_TRAIN_SAMPLE,
                 task: str = "classification", num_classes: int | None = None,
                 source: dict | None = None):
        import tensorflow as tf

        for split, value in (("train", train), ("validation", validation), ("test", test)):
            if not isinstance(value, tf.data.Dataset):
                raise not_allowed(split, shown_as(type(value).__name__), "use a tf.data.Dataset "
                                  "of (features, label)")
            if not isinstance(value.element_spec, tuple) or len(value.element_spec) not in (2, 3):
                raise ValueError(f"{split} yields {value.element_spec}; use a dataset of "
                                 "(features, label) or (features, label, sample_weight)")
        for field_name, value in (("shuffle_buffer", shuffle_buffer),
                                  ("train_sample_size", train_sample_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise not_allowed(field_name, value, "use an integer >= 1")
        if eval_batches is not None and (not isinstance(eval_batches, int) or eval_batches < 1):
            raise not_allowed("eval_batches", eval_batches,
                              "use None (the whole validation split) or an integer >= 1")
        if task not in TASKS:
            raise not_allowed("task", task, f"use one of {', '.join(TASKS)}")
        is_batched = _is_batched(train) if batched is None else batched
        self.kept_batches = is_batched and not _rebatchable(train)
        unbatch = lambda d: d.unbatch() if is_batched and not self.kept_batches else d
        self.name, self.task, self.source = name, task, source
        self.train, self.validation = unbatch(train), unbatch(validation)
        self._test_split = _TestStream(unbatch(test))
        self.shuffle_buffer, self.eval_batches = shuffle_buffer, eval_batches
        self.train_sample_size = train_sample_size
        self.test_reads = 0
        self._held: dict = {}
        features, label = self.train.element_spec[:2]
        drop = (lambda shape: shape[1:]) if self.kept_batches else (lambda shape: shape)
        self.input_shape = _nest(lambda s: tuple(drop(s.shape)), _spec_tree(features))
        label_shape = drop(getattr(label, "shape", ()))
        self.num_classes = num_classes if num_classes is not None else \
            int(np.prod(label_shape, dtype=int)) if getattr(label_shape, "rank", 0) else None
        self.sample_weight_train = None

    def __repr__(self) -> str:
        return f"PipelineDataset({self.name!r}, task={self.task!r})"

    @property
    def n_train(self) -> int | None:
        """The training split's size when the pipeline knows it (else None)."""
        if self.kept_batches:
            return None
        n = int(self.train.cardinality())
        return n if n >= 0 else None

    def train_stream(self, batch_size: int, seed: int):
        """Repeating training batches: shuffled through the buffer with the trial's seed
        and batched by ``batch_size``, or the user's own batches in their order."""
        import tensorflow as tf

        if self.kept_batches:
            return self.train.repeat().prefetch(tf.data.AUTOTUNE)
        ds = self.train.shuffle(self.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        return ds.repeat().batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

    def eval_size(self, batch_size: int) -> int:
        return max(batch_size, 256)

    def _batched(self, dataset, batch_size: int):
        return dataset if self.kept_batches else dataset.batch(batch_size)

    def _sample_source(self, batch_size: int):
        if self.kept_batches:
            return self.train.take(max(1, self.train_sample_size // batch_size))
        return self.train.take(self.train_sample_size)

    def eval_data(self, split: str, batch_size: int):
        """The training sample, and the validation split's first ``eval_batches`` batches
        when declared, are read once and held as padded batches (bounded in size, and a
        pipeline restart per evaluation costs more than the pass); a whole validation
        split is streamed at each evaluation, and so is every split of kept batches."""
        if self.kept_batches:
            source = self.validation if split == "validation" else \
                self._sample_source(batch_size)
            if split == "validation" and self.eval_batches:
                source = source.take(self.eval_batches)
            return _weighted(source)
        if split == "validation" and not self.eval_batches:
            return _weighted(self.validation.batch(batch_size))
        key = (split, batch_size)
        if key not in self._held:
            source = self.validation.take(self.eval_batches * batch_size) \
                if split == "validation" else self._sample_source(batch_size)
            batch = next(iter(source.batch(1 << 30)))
            arrays = [_nest(lambda t: t.numpy(), _spec_tree(part)) for part in batch]
            self._held[key] = eval_batches(arrays[0], arrays[1], batch_size,
                                           arrays[2] if len(arrays) == 3 else None)
        return self._held[key]

    def validation_batches(self, batch_size: int):
        """The validation split as Keras' ``validation_data`` (the fit engine)."""
        source = self.validation
        if self.eval_batches:
            source = source.take(self.eval_batches * (1 if self.kept_batches else batch_size))
        return self._batched(source, batch_size)

    def train_sample_batches(self, batch_size: int):
        """The fixed training sample as batches for ``model.evaluate`` (the fit engine)."""
        return self._batched(self._sample_source(batch_size), batch_size)

    def test(self):
        """The test pipeline (unbatched); each call is counted in ``test_reads``."""
        self.test_reads += 1
        return self._test_split._dataset

    def test_data(self, batch_size: int):
        return _weighted(self._batched(self.test(), batch_size))

    def test_batches(self, batch_size: int):
        """The test split as batches for ``model.evaluate`` (a counted read)."""
        return self._batched(self.test(), batch_size)

    def sample_batch(self, n: int = 8):
        batch = next(iter(self.train.take(1) if self.kept_batches else
                          self.train.batch(n).take(1)))
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


def _rebatchable(dataset) -> bool:
    """Whether batches can be unbatched and batched again exactly: dense tensors whose
    dimensions besides the batch's are known (not ``padded_batch`` of varying lengths,
    not ragged or sparse)."""
    import tensorflow as tf

    specs = tf.nest.flatten(dataset.element_spec)
    return all(isinstance(s, tf.TensorSpec) and s.shape.rank is not None
               and None not in s.shape[1:] for s in specs)


def _weighted(batches):
    """Evaluation batches ``(x, y, weight 1 per example[, sample_weight])`` for the
    compiled evaluator."""
    import tensorflow as tf

    def add(x, y, *sample_weight):
        first = tf.nest.flatten(y)[0]
        return (x, y, tf.ones(tf.shape(first)[:1], tf.float32), *sample_weight)

    return batches.map(add).prefetch(tf.data.AUTOTUNE)


class PyDatasetData:
    """Train / validation / test as ``keras.utils.PyDataset`` objects (batches made by
    the user's ``__getitem__``). Trials on it run on the ``fit`` engine, which hands the
    datasets to ``model.fit`` and ``model.evaluate`` as Keras takes them; each pass over
    the training batches is in an order shuffled with the trial's seed (as ``fit``'s
    ``shuffle=True`` does), repeating until ``max_train_steps``.

    Args:
        train, validation, test: ``keras.utils.PyDataset`` of ``(features, label)``
            batches (or ``(features, label, sample_weight)``).
        name: the dataset's name.
        task: ``"classification"``, ``"regression"``, ``"multilabel"`` or ``"other"``.
        num_classes: the model's classes when the labels do not say (integer labels).
        train_sample_batches: training batches on which the "train" curve is measured.

    Raises:
        ValueError: a split that is not a ``keras.utils.PyDataset``, or an unknown task.

    Example::

        data = pk.from_py_dataset(MySequence("train"), MySequence("val"),
                                  MySequence("test"), num_classes=10)
        workload = pk.Workload(data, model="my_models:classifier")   # the fit engine
    """

    def __init__(self, train, validation, test, *, name: str = "py_dataset",
                 task: str = "classification", num_classes: int | None = None,
                 train_sample_batches: int = 4):
        import keras

        for split, value in (("train", train), ("validation", validation), ("test", test)):
            if not isinstance(value, keras.utils.PyDataset):
                raise not_allowed(split, shown_as(type(value).__name__),
                                  "use a keras.utils.PyDataset")
        if task not in TASKS:
            raise not_allowed("task", task, f"use one of {', '.join(TASKS)}")
        self.name, self.task, self.source = name, task, None
        self.keras_dataset, self.keras_validation = train, validation
        self._test_split = _TestStream(test)
        self.test_reads = 0
        self.kept_batches = True
        self.sample_weight_train = None
        self._sample_batches = train_sample_batches
        x, y = self.sample_batch()
        self.input_shape = _nest(lambda a: tuple(np.shape(a)[1:]), x)
        width = int(np.prod(np.shape(y)[1:], dtype=int))
        self.num_classes = num_classes if num_classes is not None else width

    def __repr__(self) -> str:
        return f"PyDatasetData({self.name!r}, task={self.task!r})"

    n_train = None

    def eval_size(self, batch_size: int) -> int:
        return batch_size

    def sample_batch(self, n: int = 8):
        batch = self.keras_dataset[0]
        return _nest(lambda a: a[:n], batch[0]), _nest(lambda a: a[:n], batch[1])

    def repeated(self, seed: int, skip: int = 0):
        """The training batches for ``fit``: passes in orders shuffled with ``seed``, from
        batch ``skip`` on (a resumed run)."""
        return _repeated(self.keras_dataset, seed, skip)

    def train_sample_batches(self, batch_size: int):
        return _first_batches(self.keras_dataset, self._sample_batches)

    def validation_batches(self, batch_size: int):
        return self.keras_validation

    def test(self):
        """The test PyDataset; each call is counted in ``test_reads``."""
        self.test_reads += 1
        return self._test_split._dataset

    def test_batches(self, batch_size: int):
        return self.test()

    def summary(self) -> dict:
        return {"name": self.name, "task": self.task, "train_batches": len(self.keras_dataset),
                "input_shape": self.input_shape, "num_classes": self.num_classes}


def _repeated(base, seed: int, skip: int = 0):
    import keras

    class Repeated(keras.utils.PyDataset):
        """``base``'s batches pass after pass (each in an order from ``seed`` and the
        pass), calling its ``on_epoch_end`` between passes as ``fit`` would."""

        def __init__(self):
            super().__init__(workers=base.workers, use_multiprocessing=base.use_multiprocessing,
                             max_queue_size=base.max_queue_size)
            self.orders: dict = {}

        def __len__(self):
            return 1 << 30

        def __getitem__(self, index):
            n = len(base)
            epoch, position = divmod(index + skip, n)
            if epoch not in self.orders:
                if epoch and self.orders:
                    base.on_epoch_end()
                self.orders = {epoch: np.random.default_rng([seed, epoch]).permutation(n)}
            return base[int(self.orders[epoch][position])]

    return Repeated()


def _first_batches(base, count: int):
    import keras

    class First(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()

        def __len__(self):
            return min(count, len(base))

        def __getitem__(self, index):
            return base[index]

    return First()


def from_py_dataset(train, validation, test, **options) -> PyDatasetData:
    """A :class:`PyDatasetData` from the user's ``keras.utils.PyDataset`` splits.

    Args:
        train, validation, test: ``keras.utils.PyDataset`` splits.
        **options: :class:`PyDatasetData`'s keyword arguments (``name``, ``task``, ...).

    Returns:
        PyDatasetData: the splits, trained on Keras' ``fit`` engine.

    Raises:
        ValueError: as :class:`PyDatasetData` does.

    Example::

        data = pk.from_py_dataset(train_sequence, val_sequence, test_sequence)
    """
    return PyDatasetData(train, validation, test, **options)


def from_tf_data(train, validation, test, **options) -> PipelineDataset:
    """A :class:`PipelineDataset` from the user's ``tf.data`` pipelines (see its args).

    Args:
        train, validation, test: ``tf.data.Dataset`` of ``(features, label)`` or
            ``(features, label, sample_weight)``, batched or not.
        **options: :class:`PipelineDataset`'s keyword arguments (``shuffle_buffer``,
            ``eval_batches``, ``task``, ...).

    Returns:
        PipelineDataset: the splits, streamed.

    Raises:
        ValueError: as :class:`PipelineDataset` does.

    Example::

        data = pk.from_tf_data(train_ds, val_ds, test_ds, eval_batches=20)
    """
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
    columns are stacked into one float32 vector, ``label`` is the target column.

    Args:
        train, validation, test: a CSV file (or pattern) per split.
        label: the target column.
        task: ``"classification"``, ``"regression"``, ``"multilabel"`` or ``"other"``.
        read_batch: rows read at once (a reading detail, not the training batch).
        **options: :class:`PipelineDataset`'s keyword arguments.

    Returns:
        PipelineDataset: the splits; its ``source`` lets a study stream them again.

    Raises:
        FileNotFoundError: a split's file does not exist (naming the split).
        ValueError: as :class:`PipelineDataset` does.

    Example::

        data = pk.stream_csv("data/train.csv", "data/val.csv", "data/test.csv", label="y",
                             task="regression")
    """
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
    ``keras.utils.image_dataset_from_directory``, pixel values times ``scale``.

    Args:
        train, validation, test: a folder per split, holding one subfolder per class.
        image_size: ``(height, width)`` the images are resized to.
        color_mode: ``"rgb"``, ``"rgba"`` or ``"grayscale"``.
        scale: factor applied to the pixel values (1/255 gives [0, 1]).
        **options: :class:`PipelineDataset`'s keyword arguments.

    Returns:
        PipelineDataset: the splits, streamed; the classes are the train folder's subfolders.

    Raises:
        FileNotFoundError: a split's folder does not exist (naming the split).
        ValueError: as :class:`PipelineDataset` and Keras' ``image_dataset_from_directory``
            do.

    Example::

        folders = pk.write_shapes_folder("shapes", seed=0)
        data = pk.stream_images(folders["train"], folders["validation"], folders["test"],
                                image_size=(16, 16))
    """
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
    float32 vector when they are all scalars or vectors, else kept as a dict.

    Args:
        train, validation, test: a TFRecord file, or a list of them, per split.
        features: each feature's name mapped to ``[shape, dtype]``, the label's too.
        label: the feature that is the target.
        task: ``"classification"``, ``"regression"``, ``"multilabel"`` or ``"other"``.
        **options: :class:`PipelineDataset`'s keyword arguments.

    Returns:
        PipelineDataset: the splits, streamed and parsed.

    Raises:
        FileNotFoundError: a split's file does not exist (naming the split).
        ValueError: ``label`` is not among ``features``, or as :class:`PipelineDataset`.

    Example::

        data = pk.stream_tfrecord(
            "train.tfrecord", "val.tfrecord", "test.tfrecord", label="label",
            features={"pixels": [[64], "float32"], "label": [[], "int64"]})
    """
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
