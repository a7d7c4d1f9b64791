"""The torch backend with one contract fault, picked by $KIT_FAULT, for the kit's own tests (each
fault must fail the check that names it). Selected with ALPHABET_BENCH_BACKENDS=faulty=<this module>.

config: setup accepts an unsupported execution; weights: weights() is not what predicts; probes:
a stateful model drops its state between steps; fast: fast trains from other initial weights;
snapshots: snapshots arrive labelled one epoch late; timing: train_seconds counts the callbacks.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from backends.base import Snapshot, SnapshotRequest, Timing
from backends.pytorch.backend import TorchBackend


def fault() -> str:
    return os.environ.get("KIT_FAULT", "")


def __getattr__(name: str) -> tuple[str, ...]:
    """EXECUTIONS, read when asked: only the fast fault offers the fast execution (a compile each)."""
    if name == "EXECUTIONS":
        return ("idiomatic", "fast") if fault() == "fast" else ("idiomatic",)
    raise AttributeError(name)


class Faulty:
    """A predictor wrapped to misbehave as the fault says."""

    def __init__(self, inner) -> None:
        self.inner = inner

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self.inner.predict_proba(x)

    def reset_state(self) -> None:
        self.inner.reset_state()

    def step(self, x: np.ndarray) -> np.ndarray:
        return self.inner.predict_proba(x)[0] if fault() == "probes" else self.inner.step(x)

    def weights(self) -> dict[str, np.ndarray]:
        shift = np.float32(1e-3 if fault() == "weights" else 0.0)
        return {name: w + shift for name, w in self.inner.weights().items()}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        self.inner.set_weights(weights)


class FaultyBackend(TorchBackend):
    name = "faulty"

    def setup(self, config) -> dict:
        from backends.base import check_config

        if fault() != "config":
            check_config(self.name, config, __getattr__("EXECUTIONS"))
        return super().setup(dataclasses.replace(config, execution="idiomatic") if fault() == "config"
                             else config)

    def train(self, scenario, data, plans, progress, snapshots=None):
        if fault() == "fast" and self._execution == "fast":
            plans = [dataclasses.replace(p, init_seed=p.init_seed + 1) for p in plans]
        if fault() == "snapshots" and snapshots is not None:
            callback = snapshots.callback
            snapshots = SnapshotRequest(snapshots.epochs,
                                        lambda s: callback(Snapshot(s.epoch + 1, s.seeds, s.weights)))
        began = time.perf_counter()  # the timing fault: a clock of its own, around the callbacks too
        for trained in super().train(scenario, data, plans, progress, snapshots):
            if fault() == "timing":
                timing, took = trained.timing, time.perf_counter() - began
                trained.timing = Timing(took, timing.first_epoch_seconds, timing.seeds_together)
            trained.predictor = Faulty(trained.predictor)
            yield trained


BACKEND_CLASS = FaultyBackend
