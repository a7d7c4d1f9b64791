"""The idiomatic jax training loop: one seed, a Python loop over updates, one `nnx.jit` step each.

Why this shape: it is the loop of Flax's own tutorials (the MNIST one): an `@nnx.jit` train step
taking the module and its `nnx.Optimizer`, `nnx.value_and_grad`, `optimizer.update(model, grads)`,
batches sliced from numpy arrays on the host. Flax's performance guide says `nnx.jit` itself
"is currently slow" (it walks the object graph in Python every call) and offers
`nnx.cached_partial` or a functional loop; those are faster, and not what the tutorials teach,
so the measurement keeps the plain step. The step is defined once per process, as a module-level
function is, so only the first seed's first epoch pays for its tracing and compilation.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from backends.base import Snapshot, SnapshotRequest
from backends.jax_native.model import batch_loss, get_weights, snapshot_weights, zero_carry
from backends.timing import LoopResult, ProgressFn, Stopwatch

if TYPE_CHECKING:
    import optax
    from flax import nnx

    from scenarios import ResolvedScenario


@cache
def train_step() -> Callable[..., tuple[Any, Any, Any]]:
    """The jitted update: (model, optimizer, carry, xb, yb) -> (loss, hits, new carry)."""
    from flax import nnx

    @nnx.jit
    def step(model: nnx.Module, optimizer: nnx.Optimizer, carry: Any, xb: Any, yb: Any) -> tuple:
        def loss_fn(model: nnx.Module) -> tuple:
            return batch_loss(model, xb, yb, carry)

        (loss, (logits, new_carry)), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model)
        optimizer.update(model, grads)
        return loss, (logits.argmax(axis=-1) == yb).sum(), new_carry

    return step


def train_one(
    model: nnx.Module,
    tx: optax.GradientTransformation,
    scenario: ResolvedScenario,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    orders: np.ndarray,
    progress: ProgressFn,
    snapshots: SnapshotRequest | None = None,
) -> LoopResult:
    """Train `model` in place on one seed's orders, timed without model building or evaluation.

    Stateful: the carry goes from one update to the next (as an input, so no gradient flows
    through it, as PyTorch's detach and Keras's stateful LSTM) and is zeroed at every epoch
    start; otherwise every batch starts from zeros. Snapshots (S = 1, row `seed`) after their
    epoch's lap, outside the timing.
    """
    import jax
    from flax import nnx

    spec = scenario.spec
    n, batch, units = scenario.n_samples, scenario.batch_size, scenario.units
    starts = range(0, n, batch)
    sizes = np.array([min(batch, n - s) for s in starts], dtype=np.float64)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    step = train_step()
    zeros = {size: zero_carry(int(size), units) for size in set(sizes)}

    epoch_loss: list[float] = []
    epoch_accuracy: list[float] = []
    stopwatch = Stopwatch(progress)  # each lap follows the epoch's host read of its losses
    stopwatch.start()
    for order in orders:
        xe, ye = x[order], y[order]  # this epoch's order
        carry = zeros[sizes[0]]  # stateful: zero state at the start of every epoch
        losses, hits = [], []
        for k, start in enumerate(starts):
            loss, hit, new_carry = step(model, optimizer, carry if spec.stateful else zeros[sizes[k]],
                                        xe[start : start + batch], ye[start : start + batch])
            carry = new_carry
            losses.append(loss)
            hits.append(hit)
        # One host read per epoch: sample-weighted loss, accuracy of pre-update predictions.
        losses_np, hits_np = jax.device_get((losses, hits))
        epoch_loss.append(float((np.asarray(losses_np, dtype=np.float64) * sizes).sum()) / n)
        epoch_accuracy.append(int(np.sum(hits_np)) / n)
        stopwatch.lap(len(starts))
        if snapshots is not None and snapshots.due(len(epoch_loss)):
            with stopwatch.excluded():
                stacked = {name: w[None] for name, w in get_weights(model).items()}
                snapshots.callback(Snapshot(epoch=len(epoch_loss), seeds=(seed,),
                                            weights=snapshot_weights(stacked)))
    timing = stopwatch.stop()
    return LoopResult(epoch_loss, epoch_accuracy, timing, len(starts) * len(epoch_loss))
