"""Run jobs in worker processes on this machine.

Each job gets a fresh process (so TensorFlow and PyTorch never share one, and a crash takes
down only its job) and a pipe of its own. The process is `python -m harness.runs.worker_main`,
not a multiprocessing "spawn" child: spawn re-imports the caller's `__main__`, so a script or
`python -` calling `harness.run` without a main guard would run again in every worker. A pipe's
`send` is synchronous, so a record sent before a worker dies is never lost in a buffer: it is
read before the end (EOF: every writing end is closed, the worker is gone).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from harness.runs.plan import Job
from harness.runs.scheduler import Ended, Event
from harness.runs.worker import thread_env

WORKER_MODULE = "harness.runs.worker_main"
EXIT_WAIT_S = 30  # after EOF, how long a worker may take to exit before it is killed


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    channel: Connection


class LocalExecutor:
    """Worker processes; with `log_dir`, each worker's stdout/stderr goes to `job-N.log` there."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self.workers: dict[int, _Worker] = {}

    def start(self, job: Job) -> None:
        reader, writer = os.pipe()
        try:
            process = self._launch(job, writer)
        except BaseException:
            os.close(reader)
            raise
        finally:
            os.close(writer)  # only the worker holds the writing end: EOF means it is gone
        self.workers[job.job_id] = _Worker(process, Connection(reader, writable=False))
        try:  # stdin stays open: its EOF tells the worker that this process is gone
            process.stdin.write(pickle.dumps(sys.path) + pickle.dumps(job))  # type: ignore[union-attr]
            process.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            pass  # it died at start-up: `wait` reports its exit code (the log says why)

    def _launch(self, job: Job, writer: int) -> subprocess.Popen[bytes]:
        """The worker, its thread limits in its environment before Python starts (and so before
        any framework import), its output in the job's log."""
        log = open(self.log_dir / f"job-{job.job_id}.log", "ab") if self.log_dir else None  # noqa: SIM115
        try:
            return subprocess.Popen([sys.executable, "-m", WORKER_MODULE, str(writer)], stdin=subprocess.PIPE,
                                    stdout=log, stderr=log, pass_fds=(writer,),
                                    env={**os.environ, **thread_env(job.threads),
                                         "PYTHONPATH": _import_path()})
        finally:
            if log is not None:
                log.close()  # the worker has its own copy

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
        worker.channel.close()
        try:
            code = worker.process.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:  # it closed the pipe but lingers: not a worker to wait for
            worker.process.kill()
            code = worker.process.wait()
        with contextlib.suppress(OSError):
            worker.process.stdin.close()  # type: ignore[union-attr]
        return _exit_reason(code)


def _import_path() -> str:
    """PYTHONPATH with this checkout first: `-m harness.runs.worker_main` must import from any working
    directory, installed or not (the parent's full `sys.path` follows on stdin)."""
    root = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join([root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"worker killed by signal {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"worker exited with code {code} before finishing"
