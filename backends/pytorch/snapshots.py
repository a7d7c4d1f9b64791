"""Anytime-evaluation snapshots of the torch backend, one way for both executions.

Why here: the idiomatic loop and the stacked loops hand their weights over at the same
moment (right after an epoch's or chunk's stopwatch lap) and in the same layout
(`stacked.Layout.snapshot`), and the copy and the callback count in no timing figure.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backends.base import Snapshot, SnapshotRequest
from backends.timing import Stopwatch


def hand_over(
    snapshots: SnapshotRequest | None, stopwatch: Stopwatch, done: int, seeds: tuple[int, ...],
    weights: Callable[[], dict[str, np.ndarray]], sync: Callable[[], None],
) -> None:
    """After `done` epochs: if requested, copy the weights out (`weights()`, a loop's
    `Layout.snapshot`, rows in `seeds` order) and call back, outside every timing figure.
    `sync` waits for the device first, so every queued update lands in the copy (and none
    runs on into the excluded time)."""
    if snapshots is None or not snapshots.due(done):
        return
    with stopwatch.excluded():
        sync()
        snapshots.callback(Snapshot(epoch=done, seeds=seeds, weights=weights()))
