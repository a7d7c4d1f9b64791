"""Run jobs in worker processes on this machine.

A worker process serves one backend and runtime config (backend, threads, determinism, device,
environment; either execution): when a job ends normally its worker is kept, and the next job
with the same config runs in it, so a framework is imported and warmed once per worker rather
than once per job (or per phase: the workers of a run's timing sample train its seeds next).
TensorFlow and PyTorch never share a process, and the thread limits, set in
the worker's environment before Python starts, always match its jobs'. A worker that dies or is
killed mid-job ends that job only and is never reused. Per config there are at most as many
workers as jobs ever ran at once; idle ones exit when the executor is closed (`close`, called by
`scheduler.schedule`), and before a CUDA job starts a new worker, idle CUDA workers of other
configs exit, so no idle framework holds GPU memory another one needs.

The process is `python -m harness.runs.worker_main`, not a multiprocessing "spawn" child: spawn
re-imports the caller's `__main__`, so a script or `python -` calling `harness.run` without a main
guard would run again in every worker. Each worker has one pipe back; a pipe's `send` is
synchronous, so a record sent before a worker dies is never lost in a buffer: it is read before
the end (EOF: every writing end is closed, the worker is gone). A job's log, `job-N.log`, holds
that job's output only: the worker points its stdout/stderr at it when the job starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import NamedTuple

from harness.runs.plan import Job
from harness.runs.scheduler import Ended, Event
from harness.runs.worker import thread_env
from harness.runs.worker_main import frame

WORKER_MODULE = "harness.runs.worker_main"
EXIT_WAIT_S = 30  # after EOF, how long a worker may take to exit before it is killed
FINISHED = "worker finished without a record"  # a normal end; the reason matters only if seeds lack one


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    channel: Connection
    config: _Config  # what it was started for: only a job with the same config may run in it
    job_id: int | None = None  # the job it runs; None: idle
    killed: bool = False  # asked to die: never handed another job


class LocalExecutor:
    """Worker processes, reused per config; with `log_dir`, each job's output goes to `job-N.log` there."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self.workers: list[_Worker] = []  # alive (as far as known), busy or idle
        self.pids: dict[int, int] = {}  # job id -> the pid of the worker process it ran in

    def start(self, job: Job) -> None:
        env = _worker_env(job)
        config = _config(job, env)
        log = self.log_dir / f"job-{job.job_id}.log" if self.log_dir else None
        worker = self._idle(config)
        if worker is None:
            if job.device == "cuda":  # an idle framework keeps its GPU memory (TensorFlow takes it all)
                self._close_idle(lambda w: w.config.device == "cuda")
            worker = self._launch(env, config, log)
        worker.job_id = job.job_id
        self.pids[job.job_id] = worker.process.pid
        self._send(worker, (job, None if log is None else str(log)))

    def warm(self, job: Job) -> bool:
        """Whether an idle worker could take this job now (no new process, its framework imported)."""
        return self._idle(_config(job, _worker_env(job))) is not None

    def has_worker(self, job: Job) -> bool:
        """Whether a worker of this job's config is alive, busy or idle (its framework imported)."""
        config = _config(job, _worker_env(job))
        return any(w.config == config and not w.killed and w.process.poll() is None for w in self.workers)

    def _idle(self, config: _Config) -> _Worker | None:
        """An idle worker of this config, still alive and silent (an idle worker sends nothing:
        anything readable is its EOF)."""
        for worker in list(self.workers):
            if worker.job_id is None and worker.config == config and not worker.killed:
                if worker.process.poll() is None and not worker.channel.poll():
                    return worker
                self._reap(worker)
        return None

    def _launch(self, env: dict[str, str], config: _Config, log: Path | None) -> _Worker:
        """A new worker, its thread limits in its environment before Python starts (and so before
        any framework import); what it prints before its first job goes to that job's log."""
        reader, writer = os.pipe()
        out = open(log, "ab") if log else None  # noqa: SIM115
        try:
            process = subprocess.Popen([sys.executable, "-m", WORKER_MODULE, str(writer)], env=env,
                                       stdin=subprocess.PIPE, stdout=out, stderr=out, pass_fds=(writer,))
        except BaseException:
            os.close(reader)
            raise
        finally:
            os.close(writer)  # only the worker holds the writing end: EOF means it is gone
            if out is not None:
                out.close()  # the worker has its own copy
        worker = _Worker(process, Connection(reader, writable=False), config)
        self.workers.append(worker)
        self._send(worker, sys.path)
        return worker

    @staticmethod
    def _send(worker: _Worker, message: object) -> None:
        try:  # stdin stays open: its EOF tells the worker that this process is gone (or done with it)
            worker.process.stdin.write(frame(message))  # type: ignore[union-attr]
            worker.process.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            pass  # it died: `wait` reports its exit code (the log says why)

    def wait(self, timeout: float) -> list[Event]:
        by_channel = {w.channel: w for w in self.workers}
        events: list[Event] = []
        for channel in wait(list(by_channel), timeout=timeout):
            worker = by_channel[channel]
            try:
                while channel.poll():
                    message = channel.recv()
                    if worker.job_id is None:
                        continue  # nothing of a job's comes after its 'done'
                    events.append((worker.job_id, message))
                    if message[0] == "done":  # the job is over; the worker waits for the next
                        events.append((worker.job_id, Ended(FINISHED)))
                        worker.job_id = None
            except (EOFError, OSError):
                job_id = worker.job_id
                reason = self._reap(worker)
                if job_id is not None:
                    events.append((job_id, Ended(reason)))
        return events

    def kill(self, job_id: int) -> None:
        """Kill the job's worker process (its pipe then reaches EOF: `wait` reports the end)."""
        for worker in self.workers:
            if worker.job_id == job_id:
                worker.killed = True
                worker.process.kill()

    def _close_idle(self, which: Callable[[_Worker], bool]) -> None:
        idle = [w for w in self.workers if w.job_id is None and which(w)]
        for worker in idle:
            with contextlib.suppress(OSError):
                worker.process.stdin.close()  # type: ignore[union-attr]
        for worker in idle:
            self._reap(worker)

    def release(self) -> None:
        """Tell every idle worker to exit (its stdin closed), without waiting: they exit while the
        caller goes on (writes the report); `close` reaps them."""
        for worker in self.workers:
            if worker.job_id is None:
                worker.killed = True  # never handed another job
                with contextlib.suppress(OSError):
                    worker.process.stdin.close()  # type: ignore[union-attr]

    def close(self) -> None:
        """End every worker: an idle one exits when its stdin closes; a busy one (a run cut short)
        is killed."""
        for worker in self.workers:
            with contextlib.suppress(OSError):
                worker.process.stdin.close()  # type: ignore[union-attr]
            if worker.job_id is not None:
                worker.process.kill()
        for worker in list(self.workers):
            self._reap(worker)

    def _reap(self, worker: _Worker) -> str:
        """Forget a worker that is gone or going, and say how it ended."""
        self.workers.remove(worker)
        worker.channel.close()
        with contextlib.suppress(OSError):
            worker.process.stdin.close()  # type: ignore[union-attr]
        try:
            code = worker.process.wait(timeout=EXIT_WAIT_S)
        except subprocess.TimeoutExpired:  # it closed the pipe but lingers: not a worker to wait for
            worker.process.kill()
            code = worker.process.wait()
        return _exit_reason(code)


class _Config(NamedTuple):
    """What a worker is started for. Not the execution: `setup` switches it per job, so a worker
    that took a run's idiomatic timing sample trains its fast seeds next."""

    backend: str
    threads: int
    deterministic: bool
    device: str
    env: tuple[tuple[str, str], ...]


def _config(job: Job, env: dict[str, str]) -> _Config:
    return _Config(job.backend, job.threads, job.deterministic, job.device, tuple(sorted(env.items())))


def _worker_env(job: Job) -> dict[str, str]:
    return {**os.environ, **thread_env(job.threads), "PYTHONPATH": _import_path()}


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
