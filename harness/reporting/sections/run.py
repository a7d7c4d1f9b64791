"""The report's "Run": what ran, where and with which knobs, so a table can be traced to its run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from harness.reporting.labels import scenario_sort_key
from harness.reporting.markdown import md
from harness.reporting.section import Section
from harness.reporting.view import ReportView


def wall_time(records: list[dict[str, Any]]) -> str:
    """Per run: last record written minus the run's start (both stored in every record). A study's
    parts carried the study's start as `run_started` before each part had its own; the run id's
    stamp, taken when the run itself began, is then the later and truer start."""
    spans = []
    for run_id in sorted({r["run_id"] for r in records}):
        mine = [r for r in records if r["run_id"] == run_id]
        start = run_start(run_id, mine)
        if start is not None:
            span = pd.Timestamp(max(r["timestamp"] for r in mine)) - start
            spans.append(f"{run_id}: {dt.timedelta(seconds=round(span.total_seconds()))}")
    return "; ".join(spans) or "unknown"


def run_start(run_id: str, mine: list[dict[str, Any]]) -> pd.Timestamp | None:
    """When run `run_id` began: its records' `run_started`, or the run id's stamp where that is later."""
    starts = [pd.Timestamp(r["run_started"]) for r in mine if r.get("run_started")]
    return max([min(starts), *_id_stamp(run_id, starts[0].tzinfo)]) if starts else None


def _id_stamp(run_id: str, tz: Any) -> list[pd.Timestamp]:
    """The time a run id was made (`new_run_id`: `20261128T213900Z-4881f0`), if it has one."""
    try:
        stamp = pd.Timestamp(dt.datetime.strptime(run_id.split("-")[0], "%Y%m%dT%H%M%SZ"), tz="UTC")
    except ValueError:
        return []
    return [stamp.tz_convert(tz)] if tz is not None else [stamp.tz_localize(None)]


def machines(records: list[dict[str, Any]]) -> list[str]:
    """The machines the records were trained on, as `CPU, N cores`, in first-seen order."""
    seen = [f"{r['machine'].get('cpu', '?')}, {r['machine'].get('cores', '?')} cores" for r in records]
    return list(dict.fromkeys(seen))


def commits(records: list[dict[str, Any]]) -> list[str]:
    """The git commits of the code that trained the records, in first-seen order."""
    return list(dict.fromkeys(r.get("git_commit") or "unknown" for r in records))


def provenance(records: list[dict[str, Any]]) -> str:
    """The report's first line: which code and which machine its numbers came from."""
    code = ", ".join(f"`{c[:12]}{'-dirty' if c.endswith('-dirty') else ''}`" for c in commits(records))
    plural = "s" if len(commits(records)) > 1 else ""
    return f"_Records trained by commit{plural} {code} on {'; '.join(machines(records))}._"


def _started(records: list[dict[str, Any]]) -> str:
    """The first run's start (`run_start`; a run that stored none: its first record's time)."""
    runs = {r["run_id"] for r in records}
    starts = [run_start(run_id, mine) or pd.Timestamp(min(r["timestamp"] for r in mine))
              for run_id in runs for mine in [[r for r in records if r["run_id"] == run_id]]]
    return min(starts).isoformat()


def run_table(view: ReportView) -> pd.DataFrame:
    records = view.records
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
        ("machine", "; ".join(machines(records))),
        ("git commit", ", ".join(commits(records))),
        ("started", _started(records)),
        ("wall time", wall_time(records)),
    ]
    return pd.DataFrame(rows, columns=["", "value"])


MAX_LISTED_VALUES = 3  # a knob with more values across jobs is summarised, not listed


def knobs_table(view: ReportView) -> pd.DataFrame:
    """Runtime knobs (threads, determinism) per backend. A knob a backend set per job (torch fast:
    the path each job took) lists each value with its scenarios, or says it varies by job."""
    seen: dict[str, dict[str, dict[str, set[str]]]] = {}  # backend -> knob -> value -> scenarios
    for r in view.records:
        for key, value in (r.get("runtime") or {}).items():
            values = seen.setdefault(r["backend"], {}).setdefault(key, {})
            values.setdefault(str(value), set()).add(r["scenario"])
    by_backend = {backend: {key: _knob_cell(values) for key, values in knobs.items()}
                  for backend, knobs in seen.items()}
    return pd.DataFrame(by_backend).fillna("—").rename_axis("knob").reset_index()


def _knob_cell(values: dict[str, set[str]]) -> str:
    if len(values) == 1:
        return next(iter(values))
    if len(values) > MAX_LISTED_VALUES:
        return f"varies by job ({len(values)} values; each record's runtime has its own)"
    return "; ".join(f"{value} ({', '.join(sorted(ids, key=scenario_sort_key))})"
                     for value, ids in sorted(values.items(), key=lambda kv: (-len(kv[1]), kv[0])))


def body(view: ReportView) -> str:
    if not view.records:
        return ""
    return (md(run_table(view)) + "\n\nRuntime knobs per backend (threads, determinism):\n\n"
            + md(knobs_table(view)))


SECTION = Section("Run", body, tables={"run": run_table, "knobs": knobs_table})
