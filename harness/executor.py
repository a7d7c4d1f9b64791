"""Run jobs in worker processes, longest first, at most `workers` at a time.

Each job gets a fresh spawned process (so TensorFlow and PyTorch never share one, and a
crash takes down only its job) and a pipe of its own. A pipe's `send` is synchronous, so a
record sent before a worker dies is never lost in a buffer. The driver alone writes records,
as soon as each seed finishes.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from harness.plan import Job, RunRequest
from harness.worker import failed_record, run_job

POLL_S = 0.2


@dataclass
class ExecutionHooks:
    """What the driver does with worker messages (the CLI wires these to store and progress)."""

    on_record: Callable[[Job, dict[str, Any]], None]
    on_progress: Callable[[Job, int], None] = lambda job, n: None
    on_job_start: Callable[[Job], None] = lambda job: None
    on_job_end: Callable[[Job], None] = lambda job: None


@dataclass
class _Running:
    job: Job
    process: Any
    channel: Connection
    started: float = field(default_factory=time.monotonic)
    seen: set[int] = field(default_factory=set)
    closed: bool = False  # the worker's end of the pipe is gone: it finished or died
    killed: str | None = None  # why the driver killed it (timeout)


def execute(jobs: list[Job], workers: int, hooks: ExecutionHooks, log_dir: Path | None = None,
            timeout: float | None = None) -> None:
    """Run every job; a worker that dies leaves `failed` records for its unfinished seeds.

    With `log_dir`, each worker's stdout/stderr (framework logs) goes to `job-N.log` there.
    With `timeout`, a job still running after that many seconds is killed (its seeds fail).
    """
    ctx = mp.get_context("spawn")
    pending = sorted(jobs, key=lambda job: job.cost, reverse=True)
    running: dict[int, _Running] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            reader, writer = ctx.Pipe(duplex=False)
            log = str(log_dir / f"job-{job.job_id}.log") if log_dir else None
            process = ctx.Process(target=run_job, args=(job, writer, log), daemon=True)
            process.start()
            writer.close()  # only the worker holds the writing end: EOF means it is gone
            running[job.job_id] = _Running(job, process, reader)
            hooks.on_job_start(job)
        for channel in wait([s.channel for s in running.values()], timeout=POLL_S):
            state = next(s for s in running.values() if s.channel is channel)
            _receive(state, hooks)
        for job_id, state in list(running.items()):
            if timeout and not state.closed and time.monotonic() - state.started > timeout:
                state.process.kill()
                state.killed = f"timed out after {timeout:g} s (--timeout)"
            if state.closed:
                _finish(state, hooks)
                del running[job_id]


def _receive(state: _Running, hooks: ExecutionHooks) -> None:
    """Handle every message waiting on the job's pipe; EOF marks the job as ended."""
    try:
        while state.channel.poll():
            handle_message(state.channel.recv(), state.job, state.seen, hooks)
    except (EOFError, OSError):
        state.closed = True


def _finish(state: _Running, hooks: ExecutionHooks) -> None:
    state.process.join(timeout=30)
    state.channel.close()
    end_job(state.job, state.seen, state.killed or _exit_reason(state.process.exitcode), hooks)


def end_job(job: Job, seen: set[int], reason: str, hooks: ExecutionHooks) -> None:
    """Every executor's last word on a job: a failed record for each seed that sent none."""
    for seed in job.seeds:
        if seed not in seen:
            hooks.on_record(job, failed_record(job, seed, reason))
    hooks.on_job_end(job)


def handle_message(message: tuple, job: Job, seen: set[int], hooks: ExecutionHooks) -> None:
    """A worker message ('record', id, dict) / ('progress', id, n) / ('done', id) to the hooks."""
    kind, _, *payload = message
    if kind == "record":
        seen.add(payload[0]["seed"])
        hooks.on_record(job, payload[0])
    elif kind == "progress":
        hooks.on_progress(job, payload[0])


def execute_request(jobs: list[Job], request: RunRequest, hooks: ExecutionHooks,
                    log_dir: Path | None = None, timeout: float | None = None) -> None:
    """The executor seam: the same jobs and hooks on local processes or on a Ray cluster."""
    if request.executor == "ray":
        from harness.ray_executor import execute_ray

        execute_ray(jobs, request.workers, hooks, timeout=timeout, address=request.ray_address)
    else:
        execute(jobs, request.workers, hooks, log_dir=log_dir, timeout=timeout)


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"worker killed by signal {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"worker exited with code {code} before finishing"
