"""The Keras (TensorFlow) backend's "fast" execution: all seeds of a job in one compiled program.

Why: at batch 1, almost all of a `model.fit` update is Python and graph dispatch around a
few microseconds of arithmetic. Here one `tf.function` (XLA-compiled) loops over whole
epochs for all S seeds at once. Each seed keeps its own weights and Adam slots, stacked
along a leading seed axis so one batched matmul serves every seed without mixing them,
and its own per-epoch sample order. Batch size, loss, the Adam formula (copied from
`keras.optimizers.Adam.update_step`), hyper-parameters (epsilon included), the LSTM gate
activation and the state-reset schedule are the idiomatic model's: only how the updates
execute changes, never which updates run. The program itself is `backends.keras3.program`;
this module drives it in chunks of epochs, ending a chunk at every requested snapshot epoch.

TensorFlow is imported inside functions; `KerasBackend.setup` has configured it first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from backends.base import ProgressFn, SeedPlan, SeedTraining, SnapshotRequest, chunk_to_snapshot
from backends.keras3.model import gate_name
from backends.keras3.program import compiled_program
from backends.keras3.snapshot import take_snapshot
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


def _batched_orders(
    orders: list[np.ndarray], batch: int, steps: int, extra_epochs: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(E + extra_epochs, steps, S, B) sample ids, padded where B does not divide n and with
    `extra_epochs` of zeros at the end (so every block of epochs is a slice); mask and true
    batch sizes. The ids take the narrowest type that holds them: every program call copies a
    block of them (up to 20 MB as int32 for batch_state's 2000-epoch blocks of 100 seeds)."""
    epochs, n = orders[0].shape
    epochs += extra_epochs
    dtype = next(t for t in (np.uint8, np.uint16, np.int32) if n - 1 <= np.iinfo(t).max)
    padded = np.zeros((len(orders), epochs, steps * batch), dtype=dtype)
    for s, order in enumerate(orders):
        padded[s, : len(order), :n] = order
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
    seeds: Sequence[int] | None = None,
    snapshots: SnapshotRequest | None = None,
) -> FastRun:
    """Train len(init) independent models together; orders[s] is seed s's (epochs, n) order.

    The first call runs one epoch only, so the first lap is the first epoch plus tracing and
    XLA compilation; later calls run chunks of epochs, a lap each. `progress` gets the
    updates of each call summed over seeds. A chunk also ends at every epoch `snapshots` asks
    for; its `count` is an argument and the block of `chunk` epochs keeps its shape, so a short
    chunk reuses the compiled program. `seeds` (default 0..S-1) label the snapshots' rows.
    """
    import tensorflow as tf

    stateful, batch, steps = scenario.spec.stateful, scenario.batch_size, scenario.steps_per_epoch
    if stateful and batch != 1:
        raise ValueError("fast keras path: a stateful model trains with batch 1")
    n_seeds, epochs = len(init), scenario.epochs
    seeds = range(n_seeds) if seeds is None else seeds
    chunk = max(1, min(epochs, math.ceil(MIN_STEPS_PER_CALL / steps)))
    ids, sample_mask, batch_sizes = _batched_orders(orders, batch, steps, extra_epochs=chunk - 1)
    params = tuple(tf.constant(np.stack([w[name] for w in init]), tf.float32) for name in PARAM_NAMES)
    m = tuple(tf.zeros_like(p) for p in params)
    v = tuple(tf.zeros_like(p) for p in params)
    step = tf.constant(0, tf.int64)
    x_t, y_t, mask_t, sizes_t, hyper_t = (tf.constant(a) for a in (x, y_one_hot, sample_mask, batch_sizes,
                                                                    hyper.vector()))
    program = compiled_program(stateful, jit_compile, scenario.options.gate_activation)
    call = None
    losses, accs = [], []
    stopwatch = Stopwatch(progress)  # each lap follows `.numpy()`, which waits for the call
    stopwatch.start()
    done = 0
    while done < epochs:
        count = 1 if done == 0 else chunk_to_snapshot(snapshots, done, min(chunk, epochs - done))
        inputs = (params, m, v, step, x_t, y_t, tf.constant(ids[done : done + chunk]), mask_t, sizes_t,
                  tf.constant(count), hyper_t)
        if call is None:  # traced (if new) inside the timed loop, as a first tf.function call is
            # The concrete function skips tf.function's per-call argument matching: ~0.5 ms of every
            # call, which dense snapshot requests (a chunk ending every few epochs) multiply.
            call = program.get_concrete_function(*inputs)
        params, m, v, step, loss, acc = call(*inputs)
        losses.append(loss.numpy()[:count])
        accs.append(acc.numpy()[:count])
        done += count
        stopwatch.lap(n_seeds * steps * count)
        take_snapshot(snapshots, stopwatch, done, seeds, partial(dict, zip(PARAM_NAMES, params, strict=True)))
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
    snapshots: SnapshotRequest | None = None,
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
        seeds=[plan.seed for plan in plans],
        snapshots=snapshots,
    )
    evaluator = predictors[0]  # every seed is evaluated on one model: one traced predict function
    for s, plan in enumerate(plans):
        yield SeedTraining(
            seed=plan.seed,
            predictor=evaluator.sharing(run.weights[s]),
            epoch_loss=[float(v) for v in run.epoch_loss[:, s]],
            epoch_accuracy=[float(v) for v in run.epoch_accuracy[:, s]],
            timing=run.timing,
            updates=run.updates,
        )
