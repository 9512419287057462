"""Training batches a pipeline serves fast (docs/design.md, *Workload parts*): examples
decoded from files by a Python function, with the input-pipeline fixes as switches
(:func:`file_pipeline`), and examples that fit in memory served a whole shuffled epoch at
a time (:func:`batches_in_memory`). The input-pipeline recipe
(:func:`~playbook_kit.recipes.input_pipeline.input_pipeline_check`) measures what they
change; TensorFlow loads when a pipeline is built."""
from __future__ import annotations

import numpy as np

from ..core.validation import check_int, check_seed, not_allowed


def file_pipeline(paths, labels, decode, batch_size: int, *, seed: int = 0,
                  parallel: bool = False, cache: bool = False, prefetch: bool = False):
    """Training batches decoded from files by a Python function, with the fixes as
    switches: ``parallel`` map, ``cache`` of the decoded examples (through
    :func:`batches_in_memory`), ``prefetch``.

    ``decode(path) -> np.ndarray`` runs in ``tf.numpy_function`` (Python, so the slow,
    realistic case); ``labels`` are integers, one per path. The output repeats and
    shuffles the file order each epoch.

    Args:
        paths: the files, one per example.
        labels: one integer label per file.
        decode: ``decode(path) -> np.ndarray``.
        batch_size: examples per batch.
        seed: seeds the shuffling.
        parallel: decode in a parallel ``map``.
        cache: keep the decoded examples in memory after the first pass.
        prefetch: prepare the next batch while the current one trains.

    Returns:
        tf.data.Dataset: repeating ``(features, labels)`` batches.

    Raises:
        ValueError: no paths, paths and labels of different lengths, or ``batch_size``
            below 1.

    Example::

        slow = pk.file_pipeline(paths, labels, decode, batch_size=64)
        fixed = pk.file_pipeline(paths, labels, decode, batch_size=64, parallel=True,
                                 cache=True, prefetch=True)
    """
    import tensorflow as tf

    paths, labels = list(map(str, paths)), np.asarray(labels, dtype=np.int32)
    if len(paths) != len(labels) or not paths:
        raise ValueError(f"paths and labels must be non-empty and match; got {len(paths)} "
                         f"paths and {len(labels)} labels")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    example = np.asarray(decode(paths[0]), dtype=np.float32)

    def load(path, label):
        x = tf.numpy_function(lambda p: np.asarray(decode(p.decode()), np.float32),
                              [path], tf.float32)
        return tf.ensure_shape(x, example.shape), label

    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True) if parallel \
        else ds.map(load)
    if cache:
        ds = batches_in_memory(ds, batch_size, seed=seed)
    else:
        ds = ds.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
        ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


def batches_in_memory(examples, batch_size: int, *, seed: int = 0):
    """Repeating training batches of ``examples`` (a finite ``tf.data.Dataset`` of
    examples that fits in memory), decoded once and shuffled a whole epoch at a time.

    The first pass is cached as one tensor per feature; each epoch is one random
    permutation of it, gathered at once and cut into batches, so that a batch then
    costs one slice of an in-memory tensor, as the compute-only reference does.
    ``.cache().shuffle(n).repeat().batch(b)`` gives batches of the same distribution but
    moves every example through the shuffle buffer one by one (up to about 0.2 ms per
    batch of 64 measured here): CPU work that competes with a step of a few ms for the
    same cores. Batches run across epoch boundaries (no example is dropped); peak memory
    is about two copies of the data.

    Args:
        examples: a finite ``tf.data.Dataset`` of examples.
        batch_size: examples per batch.
        seed: seeds each epoch's permutation.

    Returns:
        tf.data.Dataset: repeating batches.

    Raises:
        ValueError: ``examples`` not a ``tf.data.Dataset``, not finite or of unknown
            length, or ``batch_size`` / ``seed`` not allowed.

    Example::

        batches = pk.batches_in_memory(tf.data.Dataset.from_tensor_slices((x, y)), 64)
    """
    import tensorflow as tf

    if not isinstance(examples, tf.data.Dataset):
        raise not_allowed("examples", examples, "use a tf.data.Dataset of examples")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    seed = check_seed("seed", seed)
    count = int(examples.cardinality())
    if count <= 0:
        raise not_allowed("examples.cardinality()", count, "use a finite, non-empty dataset "
                          "whose length tf.data knows (-1 is infinite, -2 unknown: apply "
                          "tf.data.experimental.assert_cardinality(n))")
    # the exact count: a map followed by a larger batch fuses into one op that would
    # allocate the whole (too large) batch
    whole = examples.batch(count).cache().repeat()

    def epoch(state, whole_epoch):
        leftover, index = state
        n = tf.shape(tf.nest.flatten(whole_epoch)[0])[0]
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n), seed=tf.stack([tf.constant(seed, tf.int64), index]))
        order = tf.concat([leftover, order], 0)
        full = tf.shape(order)[0] // batch_size * batch_size
        batches = tf.reshape(order[:full], [-1, batch_size])
        return (order[full:], index + 1), (whole_epoch, batches)

    def slices(whole_epoch, batches):
        return tf.data.Dataset.from_tensor_slices(
            tf.nest.map_structure(lambda t: tf.gather(t, batches), whole_epoch))

    start = (tf.zeros([0], tf.int32), tf.constant(0, tf.int64))
    return whole.scan(start, epoch).flat_map(slices)
