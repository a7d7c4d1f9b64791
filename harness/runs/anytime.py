"""Anytime evaluation: every seed scored at chosen epochs while it trains, in one run.

Why: a verdict at the tutorial's one budget can be a budget artifact. The backend hands out
weight snapshots (`SnapshotRequest`) and they are scored here with the framework-free
reference forward pass, so a checkpoint costs microseconds per seed and the same lines score
both frameworks. Two kinds of evaluation:
- checkpoints (a handful of epochs, `--eval-at`): accuracy, every pattern's prediction and
  the scenario's probes, as the final evaluation has them;
- the accuracy curve (`--time-to-learn`): accuracy alone, every 1 % of the run's epochs,
  seeds batched together, from which the report reads when each seed learned.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from backends.base import Snapshot, SnapshotRequest
from backends.reference import StackedLSTM
from harness.runs.evaluate import score
from harness.runs.seeds import probe_rng
from scenarios import AlphabetData, ResolvedScenario

DEFAULT_CHECKPOINTS = 6  # the last epoch, then halving: 500 -> 16 31 62 125 250 500
CURVE_POINTS = 100  # the accuracy curve's resolution: 1 % of the run's epochs


def default_checkpoints(epochs: int) -> tuple[int, ...]:
    """Log-spaced epochs ending at the last: each half the next (a budget's doublings)."""
    return tuple(sorted({max(1, round(epochs / 2**k)) for k in range(DEFAULT_CHECKPOINTS)}))


def checkpoint_epochs(epochs: int, eval_at: Iterable[int] | None = None) -> tuple[int, ...]:
    """The epochs a run of `epochs` is evaluated at: `eval_at` (default: `default_checkpoints`)
    within the run, always with the last epoch, whose checkpoint is the final model's."""
    if eval_at is None:
        return default_checkpoints(epochs)
    return tuple(sorted({e for e in eval_at if 1 <= e <= epochs} | {epochs}))


def curve_epochs(epochs: int) -> tuple[int, ...]:
    """Every max(1, epochs // 100) epochs, and the last."""
    every = max(1, epochs // CURVE_POINTS)
    return tuple(sorted(set(range(every, epochs + 1, every)) | {epochs}))


class AnytimeEvaluation:
    """Collects, per seed, the checkpoints and accuracy curve of one training call."""

    def __init__(self, scenario: ResolvedScenario, data: AlphabetData,
                 eval_at: Iterable[int] | None = None, time_to_learn: bool = False) -> None:
        self.scenario, self.data = scenario, data
        self.full = frozenset(checkpoint_epochs(scenario.epochs, eval_at))
        self.dense = frozenset(curve_epochs(scenario.epochs) if time_to_learn else ())
        self.time_to_learn = time_to_learn
        self.checkpoints: dict[int, list[dict]] = {}
        self.curves: dict[int, dict[str, list]] = {}
        self.seconds: dict[int, float] = {}

    @property
    def request(self) -> SnapshotRequest:
        return SnapshotRequest(self.full | self.dense, self.on_snapshot)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        started = time.perf_counter()
        self._score(snapshot)
        share = (time.perf_counter() - started) / len(snapshot.seeds)
        for seed in snapshot.seeds:
            self.seconds[seed] = self.seconds.get(seed, 0.0) + share

    def _score(self, snapshot: Snapshot) -> None:
        spec, data = self.scenario.spec, self.data
        model = StackedLSTM(snapshot.weights, self.scenario.options.gate_activation)
        predicted = np.argmax(model.predict_training_set(data.x, spec.stateful), axis=-1)  # (S, n)
        if snapshot.epoch in self.dense:
            accuracy = np.mean(predicted == data.y[None, :], axis=1)
            for seed, value in zip(snapshot.seeds, accuracy, strict=True):
                curve = self.curves.setdefault(seed, {"epochs": [], "accuracy": []})
                curve["epochs"].append(snapshot.epoch)
                curve["accuracy"].append(float(value))
        if snapshot.epoch in self.full:
            for row, seed in enumerate(snapshot.seeds):
                view = model.predictor(row, spec.stateful)
                result = score(spec, data, predicted[row], view, probe_rng(seed))
                self.checkpoints.setdefault(seed, []).append({
                    "epoch": snapshot.epoch,
                    "accuracy": result.accuracy,
                    "predicted": "".join(p["predicted"] for p in result.patterns),
                    "probes": result.probes,
                })

    def fields(self, seed: int) -> dict:
        """The record fields of one seed."""
        return {"checkpoints": self.checkpoints.get(seed, []),
                "accuracy_curve": self.curves.get(seed) if self.time_to_learn else None,
                "anytime_seconds": self.seconds.get(seed, 0.0)}
