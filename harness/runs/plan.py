"""Turn a request (scenarios × backends × seeds × options) into worker jobs.

A job is one (scenario, options, backend) with a chunk of seeds: a worker process imports its
framework once per job. A job that would keep one worker busy long after the others are done
is split into chunks of seeds (longest-processing-time scheduling), so the workers finish
together; fast chunks stay large enough to keep the seeds-together speed-up. The split is a
function of the request alone (update counts, seeds, workers), never of timings on disk, so the
same command gives the same jobs and the same records.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from harness.records import IDIOMATIC_TIMING, SEED, record_key
from scenarios import ResolvedScenario, ScenarioOptions, get_scenario

QUICK_SEEDS = 2
QUICK_UPDATES_PER_SEED = 2500  # the quick profile's budget per seed and scenario
MIN_FAST_CHUNK = 5  # seeds: a smaller fast chunk pays the per-step cost for too few seeds


@dataclass(frozen=True)
class Cost:
    """Rough seconds of a job on a 2-core machine, used only to order and split jobs."""

    start: float  # a job's overhead in a reused worker: its compilation, warm-up
    per_step_us: float  # per update step, whatever the number of seeds (dispatch)
    per_seed_update_us: float

    def seconds(self, updates_per_seed: int, seeds: int, together: bool) -> float:
        if together:  # fast: one step updates every seed of the job
            return self.start + updates_per_seed * (self.per_step_us + seeds * self.per_seed_update_us) / 1e6
        return self.start + updates_per_seed * seeds * (self.per_step_us + self.per_seed_update_us) / 1e6


# Fitted here by `python -m harness.runs.costs reports/example reports/seeds100` (10 and 100 seeds
# together; see that module): start = a job's first-epoch extra in a reused worker, the rest steady.
# The idiomatic rows are refitted from the committed folders at 6a4251f; the fast rows are kept from
# an earlier fit: they decide how a fast job's seeds are chunked, and so torch's path and its records.
COSTS: dict[tuple[str, str], Cost] = {
    ("keras", "idiomatic"): Cost(1.9, 0.0, 2036.0),
    ("torch", "idiomatic"): Cost(0.6, 0.0, 1293.0),
    ("keras", "fast"): Cost(4.3, 0.0, 10.15),
    ("torch", "fast"): Cost(4.1, 92.5, 9.87),
}
OTHER_COST = Cost(6.0, 0.0, 1300.0)  # opt-in and plug-in backends


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
    samples: tuple[ResolvedScenario, ...] = ()  # an idiomatic timing sample of these scenarios
    eval_at: tuple[int, ...] | None = None  # anytime checkpoints (None: the default schedule)
    time_to_learn: bool = False  # also the dense accuracy curve
    anytime: bool = True  # False: evaluated after the last epoch only

    @property
    def kind(self) -> str:
        return IDIOMATIC_TIMING if self.samples else SEED

    @property
    def updates_per_seed(self) -> int:
        if self.samples:
            return sum(scenario.updates_per_seed for scenario in self.samples)
        return self.scenario.updates_per_seed

    def owed(self) -> list[tuple[Job, int]]:
        """Every (job of one scenario, seed) this job owes a record for."""
        if self.samples:
            return [(replace(self, scenario=sample), seed) for sample in self.samples for seed in self.seeds]
        return [(self, seed) for seed in self.seeds]

    @property
    def cost(self) -> float:
        """Estimated seconds (see `Cost`): orders the jobs, longest first."""
        cost = COSTS.get((self.backend, self.execution), OTHER_COST)
        return cost.seconds(self.updates_per_seed, len(self.seeds), self.execution == "fast")

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
        checkpoints = [c["epoch"] for c in record.get("checkpoints") or []]
        return cls(0, scenario, record["backend"], (record["seed"],), record["profile"], run_id,
                   int(runtime.get("threads", 1)), record.get("execution", "idiomatic"),
                   bool(runtime.get("deterministic", True)), record.get("device", "cpu"),
                   eval_at=tuple(checkpoints), time_to_learn=record.get("accuracy_curve") is not None,
                   anytime=bool(checkpoints))


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
    # A fast run also samples how the frameworks run as written (None: unless it is a run of seconds).
    idiomatic_timing: bool | None = True
    eval_at: tuple[int, ...] | None = None  # anytime checkpoints (None: log-spaced, see runs.anytime)
    time_to_learn: bool = False  # evaluate every 1 % of the epochs too (the time-to-learn curve)
    anytime: bool = True  # False: no checkpoints and no curve (evaluated after the last epoch only)
    grid: tuple[ScenarioOptions, ...] = ()  # a sweep's points (each an ordinary run's options)
    epochs_scale: int = 1  # every scenario's tutorial epochs times this (where epochs are not set)

    @property
    def option_sets(self) -> tuple[ScenarioOptions, ...]:
        """The options each scenario runs with: the sweep's grid points, or the one `options`."""
        return self.grid or (self.options,)

    @property
    def seed_runs(self) -> int:
        """How many (scenario, options, backend, seed) runs the request asks for."""
        return len(self.scenarios) * len(self.option_sets) * len(self.backends) * len(self.seeds)


def quick_epochs(scenario: ResolvedScenario) -> int:
    """Epochs that keep one seed near the quick budget (at least 2, at most the tutorial's)."""
    return max(2, min(scenario.spec.epochs, QUICK_UPDATES_PER_SEED // scenario.steps_per_epoch))


def profile_name(request: RunRequest, options: ScenarioOptions | None = None) -> str:
    if request.quick:
        return "quick"
    custom = (options or request.options).epochs is not None or request.epochs_scale != 1
    return "custom" if custom else "full"


def resolve(request: RunRequest, scenario_id: str,
            options: ScenarioOptions | None = None) -> ResolvedScenario:
    options = options or request.options
    scenario = ResolvedScenario(get_scenario(scenario_id), options)
    if request.epochs_scale != 1 and options.epochs is None:  # recorded as the epochs it ran
        return scenario.with_epochs(scenario.spec.epochs * request.epochs_scale)
    if request.quick and options.epochs is None:
        scenario = scenario.with_epochs(quick_epochs(scenario))
    return scenario


def _chunks(seeds: tuple[int, ...], count: int) -> list[tuple[int, ...]]:
    """`count` contiguous chunks whose sizes differ by at most one."""
    size, extra = divmod(len(seeds), count)
    bounds = [i * size + min(i, extra) for i in range(count + 1)]
    return [seeds[a:b] for a, b in itertools.pairwise(bounds)]


def makespan(jobs: list[Job], workers: int) -> float:
    """Estimated seconds until the last worker is done, jobs taken longest first."""
    loads = [0.0] * max(1, workers)
    for job in sorted(jobs, key=lambda j: j.cost, reverse=True):
        loads[loads.index(min(loads))] += job.cost
    return max(loads)


def _split(whole: list[Job], workers: int) -> list[Job]:
    """The chunking that ends the run soonest: for each target share of the total work, each job
    is cut into chunks of about that share (fast chunks no smaller than MIN_FAST_CHUNK seeds);
    the candidate with the shortest estimated makespan wins, fewer jobs breaking ties."""
    total = sum(job.cost for job in whole)
    best: list[Job] = whole
    for parts in range(1, 4 * max(1, workers) + 1):
        share = total / parts
        jobs = []
        for job in whole:
            floor = MIN_FAST_CHUNK if job.execution == "fast" else 1
            count = max(1, min(round(job.cost / share) if share else 1, len(job.seeds) // floor))
            jobs += [replace(job, seeds=chunk) for chunk in _chunks(job.seeds, count)]
        if (makespan(jobs, workers), len(jobs)) < (makespan(best, workers), len(best)):
            best = jobs
    return best


def split_summary(jobs: list[Job]) -> list[str]:
    """One line per (scenario, backend) that was split: how many chunks of how many seeds."""
    groups: dict[tuple[str, str], list[int]] = {}
    for job in jobs:
        groups.setdefault((job.scenario.spec.id, job.backend), []).append(len(job.seeds))
    return [f"{scenario} · {backend}: {len(sizes)} chunks of {'+'.join(map(str, sizes))} seeds"
            for (scenario, backend), sizes in groups.items() if len(sizes) > 1]


def plan_jobs(request: RunRequest, run_id: str, done: frozenset[tuple] = frozenset()) -> list[Job]:
    """One job per (scenario, options, backend), split into seed chunks where that ends the run
    sooner; a sweep has one set of options per grid point.

    Seeds whose key is in `done` (already stored) are left out: that is how a run resumes.
    """
    threads = max(1, request.cores // max(1, request.workers))
    whole = []
    for sid, options, backend in itertools.product(request.scenarios, request.option_sets, request.backends):
        job = Job(0, resolve(request, sid, options), backend, request.seeds, profile_name(request, options),
                  run_id, threads, request.execution, device=request.device, command=request.command,
                  run_started=request.run_started, eval_at=request.eval_at,
                  time_to_learn=request.time_to_learn, anytime=request.anytime)
        seeds = tuple(s for s in job.seeds if job.key(s) not in done)
        if seeds:
            whole.append(replace(job, seeds=seeds))
    jobs = sorted(_split(whole, request.workers), key=lambda job: job.cost, reverse=True)
    return [replace(job, job_id=i) for i, job in enumerate(jobs)]
