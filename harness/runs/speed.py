"""`python -m harness speed`: idiomatic vs fast, side by side in one run, on this machine.

Every (scenario, backend, execution) trains the same seeds for the same epochs, one job at a
time (so they never compete for cores), through the harness's own worker path. The table
gives µs per seed-update, the fast/idiomatic speed-up, the accuracy of both (the same
training, so it should agree), and the harness overhead: the worker's wall time around the
training loop (spawn, framework import, data, evaluation, records) relative to that loop.
Where jax is installed, each row's steady µs is also stated as a multiple of this machine's floor
(`harness.runs.floor`, a reference program run in the same command on the scenario's shape).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness.records import steady_us_per_update
from harness.reporting.markdown import md
from harness.runs.floor import Floor, FloorError, Shape, epochs_for, measure_floor, unavailable
from harness.runs.local import LocalExecutor
from harness.runs.plan import Job, RunRequest, plan_jobs
from harness.runs.scheduler import ExecutionHooks, schedule
from scenarios import ResolvedScenario, get_scenario

DEFAULT_EPOCHS = {"one_char": 100, "feature_window": 100, "timestep_window": 100, "batch_state": 1000,
                  "stateful": 60, "variable_length": 3}


FLOOR_LEGEND = ("`× floor`: the row's µs after epoch 1 ÷ `floor µs`, this machine's floor for the same "
                "shape and seeds, each row's figure of its own execution (`idiomatic`: the framework as "
                "written, seeds one after another; `fast`: the harness's engine, seeds together; every job "
                "on one thread, torch's `fast` on its compiled path, column `path`). The floor "
                "is a reference program (`harness/runs/floor.py`, not an engine): one XLA program, "
                "`lax.scan` over every update, `vmap` over the seeds, one core, XLA single-threaded, timed "
                "after its compilation, in this command, after the engines:\n\n")


def _one_job(request: RunRequest, scenario: str, backend: str, execution: str, epochs: int | None,
             seeds: int) -> Job:
    options = replace(request.options, epochs=epochs or DEFAULT_EPOCHS[scenario])
    single = replace(request, scenarios=(scenario,), backends=(backend,), execution=execution,
                     options=options, workers=1, idiomatic_timing=False)
    job = plan_jobs(single, "speed")[0]
    return replace(job, seeds=tuple(range(seeds)))  # one job with every seed, in both executions


def measure(request: RunRequest, executions: tuple[str, ...], epochs: int | None,
            seed_counts: tuple[int, ...] = ()) -> pd.DataFrame:
    """One row per (scenario, backend, execution, seeds trained together). Idiomatic trains its
    seeds one after another, so it is measured once, at the smallest count."""
    counts = tuple(sorted(set(seed_counts))) or (len(request.seeds),)
    with tempfile.TemporaryDirectory(prefix="alphabet-speed-") as logs, _steady_paths():
        rows = []
        for scenario in request.scenarios:
            for backend in request.backends:
                for execution in executions:
                    for seeds in counts if execution == "fast" else counts[:1]:
                        job = _one_job(request, scenario, backend, execution, epochs, seeds)
                        rows.append(_measure(job, Path(logs)))
    return pd.DataFrame(rows)


@contextlib.contextmanager
def _steady_paths() -> Iterator[None]:
    """A speed job is a few seconds of work, so torch's per-job rule would run it eagerly; what a
    tutorial-length run pays per update is the compiled path, so the workers take it (a user's own
    ALPHABET_BENCH_TORCH_PATH wins). The `path` column says what each row ran."""
    from backends.pytorch.paths import PATH_ENV

    before = os.environ.get(PATH_ENV)
    os.environ.setdefault(PATH_ENV, "compiled")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PATH_ENV, None)


def _measure(job: Job, logs: Path) -> dict[str, Any]:
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    schedule([job], 1, LocalExecutor(logs), ExecutionHooks(on_record=lambda _job, r: records.append(r)))
    return _row(job, records, time.perf_counter() - started)


def _row(job: Job, records: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    ok = [r for r in records if r["status"] == "ok"]
    train = sum(r["train_seconds"] for r in ok)  # per-seed shares add up to the batch's wall time
    updates = sum(r["updates"] for r in ok)
    epochs = job.scenario.epochs
    steady = [v for v in map(steady_us_per_update, ok) if v is not None]
    return {
        "scenario": job.scenario.spec.id, "backend": job.backend, "execution": job.execution,
        "seeds": len(job.seeds), "epochs": epochs,
        "path": (ok[0].get("runtime") or {}).get("fast_path", "—") if ok and job.execution == "fast" else "—",
        "µs per seed-update": 1e6 * train / updates if updates else None,
        "µs after epoch 1": sum(steady) / len(steady) if steady else None,
        "train s": train, "job wall s": wall,
        "overhead %": 100.0 * (wall - train) / train if train else None,
        "accuracy %": 100.0 * sum(r["accuracy"] for r in ok) / len(ok) if ok else None,
        "failed": len(records) - len(ok),
    }


def floor_shape(scenario: ResolvedScenario) -> tuple[Shape | None, str | None]:
    """The floor program's shape for a scenario, and a note where it is not quite the scenario's
    protocol; no shape where the protocol is too different for a batch-size-1 floor to mean much."""
    spec = scenario.spec
    if spec.batch_size != 1:
        return None, (f"{spec.id}: no floor (the whole set is one batch, one update per epoch; the floor "
                      "program trains batch size 1)")
    shape = Shape(timesteps=spec.timesteps, features=spec.features, units=scenario.units,
                  classes=scenario.n_classes, samples=scenario.n_samples,
                  learning_rate=scenario.learning_rate)
    if spec.stateful:
        return shape, (f"{spec.id}: floor of the closest shape (the same updates, but the state is reset "
                       "before each sample instead of carried over)")
    return shape, None


def add_floor(frame: pd.DataFrame, request: RunRequest) -> tuple[pd.DataFrame, list[str]]:
    """`floor µs` and `× floor` (steady µs ÷ floor) per row, the floor measured now for each scenario
    and seed count, after the engines (never beside them); the notes say what each floor is."""
    reason = unavailable()
    if reason or frame.empty:
        return frame, [f"No floor: {reason}."] if reason else []
    floors: dict[tuple[str, int], float] = {}
    notes = []
    for scenario_id in dict.fromkeys(frame["scenario"]):
        shape, note = floor_shape(ResolvedScenario(get_scenario(scenario_id), request.options))
        notes += [note] if note else []
        for seeds in sorted(set(frame.loc[frame["scenario"] == scenario_id, "seeds"])) if shape else ():
            try:
                floor = measure_floor(shape, int(seeds), epochs_for(shape))
            except FloorError as exc:
                notes.append(f"{scenario_id}, {seeds} seeds: no floor ({exc})")
                continue
            floors[scenario_id, int(seeds)] = floor.us_per_seed_update
            notes.append(_floor_note(scenario_id, floor))
    frame = frame.copy()
    at = frame.columns.get_loc("µs after epoch 1") + 1
    frame.insert(at, "floor µs", [floors.get((s, int(n))) for s, n in zip(frame["scenario"], frame["seeds"],
                                                                           strict=True)])
    frame.insert(at + 1, "× floor", pd.to_numeric(frame["µs after epoch 1"], errors="coerce")
                 / pd.to_numeric(frame["floor µs"], errors="coerce"))
    return frame, notes


def _floor_note(scenario_id: str, floor: Floor) -> str:
    return (f"{scenario_id}, {floor.seeds} seeds: floor {floor.us_per_seed_update:.3g} µs per seed-update "
            f"({floor.epochs} epochs of {floor.shape.label()}; compiled in {floor.compile_s:.1f} s)")


def scaling_table(frame: pd.DataFrame) -> pd.DataFrame:
    """µs per seed-update after epoch 1 against the seeds trained together, per backend and execution."""
    wide = frame.pivot_table(index=["scenario", "backend", "execution"], columns="seeds",
                             values="µs after epoch 1", sort=False)
    wide.columns = [f"{n} seeds" for n in wide.columns]
    return wide.reset_index()


def speed_table(frame: pd.DataFrame, figure: str | None = None, floor_notes: list[str] | None = None) -> str:
    """The measurements plus, per scenario × backend, how many times faster `fast` is, and how the
    cost grows with the seeds trained together when several counts were measured."""
    parts = [md(frame, ".3g")]
    if floor_notes:
        parts.append(FLOOR_LEGEND * ("× floor" in frame.columns) + "\n".join(f"- {n}" for n in floor_notes))
    if set(frame["execution"]) >= {"idiomatic", "fast"}:
        for column, what in (("µs per seed-update", "whole job, compilation included"),
                             ("µs after epoch 1", "after the first epoch, as in a long run")):
            wide = frame.pivot_table(index=["scenario", "backend", "seeds"], columns="execution",
                                     values=column, sort=False).reset_index()
            if not {"idiomatic", "fast"} <= set(wide.columns):  # every run of one mode failed
                continue
            idiomatic = wide.dropna(subset=["idiomatic"]).set_index(["scenario", "backend"])["idiomatic"]
            wide = wide.dropna(subset=["fast"]).drop(columns="idiomatic")
            pairs = zip(wide["scenario"], wide["backend"], strict=True)
            wide.insert(3, "idiomatic", [idiomatic.get(pair) for pair in pairs])
            wide["fast speed-up ×"] = wide["idiomatic"] / wide["fast"]
            parts.append(f"Speed-up of `fast` over `idiomatic`, {what} (same epochs, machine; `seeds`: "
                         "trained together by `fast`):\n\n" + md(wide, ".3g"))
    if frame["seeds"].nunique() > 1:
        link = f" ![µs per seed-update against seeds trained together]({figure})" if figure else ""
        parts.append("µs per seed-update after epoch 1 against the seeds trained together (idiomatic trains "
                     "them one after another: its cost per update does not depend on the count, so it is "
                     f"measured once, the reference line).{link}\n\n" + md(scaling_table(frame), ".3g"))
    return "\n\n".join(parts)
