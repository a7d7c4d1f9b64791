"""What dense snapshot requests cost the Keras fast execution (a script, not a test).

Why: anytime evaluation asks for weights every max(1, epochs // 100) epochs, and the fast
program ends a chunk of epochs at each, so every request adds a program call. This times
`fast.train_stacked` three ways, interleaved in one process after a warm-up that compiles the
shapes: no snapshots ("none"), chunks cut at the requested epochs but no weights copied
("chunks"), and snapshots with a no-op callback ("snap"). Ratios are to "none".

    python -m tests.backends.keras3.snapshot_overhead EPOCHS SEEDS REPS SCENARIO...
    python -m tests.backends.keras3.snapshot_overhead 500 100 3 one_char batch_state
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from backends import RuntimeConfig, load_backend
from backends.base import ADAM_BETAS, SnapshotRequest
from harness.runs.seeds import make_plan
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario


class ChunksOnly(SnapshotRequest):
    """Cuts the chunks as the request does, but never asks for the weights."""

    def due(self, done: int) -> bool:
        return False


def _init(scenario: ResolvedScenario, classes: int, seeds: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    f, u = scenario.spec.features, scenario.units
    shapes = {"lstm/kernel": (f, 4 * u), "lstm/recurrent_kernel": (u, 4 * u), "lstm/bias": (4 * u,),
              "dense/kernel": (u, classes), "dense/bias": (classes,)}
    return [{k: rng.normal(0, 0.1, s).astype(np.float32) for k, s in shapes.items()} for _ in range(seeds)]


def measure(scenario_id: str, epochs: int, seeds: int, reps: int) -> None:
    from backends.keras3 import fast

    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(epochs=epochs))
    data = build_data(scenario)
    init = _init(scenario, data.n_classes, seeds)
    orders = [make_plan(s, data.n_samples, epochs, scenario.spec.shuffle).orders for s in range(seeds)]
    every = max(1, epochs // 100)
    requested = frozenset(range(every, epochs + 1, every))
    requests = {"none": None, "chunks": ChunksOnly(requested, lambda s: None),
                "snap": SnapshotRequest(requested, lambda s: None)}
    hyper = fast.AdamHyper(1e-3, *ADAM_BETAS, 1e-7)

    def run(request: SnapshotRequest | None) -> Callable[[], tuple[float, float, float]]:
        def timed() -> tuple[float, float, float]:
            wall, cpu = time.perf_counter(), time.process_time()
            out = fast.train_stacked(scenario, init, data.x, data.one_hot(), orders, hyper, lambda n: None,
                                     snapshots=request)
            return time.perf_counter() - wall, time.process_time() - cpu, out.timing.train_seconds
        return timed

    runs = {name: run(request) for name, request in requests.items()}
    for timed in runs.values():
        timed()  # warm-up: compiles the program for these shapes
    got: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, timed in runs.items():
            got[name].append(timed())
    print(f"{scenario_id}: {epochs} epochs x {seeds} seeds, a snapshot every {every} epochs "
          f"({len(requested)} per run), {reps} reps; seconds (ratio to none)")
    for i, label in enumerate(("wall", "cpu", "train_seconds")):
        for how, agg in (("median", statistics.median), ("min", min)):
            value = {name: agg(t[i] for t in times) for name, times in got.items()}
            cells = "  ".join(f"{name} {v:.3f} ({v / value['none']:.3f})" for name, v in value.items())
            print(f"  {label:13s} {how:6s} {cells}", flush=True)


def main(argv: list[str]) -> None:
    epochs, seeds, reps, *scenario_ids = argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    load_backend("keras").setup(RuntimeConfig(threads=1, execution="fast"))
    for scenario_id in scenario_ids:
        measure(scenario_id, int(epochs), int(seeds), int(reps))


if __name__ == "__main__":
    main(sys.argv[1:])
