import os
import subprocess
import sys

import numpy as np
import pytest


def test_setup_twice_is_harmless_and_reseeds(pk):
    first = pk.setup(seed=7)
    a = np.random.rand(3)
    second = pk.setup(seed=7)
    assert np.array_equal(a, np.random.rand(3))
    assert first["threads"] == second["threads"] and second["seed"] == 7


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_setup_rejects_bad_seeds(pk, bad):
    with pytest.raises(ValueError, match="seed"):
        pk.setup(seed=bad)


def test_fused_kernels_sets_the_graph_optimizers_fusion(pk):
    """``fused_kernels`` is TensorFlow's remapper, whatever the order of the calls; the
    default fuses only where TensorFlow sees a GPU (``bench/fused_kernels.py`` and
    ``bench/memory.py --fused`` measure its effect)."""
    import tensorflow as tf

    remapping = lambda: tf.config.optimizer.get_experimental_options().get("remapping")
    try:
        assert pk.setup(seed=0, fused_kernels=True)["fused_kernels"] is True
        assert remapping() is True
        assert pk.setup(seed=0, fused_kernels=False)["fused_kernels"] is False
        assert remapping() is False
        default = pk.setup(seed=0)["fused_kernels"]
        assert default is bool(tf.config.list_physical_devices("GPU")) and remapping() is default
    finally:
        pk.setup(seed=0)


@pytest.mark.parametrize("bad", ["no", 0, 1])
def test_setup_rejects_a_fused_kernels_that_is_not_true_false_or_none(pk, bad):
    with pytest.raises(ValueError, match=r"fused_kernels.*True, False or None"):
        pk.setup(seed=0, fused_kernels=bad)


def test_setup_configures_tensorflow_before_it_starts():
    code = ("import sys, playbook_kit as pk; assert 'tensorflow' not in sys.modules; "
            "info = pk.setup(seed=0, threads=1, deterministic=True); "
            "import tensorflow as tf; "
            "from tensorflow.python.framework import config; "
            "print(tf.config.threading.get_intra_op_parallelism_threads(), "
            "info['deterministic'], config.is_op_determinism_enabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "True", "True"]
    assert "cuda" not in out.stderr.lower()


def test_seeding_without_the_kernel_reset_sets_the_same_seeds(pk):
    """``reset_kernels=False`` gives Python, NumPy, Keras and TensorFlow the same seeds as
    a full seeding; only the counters of stateful random ops run on."""
    import random

    import keras
    import numpy as np
    import tensorflow as tf
    from tensorflow.python.framework import random_seed

    def draws():
        return (random.random(), float(np.random.rand()),
                keras.random.uniform((3,)).numpy().tolist(), random_seed.get_seed(None),
                list(tf.data.Dataset.range(8).shuffle(8, seed=1).as_numpy_iterator()))

    pk.seed_everything(11)
    full = draws()
    counter = tf.random.uniform([2], seed=1).numpy()
    pk.seed_everything(11, reset_kernels=False)
    assert draws() == full
    assert not np.array_equal(tf.random.uniform([2], seed=1).numpy(), counter)
    pk.seed_everything(11)
    assert np.array_equal(tf.random.uniform([2], seed=1).numpy(), counter)
