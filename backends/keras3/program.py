"""The Keras "fast" execution's compiled training program: what one call computes.

Why a module of its own: this is the arithmetic that must match `fit` (the Keras LSTM cell,
the loss, `keras.optimizers.Adam.update_step`), one XLA computation over whole epochs for
all seeds at once; `backends.keras3.fast` only drives it (chunks of epochs, timing,
snapshots) and never changes which updates run.

TensorFlow is imported inside functions; `KerasBackend.setup` has configured it first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any


def _gate(tf: Any, name: str) -> Callable[[Any], Any]:
    """The LSTM gate activation (`model.gate_activation`'s twin, in TensorFlow ops)."""
    if name == "sigmoid":
        return tf.sigmoid
    if name == "hard_sigmoid_2017":  # Keras 2's hard_sigmoid: clip(0.2 x + 0.5, 0, 1)
        return lambda z: tf.clip_by_value(z * 0.2 + 0.5, 0.0, 1.0)
    raise ValueError(f"unknown gate activation {name!r}")


def _forward(
    tf: Any, params: tuple, xb: Any, h: Any, c: Any, gate: Callable[[Any], Any]
) -> tuple[Any, Any, Any]:
    """Keras's LSTMCell (implementation 2, gates i, f, c, o) then Dense, per seed.

    xb (S, B, T, F); h, c (S, B, H). Op order follows the Keras cell so the float
    arithmetic is the same: x@W, + h@U, + b; c = f*c + i*tanh(zc); h = o*tanh(c).
    `gate` is the recurrent activation of i, f and o (the candidate and output keep tanh).
    """
    kernel, recurrent, bias, dense_kernel, dense_bias = params
    for t in range(xb.shape[2]):
        z = tf.linalg.matmul(xb[:, :, t, :], kernel)
        z = z + tf.linalg.matmul(h, recurrent)
        z = z + bias[:, None, :]
        zi, zf, zc, zo = tf.split(z, 4, axis=-1)
        i, f = gate(zi), gate(zf)
        c = f * c + i * tf.tanh(zc)
        h = gate(zo) * tf.tanh(c)
    logits = tf.linalg.matmul(h, dense_kernel) + dense_bias[:, None, :]
    return logits, h, c


def _adam(tf: Any, params: tuple, grads: list, m: tuple, v: tuple, step: Any, hyper: Any) -> tuple:
    """`keras.optimizers.Adam.update_step`, element-wise on the stacked slots; `hyper` is
    `fast.AdamHyper.vector()`: [lr, b1, b2, 1-b1, 1-b2, eps]."""
    lr, b1, b2, one_minus_b1, one_minus_b2, eps = tf.unstack(hyper)
    t = tf.cast(step + 1, tf.float32)
    alpha = lr * tf.sqrt(1 - tf.pow(b2, t)) / (1 - tf.pow(b1, t))
    new_p, new_m, new_v = [], [], []
    for p, g, mi, vi in zip(params, grads, m, v, strict=True):
        mi = mi + (g - mi) * one_minus_b1
        vi = vi + (tf.square(g) - vi) * one_minus_b2
        new_p.append(p - (mi * alpha) / (tf.sqrt(vi) + eps))
        new_m.append(mi)
        new_v.append(vi)
    return tuple(new_p), tuple(new_m), tuple(new_v)


@cache
def compiled_program(stateful: bool, jit_compile: bool, gate_activation: str = "sigmoid") -> Any:
    """The training program: `n_epochs` epochs of every seed per call.

    One `tf.function` per (stateful, jit, gate activation) so a process compiles each shape
    once and a gate never reuses another gate's program. Arguments: params, m, v the stacked
    weights (`fast.PARAM_NAMES`, Keras layout, leading seed axis) and Adam slots; orders
    (K, steps, S, B) sample ids (any integer type), only the first `n_epochs` epochs used (a
    fixed K keeps one compiled program for every call); sample_mask (steps, B) is 0 on the slots that pad
    a short last batch; batch_sizes (steps,) its true sizes.
    """
    import tensorflow as tf

    gate = _gate(tf, gate_activation)

    def run(params, m, v, step, x, y, orders, sample_mask, batch_sizes, n_epochs, hyper):
        k_max, steps, n_seeds, batch = orders.shape
        units = params[1].shape[1]
        n_samples = tf.reduce_sum(batch_sizes)
        zeros_state = tf.zeros((n_seeds, batch, units))

        def train_step(e, k, params, m, v, step, h, c, loss_sum, correct):
            idx = tf.cast(orders[e, k], tf.int32)  # (S, B): each seed's own batch
            xb, yb = tf.gather(x, idx), tf.gather(y, idx)
            w = sample_mask[k]
            with tf.GradientTape() as tape:
                tape.watch(params)
                logits, h_new, c_new = _forward(tf, params, xb, h, c, gate)
                per_sample = tf.nn.softmax_cross_entropy_with_logits(yb, logits)  # (S, B)
                loss = tf.reduce_sum(per_sample * w, axis=1) / batch_sizes[k]  # Keras batch mean
                total = tf.reduce_sum(loss)  # seeds share no weights: d total/dW_s = d loss_s/dW_s
            grads = tape.gradient(total, list(params))
            params, m, v = _adam(tf, params, grads, m, v, step, hyper)
            hit = tf.cast(tf.equal(tf.argmax(logits, -1), tf.argmax(yb, -1)), tf.float32)
            loss_sum = loss_sum + loss * batch_sizes[k]  # Keras's loss Mean, weighted by batch size
            correct = correct + tf.reduce_sum(hit * w, axis=1)
            if not stateful:
                h_new, c_new = h, c
            return e, k + 1, params, m, v, step + 1, h_new, c_new, loss_sum, correct

        def epoch(e, params, m, v, step, losses, accs):
            zero_s = tf.zeros((n_seeds,))  # every epoch starts from a zero LSTM state
            init = (e, tf.constant(0), params, m, v, step, zeros_state, zeros_state, zero_s, zero_s)
            out = tf.while_loop(lambda _e, k, *_: k < steps, train_step, init)
            _, _, params, m, v, step, _, _, loss_sum, correct = out
            losses = tf.tensor_scatter_nd_update(losses, [[e]], [loss_sum / n_samples])
            accs = tf.tensor_scatter_nd_update(accs, [[e]], [correct / n_samples])
            return e + 1, params, m, v, step, losses, accs

        zero_log = tf.zeros((k_max, n_seeds))
        init = (tf.constant(0), params, m, v, step, zero_log, zero_log)
        _, params, m, v, step, losses, accs = tf.while_loop(lambda e, *_: e < n_epochs, epoch, init)
        return params, m, v, step, losses, accs

    return tf.function(run, jit_compile=jit_compile, reduce_retracing=False)
