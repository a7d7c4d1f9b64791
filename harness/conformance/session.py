"""One backend driven in this process as a worker drives it, with every training cached by its
arguments, so the kit's checks share runs and the whole kit stays within a small budget.

As the worker (`harness.runs.worker`): `backends.apply_env`, import the module, `BACKEND_CLASS()`,
`setup(RuntimeConfig)`, `train(...)`; snapshots are asked only of a backend with `anytime` set.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

from backends import (
    EXECUTIONS,
    RuntimeConfig,
    SeedPlan,
    SeedTraining,
    apply_env,
    get_entry,
    install_hint,
    is_installed,
)
from backends.base import Backend, Snapshot, SnapshotRequest
from harness.conformance.report import BackendCheckError
from harness.runs.seeds import make_plan
from scenarios import AlphabetData, ResolvedScenario, ScenarioOptions, build_data, get_scenario

# Scenarios shrunk for the kit: variable_length's 1,000 samples make an epoch 1,000 updates; 100
# keep its padded variable lengths at a tenth of the cost.
SMALLER: dict[str, dict] = {"variable_length": {"n_samples": 100}}


@dataclass(frozen=True)
class Budget:
    scenarios: tuple[str, ...]
    seeds: tuple[int, ...]
    epochs: int


@dataclass
class Run:
    """One `train` call: its inputs, what it yielded (in plan order), its progress and snapshots."""

    execution: str
    scenario: ResolvedScenario
    data: AlphabetData
    plans: list[SeedPlan]
    trained: list[SeedTraining]
    progress: list[int] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    wall: float = 0.0  # seconds train() took, callbacks included

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(plan.seed for plan in self.plans)

    def seed(self, seed: int) -> SeedTraining:
        return next(t for t in self.trained if t.seed == seed)

    def where(self, seed: int | None = None) -> str:
        """The run's coordinates, for a failure message."""
        at = f"{self.scenario.spec.id}, {self.execution}, {self.scenario.epochs} epochs"
        return at + (f", seed {seed}" if seed is not None else f", seeds {list(self.seeds)}")


class Sleeper:
    """A progress or snapshot callback that sleeps until the total slept is `factor` times the
    time since `begin()` spent elsewhere, so its sleeps outweigh the training on any machine: a
    timing figure that counted them would hold at least them. One instance for both callbacks."""

    def __init__(self, factor: float = 3.0, floor: float = 0.05) -> None:
        self.factor, self.floor, self.began = factor, floor, 0.0
        self.slept: list[float] = []
        self.updates = 0
        self.calls: list[int | tuple[int, tuple[int, ...]]] = []  # updates, or (epoch, seeds)

    def begin(self) -> None:
        self.began = time.perf_counter()

    def __call__(self, item: int | Snapshot) -> None:
        if isinstance(item, Snapshot):
            self.calls.append((item.epoch, item.seeds))
        else:
            self.updates += item
            self.calls.append(item)
        now = time.perf_counter()
        work = now - self.began - sum(self.slept)
        time.sleep(max(self.floor, self.factor * work - sum(self.slept)))
        self.slept.append(time.perf_counter() - now)


SleepyProgress = Sleeper  # the name the timing tests know it by


class Session:
    """The backend `name` loaded once, an instance per execution, and the runs made so far."""

    def __init__(self, name: str, budget: Budget) -> None:
        self.name, self.budget = name, budget
        self.entry = get_entry(name)
        if not is_installed(name):
            raise BackendCheckError(name, "load", f"not installed: {install_hint(name)}")
        self._apply_env()
        self.module: ModuleType = importlib.import_module(self.entry.module)
        self.executions: tuple[str, ...] = tuple(getattr(self.module, "EXECUTIONS", EXECUTIONS))
        self._backends: dict[str, Backend] = {}
        self.knobs: dict[str, dict] = {}
        self._last_setup: str | None = None
        self._runs: dict[tuple, Run] = {}
        self.anytime = bool(getattr(self.new_backend(), "anytime", False))

    def _apply_env(self) -> None:
        """The worker sets the backend's env before its framework is imported; here the framework
        may already be loaded (by an earlier check of another backend): refuse a mismatch."""
        wrong = {k: v for k, v in self.entry.env if os.environ.get(k) != v}
        loaded = [m for m in self.entry.requires if m in sys.modules]
        if wrong and loaded:
            raise BackendCheckError(self.name, "load", f"needs {wrong} before {', '.join(loaded)} is "
                                    "imported, and this process already imported it: run the kit in a "
                                    "fresh process")
        apply_env(self.name)

    def new_backend(self) -> Backend:
        return self.module.BACKEND_CLASS()

    def backend(self, execution: str) -> Backend:
        """The execution's instance, set up (again, if another execution was set up since: a
        setup may set process-wide state)."""
        if execution not in self._backends:
            self._backends[execution] = self.new_backend()
        if self._last_setup != execution:
            self.knobs[execution] = self._backends[execution].setup(self.config(execution))
            self._last_setup = execution
        return self._backends[execution]

    @staticmethod
    def config(execution: str = "idiomatic", device: str = "cpu") -> RuntimeConfig:
        return RuntimeConfig(threads=1, deterministic=True, execution=execution, device=device)

    def scenario(self, scenario_id: str, epochs: int | None = None,
                 gate: str = "sigmoid") -> ResolvedScenario:
        spec = dataclasses.replace(get_scenario(scenario_id), **SMALLER.get(scenario_id, {}))
        options = ScenarioOptions(epochs=epochs or self.budget.epochs, gate_activation=gate)
        return ResolvedScenario(spec, options)

    def run(self, execution: str, scenario_id: str, *, epochs: int | None = None,
            seeds: tuple[int, ...] | None = None, snapshots: frozenset[int] = frozenset(),
            gate: str = "sigmoid", callback: Callable | None = None, cached: bool = True) -> Run:
        """Train once (cached by the arguments unless a `callback` or `cached=False`); `callback`
        replaces the recording progress and snapshot callbacks."""
        seeds = seeds or self.budget.seeds
        key = (execution, scenario_id, epochs or self.budget.epochs, seeds, snapshots, gate)
        if cached and callback is None and key in self._runs:
            return self._runs[key]
        scenario = self.scenario(scenario_id, epochs, gate)
        data = build_data(scenario)
        plans = [make_plan(s, data.n_samples, scenario.epochs, scenario.spec.shuffle) for s in seeds]
        run = Run(execution, scenario, data, plans, [])
        progress = callback or run.progress.append
        extra = {}
        if snapshots and self.anytime:
            extra["snapshots"] = SnapshotRequest(snapshots, callback or run.snapshots.append)
        backend = self.backend(execution)
        if callback is not None and hasattr(callback, "begin"):
            callback.begin()
        began = time.perf_counter()
        trained = list(backend.train(scenario, data, plans, progress, **extra))
        run.wall = time.perf_counter() - began
        order = {s: i for i, s in enumerate(seeds)}
        run.trained = sorted(trained, key=lambda t: order.get(t.seed, len(order)))
        if cached and callback is None:
            self._runs[key] = run
        return run

    def main(self, execution: str, scenario_id: str) -> Run:
        """The run most checks read: the budget's epochs and seeds, snapshots after the last two
        epochs (and outside 1..epochs, which a backend must ignore) where the backend takes them."""
        epochs = self.budget.epochs
        return self.run(execution, scenario_id, snapshots=self.requested(epochs))

    @staticmethod
    def requested(epochs: int) -> frozenset[int]:
        return frozenset({-1, 0, max(1, epochs - 1), epochs, epochs + 1})
