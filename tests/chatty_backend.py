"""The crash backend, writing which scenario and seed it trains to Python's stdout and (as a
framework's C++ logs do) straight to FD 2: shows whose log a reused worker's output lands in.

Selected with ALPHABET_BENCH_BACKENDS=chatty=tests.chatty_backend.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from backends.base import ProgressFn, SeedPlan, SeedTraining
from scenarios import AlphabetData, ResolvedScenario
from tests.crash_backend import CrashBackend


class ChattyBackend(CrashBackend):
    name = "chatty"

    def train(self, scenario: ResolvedScenario, data: AlphabetData, plans: list[SeedPlan],
              progress: ProgressFn) -> Iterator[SeedTraining]:
        for plan in plans:
            print(f"stdout: {scenario.spec.id} seed {plan.seed}")  # buffered: the worker must flush it
            os.write(2, f"fd 2: {scenario.spec.id} seed {plan.seed}\n".encode())
        yield from super().train(scenario, data, plans, progress)


BACKEND_CLASS = ChattyBackend
