"""How a run shows itself in the terminal: a rich progress bar with ETA, then the folder's summary."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
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
from harness.runs.samples import sample_note
from harness.runs.scheduler import ExecutionHooks
from harness.terminal import Widest, legend, light_table


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
        self.console.print(text)  # soft-wrapped: a path in a note stays one piece to copy

    def warn(self, text: str) -> None:
        self.console.print(f"[yellow]warning[/]: {text}")

    @contextmanager
    def running(self, jobs: list[Job], request: RunRequest, out: Path) -> Iterator[ExecutionHooks]:
        if jobs[0].samples:
            backends = ", ".join(dict.fromkeys(job.backend for job in jobs))
            self.console.print(f"[bold]alphabet-bench[/]: timing how {backends} run as written (idiomatic, "
                               f"{sample_note(request)}; --no-idiomatic-timing skips it)", soft_wrap=False)
        else:
            self.console.print(
                f"[bold]alphabet-bench[/]: {len(request.scenarios)} scenarios × {len(request.backends)} "
                f"backends × {len(request.seeds)} seeds → {len(jobs)} jobs on {request.workers} workers "
                f"→ {out}")
        for line in split_summary(jobs):
            self.console.print(f"  split so the workers finish together: {line}", soft_wrap=False)
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


# The summary's columns after "scenario / backend": (header, shown only on a wide console).
COLUMNS = (("seeds", False), ("epochs", True), ("mean %", False), ("sd", False), ("min %", True),
           ("max %", True), ("fast\nµs/update", False), ("idiomatic\nµs/update", False))
LEGEND = ("tutorial: the tutorial's accuracy (one run). µs/update, both columns: median per weight "
          "update after epoch 1 (no compilation or warm-up); fast: the harness's compiled engine, per "
          "seed; idiomatic: the frameworks as written; —: not measured")
Cells = dict[str, str]  # header → cell


def _us(value: float | None) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _pct(value: float) -> str:
    return "—" if value != value else f"{value:.1f}"


def summary_blocks(records: list[dict[str, Any]],
                   timings: list[dict[str, Any]]) -> list[tuple[str, Cells, list[tuple[str, Cells]]]]:
    """Per scenario: its line (the tutorial's accuracy under the means) and one line per backend.
    Both µs columns are steady (after epoch 1): the fast jobs' `us_per_update` includes compilation,
    so beside idiomatic steady µs it made fast look slower than idiomatic on short runs."""
    frame = to_frame(records)
    table = accuracy_summary(frame)
    if table.empty:
        return []
    steady = timing_table(frame)[["scenario", "backend", "us_after_epoch1"]]
    table = table.merge(steady, on=["scenario", "backend"], how="left")
    written = idiomatic_us(idiomatic_table(records, timings))
    execution = {backend_label(r): r.get("execution", "idiomatic") for r in records}
    as_written_label = {backend_label(r): as_written(r) for r in records}
    blocks = []
    for scenario, rows in table.groupby("scenario", sort=False):
        tutorial = rows["tutorial"].iloc[0]
        head = {} if tutorial != tutorial else {"seeds": "tutorial", "mean %": _pct(tutorial)}
        lines = []
        for row in rows.itertuples():
            fast = row.us_after_epoch1 if execution.get(row.backend) == "fast" else None
            idiomatic = written.get((row.scenario, as_written_label.get(row.backend, row.backend)))
            lines.append((row.backend, {
                "seeds": str(row.n), "epochs": str(row.epochs), "mean %": _pct(row.mean), "sd": _pct(row.std),
                "min %": _pct(row.min), "max %": _pct(row.max), "fast\nµs/update": _us(fast),
                "idiomatic\nµs/update": _us(idiomatic)}))
        blocks.append((scenario, head, lines))
    return blocks


def summary_table(records: list[dict[str, Any]], wall: float,
                  timings: list[dict[str, Any]]) -> RenderableType:
    """Accuracy per scenario × backend over every seed the folder holds, as the report counts them,
    and steady µs per update of each execution: one block per scenario, mean and sd at 80 columns,
    min, max and epochs too where the console is wide enough (`terminal.Widest`)."""
    blocks = summary_blocks(records, timings)
    title = f"Accuracy % over every seed in the folder; this call took {dt.timedelta(seconds=round(wall))}"
    return Group(Widest(*(_layout(blocks, title, wide) for wide in (True, False))), legend(LEGEND))


def _layout(blocks: list[tuple[str, Cells, list[tuple[str, Cells]]]], title: str, wide: bool) -> Table:
    headers = [header for header, wide_only in COLUMNS if wide or not wide_only]
    table = light_table(title)
    table.add_column("scenario\n  backend", overflow="fold")
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    for scenario, head, lines in blocks:
        table.add_row(f"[bold]{escape(scenario)}[/]", *(f"[dim]{head.get(h, '')}[/]" for h in headers))
        for backend, cells in lines:
            table.add_row("  " + escape(backend), *(cells[h] for h in headers))
    return table
