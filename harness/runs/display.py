"""How a run shows itself in the terminal: a rich progress bar with ETA, then the folder's summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
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

from harness.reporting.frames import accuracy_summary, timing_table, to_frame
from harness.reporting.labels import backend_label
from harness.reporting.sections.training_time import as_written, idiomatic_table, idiomatic_us
from harness.runs.driver import RunOutcome
from harness.runs.plan import Job, RunRequest, split_summary
from harness.runs.scheduler import ExecutionHooks


def _label(job: Job) -> str:
    if job.samples:
        return f"idiomatic timing sample · {job.backend} · {len(job.samples)} scenarios"
    seeds = f"{job.seeds[0]}" if len(job.seeds) == 1 else f"{job.seeds[0]}–{job.seeds[-1]}"
    return f"{job.scenario.spec.id} · {job.backend} · seeds {seeds}"


class TerminalDisplay:
    """The driver's `Display` for a terminal: progress bar on stderr, then the folder's summary."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, soft_wrap=True)

    def note(self, text: str) -> None:
        self.console.print(text)

    def warn(self, text: str) -> None:
        self.console.print(f"[yellow]warning[/]: {text}")

    @contextmanager
    def running(self, jobs: list[Job], request: RunRequest, out: Path) -> Iterator[ExecutionHooks]:
        if jobs[0].samples:
            backends = ", ".join(job.backend for job in jobs)
            self.console.print(f"[bold]alphabet-bench[/]: timing how {backends} run as written (idiomatic, "
                               "one seed per scenario; --no-idiomatic-timing skips it)")
        else:
            self.console.print(
                f"[bold]alphabet-bench[/]: {len(request.scenarios)} scenarios × {len(request.backends)} "
                f"backends × {len(request.seeds)} seeds → {len(jobs)} jobs on {request.workers} workers "
                f"→ {out}")
        for line in split_summary(jobs):
            self.console.print(f"  split so the workers finish together: {line}")
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        with Progress(*columns, console=self.console, transient=False) as bar:
            total = sum(job.updates_per_seed * len(job.seeds) for job in jobs)
            overall = bar.add_task("updates", total=total)
            tasks: dict[int, Any] = {}

            def on_start(job: Job) -> None:
                tasks[job.job_id] = bar.add_task(_label(job), total=job.updates_per_seed * len(job.seeds))

            def on_progress(job: Job, n: int) -> None:
                bar.advance(tasks[job.job_id], n)
                bar.advance(overall, n)

            def on_record(job: Job, record: dict[str, Any]) -> None:
                if record["status"] != "ok":
                    bar.console.print(f"[red]{record['status']}[/] {_label(job)} seed {record['seed']}: "
                                      f"{record['error']}")

            def on_end(job: Job) -> None:
                task = tasks.pop(job.job_id)
                bar.advance(overall, next(t.remaining for t in bar.tasks if t.id == task) or 0)
                bar.remove_task(task)

            yield ExecutionHooks(on_record, on_progress, on_start, on_end)

    def finished(self, outcome: RunOutcome) -> None:
        if not outcome.trained:
            self.console.print("nothing to run: every requested seed is stored")
        self.console.print(summary_table(outcome.records, outcome.wall_seconds, outcome.timings))
        self.console.print(f"results: {outcome.out / 'results.jsonl'}\nreport:  {outcome.report}")
        if outcome.failed:
            self.console.print(f"[red]{outcome.failed} seed(s) failed[/]; see the report's Failures section")


def summary_table(records: list[dict[str, Any]], wall: float, timings: list[dict[str, Any]]) -> Table:
    """Accuracy per scenario × backend over every seed the folder holds, as the report counts them,
    with µs per update of the rows' own execution and, beside it, as the frameworks are written."""
    frame = to_frame(records)
    table = accuracy_summary(frame)
    if not table.empty:
        timing = timing_table(frame)[["scenario", "backend", "us_per_update"]]
        table = table.merge(timing, on=["scenario", "backend"], how="left")
    as_written_us = idiomatic_us(idiomatic_table(records, timings))
    labels = {backend_label(r): as_written(r) for r in records}
    took = dt.timedelta(seconds=round(wall))
    summary = Table(title=f"accuracy % over every seed in the folder (this call took {took})")
    for column in ("scenario", "backend", "n", "mean", "std", "min", "max", "tutorial",
                   "µs/update (this execution)", "µs/update (idiomatic)"):
        summary.add_column(column)
    for row in table.itertuples():
        written_us = as_written_us.get((row.scenario, labels.get(row.backend)))
        summary.add_row(escape(row.scenario), escape(row.backend), str(row.n), f"{row.mean:.1f}",
                        f"{row.std:.1f}", f"{row.min:.1f}", f"{row.max:.1f}", f"{row.tutorial:.1f}",
                        f"{row.us_per_update:.0f}", "—" if written_us is None else f"{written_us:.0f}")
    return summary
