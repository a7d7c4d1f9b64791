"""Seed streams: one user-facing seed fans out into independent, recorded streams.

Weight initialisation, sample order and probe sampling each get their own stream,
so changing how one is consumed never shifts the others, and both backends (and
every execution mode) see the same sample order for the same seed.
"""

from __future__ import annotations

import numpy as np

from backends.base import SeedPlan

STREAMS: dict[str, int] = {"init": 0, "shuffle": 1, "probe": 2}


def stream_seed(seed: int, stream: str) -> int:
    """A 31-bit seed for one stream, derived with numpy's SeedSequence."""
    state = np.random.SeedSequence([seed, STREAMS[stream]]).generate_state(1, np.uint32)[0]
    return int(state) & 0x7FFFFFFF


def seed_streams(seed: int) -> dict[str, int]:
    return {name: stream_seed(seed, name) for name in STREAMS}


def epoch_orders(seed: int, n_samples: int, epochs: int, shuffle: bool) -> np.ndarray:
    """(epochs, n_samples) sample order; identity rows when the scenario does not shuffle."""
    if not shuffle:
        return np.tile(np.arange(n_samples, dtype=np.int64), (epochs, 1))
    rng = np.random.default_rng(stream_seed(seed, "shuffle"))
    return np.stack([rng.permutation(n_samples) for _ in range(epochs)]).astype(np.int64)


def make_plan(seed: int, n_samples: int, epochs: int, shuffle: bool) -> SeedPlan:
    return SeedPlan(
        seed=seed,
        init_seed=stream_seed(seed, "init"),
        orders=epoch_orders(seed, n_samples, epochs, shuffle),
    )


def probe_rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(stream_seed(seed, "probe"))
