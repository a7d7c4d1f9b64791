"""The report's "Sweep in this folder": which grid point the other sections show."""

from __future__ import annotations

from harness.reporting.section import Section
from harness.reporting.view import ReportView


def body(view: ReportView) -> str:
    if not view.sweeps:
        return ""
    lines = [f"- {s.scenario}: {len(s.points)} grid points over {', '.join(s.knobs)}; shown: "
             f"{s.describe(s.reference)}" + (" (the tutorial's)" if s.reference == s.tutorial
                                             else " (nearest the tutorial's " + s.describe(s.tutorial) + ")")
             for s in view.sweeps.values()]
    return ("This folder holds a grid of runs. So that no table repeats per grid point, every section shows "
            "one grid point per swept scenario (listed here) except **Sweeps**, which shows them all, and "
            "Late collapses and Failures, which name the grid point.\n\n" + "\n".join(lines))


SECTION = Section("Sweep in this folder", body)
