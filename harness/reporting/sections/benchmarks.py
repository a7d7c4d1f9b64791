"""The report's "pytest-benchmark timings": a pytest-benchmark JSON file (`report --benchmark-json`)
as a timing table, shown when the report is given one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness.reporting.markdown import md
from harness.reporting.section import Section
from harness.reporting.view import ReportView


class BenchmarkJsonError(ValueError):
    """The file is not a pytest-benchmark JSON report."""


def load_benchmarks(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BenchmarkJsonError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchmarkJsonError(f"{path} is not JSON ({exc})") from None
    benches = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benches, list) or not all(isinstance(b, dict) and "stats" in b for b in benches):
        raise BenchmarkJsonError(f"{path} is not a pytest-benchmark JSON file (no 'benchmarks' with 'stats')")
    return data


def benchmark_table(data: dict[str, Any]) -> pd.DataFrame:
    rows = []
    for bench in data["benchmarks"]:
        extra, st = bench.get("extra_info") or {}, bench["stats"]
        updates = extra.get("updates")
        rows.append({
            "group": bench.get("group"), "backend": extra.get("backend"),
            "execution": extra.get("execution"), "epochs": extra.get("epochs"), "updates": updates,
            "mean s": st.get("mean"), "stddev s": st.get("stddev"), "min s": st.get("min"),
            "rounds": st.get("rounds"),
            "µs/update (mean)": 1e6 * st["mean"] / updates if updates and st.get("mean") else None,
            "accuracy %": 100.0 * extra["accuracy"] if extra.get("accuracy") is not None else None,
        })
    return pd.DataFrame(rows)


def body(view: ReportView) -> str:
    if view.benchmark_json is None:
        return ""
    path = view.benchmark_json
    data = load_benchmarks(path)
    info = data.get("machine_info", {})
    extra = info.get("alphabet_bench", {})
    header = (f"From `{Path(path).name}` ({data.get('datetime', '?')}, "
              f"{info.get('cpu', {}).get('brand_raw', info.get('processor', '?'))}, "
              f"work size {extra.get('work_size', '?')}). Each round trains one seed from scratch "
              "(model construction + training loop).\n\n")
    table = benchmark_table(data)
    if not table.empty:
        table["µs/update (mean)"] = table["µs/update (mean)"].round(0).astype("Int64")
    return header + md(table, ".4g")


SECTION = Section("pytest-benchmark timings", body)
