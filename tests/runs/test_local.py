"""The local executor's worker processes (`python -m harness.runs.worker_main`), with the crash
backend: a record sent before a worker dies arrives before its end, the end says why, the job's
log is written, and a worker whose parent is killed does not live on as an orphan."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.launch import RunArguments, build_request
from harness.runs.local import WORKER_MODULE, LocalExecutor
from harness.runs.plan import Job, plan_jobs
from harness.runs.scheduler import Ended, Event
from tests.cli import CRASH_ENV, ROOT

PROC = Path("/proc")
linux_only = pytest.mark.skipif(not (PROC / "self" / "stat").exists(), reason="reads /proc (Linux)")


@pytest.fixture
def crash(monkeypatch):
    """The crash backend, in this process and (through the environment) its workers."""
    for key, value in CRASH_ENV.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def _job(seeds: int) -> Job:
    arguments = RunArguments(scenario=("one_char",), backend=("crash",), seeds=seeds, epochs=2, workers=1,
                             idiomatic_timing=False)
    (job,) = plan_jobs(build_request(arguments, "test", "2026-01-01T00:00:00+00:00"), "test-run")
    return job


def _until_end(executor: LocalExecutor, deadline_s: float = 120) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + deadline_s
    while not any(isinstance(event, Ended) for _, event in events):
        assert time.monotonic() < deadline, events
        events.extend(executor.wait(0.2))
    return events


def test_a_record_sent_before_the_worker_dies_arrives_before_its_end(tmp_path, crash):
    crash.setenv("CRASH_MODE", "exit")  # os._exit(3) at seed 1, after seed 0's record is sent
    executor = LocalExecutor(tmp_path)
    job = _job(seeds=3)
    executor.start(job)
    events = [event for _, event in _until_end(executor)]
    records = [e[2] for e in events if not isinstance(e, Ended) and e[0] == "record"]
    assert [(r["seed"], r["status"]) for r in records] == [(0, "ok")]
    assert events[-1] == Ended("worker exited with code 3 before finishing")
    assert (tmp_path / f"job-{job.job_id}.log").is_file() and not executor.workers


def test_a_worker_that_finishes_exits_cleanly_with_an_empty_log(tmp_path, crash):
    """Code 0 and nothing in the log: its stdin watcher (a daemon thread) must not upset the exit."""
    executor = LocalExecutor(tmp_path)
    job = _job(seeds=2)
    executor.start(job)
    events = [event for _, event in _until_end(executor)]
    assert [e[0] for e in events if not isinstance(e, Ended)].count("record") == 2
    assert ("done", job.job_id) in events
    assert events[-1] == Ended("worker exited with code 0 before finishing")  # the reason goes unused
    assert (tmp_path / f"job-{job.job_id}.log").read_text() == ""


def test_a_killed_worker_ends_with_the_signal_that_killed_it(tmp_path, crash):
    crash.setenv("CRASH_MODE", "hang")
    crash.setenv("CRASH_SEED", "0")
    executor = LocalExecutor()
    job = _job(seeds=1)
    executor.start(job)
    assert executor.wait(1.0) == []  # hanging: nothing yet
    executor.kill(job.job_id)
    assert [event for _, event in _until_end(executor, 30)] == [Ended("worker killed by signal SIGKILL")]


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command's name: [state, ppid, ...]; None once the process is gone."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _workers_of(parent: int) -> list[int]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[1] == str(parent):
            try:
                if WORKER_MODULE.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _gone(pid: int) -> bool:
    stat = _stat(pid)
    return stat is None or stat[0] in ("Z", "X")  # a zombie has exited; its reaper may be slow


@linux_only
def test_a_worker_whose_parent_is_killed_exits(tmp_path):
    code = ("import harness\n"
            "harness.run(scenarios='one_char', backends='crash', seeds=1, epochs=2, workers=1, "
            f"idiomatic_timing=False, out={str(tmp_path / 'run')!r}, progress=False)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              env={**os.environ, **CRASH_ENV, "CRASH_MODE": "hang", "CRASH_SEED": "0"})
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not workers and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
            workers = _workers_of(parent.pid)
        assert len(workers) == 1, "no worker started"
        parent.kill()  # SIGKILL: no atexit, no cleanup of its own
        parent.wait()
        deadline = time.monotonic() + 20
        while not _gone(workers[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(workers[0]), "the worker outlived its parent"
    finally:
        parent.kill()
        for pid in workers:
            if not _gone(pid):
                os.kill(pid, 9)
