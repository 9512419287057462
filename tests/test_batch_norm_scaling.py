import numpy as np


def test_ghost_statistics_batch_stays_fixed_while_the_gradient_batch_grows(pk):
    """Playbook section 7: with ghost batch norm the statistics come from ghost batches of
    a fixed size, so an example is normalized the same whether its gradient batch holds
    64, 128 or 256 examples; plain batch norm changes with the gradient batch."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(256, 5)).astype(np.float32)
    ghost = pk.GhostBatchNormalization(virtual_batch_size=64)
    plain = keras.layers.BatchNormalization()
    first_ghost = {n: np.asarray(ghost(x[:n], training=True))[:64] for n in (64, 128, 256)}
    first_plain = {n: np.asarray(plain(x[:n], training=True))[:64] for n in (64, 128, 256)}
    assert np.allclose(first_ghost[64], first_ghost[128], atol=1e-5)
    assert np.allclose(first_ghost[64], first_ghost[256], atol=1e-5)
    assert not np.allclose(first_plain[64], first_plain[256], atol=1e-3)
    expected = (x[:64] - x[:64].mean(0)) / np.sqrt(x[:64].var(0) + 1e-3)
    assert np.allclose(first_ghost[256], expected, atol=1e-4)
