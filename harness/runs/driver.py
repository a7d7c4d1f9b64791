"""The run driver: one plain sequence from a request to a folder of records and its report.

load the folder → lock it → plan what is not stored yet → execute the idiomatic timing samples,
then the seeds (each record appended the moment it arrives; a sample never runs beside a fast
job, whose clocks they would distort) → report → summary. The CLI calls `run_request` with the
terminal's display; any other front end calls the same function with its own `Display`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from harness.lock import folder_lock
from harness.records import SEED, record_key, timing_key
from harness.reporting.report import write_report
from harness.runs.plan import Job, RunRequest, plan_jobs
from harness.runs.samples import plan_timing_samples, sample_workers, skipped_note
from harness.runs.scheduler import ExecutionHooks, Executor, close_executor, schedule
from harness.store import (
    append_record,
    latest_per_key,
    latest_timings,
    load_folder,
    repair_tail,
    results_path,
)


@dataclass
class RunOutcome:
    out: Path
    report: Path
    records: list[dict[str, Any]]  # the folder's records, the newest per key, as the report uses them
    trained: int  # seed runs this call trained (or tried to)
    failed: int  # of those, how many did not end ok (failed or diverged)
    wall_seconds: float
    timings: list[dict[str, Any]] = field(default_factory=list)  # the folder's idiomatic timing samples

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


class Display(Protocol):
    """What the run driver tells its user (the terminal's is `display.TerminalDisplay`)."""

    def note(self, text: str) -> None: ...

    def warn(self, text: str) -> None: ...

    def running(self, jobs: list[Job], request: RunRequest, out: Path) -> Any:
        """A context manager yielding the ExecutionHooks that show progress while jobs run."""

    def finished(self, outcome: RunOutcome) -> None: ...


class Silent:
    """The display of a caller that wants the outcome only."""

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass

    @contextmanager
    def running(self, jobs: list[Job], request: RunRequest, out: Path) -> Iterator[ExecutionHooks]:
        yield ExecutionHooks(on_record=lambda job, record: None)

    def finished(self, outcome: RunOutcome) -> None:
        pass


def executor_for(request: RunRequest, log_dir: Path | None = None) -> Executor:
    """The executor seam: the same jobs and hooks on local processes or on a Ray cluster."""
    if request.executor == "ray":
        from harness.runs.ray_cluster import RayExecutor

        return RayExecutor(request.ray_address)
    from harness.runs.local import LocalExecutor

    return LocalExecutor(log_dir)


def run_request(request: RunRequest, out: Path, run_id: str, timeout: float | None = None,
                display: Display | None = None) -> RunOutcome:
    """Run every requested (scenario, options, backend, execution, device, seed) not yet stored in
    `out`, after an idiomatic timing sample of each scenario × backend not yet stored."""
    display = display or Silent()
    started = time.perf_counter()
    load_folder(out)  # refuse a newer schema before touching the folder
    with folder_lock(out):
        torn = repair_tail(results_path(out))
        if torn:
            display.warn(torn)
        stored = load_folder(out)
        done = frozenset(record_key(r) for r in stored.records if r["status"] != "failed")
        jobs = plan_jobs(request, run_id, done)  # failed = the infrastructure broke: retried
        samples = []
        if jobs:  # a folder that holds every seed is not measured again
            sampled = frozenset(timing_key(r) for r in stored.timings if r["status"] == "ok")
            samples = plan_timing_samples(request, run_id, sampled, first_id=len(jobs))
            if note := skipped_note(request):
                display.note(note)
        remaining = sum(len(job.seeds) for job in jobs)
        if remaining < request.seed_runs:
            display.note(f"resuming in {out}: {request.seed_runs - remaining} of {request.seed_runs} seed "
                         f"runs already stored, {remaining} to run (use --fresh for a new folder)")
        trained: list[dict[str, Any]] = []
        phases = [(phase, workers) for phase, workers in
                  ((samples, sample_workers(request)), (jobs, request.workers)) if phase]
        executor = _run_phases(phases, request, out, trained, display, timeout)
        try:
            report, _ = write_report(out)  # meanwhile the released workers exit
        finally:
            if executor is not None:
                close_executor(executor)
    folder = load_folder(out)
    seeds = [r for r in trained if r["kind"] == SEED]
    outcome = RunOutcome(out, report, latest_per_key(folder.records), len(seeds),
                         sum(r["status"] != "ok" for r in seeds), time.perf_counter() - started,
                         latest_timings(folder.timings))
    display.finished(outcome)
    return outcome


def _run_phases(phases: list[tuple[list[Job], int]], request: RunRequest, out: Path,
                trained: list[dict[str, Any]], display: Display, timeout: float | None) -> Executor | None:
    """The timing samples, then the seeds, on one executor (workers carry over from one phase to
    the next). At the end its idle workers are released (told to exit, not waited for); the caller
    closes it. None when there is nothing to run."""
    if not phases:
        return None
    (out / "logs").mkdir(parents=True, exist_ok=True)
    executor = executor_for(request, out / "logs")
    for phase, workers in phases:
        with display.running(phase, request, out) as shown:
            schedule(phase, workers, executor, _storing(results_path(out), trained, shown), timeout,
                     close=False)
    release = getattr(executor, "release", None)
    if release is not None:
        release()
    return executor


def _storing(store: Path, trained: list[dict[str, Any]], shown: ExecutionHooks) -> ExecutionHooks:
    """The display's hooks, with every record appended to the store (and kept) before it is shown."""

    def on_record(job: Job, record: dict[str, Any]) -> None:
        append_record(store, record)
        trained.append(record)
        shown.on_record(job, record)

    return replace(shown, on_record=on_record)
