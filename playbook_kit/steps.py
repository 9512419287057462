"""The step loop every compiled train loop runs (one device: :mod:`.programs`; several:
:mod:`.distribute`), so that both report the same numbers the same way."""
from __future__ import annotations


def run_steps(n, next_step):
    """Up to ``n`` calls of ``next_step() -> (loss, gradient norm, 1.0 if clipped else 0.0)``,
    stopping after the first non-finite loss or norm. Call it inside a ``tf.function``.
    Returns ``(steps done, loss sum, norm sum, norm max, steps clipped, finite)``."""
    import tensorflow as tf

    loss_sum = tf.constant(0.0)
    norm_sum = tf.constant(0.0)
    norm_max = tf.constant(0.0)
    clipped = tf.constant(0.0)
    done = tf.constant(0)
    finite = tf.constant(True)
    while done < n and finite:
        value, norm, was_clipped = next_step()
        clipped += was_clipped
        finite = tf.math.is_finite(value) & tf.math.is_finite(norm)
        loss_sum += value
        norm_sum += norm
        norm_max = tf.maximum(norm_max, norm)
        done += 1
    return done, loss_sum, norm_sum, norm_max, clipped, finite
