"""A backend for reliability tests: trains nothing, and fails on purpose when told to.

Selected with ALPHABET_BENCH_BACKENDS=crash=tests.crash_backend. $CRASH_MODE picks the fault
for seed $CRASH_SEED (default 1): exit (os._exit), raise, nan (diverges) or hang;
$CRASH_DELAY adds seconds per seed so a test can kill a run mid-way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from backends.base import Backend, ProgressFn, RuntimeConfig, SeedPlan, SeedTraining
from backends.timing import Timing
from scenarios import AlphabetData, ResolvedScenario
from tests.fakes import NextLetter


class CrashBackend(Backend):
    name = "crash"

    def setup(self, config: RuntimeConfig) -> dict:
        return {"execution": config.execution, "mode": os.environ.get("CRASH_MODE", "none")}

    def versions(self) -> dict[str, str]:
        return {"crash": "1.0"}

    def train(self, scenario: ResolvedScenario, data: AlphabetData, plans: list[SeedPlan],
              progress: ProgressFn) -> Iterator[SeedTraining]:
        mode = os.environ.get("CRASH_MODE", "none")
        victim = int(os.environ.get("CRASH_SEED", "1"))
        for plan in plans:
            if plan.seed == victim and mode == "exit":
                os._exit(3)
            if plan.seed == victim and mode == "raise":
                raise RuntimeError("boom on purpose")
            if plan.seed == victim and mode == "hang":
                time.sleep(3600)
            time.sleep(float(os.environ.get("CRASH_DELAY", "0")))
            epochs = scenario.epochs
            loss = [float("nan")] * epochs if plan.seed == victim and mode == "nan" else [1.0] * epochs
            progress(epochs * data.n_samples)
            yield SeedTraining(plan.seed, NextLetter(data.n_classes, data.offset), loss, [1.0] * epochs,
                               timing=Timing(0.01, 0.001), updates=epochs * data.n_samples)


BACKEND_CLASS = CrashBackend
