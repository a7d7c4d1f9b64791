"""The jax backend's "fast" execution: every update of every seed of a call in one XLA program.

Why: an idiomatic update is one `nnx.jit` call, almost all of it Python (Flax's graph walk, JAX's
dispatch) around microseconds of arithmetic. Here the per-seed training is a pure function of
the model's `nnx.split` parameters and Optax state: `lax.scan` over an epoch's updates inside
`lax.fori_loop` over a chunk of epochs, `jax.vmap`ped over the seeds, jitted once per shape.
Each update is the idiomatic one: `nnx.merge` of the same module (built with `nnx.RNN`'s time
loop unrolled: the same arithmetic, faster for variable_length's 5 time steps), the same
`batch_loss`, the same Optax transformation (`tx.update` + `optax.apply_updates`, all that
`nnx.Optimizer.update` does), the same batches in the same per-epoch order and the same state
resets. Every seed's loss is its own mean, so its gradients and Adam moments are its own; results
equal idiomatic's up to float summation order (XLA batches the seeds' matmuls).

The epochs run in chunks, one program call each: the first call runs the first epoch alone (so
the first lap holds tracing and compilation), later ones `chunk` epochs, cut short at every
requested snapshot. The epoch count is an argument, not a shape, so one compiled program serves
every call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from backends.base import Snapshot, SnapshotRequest, chunk_to_snapshot
from backends.jax_native.model import batch_loss, get_weights, optimizer, set_weights, snapshot_weights
from backends.timing import ProgressFn, Stopwatch, Timing

if TYPE_CHECKING:
    from flax import nnx

    from scenarios import ResolvedScenario

FAST_PATH = "xla-scan-vmap"
# Epochs per program call are chosen so a call runs at least this many updates: few calls for
# tiny epochs, yet progress reported every fraction of a second (as the Keras fast path does).
MIN_STEPS_PER_CALL = 2000


@dataclass
class FastRun:
    """What the program hands back for all S seeds of a call."""

    epoch_loss: np.ndarray  # (S, epochs)
    epoch_accuracy: np.ndarray  # (S, epochs)
    timing: Timing  # of the whole batch; the first epoch includes tracing and compiling
    updates_per_seed: int


@dataclass(frozen=True)
class Shape:
    """What fixes the compiled program (besides the module's graph): a cache key."""

    stateful: bool
    chunk: int  # epochs per call at most
    steps: int  # updates per epoch
    batch: int
    units: int
    learning_rate: float
    adam_eps: float | None


@cache
def program(graphdef: nnx.GraphDef, shape: Shape) -> Any:
    """The jitted, seed-vmapped chunk: (params, opt_state, ids (S, chunk, steps, B), x, y, count)
    -> (params, opt_state, losses (S, chunk, steps), hits (S, chunk, steps)); only the first
    `count` epochs of `ids` run. Cached, so later calls of a process reuse its compilation."""
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx
    from jax import lax

    tx = optimizer(shape.learning_rate, shape.adam_eps)
    zeros = (jnp.zeros((shape.batch, shape.units)), jnp.zeros((shape.batch, shape.units)))

    def seed_chunk(params: Any, opt_state: Any, ids: Any, x: Any, y: Any, count: Any) -> tuple:
        def update(state: tuple, idx: Any) -> tuple:
            params, opt_state, carry = state
            xb, yb = x[idx], y[idx]

            def loss_fn(p: Any) -> tuple:
                return batch_loss(nnx.merge(graphdef, p), xb, yb, carry)

            (loss, (logits, new_carry)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            hits = (logits.argmax(axis=-1) == yb).sum()
            return (params, opt_state, new_carry if shape.stateful else zeros), (loss, hits)

        def epoch(e: Any, state: tuple) -> tuple:
            params, opt_state, losses, hits = state
            # every epoch starts from a zero state; a stateless model's carry stays zero
            (params, opt_state, _), (loss, hit) = lax.scan(update, (params, opt_state, zeros), ids[e])
            return params, opt_state, losses.at[e].set(loss), hits.at[e].set(hit)

        logs = (jnp.zeros((shape.chunk, shape.steps)), jnp.zeros((shape.chunk, shape.steps), jnp.int32))
        return lax.fori_loop(0, count, epoch, (params, opt_state, *logs))

    return jax.jit(jax.vmap(seed_chunk, in_axes=(0, 0, 0, None, None, None)))


def stack_parameters(models: list[nnx.Module]) -> tuple[nnx.GraphDef, Any]:
    """The models' common graph and their parameters stacked on a leading seed axis."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    graphdef, _ = nnx.split(models[0], nnx.Param)
    states = []
    for model in models:
        found, state = nnx.split(model, nnx.Param)
        if found != graphdef:
            raise ValueError("fast jax path: every seed's model must have the same structure")
        states.append(state)
    return graphdef, jax.tree.map(lambda *a: jnp.stack(a), *states)


def stacked_weights(graphdef: nnx.GraphDef, params: Any) -> dict[str, np.ndarray]:
    """Stacked parameters by Keras name, (S, *shape) float32 copies (a module merged from them)."""
    from flax import nnx

    return get_weights(nnx.merge(graphdef, params))


def train_stacked(
    scenario: ResolvedScenario,
    models: list[nnx.Module],
    x: np.ndarray,
    y: np.ndarray,
    orders: np.ndarray,
    progress: ProgressFn,
    seeds: tuple[int, ...],
    snapshots: SnapshotRequest | None = None,
) -> FastRun:
    """Train the models together from their own initialisations; orders (S, epochs, n). The
    trained parameters are loaded back into `models`. Snapshots after their chunk's lap, rows
    named by `seeds`, outside every timing figure."""
    import jax
    import jax.numpy as jnp

    n, batch, steps = scenario.n_samples, scenario.batch_size, scenario.steps_per_epoch
    epochs = scenario.epochs
    if n % batch:  # every tutorial scenario's batches divide its samples (1, or all of them)
        raise ValueError(f"fast jax path: batch {batch} does not divide the {n} samples; use idiomatic")
    count_seeds = len(models)
    if len(seeds) != count_seeds:
        raise ValueError(f"fast jax path: {len(seeds)} seeds name {count_seeds} models")
    chunk = max(1, min(epochs, math.ceil(MIN_STEPS_PER_CALL / steps)))
    by_step = np.asarray(orders).reshape(count_seeds, epochs, steps, batch)
    block = np.zeros((count_seeds, chunk, steps, batch), np.int32)  # a call's sample ids, padded to `chunk`
    sizes = np.full(steps, batch, dtype=np.float64)
    graphdef, params = stack_parameters(models)
    shape = Shape(scenario.spec.stateful, chunk, steps, batch, scenario.units, scenario.learning_rate,
                  scenario.options.adam_eps)
    run = program(graphdef, shape)
    losses, hits = [], []
    stopwatch = Stopwatch(progress)  # each lap follows the host read of the call's logs
    stopwatch.start()
    opt_state = jax.vmap(optimizer(scenario.learning_rate, scenario.options.adam_eps).init)(params)
    x_d, y_d = jnp.asarray(x), jnp.asarray(y)
    done = 0
    while done < epochs:
        count = 1 if done == 0 else chunk_to_snapshot(snapshots, done, min(chunk, epochs - done))
        block[:, :count] = by_step[:, done : done + count]  # epochs past `count` do not run
        params, opt_state, loss, hit = run(params, opt_state, block, x_d, y_d, count)
        loss, hit = jax.device_get((loss, hit))
        losses.append(loss[:, :count])
        hits.append(hit[:, :count])
        done += count
        stopwatch.lap(count_seeds * steps * count)
        if snapshots is not None and snapshots.due(done):
            with stopwatch.excluded():
                snapshots.callback(Snapshot(epoch=done, seeds=seeds,
                                            weights=snapshot_weights(stacked_weights(graphdef, params))))
    timing = stopwatch.stop(seeds_together=count_seeds)
    trained = stacked_weights(graphdef, params)
    for row, model in enumerate(models):
        set_weights(model, {name: w[row] for name, w in trained.items()})
    # as the idiomatic loop reduces them: float64 sample-weighted loss, hits over all samples
    epoch_loss = (np.concatenate(losses, axis=1).astype(np.float64) * sizes).sum(axis=-1) / n
    epoch_accuracy = np.concatenate(hits, axis=1).sum(axis=-1) / n
    return FastRun(epoch_loss, epoch_accuracy, timing, epochs * steps)
