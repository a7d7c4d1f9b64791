"""What runs inside one worker process: train a job's seeds, evaluate, emit records.

A worker owns exactly one framework. Thread limits go into the environment
before the backend (and so its framework) is imported. A local worker may run several jobs
of one backend and runtime config in turn (`local.LocalExecutor`): each job gets a new backend
instance and its own setup, so what a job records does not depend on the jobs before it.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import os
import statistics
import sys
import time
import traceback
from dataclasses import asdict
from typing import Any

from harness.records import ResultRecord
from harness.runs.plan import Job
from harness.runs.samples import SAMPLE_BLOCKS, SAMPLE_WARMUP_EPOCHS

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")
PROGRESS_INTERVAL_S = 0.25
# (backend, RuntimeConfig) -> the knobs the first setup of it in this process returned (see _setup)
_FIRST_KNOBS: dict[tuple, dict[str, Any]] = {}


def record_for(job: Job, seed: int, **fields: Any) -> ResultRecord:
    """The record skeleton every outcome of a (job, seed) shares; fields fill in the rest."""
    from backends import distribution_versions
    from harness.machine import git_commit, machine_info
    from harness.runs.seeds import seed_streams

    base: dict[str, Any] = {
        **job.identity(seed),
        "kind": job.kind,
        "run_id": job.run_id,
        "spec_hash": job.scenario.spec_hash(),
        "spec": asdict(job.scenario.spec),
        "profile": job.profile,
        "epochs": job.scenario.epochs,
        "framework_versions": distribution_versions(job.backend),
        "runtime": {"threads": job.threads, "deterministic": job.deterministic},
        "seed_streams": seed_streams(seed),
        "machine": machine_info(),
        "git_commit": git_commit(),
        "command": job.command,
        "run_started": job.run_started,
    }
    base.update(fields)
    return ResultRecord(**base)


def _json_float(value: float) -> float | None:
    """Strict JSON has no NaN/inf: a diverged epoch's loss is stored as null."""
    value = float(value)
    return value if math.isfinite(value) else None


def failed_record(job: Job, seed: int, error: str) -> dict[str, Any]:
    return record_for(job, seed, status="failed", error=error).to_dict()


def unreported(job: Job, seen: set[tuple[str, int]], reason: str) -> list[dict[str, Any]]:
    """A failed record (of the job's kind) for every (scenario, seed) the job owes and never sent."""
    return [failed_record(part, seed, reason) for part, seed in job.owed()
            if (part.scenario.spec.id, seed) not in seen]


class _Throttle:
    """Batches progress ticks so a 5000-epoch job does not flood the driver's pipe."""

    def __init__(self, channel: Any, job_id: int) -> None:
        self.channel, self.job_id, self.pending, self.last = channel, job_id, 0, time.monotonic()

    def __call__(self, updates: int) -> None:
        self.pending += updates
        if time.monotonic() - self.last >= PROGRESS_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.channel.send(("progress", self.job_id, self.pending))
        self.pending, self.last = 0, time.monotonic()


def thread_env(threads: int) -> dict[str, str]:
    """What a worker's framework must find in the environment when it is imported: the thread
    limits, the persistent compile caches (backends.caches), and TensorFlow's C++ logs quiet
    unless the user set their level."""
    from backends.caches import compile_cache_env

    return {**{name: str(threads) for name in THREAD_ENV}, **compile_cache_env(),
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}


def run_job(job: Job, channel: Any) -> None:
    """A worker's work (local process or Ray task): sends ('record', job_id, dict) per seed, then
    ('done', job_id). The local executor also puts `thread_env` in the process's environment
    before Python starts; set here too for a worker that did not."""
    os.environ.update(thread_env(job.threads))  # before any framework import
    done: set[tuple[str, int]] = set()
    try:
        (_sample_and_emit if job.samples else _train_and_emit)(job, channel, done)
    except BaseException as exc:
        detail = traceback.format_exc(limit=8)
        for record in unreported(job, done, f"{type(exc).__name__}: {exc}"):
            channel.send(("record", job.job_id, {**record, "traceback": detail}))
    for stream in (sys.stdout, sys.stderr):  # the job's log is whole once its end is known
        with contextlib.suppress(Exception):
            stream.flush()
    channel.send(("done", job.job_id))


def _between_jobs() -> None:
    """Reset the framework state a previous job in this process left behind. Keras keeps global
    state (layer-name counters, the TensorFlow graph and kernel caches) that grows with every
    model; each seed reseeds its own model, so this is about memory and a fresh job's conditions,
    not seeds. Framework modules are looked up, never imported: a first job finds none."""
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()


def _setup(job: Job) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """The job's backend, set up in this process: (backend, runtime knobs, framework versions)."""
    from backends import RuntimeConfig, apply_env, load_backend

    apply_env(job.backend)
    _between_jobs()
    backend = load_backend(job.backend)
    config = RuntimeConfig(job.threads, job.deterministic, job.execution, job.device)
    knobs = backend.setup(config)
    # A later setup of the same config in this process may describe the process's past rather
    # than the config (torch: interop threads "cannot be set after parallel work has started",
    # though they are what the first setup set): the record keeps the first setup's knobs, as a
    # job in a fresh worker records them.
    knobs = _FIRST_KNOBS.setdefault((job.backend, config), copy.deepcopy(knobs))
    runtime = {**knobs, "threads": job.threads, "deterministic": job.deterministic}
    return backend, runtime, backend.versions()


def _train_and_emit(job: Job, channel: Any, done: set[tuple[str, int]]) -> None:
    from harness.runs.anytime import AnytimeEvaluation
    from harness.runs.evaluate import evaluate
    from harness.runs.seeds import make_plan, probe_rng
    from scenarios import build_data

    backend, runtime, versions = _setup(job)
    data = build_data(job.scenario)
    spec = job.scenario.spec
    plans = [make_plan(s, data.n_samples, job.scenario.epochs, spec.shuffle) for s in job.seeds]
    progress = _Throttle(channel, job.job_id)
    anytime = (AnytimeEvaluation(job.scenario, data, job.eval_at, job.time_to_learn)
               if backend.anytime and job.anytime else None)
    extra = {"snapshots": anytime.request} if anytime is not None else {}  # plug-ins may not take it
    for trained in backend.train(job.scenario, data, plans, progress, **extra):
        progress.flush()
        # What this call chose (torch fast: its path and how it compiled) over setup's knobs.
        knobs = {**runtime, **getattr(backend, "run_knobs", dict)()}
        result = evaluate(spec, data, trained.predictor, probe_rng(trained.seed))
        finite = all(math.isfinite(v) for v in trained.epoch_loss)
        record = record_for(
            job, trained.seed,
            status="ok" if finite else "diverged",
            error=None if finite else "loss became NaN or infinite",
            framework_versions=versions,
            runtime=knobs,
            accuracy=result.accuracy,
            patterns=result.patterns,
            epoch_loss=[_json_float(v) for v in trained.epoch_loss],
            epoch_accuracy=[_json_float(v) for v in trained.epoch_accuracy],
            train_seconds=trained.train_seconds,
            first_epoch_seconds=trained.first_epoch_seconds,
            updates=trained.updates,
            us_per_update=1e6 * trained.train_seconds / max(1, trained.updates),
            seeds_together=trained.seeds_together,
            batch_train_seconds=trained.batch_train_seconds,
            probes={**result.probes, **trained.extra},
            **(anytime.fields(trained.seed) if anytime is not None else {"anytime_note": (
                "not asked for (--no-checkpoints)" if not job.anytime
                else f"backend {job.backend!r} does not support anytime evaluation")}),
        )
        channel.send(("record", job.job_id, record.to_dict()))
        done.add((spec.id, trained.seed))


def _sample_and_emit(job: Job, channel: Any, done: set[tuple[str, int]]) -> None:
    """Time each sample scenario as written (idiomatic), one seed: a warm-up epoch, then blocks of
    whole epochs; each block's µs per update comes from the stopwatch's per-epoch laps (a backend
    that laps less often gives one block: its whole run after the first epoch)."""
    from harness.runs.seeds import make_plan
    from scenarios import build_data

    backend, runtime, versions = _setup(job)
    throttle = _Throttle(channel, job.job_id)
    for part, seed in job.owed():
        scenario = part.scenario
        data = build_data(scenario)
        laps: list[float] = []

        def progress(updates: int, laps: list[float] = laps) -> None:
            laps.append(time.perf_counter())  # right after the stopwatch read the end of an epoch
            throttle(updates)

        plan = make_plan(seed, data.n_samples, scenario.epochs, scenario.spec.shuffle)
        (trained,) = backend.train(scenario, data, [plan], progress)
        throttle.flush()
        blocks = _block_us(laps, scenario.epochs, scenario.steps_per_epoch) if len(laps) == scenario.epochs \
            else [1e6 * (trained.train_seconds - trained.first_epoch_seconds)
                  / max(1, scenario.steps_per_epoch * (scenario.epochs - 1))]
        record = record_for(
            part, seed, status="ok", framework_versions=versions, runtime=runtime,
            train_seconds=trained.train_seconds, first_epoch_seconds=trained.first_epoch_seconds,
            updates=trained.updates, us_per_update=statistics.median(blocks),
            epoch_loss=[_json_float(v) for v in trained.epoch_loss],
            timing_sample={"warmup_epochs": SAMPLE_WARMUP_EPOCHS,
                           "block_epochs": (scenario.epochs - SAMPLE_WARMUP_EPOCHS) // SAMPLE_BLOCKS,
                           "blocks_us_per_update": blocks},
        )
        channel.send(("record", job.job_id, record.to_dict()))
        done.add((scenario.spec.id, seed))


def _block_us(laps: list[float], epochs: int, steps: int) -> list[float]:
    """µs per update of each block of epochs after the warm-up, from one clock stamp per epoch."""
    warmup = SAMPLE_WARMUP_EPOCHS
    size = (epochs - warmup) // SAMPLE_BLOCKS
    edges = [laps[warmup - 1 + i * size] for i in range(SAMPLE_BLOCKS + 1)]
    return [1e6 * (b - a) / (size * steps) for a, b in itertools.pairwise(edges)]
