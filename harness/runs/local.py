"""Run jobs in worker processes on this machine.

Each job gets a fresh spawned process (so TensorFlow and PyTorch never share one, and a
crash takes down only its job) and a pipe of its own. A pipe's `send` is synchronous, so a
record sent before a worker dies is never lost in a buffer: it is read before the end.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from harness.runs.plan import Job
from harness.runs.scheduler import Ended, Event
from harness.runs.worker import run_job


@dataclass
class _Worker:
    process: Any
    channel: Connection


class LocalExecutor:
    """Spawned processes; with `log_dir`, each worker's stdout/stderr goes to `job-N.log` there."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self.context = mp.get_context("spawn")
        self.workers: dict[int, _Worker] = {}

    def start(self, job: Job) -> None:
        reader, writer = self.context.Pipe(duplex=False)
        log = str(self.log_dir / f"job-{job.job_id}.log") if self.log_dir else None
        process = self.context.Process(target=run_job, args=(job, writer, log), daemon=True)
        process.start()
        writer.close()  # only the worker holds the writing end: EOF means it is gone
        self.workers[job.job_id] = _Worker(process, reader)

    def wait(self, timeout: float) -> list[Event]:
        by_channel = {w.channel: job_id for job_id, w in self.workers.items()}
        events: list[Event] = []
        for channel in wait(list(by_channel), timeout=timeout):
            job_id = by_channel[channel]
            try:
                while channel.poll():
                    events.append((job_id, channel.recv()))
            except (EOFError, OSError):
                events.append((job_id, Ended(self._finish(job_id))))
        return events

    def kill(self, job_id: int) -> None:
        self.workers[job_id].process.kill()  # its pipe then reaches EOF: `wait` reports the end

    def _finish(self, job_id: int) -> str:
        worker = self.workers.pop(job_id)
        worker.process.join(timeout=30)
        worker.channel.close()
        return _exit_reason(worker.process.exitcode)


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"worker killed by signal {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"worker exited with code {code} before finishing"
