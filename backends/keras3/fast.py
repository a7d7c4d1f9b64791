"""Keras backend, "fast" execution: all seeds of a job in one compiled training program.

Why: at batch 1, almost all of a `model.fit` update is Python and graph dispatch around a
few microseconds of arithmetic. Here one `tf.function` (XLA-compiled) loops over whole
epochs for all S seeds at once. Each seed keeps its own weights and Adam slots, stacked
along a leading seed axis so one batched matmul serves every seed without mixing them,
and its own per-epoch sample order. Batch size, loss, the Adam formula (copied from
`keras.optimizers.Adam.update_step`), hyper-parameters (epsilon included), the LSTM gate
activation and the state-reset schedule are the idiomatic model's: only how the updates
execute changes, never which updates run.

TensorFlow is imported inside functions; `KerasBackend.setup` has configured it first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from backends.base import ProgressFn, SeedPlan, SeedTraining
from backends.keras3.model import gate_name
from backends.timing import Stopwatch, Timing

if TYPE_CHECKING:
    from scenarios import AlphabetData, ResolvedScenario

FAST_PATH = "xla-stacked"
JIT_COMPILE = True
# Epochs per program call are chosen so a call runs at least this many steps: fewer calls
# (less dispatch) for tiny epochs, yet progress still reported every fraction of a second.
MIN_STEPS_PER_CALL = 2000
# The stacked parameters, in Keras layout and `KerasPredictor.weights()` names.
PARAM_NAMES = ("lstm/kernel", "lstm/recurrent_kernel", "lstm/bias", "dense/kernel", "dense/bias")


@dataclass(frozen=True)
class AdamHyper:
    """The Keras Adam hyper-parameters the fast program must reproduce."""

    learning_rate: float
    beta_1: float
    beta_2: float
    epsilon: float

    @classmethod
    def from_keras(cls, optimizer: Any) -> AdamHyper:
        """Read them off the idiomatic model's optimizer, refusing options not reproduced here."""
        unsupported = {
            "amsgrad": getattr(optimizer, "amsgrad", False),
            "weight_decay": optimizer.weight_decay,
            "clipnorm": optimizer.clipnorm,
            "clipvalue": optimizer.clipvalue,
            "global_clipnorm": optimizer.global_clipnorm,
            "use_ema": optimizer.use_ema,
        }
        used = [k for k, v in unsupported.items() if v]
        if type(optimizer).__name__ != "Adam" or used:
            raise ValueError(f"fast keras path reproduces plain Adam only; got {optimizer!r} {used}")
        lr = float(np.asarray(optimizer.learning_rate))
        return cls(lr, float(optimizer.beta_1), float(optimizer.beta_2), float(optimizer.epsilon))

    def vector(self) -> np.ndarray:
        """float32 [lr, b1, b2, 1-b1, 1-b2, eps]; `1 - b` in float64 first, as Keras's Python does."""
        b1, b2 = self.beta_1, self.beta_2
        return np.asarray([self.learning_rate, b1, b2, 1 - b1, 1 - b2, self.epsilon], dtype=np.float32)


@dataclass
class FastRun:
    """What the batched program hands back: per-seed weights and logs, the batch's timing."""

    weights: list[dict[str, np.ndarray]]
    epoch_loss: np.ndarray  # (epochs, S)
    epoch_accuracy: np.ndarray  # (epochs, S)
    timing: Timing  # of all program calls; the first call runs one epoch and pays tracing + XLA compile
    updates: int  # optimizer steps per seed


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
    """`keras.optimizers.Adam.update_step`, element-wise on the stacked slots."""
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
def _program(stateful: bool, jit_compile: bool, gate_activation: str = "sigmoid") -> Any:
    """The training program: `n_epochs` epochs of every seed per call.

    One `tf.function` per (stateful, jit, gate activation) so a process compiles each shape
    once and a gate never reuses another gate's program. Arguments:
    orders (K, steps, S, B) int32 sample ids, only the first `n_epochs` epochs used (a fixed
    K keeps one compiled program for every call); sample_mask (steps, B) is 0 on the slots
    that pad a short last batch; batch_sizes (steps,) its true sizes.
    """
    import tensorflow as tf

    gate = _gate(tf, gate_activation)

    def run(params, m, v, step, x, y, orders, sample_mask, batch_sizes, n_epochs, hyper):
        k_max, steps, n_seeds, batch = orders.shape
        units = params[1].shape[1]
        n_samples = tf.reduce_sum(batch_sizes)
        zeros_state = tf.zeros((n_seeds, batch, units))

        def train_step(e, k, params, m, v, step, h, c, loss_sum, correct):
            idx = orders[e, k]  # (S, B): each seed's own batch
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


def _batched_orders(
    orders: list[np.ndarray], batch: int, steps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E, steps, S, B) sample ids, padded where B does not divide n; mask and true batch sizes."""
    epochs, n = orders[0].shape
    padded = np.zeros((len(orders), epochs, steps * batch), dtype=np.int32)
    for s, order in enumerate(orders):
        padded[s, :, :n] = order
    ids = padded.reshape(len(orders), epochs, steps, batch).transpose(1, 2, 0, 3)
    mask = (np.arange(steps * batch) < n).astype(np.float32).reshape(steps, batch)
    return np.ascontiguousarray(ids), mask, mask.sum(axis=1)


def train_stacked(
    scenario: ResolvedScenario,
    init: list[dict[str, np.ndarray]],
    x: np.ndarray,
    y_one_hot: np.ndarray,
    orders: list[np.ndarray],
    hyper: AdamHyper,
    progress: ProgressFn,
    jit_compile: bool = JIT_COMPILE,
) -> FastRun:
    """Train len(init) independent models together; orders[s] is seed s's (epochs, n) order.

    The first call runs one epoch only, so the first lap is the first epoch plus tracing and
    XLA compilation; later calls run chunks of epochs, a lap each. `progress` gets the
    updates of each call summed over seeds.
    """
    import tensorflow as tf

    stateful, batch, steps = scenario.spec.stateful, scenario.batch_size, scenario.steps_per_epoch
    if stateful and batch != 1:
        raise ValueError("fast keras path: a stateful model trains with batch 1")
    n_seeds, epochs = len(init), scenario.epochs
    ids, sample_mask, batch_sizes = _batched_orders(orders, batch, steps)
    chunk = max(1, min(epochs, math.ceil(MIN_STEPS_PER_CALL / steps)))
    params = tuple(tf.constant(np.stack([w[name] for w in init]), tf.float32) for name in PARAM_NAMES)
    m = tuple(tf.zeros_like(p) for p in params)
    v = tuple(tf.zeros_like(p) for p in params)
    step = tf.constant(0, tf.int64)
    args = [tf.constant(a) for a in (x, y_one_hot, sample_mask, batch_sizes, hyper.vector())]
    program = _program(stateful, jit_compile, scenario.options.gate_activation)
    losses, accs = [], []
    stopwatch = Stopwatch(progress)  # each lap follows `.numpy()`, which waits for the call
    stopwatch.start()
    done = 0
    while done < epochs:
        count = 1 if done == 0 else min(chunk, epochs - done)
        block = np.zeros((chunk, *ids.shape[1:]), dtype=np.int32)
        block[:count] = ids[done : done + count]
        params, m, v, step, loss, acc = program(
            params, m, v, step, args[0], args[1], tf.constant(block), args[2], args[3],
            tf.constant(count), args[4],
        )
        losses.append(loss.numpy()[:count])
        accs.append(acc.numpy()[:count])
        done += count
        stopwatch.lap(n_seeds * steps * count)
    timing = stopwatch.stop(seeds_together=n_seeds)
    stacked = [p.numpy() for p in params]
    weights = [{name: w[s] for name, w in zip(PARAM_NAMES, stacked, strict=True)} for s in range(n_seeds)]
    return FastRun(
        weights=weights,
        epoch_loss=np.concatenate(losses),
        epoch_accuracy=np.concatenate(accs),
        timing=timing,
        updates=int(step.numpy()),
    )


def train_plans(
    scenario: ResolvedScenario,
    data: AlphabetData,
    plans: list[SeedPlan],
    predictors: Sequence[Any],  # KerasPredictor (not imported: it imports this module)
    progress: ProgressFn,
) -> Iterator[SeedTraining]:
    """Train every plan from its idiomatic model's weights and load the result back into it.

    All seeds finish together and share one `Timing`. The models must have been built with
    the scenario's gate activation (checked: the predictors evaluate the trained weights with
    their own cell).
    """
    gate = scenario.options.gate_activation
    built_with = gate_name(predictors[0].model)
    if built_with != gate:
        raise ValueError(f"fast keras path: gate {gate!r}, but the model has {built_with!r}")
    run = train_stacked(
        scenario,
        init=[p.weights() for p in predictors],
        x=data.x,
        y_one_hot=data.one_hot(),
        orders=[plan.checked_orders(scenario) for plan in plans],
        hyper=AdamHyper.from_keras(predictors[0].model.optimizer),
        progress=progress,
    )
    for s, (plan, predictor) in enumerate(zip(plans, predictors, strict=True)):
        predictor.set_weights(run.weights[s])
        yield SeedTraining(
            seed=plan.seed,
            predictor=predictor,
            epoch_loss=[float(v) for v in run.epoch_loss[:, s]],
            epoch_accuracy=[float(v) for v in run.epoch_accuracy[:, s]],
            timing=run.timing,
            updates=run.updates,
        )
