"""Turn a request (scenarios × backends × seeds × options) into worker jobs.

A job is one (scenario, options, backend) with a chunk of seeds: a worker
process imports its framework once per job, and long scenarios are split into
several chunks so every worker stays busy. Jobs run longest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from harness.records import record_key
from scenarios import ResolvedScenario, ScenarioOptions, get_scenario

QUICK_SEEDS = 2
QUICK_UPDATES_PER_SEED = 2500  # the quick profile's budget per seed and scenario
# Rough relative cost of one update, used only to order and split jobs.
BACKEND_COST = {"keras": 4.0, "torch": 1.0}


@dataclass(frozen=True)
class Job:
    job_id: int
    scenario: ResolvedScenario
    backend: str
    seeds: tuple[int, ...]
    profile: str
    run_id: str
    threads: int
    execution: str = "idiomatic"
    deterministic: bool = True
    device: str = "cpu"
    command: str | None = None
    run_started: str | None = None

    @property
    def updates_per_seed(self) -> int:
        return self.scenario.updates_per_seed

    @property
    def cost(self) -> float:
        return self.updates_per_seed * len(self.seeds) * BACKEND_COST.get(self.backend, 1.0)

    def identity(self, seed: int) -> dict[str, Any]:
        """The record fields that say which job and seed it is: what resume keys on."""
        return {"scenario": self.scenario.spec.id, "options": self.scenario.options.as_dict(),
                "backend": self.backend, "execution": self.execution, "device": self.device, "seed": seed}

    def key(self, seed: int) -> tuple:
        """The resume key of the record this (job, seed) writes."""
        return record_key(self.identity(seed))

    @classmethod
    def from_record(cls, record: dict[str, Any], run_id: str) -> Job:
        """The job that retrains exactly this record's seed, as it was trained (device included)."""
        scenario = ResolvedScenario(get_scenario(record["scenario"]), ScenarioOptions(**record["options"]))
        runtime = record.get("runtime") or {}
        return cls(0, scenario, record["backend"], (record["seed"],), record["profile"], run_id,
                   int(runtime.get("threads", 1)), record.get("execution", "idiomatic"),
                   bool(runtime.get("deterministic", True)), record.get("device", "cpu"))


@dataclass(frozen=True)
class RunRequest:
    scenarios: tuple[str, ...]
    backends: tuple[str, ...]
    seeds: tuple[int, ...]
    options: ScenarioOptions = field(default_factory=ScenarioOptions)
    quick: bool = False
    workers: int = 1
    cores: int = 1
    execution: str = "idiomatic"
    command: str | None = None
    run_started: str | None = None
    device: str = "cpu"
    executor: str = "local"  # "local" processes or "ray" tasks
    ray_address: str | None = None  # None: start a local Ray instance

    @property
    def seed_runs(self) -> int:
        """How many (scenario, backend, seed) runs the request asks for."""
        return len(self.scenarios) * len(self.backends) * len(self.seeds)


def quick_epochs(scenario: ResolvedScenario) -> int:
    """Epochs that keep one seed near the quick budget (at least 2, at most the tutorial's)."""
    return max(2, min(scenario.spec.epochs, QUICK_UPDATES_PER_SEED // scenario.steps_per_epoch))


def profile_name(request: RunRequest) -> str:
    if request.quick:
        return "quick"
    return "custom" if request.options.epochs is not None else "full"


def resolve(request: RunRequest, scenario_id: str) -> ResolvedScenario:
    scenario = ResolvedScenario(get_scenario(scenario_id), request.options)
    if request.quick and request.options.epochs is None:
        scenario = scenario.with_epochs(quick_epochs(scenario))
    return scenario


def _chunks(seeds: tuple[int, ...], count: int) -> list[tuple[int, ...]]:
    size = math.ceil(len(seeds) / count)
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


def plan_jobs(request: RunRequest, run_id: str, done: frozenset[tuple] = frozenset()) -> list[Job]:
    """One job per (scenario, backend), split into seed chunks when it dominates the run.

    Seeds whose key is in `done` (already stored) are left out: that is how a run resumes.
    """
    threads = max(1, request.cores // max(1, request.workers))
    whole = []
    for sid in request.scenarios:
        for backend in request.backends:
            job = Job(0, resolve(request, sid), backend, request.seeds, profile_name(request), run_id,
                      threads, request.execution, device=request.device, command=request.command,
                      run_started=request.run_started)
            seeds = tuple(s for s in job.seeds if job.key(s) not in done)
            if seeds:
                whole.append(replace(job, seeds=seeds))
    share = sum(job.cost for job in whole) / max(1, 2 * request.workers)
    jobs: list[Job] = []
    for job in whole:
        # fast mode trains a job's seeds together, so splitting would only lose that batching
        split = share and request.execution != "fast"
        pieces = min(len(job.seeds), max(1, math.ceil(job.cost / share))) if split else 1
        jobs.extend(replace(job, seeds=chunk) for chunk in _chunks(job.seeds, pieces))
    jobs.sort(key=lambda job: job.cost, reverse=True)
    return [replace(job, job_id=i) for i, job in enumerate(jobs)]
