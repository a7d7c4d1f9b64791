"""The local executor's worker processes (`python -m harness.runs.worker_main`), with the crash
backend: a record sent before a worker dies arrives before its end, the end says why, the job's
log is written, and a worker whose parent is killed does not live on as an orphan. Workers are
reused: jobs of one config share a process (each with its own log, its records as in a fresh
one), another config gets its own, a dead or killed worker is never reused, and none outlives
the executor's close."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.launch import RunArguments, build_request
from harness.runs.local import FINISHED, WORKER_MODULE, LocalExecutor
from harness.runs.plan import Job, plan_jobs
from harness.runs.scheduler import Ended, Event, ExecutionHooks, schedule
from tests.cli import CRASH_ENV, ROOT
from tests.conftest import needs_backend

PROC = Path("/proc")
linux_only = pytest.mark.skipif(not (PROC / "self" / "stat").exists(), reason="reads /proc (Linux)")


@pytest.fixture
def crash(monkeypatch):
    """The crash backend, in this process and (through the environment) its workers."""
    for key, value in CRASH_ENV.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def _job(seeds: int, scenario: str = "one_char", backend: str = "crash", epochs: int = 2) -> Job:
    arguments = RunArguments(scenario=(scenario,), backend=(backend,), seeds=seeds, epochs=epochs, workers=1,
                             idiomatic_timing=False)
    (job,) = plan_jobs(build_request(arguments, "test", "2026-01-01T00:00:00+00:00"), "test-run")
    return job


def spy_on_close(monkeypatch) -> list[dict[int, int]]:
    """Each `LocalExecutor.close` call's {job id: worker pid}, taken just before it closes."""
    closed: list[dict[int, int]] = []
    close = LocalExecutor.close

    def spy(executor: LocalExecutor) -> None:
        closed.append(dict(executor.pids))
        close(executor)

    monkeypatch.setattr(LocalExecutor, "close", spy)
    return closed


def _until_end(executor: LocalExecutor, deadline_s: float = 120, ends: int = 1) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + deadline_s
    while sum(isinstance(event, Ended) for _, event in events) < ends:
        assert time.monotonic() < deadline, events
        events.extend(executor.wait(0.2))
    return events


def _run(executor: LocalExecutor, job: Job) -> list:
    """Start the job, and its events (its own only: a reused worker sends nothing else) to its end."""
    executor.start(job)
    events = _until_end(executor)
    assert {job_id for job_id, _ in events} == {job.job_id}
    return [event for _, event in events]


def _statuses(events: list, key: str = "status") -> list:
    return [e[2][key] for e in events if not isinstance(e, Ended) and e[0] == "record"]


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
    """The job ends at its 'done' while its worker waits for another; closed, the worker exits with
    code 0 and nothing in the log: its stdin reader (a daemon thread) must not upset the exit."""
    executor = LocalExecutor(tmp_path)
    job = _job(seeds=2)
    events = _run(executor, job)
    assert _statuses(events) == ["ok", "ok"]
    assert events[-2:] == [("done", job.job_id), Ended(FINISHED)]  # the reason goes unused
    (worker,) = executor.workers
    assert worker.process.poll() is None and worker.job_id is None  # alive and idle
    executor.close()
    assert worker.process.returncode == 0 and not executor.workers
    assert (tmp_path / f"job-{job.job_id}.log").read_text() == ""


def test_a_released_worker_exits_on_its_own_and_close_reaps_it(crash):
    """`release` tells idle workers to exit and returns at once (the driver writes its report
    meanwhile); a released worker takes no further job, and `close` reaps it."""
    executor = LocalExecutor()
    job = _job(seeds=1)
    _run(executor, job)
    (worker,) = executor.workers
    executor.release()
    assert not executor.warm(job) and not executor.has_worker(job)
    worker.process.wait(timeout=30)  # it exits without close
    assert worker.process.returncode == 0
    executor.close()
    assert not executor.workers


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


# The parent, busy: its worker hangs in a job. Idle: its worker has finished a job and waits for the next.
BUSY_PARENT = ("import harness\n"
               "harness.run(scenarios='one_char', backends='crash', seeds=1, epochs=2, workers=1, "
               "idiomatic_timing=False, out={out!r}, progress=False)\n")
IDLE_PARENT = ("import time\n"
               "from harness.runs.local import LocalExecutor\n"
               "from tests.runs.test_local import _job, _run\n"
               "_run(executor := LocalExecutor(), _job(seeds=1))\n"
               "print('idle', flush=True)\n"
               "time.sleep(600)\n")


@linux_only
@pytest.mark.parametrize("idle", [False, True], ids=["busy", "idle"])
def test_a_worker_whose_parent_is_killed_exits(tmp_path, idle):
    code = IDLE_PARENT if idle else BUSY_PARENT.format(out=str(tmp_path / "run"))
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True,
                              env={**os.environ, **CRASH_ENV, "CRASH_MODE": "hang", "CRASH_SEED": "0"}
                              if not idle else {**os.environ, **CRASH_ENV})
    workers: list[int] = []
    try:
        if idle:
            assert parent.stdout.readline() == "idle\n"  # type: ignore[union-attr]
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


def _chatty(monkeypatch) -> None:
    monkeypatch.setenv("ALPHABET_BENCH_BACKENDS", "crash=tests.crash_backend,chatty=tests.chatty_backend,"
                                                  "crash2=tests.crash_backend")


def test_jobs_of_one_config_share_a_worker_each_with_its_own_log(tmp_path, monkeypatch):
    _chatty(monkeypatch)
    executor = LocalExecutor(tmp_path)
    first, second = _job(2, "one_char", "chatty"), replace(_job(1, "stateful", "chatty"), job_id=1)
    for job in (first, second):
        events = _run(executor, job)
        assert _statuses(events) == ["ok"] * len(job.seeds)
        assert events[-1] == Ended(FINISHED)
    assert executor.pids[0] == executor.pids[1]
    (worker,) = executor.workers
    executor.close()
    assert worker.process.returncode == 0
    logs = {job: (tmp_path / f"job-{job}.log").read_text().splitlines() for job in (0, 1)}
    assert sorted(logs[0]) == ["fd 2: one_char seed 0", "fd 2: one_char seed 1",
                               "stdout: one_char seed 0", "stdout: one_char seed 1"]
    assert sorted(logs[1]) == ["fd 2: stateful seed 0", "stdout: stateful seed 0"]


def test_another_backend_or_thread_count_gets_its_own_worker(monkeypatch):
    _chatty(monkeypatch)
    executor = LocalExecutor()
    job = _job(1)
    others = [replace(job, job_id=1, backend="crash2"), replace(job, job_id=2, threads=job.threads + 1),
              replace(job, job_id=3, backend="chatty")]
    for each in (job, *others, replace(job, job_id=4)):
        assert _run(executor, each)[-1] == Ended(FINISHED)
    assert len({executor.pids[i] for i in range(4)}) == 4
    assert executor.pids[4] == executor.pids[0]  # the first config's worker, idle meanwhile
    assert len(executor.workers) == 4
    executor.close()
    assert not executor.workers


def test_a_cuda_worker_starting_closes_idle_cuda_workers_of_other_configs(monkeypatch):
    """An idle framework keeps its GPU memory (TensorFlow takes it all): before a CUDA job starts a
    worker, idle CUDA workers of other backends exit; CPU workers stay (the crash backend trains
    nothing, on any device)."""
    _chatty(monkeypatch)
    executor = LocalExecutor()
    job = _job(1)
    on_gpu, on_cpu = replace(job, device="cuda"), replace(job, job_id=1)
    for each in (on_gpu, on_cpu, replace(on_gpu, job_id=2, backend="crash2")):
        assert _run(executor, each)[-1] == Ended(FINISHED)
    assert sorted(w.process.pid for w in executor.workers) == sorted([executor.pids[1], executor.pids[2]])
    assert len(set(executor.pids.values())) == 3
    executor.close()


def test_a_killed_jobs_worker_is_not_reused(crash):
    crash.setenv("CRASH_MODE", "hang")
    crash.setenv("CRASH_SEED", "0")
    executor = LocalExecutor()
    hung = _job(seeds=1)
    executor.start(hung)
    assert executor.wait(1.0) == []
    executor.kill(hung.job_id)
    assert [event for _, event in _until_end(executor, 30)] == [Ended("worker killed by signal SIGKILL")]
    later = replace(hung, job_id=1, seeds=(1,))  # not the hanging seed
    events = _run(executor, later)
    assert _statuses(events) == ["ok"]
    assert executor.pids[1] != executor.pids[0]
    executor.close()


def test_a_worker_that_dies_mid_job_ends_that_job_only_and_is_not_reused(crash):
    crash.setenv("CRASH_MODE", "exit")  # os._exit(3) at seed 1
    executor = LocalExecutor()
    dies, lives = _job(seeds=3), replace(_job(seeds=1), job_id=1)
    executor.start(dies)
    executor.start(lives)  # beside it: a worker of its own
    by_job: dict[int, list] = {0: [], 1: []}
    for job_id, event in _until_end(executor, ends=2):
        by_job[job_id].append(event)
    assert _statuses(by_job[0], "seed") == [0]
    assert by_job[0][-1] == Ended("worker exited with code 3 before finishing")
    assert _statuses(by_job[1], "seed") == [0]
    assert by_job[1][-1] == Ended(FINISHED)
    assert _run(executor, replace(lives, job_id=2))[-1] == Ended(FINISHED)
    assert executor.pids[2] == executor.pids[1] != executor.pids[0]
    executor.close()


@linux_only
def test_scheduling_closes_its_workers():
    """`schedule` closes the executor: no worker process is left once the run is over."""
    records: list[dict] = []
    with pytest.MonkeyPatch.context() as patch:
        for key, value in CRASH_ENV.items():
            patch.setenv(key, value)
        jobs = [replace(_job(1), job_id=i, seeds=(i,)) for i in range(3)]
        executor = LocalExecutor()
        schedule(jobs, 2, executor, ExecutionHooks(on_record=lambda job, record: records.append(record)))
    assert sorted(r["seed"] for r in records) == [0, 1, 2] and {r["status"] for r in records} == {"ok"}
    assert len(set(executor.pids.values())) <= 2  # a third job reused a worker
    assert not executor.workers and not set(executor.pids.values()) & set(_workers_of(os.getpid()))


TIMING = ("train_seconds", "first_epoch_seconds", "us_per_update", "batch_train_seconds")


def _trained(jobs: list[Job], executor: LocalExecutor) -> dict[tuple, dict]:
    records: list[dict] = []
    schedule(jobs, 1, executor, ExecutionHooks(on_record=lambda job, record: records.append(record)))
    return {(r["scenario"], r["seed"]): r for r in records}


@needs_backend("torch")
@pytest.mark.parametrize("before", ["fast", "idiomatic"])
def test_records_are_the_same_in_a_fresh_and_a_reused_worker(before):
    """A job in a worker that trained another scenario before (in either execution: a run's timing
    sample is idiomatic) records what it records alone, losses, patterns and runtime knobs alike
    (torch: a second setup cannot set interop threads)."""
    first = replace(_job(2, "one_char", "torch"), execution=before)
    second = replace(_job(2, "feature_window", "torch"), job_id=1)
    reused = LocalExecutor()
    together = _trained([first, second], reused)
    assert reused.pids[0] == reused.pids[1]
    alone = _trained([second], LocalExecutor())
    assert sorted(alone) == [("feature_window", 0), ("feature_window", 1)]
    for key, record in alone.items():
        assert record["status"] == "ok"
        for field in ("epoch_loss", "epoch_accuracy", "accuracy", "patterns", "probes", "runtime",
                      "checkpoints"):
            assert together[key][field] == record[field], field
