"""Plan a fast run's idiomatic timing sample: how the frameworks run as written, one seed per
scenario, measured before the seeds (never beside them).

A sample is a warm-up epoch then blocks of whole epochs; the median block is the figure. A run of
seconds (every job within the quick budget per seed: `--quick`, a few epochs) takes none unless
asked (`--idiomatic-timing`): its fast jobs take seconds, a sample of Keras `fit` (a model and a
traced function per scenario, TensorFlow imported) would cost more than they do, and blocks that
short time little. Asked, it is scaled to the run (small blocks). Its scenarios are packed into
jobs so the sample phase ends soon: each job is one backend's share on one worker, and a backend's
scenarios spread over several workers only where that beats importing its framework once more.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from backends import supported_executions
from harness.records import timing_key
from harness.runs.plan import QUICK_UPDATES_PER_SEED, Job, RunRequest, resolve
from scenarios import ResolvedScenario

# The idiomatic timing sample: one seed, a warm-up epoch, then blocks of whole epochs of at least
# SAMPLE_BLOCK_UPDATES updates each; the median block is the figure, the blocks its spread.
SAMPLE_SEED = 0
SAMPLE_WARMUP_EPOCHS = 1
SAMPLE_BLOCKS = 3
SAMPLE_BLOCK_UPDATES = 200
# A small run (no job over the quick budget per seed) takes blocks of at least this many updates, and
# a quick run leaves out a scenario whose sample would exceed its budget (variable_length: 4,000).
SMALL_SAMPLE_BLOCK_UPDATES = 50
# A new worker imports its framework before its first job; measured here (`python -c "import keras"`
# etc., 2 cores): TensorFlow with Keras 6.7 s, PyTorch 1.9 s, JAX 1.6 s; others assumed 3 s.
IMPORT_S = {"keras": 6.7, "torch": 1.9, "jax": 1.6}
OTHER_IMPORT_S = 3.0


def sample_scenario(scenario: ResolvedScenario, block_updates: int = SAMPLE_BLOCK_UPDATES
                    ) -> ResolvedScenario:
    """The scenario with the idiomatic timing sample's epochs: warm-up plus the timed blocks."""
    block = -(-block_updates // scenario.steps_per_epoch)
    return scenario.with_epochs(SAMPLE_WARMUP_EPOCHS + SAMPLE_BLOCKS * block)


@dataclass(frozen=True)
class SampleSize:
    """How big a run's idiomatic timing sample is: scaled to the run, so a small run stays small."""

    block_updates: int  # each timed block: whole epochs of at least this many updates
    max_updates: int | None = None  # a scenario whose sample would take more is left out


def small_run(request: RunRequest) -> bool:
    """A run of seconds: no job over the quick budget per seed."""
    return max((resolve(request, sid, options).updates_per_seed
                for sid, options in itertools.product(request.scenarios, request.option_sets)),
               default=0) <= QUICK_UPDATES_PER_SEED


def takes_sample(request: RunRequest) -> bool:
    """Whether the run samples the idiomatic execution: asked, or by default unless it is small."""
    if request.execution == "idiomatic":
        return False  # its seeds are the measurement
    return not small_run(request) if request.idiomatic_timing is None else request.idiomatic_timing


def skipped_note(request: RunRequest) -> str | None:
    """The line a run of seconds prints when it takes no sample by default; None otherwise."""
    if request.idiomatic_timing is not None or request.execution == "idiomatic" or not small_run(request):
        return None
    return ("no idiomatic timing sample: this run's jobs take seconds, too short to time how the "
            "frameworks run as written (--idiomatic-timing takes a small one)")


def sample_size(request: RunRequest) -> SampleSize:
    """Full blocks for a run with any job over the quick budget per seed; else a small sample."""
    if not small_run(request):
        return SampleSize(SAMPLE_BLOCK_UPDATES)
    return SampleSize(SMALL_SAMPLE_BLOCK_UPDATES, QUICK_UPDATES_PER_SEED if request.quick else None)


def sample_note(request: RunRequest) -> str:
    """What the run's sample is, for the line that announces it."""
    size = sample_size(request)
    left = [sid for sid in request.scenarios if not _sampled(resolve(request, sid), size)]
    return "one seed per scenario" + ("" if size.block_updates == SAMPLE_BLOCK_UPDATES else (
        f", a small run's sample: blocks of >= {size.block_updates} updates, not {SAMPLE_BLOCK_UPDATES}"
        + (f"; {', '.join(left)} left out" if left else "")))


def _sampled(scenario: ResolvedScenario, size: SampleSize) -> ResolvedScenario | None:
    """The sample of this scenario at this size, or None where it is left out."""
    sample = sample_scenario(scenario, size.block_updates)
    return sample if size.max_updates is None or sample.updates_per_seed <= size.max_updates else None


def sample_workers(request: RunRequest) -> int:
    """How many samples run at once: one per backend, no more than the run's workers."""
    return max(1, min(request.workers, len(request.backends)))


def plan_timing_samples(request: RunRequest, run_id: str, stored: frozenset[tuple] = frozenset(),
                        first_id: int = 0) -> list[Job]:
    """The idiomatic timing-sample jobs (`pack`) for the scenarios whose sample is not stored yet;
    none for an idiomatic run, whose seeds are the measurement, or one that takes no sample."""
    if not takes_sample(request):
        return []
    threads = max(1, request.cores // sample_workers(request))
    size = sample_size(request)
    scenarios = [sample for sid in request.scenarios if (sample := _sampled(resolve(request, sid), size))]
    singles = []
    for backend, scenario in itertools.product(request.backends, scenarios):
        if "idiomatic" not in supported_executions(backend):
            continue
        job = Job(0, scenario, backend, (SAMPLE_SEED,), "timing", run_id, threads, "idiomatic",
                  device=request.device, command=request.command, run_started=request.run_started)
        if timing_key(job.identity(SAMPLE_SEED)) not in stored:
            singles.append(job)
    jobs = pack(singles, sample_workers(request), request.backends)
    return [replace(job, job_id=first_id + i) for i, job in enumerate(jobs)]


@dataclass
class _Lane:
    load: float = 0.0
    shares: dict[str, list[Job]] = field(default_factory=dict)  # backend -> its samples on this lane


def pack(singles: list[Job], workers: int, order: tuple[str, ...]) -> list[Job]:
    """One-scenario sample jobs packed into jobs of several scenarios: costliest first, each onto
    the worker it would finish soonest on, counting the framework import (`IMPORT_S`) where that
    worker has no job of its backend yet; then one job per (worker, backend). One backend's samples
    stay in one job unless another worker would otherwise idle long enough to import it again.
    A function of the request alone (costs are the planner's constants): the same command gives
    the same jobs. Jobs come in `order` of backends, scenarios in the run's order within a job."""
    lanes = [_Lane() for _ in range(max(1, workers))]
    for job in sorted(singles, key=lambda j: j.cost, reverse=True):

        def finish(lane: _Lane, job: Job = job) -> float:
            new = job.backend not in lane.shares
            return lane.load + job.cost + (IMPORT_S.get(job.backend, OTHER_IMPORT_S) if new else 0.0)

        lane = min(lanes, key=finish)
        lane.load = finish(lane)
        lane.shares.setdefault(job.backend, []).append(job)
    position = {id(job): i for i, job in enumerate(singles)}
    jobs = []
    for backend in order:
        for lane in lanes:
            share = sorted(lane.shares.get(backend, []), key=lambda j: position[id(j)])
            if share:
                jobs.append(replace(share[0], samples=tuple(j.scenario for j in share)))
    return jobs
