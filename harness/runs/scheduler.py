"""The one scheduling loop: jobs longest first, at most `workers` at once, on any executor.

An executor (local processes, Ray tasks) only starts jobs, hands back what their workers
send, and kills on request. Everything a run decides about jobs lives here: the order, the
timeout, and a `failed` record for every seed a job ended without reporting, so a crash, a
kill or a lost node never loses a seed silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.runs.plan import Job
from harness.runs.worker import unreported

POLL_S = 0.2
# A new worker process costs its framework's import and first compile (measured here: PyTorch ~3 s,
# TensorFlow ~7 s). Below this estimated cost a job is "short": the order of short jobs barely moves
# the makespan (by one short job at most), a new process costs seconds each, so among short jobs one
# that an idle worker is warm for goes first, then one whose framework no worker runs yet (a second
# process of a framework already running elsewhere imports it again), then the costliest.
SHORT_JOB_S = 15.0


@dataclass
class ExecutionHooks:
    """What the driver does with worker messages (the run driver wires store and display here)."""

    on_record: Callable[[Job, dict[str, Any]], None]
    on_progress: Callable[[Job, int], None] = lambda job, n: None
    on_job_start: Callable[[Job], None] = lambda job: None
    on_job_end: Callable[[Job], None] = lambda job: None


@dataclass(frozen=True)
class Ended:
    """A job's worker is gone: nothing more will come from it."""

    reason: str  # why, in case seeds are left without a record


# What an executor hands back: (job id, a worker message or Ended).
Event = tuple[int, "tuple | Ended"]


class Executor(Protocol):
    def start(self, job: Job) -> None:
        """Start the job's worker (the worker entry point is `worker.run_job`)."""

    def wait(self, timeout: float) -> list[Event]:
        """Messages and ends that arrived, waiting at most `timeout` seconds for the first."""

    def kill(self, job_id: int) -> None:
        """Stop the job's worker; an `Ended` for it follows from `wait`."""

    # Optional: `close()`, called once the run is over (or cut short), ends whatever workers the
    # executor kept (the local executor's idle worker processes); `warm(job)`, whether an idle
    # worker that already ran a job of the same config could take this one now; `has_worker(job)`,
    # whether any worker of its config is alive, busy or idle; `release()`, telling idle workers to
    # exit without waiting for them (the run driver then writes its report, then closes).


@dataclass
class _Running:
    job: Job
    started: float = field(default_factory=time.monotonic)
    seen: set[tuple[str, int]] = field(default_factory=set)  # (scenario, seed) of the records received
    killed: str | None = None  # why the scheduler killed it (timeout)


def schedule(jobs: list[Job], workers: int, executor: Executor, hooks: ExecutionHooks,
             timeout: float | None = None, close: bool = True) -> None:
    """Run every job; with `timeout`, a job still running after that many seconds is killed. The
    executor is closed at the end, however the run ends (with `close=False`, only when the run is
    cut short: a later `schedule` call, the next phase of a run, reuses its idle workers)."""
    try:
        _schedule(jobs, workers, executor, hooks, timeout)
    except BaseException:
        close_executor(executor)
        raise
    if close:
        close_executor(executor)


def close_executor(executor: Executor) -> None:
    close = getattr(executor, "close", None)
    if close is not None:
        close()


def next_job(pending: list[Job], executor: Executor) -> Job:
    """Take the next job from `pending` (costliest first): the costliest, unless it is short
    (`SHORT_JOB_S`): then the costliest a warm idle worker can take, else the costliest whose config
    no worker has yet, else the costliest (see `SHORT_JOB_S`)."""
    warm, has_worker = getattr(executor, "warm", None), getattr(executor, "has_worker", None)
    if pending[0].cost >= SHORT_JOB_S:
        return pending.pop(0)
    preferences = [p for p in (warm, has_worker and (lambda job: not has_worker(job))) if p]
    for preferred in preferences:
        for i, job in enumerate(pending):
            if preferred(job):
                return pending.pop(i)
    return pending.pop(0)


def _schedule(jobs: list[Job], workers: int, executor: Executor, hooks: ExecutionHooks,
              timeout: float | None) -> None:
    pending = sorted(jobs, key=lambda job: job.cost, reverse=True)
    running: dict[int, _Running] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = next_job(pending, executor)
            executor.start(job)
            running[job.job_id] = _Running(job)
            hooks.on_job_start(job)
        for job_id, event in executor.wait(POLL_S):
            state = running.get(job_id)
            if state is None:
                continue
            if isinstance(event, Ended):
                _end(state, state.killed or event.reason, hooks)
                del running[job_id]
            else:
                _handle(event, state, hooks)
        for state in running.values():
            if timeout and state.killed is None and time.monotonic() - state.started > timeout:
                state.killed = f"timed out after {timeout:g} s (--timeout)"
                executor.kill(state.job.job_id)


def _handle(message: tuple, state: _Running, hooks: ExecutionHooks) -> None:
    """A worker message ('record', id, dict) / ('progress', id, n) / ('done', id) to the hooks."""
    kind, _, *payload = message
    if kind == "record":
        state.seen.add((payload[0]["scenario"], payload[0]["seed"]))
        hooks.on_record(state.job, payload[0])
    elif kind == "progress":
        hooks.on_progress(state.job, payload[0])


def _end(state: _Running, reason: str, hooks: ExecutionHooks) -> None:
    """The last word on a job: a failed record for each seed (or sample) that sent none."""
    for record in unreported(state.job, state.seen, reason):
        hooks.on_record(state.job, record)
    hooks.on_job_end(state.job)
