"""Render `report.md` from stored records alone: no training, no framework imports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from harness.reporting import aggregate
from harness.reporting import sections as sections_
from harness.reporting.ablation import ablation_section
from harness.reporting.anytime_figures import ANYTIME_PLOTTERS, SWEEP_PLOTTERS
from harness.reporting.bench_json import benchmark_section
from harness.reporting.budget import budget_section
from harness.reporting.figures import PLOTTERS, write_figures
from harness.reporting.learning import learning_section
from harness.reporting.markdown import md
from harness.reporting.sweep_section import sweeps_section
from harness.reporting.sweeps import (
    find_sweeps,
    grid_label,
    grid_records,
    reference_timings,
    reference_view,
    sweep_note,
)
from harness.reporting.timing import timing_section
from harness.store import LoadedRecords, latest_per_key, latest_timings, load_records, results_path

REPORT_FILE = "report.md"
Label = Callable[[dict[str, Any]], str]


def _wall_time(records: list[dict[str, Any]]) -> str:
    """Per run: last record written minus the run's start (both stored in every record)."""
    spans = []
    for run_id in sorted({r["run_id"] for r in records}):
        mine = [r for r in records if r["run_id"] == run_id]
        starts = [r["run_started"] for r in mine if r.get("run_started")]
        if starts:
            span = pd.Timestamp(max(r["timestamp"] for r in mine)) - pd.Timestamp(min(starts))
            spans.append(f"{run_id}: {dt.timedelta(seconds=round(span.total_seconds()))}")
    return "; ".join(spans) or "unknown"


def header_section(records: list[dict[str, Any]]) -> str:
    first = records[0]
    versions: dict[str, str] = {}
    for r in records:
        versions.update({k: v for k, v in (r.get("framework_versions") or {}).items() if v})
    rows = [
        ("command", "; ".join(sorted({f"`{r['command']}`" for r in records if r.get("command")})) or "—"),
        ("run id(s)", ", ".join(sorted({r["run_id"] for r in records}))),
        ("profile", ", ".join(sorted({str(r.get("profile")) for r in records}))),
        ("seeds", ", ".join(str(s) for s in sorted({r["seed"] for r in records}))),
        ("data seed", ", ".join(sorted({str((r.get("options") or {}).get("data_seed")) for r in records}))),
        ("frameworks", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))),
        ("python", first["machine"].get("python", "?")),
        ("machine", f"{first['machine'].get('cpu', '?')}, {first['machine'].get('cores', '?')} cores"),
        ("git commit", first.get("git_commit") or "unknown"),
        ("started", min((r.get("run_started") or r["timestamp"]) for r in records)),
        ("wall time", _wall_time(records)),
    ]
    by_backend: dict[str, dict[str, str]] = {}
    for r in records:
        for key, value in (r.get("runtime") or {}).items():
            by_backend.setdefault(r["backend"], {})[key] = str(value)
    knobs = pd.DataFrame(by_backend).fillna("—").rename_axis("knob").reset_index()
    return ("## Run\n\n" + md(pd.DataFrame(rows, columns=["", "value"]))
            + "\n\nRuntime knobs per backend (threads, determinism):\n\n" + md(knobs))


def failures_section(records: list[dict[str, Any]], label: Label = aggregate.scenario_label) -> str:
    failed = [r for r in records if r["status"] != "ok"]
    if not failed:
        return ""
    rows = [(label(r), r["backend"], r["seed"], r.get("error")) for r in failed]
    table = pd.DataFrame(rows, columns=["scenario", "backend", "seed", "error"])
    return "## Failures\n\n" + md(table)


def render(records: list[dict[str, Any]], warnings: list[str] | None = None,
           extra_sections: list[str] | None = None, timings: list[dict[str, Any]] | None = None) -> str:
    """The report of seed records, with the idiomatic timing samples in its Training time section.

    A folder holding a sweep shows every grid point in Sweeps (and Failures, late collapses) and one grid
    point per swept scenario everywhere else (`sweeps.reference_view`): otherwise every table would
    repeat per grid point.
    """
    if not records:
        return "\n\n".join(["# alphabet-bench report", "_no records_", *(extra_sections or [])]) + "\n"
    sweeps = find_sweeps(records)
    view, label = reference_view(records, sweeps), grid_label(sweeps)
    frame = aggregate.to_frame(view)
    sections = [
        "# alphabet-bench report",
        header_section(records),
        sweep_note(sweeps),
        sections_.accuracy_section(frame) + "\n\n![accuracy per scenario](accuracy.png)",
        sections_.comparison_section(frame),
        ablation_section(view),
        sections_.findings_section(view),
        budget_section(view, collapses=(grid_records(records, sweeps), label)),
        learning_section(view),
        sweeps_section(records),
        sections_.letters_section(view),
        timing_section(frame, view, reference_timings(timings or [], sweeps)),
        "## Learning curves\n\n![mean training loss per epoch](learning_curves.png)",
        sections_.probes_section(view),
        failures_section(records, label),
        *(extra_sections or []),
    ]
    if warnings:
        sections.append("## Warnings\n\n" + "\n".join(f"- {w}" for w in warnings))
    return "\n\n".join(s for s in sections if s) + "\n"


def write_report(out_dir: Path, benchmark_json: Path | None = None) -> tuple[Path, list[str]]:
    """Render DIR/report.md from DIR/results.jsonl (and a pytest-benchmark JSON, if given).

    Returns the report's path and the load warnings. Reading happens before any writing,
    so a bad input leaves the folder untouched.
    """
    results = results_path(out_dir)
    loaded = load_records(results) if results.is_file() else LoadedRecords()
    extra = [benchmark_section(benchmark_json)] if benchmark_json is not None else []
    text = render(latest_per_key(loaded.records), loaded.warnings, extra, latest_timings(loaded.timings))
    records = latest_per_key(loaded.records)
    write_figures(reference_view(records, find_sweeps(records)), Path(out_dir), PLOTTERS + ANYTIME_PLOTTERS)
    write_figures(records, Path(out_dir), SWEEP_PLOTTERS)
    path = Path(out_dir) / REPORT_FILE
    path.write_text(text, encoding="utf-8")
    return path, loaded.warnings
