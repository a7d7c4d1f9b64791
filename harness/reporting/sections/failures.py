"""The report's "Failures": every seed that did not train, with its error, grid point named."""

from __future__ import annotations

import pandas as pd

from harness.reporting.markdown import md
from harness.reporting.section import Section
from harness.reporting.view import ReportView


def failures_table(view: ReportView) -> pd.DataFrame:
    rows = [(view.label(r), r["backend"], r["seed"], r.get("error"))
            for r in view.records if r["status"] != "ok"]
    return pd.DataFrame(rows, columns=["scenario", "backend", "seed", "error"])


def body(view: ReportView) -> str:
    table = failures_table(view)
    return "" if table.empty else md(table)


SECTION = Section("Failures", body, tables={"failures": failures_table})
