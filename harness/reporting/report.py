"""Render `report.md` and its figures from stored records alone: no training, no framework imports.

The report is its sections in order, each rendered over one `ReportView`; a section with nothing
to show is left out. Adding a section is one module in `sections/` and one line in `ORDER`.
"""

from __future__ import annotations

from pathlib import Path

from harness.reporting.plotting import write_plots
from harness.reporting.section import Section
from harness.reporting.sections import (
    accuracy,
    benchmarks,
    budget,
    comparison,
    failures,
    findings,
    gap,
    learning_curves,
    letters,
    probes,
    relapses,
    run,
    sweep_note,
    sweeps,
    time_to_learn,
    training_time,
    warnings,
)
from harness.reporting.view import ReportView

REPORT_FILE = "report.md"
TITLE = "# alphabet-bench report"

ORDER: tuple[Section, ...] = (
    run.SECTION,
    sweep_note.SECTION,
    accuracy.SECTION,
    comparison.SECTION,
    gap.SECTION,
    relapses.SECTION,
    findings.SECTION,
    budget.SECTION,
    time_to_learn.SECTION,
    sweeps.SECTION,
    letters.SECTION,
    training_time.SECTION,
    learning_curves.SECTION,
    probes.SECTION,
    failures.SECTION,
    benchmarks.SECTION,
    warnings.SECTION,
)
WITHOUT_RECORDS = (benchmarks.SECTION, warnings.SECTION)  # what a folder with no records still shows


def render(view: ReportView) -> str:
    """The report's markdown: every section of `ORDER` that has something to show."""
    if not view.records:
        parts = [TITLE, "_no records_", *(s.render(view) for s in WITHOUT_RECORDS)]
    else:
        parts = [TITLE, run.provenance(view.records), *(s.render(view) for s in ORDER)]
    return "\n\n".join(p for p in parts if p) + "\n"


def write_report(out_dir: Path, benchmark_json: Path | None = None,
                 to: Path | None = None) -> tuple[Path, list[str]]:
    """Render report.md and its figures from DIR's records (and a pytest-benchmark JSON, if given)
    into `to` (default: DIR itself; created if missing, so a committed folder can be re-rendered
    elsewhere); the report links the figures that were written. Returns the report's path and the
    load warnings. Reading happens before any writing, so a bad input leaves both folders untouched."""
    view = ReportView.load(Path(out_dir), benchmark_json)
    if benchmark_json is not None:
        benchmarks.load_benchmarks(benchmark_json)  # a bad file raises here, before anything is written
    target = Path(out_dir if to is None else to)
    target.mkdir(parents=True, exist_ok=True)
    written = write_plots(view, target, (plot for section in ORDER for plot in section.plots))
    text = render(view.with_drawn(written))
    path = target / REPORT_FILE
    path.write_text(text, encoding="utf-8")
    return path, view.warnings
