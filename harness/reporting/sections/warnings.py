"""The report's "Warnings": lines of results.jsonl the loader skipped (torn, foreign), one per line."""

from __future__ import annotations

from harness.reporting.section import Section
from harness.reporting.view import ReportView


def body(view: ReportView) -> str:
    return "\n".join(f"- {w}" for w in view.warnings)


SECTION = Section("Warnings", body)
