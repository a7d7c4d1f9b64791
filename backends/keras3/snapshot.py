"""Anytime-evaluation snapshots of the "keras" backend, for both of its executions.

Why one module: the idiomatic `fit` and the fast stacked program must hand the harness the
same framework-free layout (`backends.base.SNAPSHOT_SHAPES`), so the conversion from Keras's
layout is written once, and both take the weight copy and the callback out of every timing
figure the same way (inside `Stopwatch.excluded()`, after the epoch's lap).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from backends.base import Snapshot, SnapshotRequest
from backends.timing import Stopwatch

# Keras weight name (`model.named_variables`) -> snapshot name. Keras kernels are (in, out), the
# snapshot's matrices (out, in) as PyTorch's; the gate order (i, f, c/g, o) and Keras's one LSTM
# bias are the snapshot's already.
TO_SNAPSHOT: dict[str, str] = {
    "lstm/kernel": "w_ih", "lstm/recurrent_kernel": "w_hh", "lstm/bias": "b",
    "dense/kernel": "w_out", "dense/bias": "b_out",
}


def snapshot_weights(stacked: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Keras-layout weights with a leading seed axis -> the snapshot layout, as float32 copies.

    `stacked` maps the Keras names to arrays (or tensors) of shape (S, in, out) for kernels and
    (S, out) for biases; kernels come back transposed, (S, out, in). Always a fresh C-ordered
    copy, so the caller may go on training (or reuse its buffers) afterwards.
    """
    out = {}
    for name, key in TO_SNAPSHOT.items():
        w = np.asarray(stacked[name])
        out[key] = (np.swapaxes(w, 1, 2) if w.ndim == 3 else w).astype(np.float32, order="C", copy=True)
    return out


def take_snapshot(
    snapshots: SnapshotRequest | None,
    stopwatch: Stopwatch,
    done: int,
    seeds: Sequence[int],
    read: Callable[[], Mapping[str, Any]],
) -> None:
    """After `done` epochs: when requested, `read()` the stacked Keras weights, convert them and
    call back, all outside every timing figure. Call it after the epoch's lap (which synced)."""
    if snapshots is None or not snapshots.due(done):
        return
    with stopwatch.excluded():
        snapshots.callback(Snapshot(epoch=done, seeds=tuple(seeds), weights=snapshot_weights(read())))
