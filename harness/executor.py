"""Run jobs in worker processes, longest first, at most `workers` at a time.

Each job gets a fresh spawned process (so TensorFlow and PyTorch never share
one, and a crash takes down only its job). Workers report over one queue; the
driver alone writes records, as soon as each seed finishes.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.plan import Job
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
    seen: set[int] = field(default_factory=set)
    done: bool = False


def execute(jobs: list[Job], workers: int, hooks: ExecutionHooks, log_dir: Path | None = None) -> None:
    """Run every job; a worker that dies leaves `failed` records for its unfinished seeds.

    With `log_dir`, each worker's stdout/stderr (framework logs) goes to `job-N.log` there.
    """
    ctx = mp.get_context("spawn")
    messages = ctx.Queue()
    pending = sorted(jobs, key=lambda job: job.cost, reverse=True)
    running: dict[int, _Running] = {}
    while pending or running:
        while pending and len(running) < workers:
            job = pending.pop(0)
            log = str(log_dir / f"job-{job.job_id}.log") if log_dir else None
            process = ctx.Process(target=run_job, args=(job, messages, log), daemon=True)
            process.start()
            running[job.job_id] = _Running(job, process)
            hooks.on_job_start(job)
        _drain(messages, running, hooks)
        for job_id, state in list(running.items()):
            if state.done or not state.process.is_alive():
                _finish(state, messages, running, hooks)
                del running[job_id]


def _drain(messages: Any, running: dict[int, _Running], hooks: ExecutionHooks) -> None:
    try:
        message = messages.get(timeout=POLL_S)
    except queue_module.Empty:
        return
    while True:
        _handle(message, running, hooks)
        try:
            message = messages.get_nowait()
        except queue_module.Empty:
            return


def _handle(message: tuple, running: dict[int, _Running], hooks: ExecutionHooks) -> None:
    kind, job_id, *payload = message
    state = running.get(job_id)
    if state is None:
        return
    if kind == "record":
        state.seen.add(payload[0]["seed"])
        hooks.on_record(state.job, payload[0])
    elif kind == "progress":
        hooks.on_progress(state.job, payload[0])
    elif kind == "done":
        state.done = True


def _finish(state: _Running, messages: Any, running: dict[int, _Running], hooks: ExecutionHooks) -> None:
    state.process.join(timeout=30)
    if not state.done:  # died without saying goodbye: collect any last words first
        _drain(messages, running, hooks)
    for seed in state.job.seeds:
        if seed not in state.seen:
            code = state.process.exitcode
            hooks.on_record(state.job, failed_record(state.job, seed, f"worker exited with code {code}"))
    hooks.on_job_end(state.job)
