"""Drive a run in the terminal: rich progress with ETA, records stored as they arrive, summary."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from harness import aggregate
from harness.executor import ExecutionHooks, execute_request
from harness.plan import Job, RunRequest
from harness.report import write_report
from harness.store import append_record, results_path


def _label(job: Job) -> str:
    seeds = f"{job.seeds[0]}" if len(job.seeds) == 1 else f"{job.seeds[0]}–{job.seeds[-1]}"
    return f"{job.scenario.spec.id} · {job.backend} · seeds {seeds}"


def run_with_progress(jobs: list[Job], request: RunRequest, out: Path, timeout: float | None = None) -> int:
    console = Console(stderr=True, soft_wrap=True)
    out.mkdir(parents=True, exist_ok=True)
    store = results_path(out)
    records: list[dict[str, Any]] = []
    total_updates = sum(job.updates_per_seed * len(job.seeds) for job in jobs)
    started = time.perf_counter()
    console.print(
        f"[bold]alphabet-bench[/]: {len(request.scenarios)} scenarios × {len(request.backends)} backends "
        f"× {len(request.seeds)} seeds → {len(jobs)} jobs on {request.workers} workers → {out}"
    )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        overall = bar.add_task("updates", total=total_updates)
        tasks: dict[int, int] = {}

        def on_start(job: Job) -> None:
            tasks[job.job_id] = bar.add_task(_label(job), total=job.updates_per_seed * len(job.seeds))

        def on_progress(job: Job, n: int) -> None:
            bar.advance(tasks[job.job_id], n)
            bar.advance(overall, n)

        def on_record(job: Job, record: dict[str, Any]) -> None:
            append_record(store, record)
            records.append(record)
            if record["status"] != "ok":
                bar.console.print(f"[red]failed[/] {_label(job)} seed {record['seed']}: {record['error']}")

        def on_end(job: Job) -> None:
            task = tasks.pop(job.job_id)
            remaining = next(t.remaining for t in bar.tasks if t.id == task) or 0
            bar.advance(overall, remaining)
            bar.remove_task(task)

        logs = out / "logs"
        logs.mkdir(exist_ok=True)
        hooks = ExecutionHooks(on_record, on_progress, on_start, on_end)
        execute_request(jobs, request, hooks, log_dir=logs, timeout=timeout)
    wall = time.perf_counter() - started
    path, _ = write_report(out)
    _summary(console, records, wall)
    console.print(f"results: {store}\nreport:  {path}")
    failed = sum(r["status"] != "ok" for r in records)
    if failed:
        console.print(f"[red]{failed} seed(s) failed[/]; see the report's Failures section")
    return 1 if failed else 0


def _summary(console: Console, records: list[dict[str, Any]], wall: float) -> None:
    frame = aggregate.to_frame(records)
    table = aggregate.accuracy_table(frame)
    if not table.empty:
        timing = aggregate.timing_table(frame)[["scenario", "backend", "us_per_update"]]
        table = table.merge(timing, on=["scenario", "backend"], how="left")
    summary = Table(title=f"accuracy % (wall time {dt.timedelta(seconds=round(wall))})")
    for column in ("scenario", "backend", "n", "mean", "std", "min", "max", "tutorial", "µs/update"):
        summary.add_column(column)
    for row in table.itertuples():
        summary.add_row(escape(row.scenario), escape(row.backend), str(row.n), f"{row.mean:.1f}",
                        f"{row.std:.1f}",
                        f"{row.min:.1f}", f"{row.max:.1f}", f"{row.tutorial:.1f}",
                        f"{row.us_per_update:.0f}")
    console.print(summary)
