"""The step loop every compiled train loop runs (one device: :mod:`.programs`; several:
:mod:`.distribute`), so that both report the same numbers the same way."""
from __future__ import annotations


def zero_carry():
    """The running sums a chunk of steps starts from: ``(loss sum, norm sum, norm max,
    steps clipped)``, all 0.0."""
    import tensorflow as tf

    return tuple(tf.constant(0.0) for _ in range(4))


def run_steps(n, next_step, carry):
    """Up to ``n`` calls of ``next_step() -> (loss, gradient norm, 1.0 if clipped else 0.0)``,
    stopping after the first non-finite loss or norm. Call it inside a ``tf.function``.

    ``carry``: the running ``(loss sum, norm sum, norm max, steps clipped)`` the sums go
    on from (:func:`zero_carry` for a new chunk), so that a chunk of steps run as several
    calls (to stop at a step boundary, or to write a resumable state) adds in exactly the
    same order, to the same bits, as one call. Returns ``(steps done in this call, loss
    sum, norm sum, norm max, steps clipped, finite)``."""
    import tensorflow as tf

    loss_sum, norm_sum, norm_max, clipped = carry
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
