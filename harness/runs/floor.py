"""The speed floor of this machine: a reference program, not an engine, never a backend.

It trains the alphabet tasks' batch-size-1 LSTM (forward, backward, Adam) the fastest way we know
on a CPU: one XLA program per call, `lax.scan` over every update of every epoch, `vmap` over the
seeds, pinned to one core with XLA single-threaded. An engine's µs per seed-update divided by
this program's, measured on the same machine in the same command, says how far the engine is
from what the hardware allows, a figure that does not drift with the machine as µs do.

It runs in its own process (`measure_floor` spawns `python -m harness.runs.floor`), so its core
pinning and XLA flags never touch the caller. Needs jax (the keras-jax extra); the data are
random codes of the scenario's shape, since the cost of an update does not depend on the values.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

NEEDS_JAX = "needs jax: pip install -e '.[keras-jax]'"
SINGLE_THREAD_XLA = "--xla_cpu_multi_thread_eigen=false"
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-7


class FloorError(RuntimeError):
    """The floor program could not be measured; the message says why (e.g. jax missing)."""


@dataclass(frozen=True)
class Shape:
    """What one update costs: an LSTM over `timesteps` × `features`, `units` wide, `classes` out."""

    timesteps: int
    features: int
    units: int
    classes: int
    samples: int  # updates per epoch (batch size 1)
    learning_rate: float = 1e-3

    def label(self) -> str:
        return (f"{self.samples:,} samples of {self.timesteps} timesteps × {self.features} features, "
                f"{self.units} units, {self.classes} classes")


@dataclass(frozen=True)
class Floor:
    """One measurement: the best of `repeats` timed calls of the compiled program."""

    us_per_seed_update: float
    seeds: int
    epochs: int
    updates_per_seed: int
    compile_s: float
    repeats: int
    shape: Shape


def unavailable() -> str | None:
    """Why the floor cannot be measured here, or None when it can."""
    return NEEDS_JAX if importlib.util.find_spec("jax") is None else None


def measure_floor(shape: Shape, seeds: int, epochs: int, repeats: int = 2, timeout: float = 600) -> Floor:
    """Run the floor program in a child process and return its measurement (FloorError if it can't)."""
    reason = unavailable()
    if reason:
        raise FloorError(reason)
    flags = os.environ.get("XLA_FLAGS", "")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_FLAGS": flags if SINGLE_THREAD_XLA in flags else f"{flags} {SINGLE_THREAD_XLA}".strip()}
    command = [sys.executable, "-m", "harness.runs.floor", "--seeds", str(seeds), "--epochs", str(epochs),
               "--repeats", str(repeats), *(f"--{k.replace('_', '-')}={v}" for k, v in asdict(shape).items())]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise FloorError(f"the floor program ran past {timeout:.0f} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise FloorError(f"the floor program failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    raw = json.loads(lines[-1])
    return Floor(shape=Shape(**raw.pop("shape")), **raw)


def epochs_for(shape: Shape, updates: int = 20_000) -> int:
    """Epochs that give each seed at least `updates` updates: a timed call well above timer noise."""
    return max(1, math.ceil(updates / shape.samples))


# ---- the program itself: runs in the child process only (jax is imported here, never above) ----

def _program(shape: Shape, seeds: int, epochs: int) -> tuple[Any, Any]:
    """The jitted training of `seeds` independent models, and the keys to call it with."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    units, n = shape.units, shape.samples
    codes = np.random.default_rng(0).integers(0, shape.classes, (n, shape.timesteps, shape.features))
    inputs = jnp.asarray(codes / shape.classes, jnp.float32)
    labels = jnp.asarray(np.random.default_rng(1).integers(0, shape.classes, n), jnp.int32)
    (beta1, beta2), rate = ADAM_BETAS, shape.learning_rate

    def glorot(key: Any, fan_in: int, fan_out: int) -> Any:
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return jax.random.uniform(key, (fan_in, fan_out), jnp.float32, -limit, limit)

    def initial(key: Any) -> dict[str, Any]:
        k_in, k_rec, k_out = jax.random.split(key, 3)
        return {"kernel": glorot(k_in, shape.features, 4 * units),
                "recurrent": glorot(k_rec, units, 4 * units),
                "bias": jnp.zeros(4 * units).at[units:2 * units].set(1.0),  # forget gate starts open
                "dense": glorot(k_out, units, shape.classes), "dense_bias": jnp.zeros(shape.classes)}

    def loss(w: dict[str, Any], x: Any, label: Any) -> Any:
        h = c = jnp.zeros(units)
        for step in range(shape.timesteps):  # unrolled: a handful of steps
            z = x[step] @ w["kernel"] + h @ w["recurrent"] + w["bias"]
            gate_i, gate_f, cell, gate_o = jnp.split(z, 4)  # one split op: 4 slices run ~1.5× slower
            c = jax.nn.sigmoid(gate_f) * c + jax.nn.sigmoid(gate_i) * jnp.tanh(cell)
            h = jax.nn.sigmoid(gate_o) * jnp.tanh(c)
        logits = h @ w["dense"] + w["dense_bias"]
        return jax.nn.logsumexp(logits) - logits[label]

    def train(key: Any) -> Any:
        weights = initial(key)
        zeros = jax.tree.map(jnp.zeros_like, weights)
        shuffle = jax.vmap(lambda e: jax.random.permutation(jax.random.fold_in(key, e), n))

        def update(state: tuple, index: Any) -> tuple[tuple, None]:
            w, m, v, t = state
            grads = jax.grad(loss)(w, inputs[index], labels[index])
            t = t + 1.0
            m = jax.tree.map(lambda a, g: beta1 * a + (1 - beta1) * g, m, grads)
            v = jax.tree.map(lambda a, g: beta2 * a + (1 - beta2) * g * g, v, grads)
            step = rate * jnp.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
            w = jax.tree.map(lambda p, a, b: p - step * a / (jnp.sqrt(b) + ADAM_EPS), w, m, v)
            return (w, m, v, t), None

        (weights, _, _, _), _ = jax.lax.scan(update, (weights, zeros, zeros, jnp.float32(0)),
                                             shuffle(jnp.arange(epochs)).reshape(-1))
        return weights

    keys = jax.random.split(jax.random.key(0), seeds)
    return jax.jit(jax.vmap(train)), keys


def run_program(shape: Shape, seeds: int, epochs: int, repeats: int) -> Floor:
    """Compile, then time `repeats` whole calls on one core; the best call is the floor."""
    if SINGLE_THREAD_XLA not in os.environ.get("XLA_FLAGS", ""):  # run directly, not via measure_floor
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {SINGLE_THREAD_XLA}".strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import jax

    train, keys = _program(shape, seeds, epochs)
    started = time.perf_counter()
    compiled = train.lower(keys).compile()
    compile_s = time.perf_counter() - started
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        jax.block_until_ready(compiled(keys))
        best = min(best, time.perf_counter() - started)
    updates = epochs * shape.samples
    return Floor(1e6 * best / (seeds * updates), seeds, epochs, updates, compile_s, repeats, shape)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.runs.floor", description=__doc__.split("\n")[0])
    for name, default in (("seeds", 10), ("epochs", 20), ("repeats", 2), ("samples", 1000), ("timesteps", 5),
                          ("features", 1), ("units", 32), ("classes", 26)):
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    args = parser.parse_args(argv)
    shape = Shape(args.timesteps, args.features, args.units, args.classes, args.samples, args.learning_rate)
    print(json.dumps(asdict(run_program(shape, args.seeds, args.epochs, args.repeats))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
