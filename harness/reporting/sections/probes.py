"""The report's "Probes": the tutorial's probes of each trained model (generation from A, a cold
start at K, resets, whether state is carried), summarised across seeds."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from harness.reporting.labels import backend_label, scenario_label
from harness.reporting.markdown import md
from harness.reporting.section import Section
from harness.reporting.view import ReportView

PROBE_MEANING = {
    "generate_from_A": "reset, feed A, feed predictions back 25 steps: % of B…Z generated right",
    "cold_start_K": "reset, feed K, feed back 5 steps: % of seeds whose first letter is B "
    "(the model replays the alphabet from its start, as in the tutorial)",
    "random_patterns": "20 random training patterns predicted one at a time: % right",
    "reset_each_sample": "stateful model scored with a reset before every sample: % right "
    "(compare with the carried-state accuracy)",
    "state_carried": "from a reset, the same input fed twice: % of seeds whose two outputs differ, i.e. "
    "whose framework carries the LSTM state between calls at all",
}


def _probe_values(name: str, result: dict[str, Any]) -> dict[str, Any]:
    """A numeric value to average and a typical output to show, per probe."""
    if name == "cold_start_K":
        return {"value": 100.0 * result["first_is_B"], "example": result["letters"]}
    if name == "generate_from_A":
        return {"value": 100.0 * result["share_correct"], "example": result["generated"]}
    if name == "reset_each_sample":
        return {"value": 100.0 * result["accuracy"], "example": result["predicted"]}
    if name == "state_carried":
        return {"value": 100.0 * result["carried"], "example": f"max change {result['max_change']:.2g}"}
    return {"value": 100.0 * result["share_correct"], "example": ""}


def probe_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per scenario × backend × probe across seeds: mean value and the most common output."""
    rows = []
    for r in records:
        if r["status"] != "ok":
            continue
        for name, result in (r.get("probes") or {}).items():
            rows.append({"scenario": scenario_label(r), "backend": backend_label(r), "probe": name,
                         **_probe_values(name, result)})
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    return frame.groupby(["scenario", "backend", "probe"], sort=False).agg(
        n=("value", "size"), mean=("value", "mean"),
        example=("example", lambda s: Counter(s).most_common(1)[0][0]),
    ).reset_index()


def table(view: ReportView) -> pd.DataFrame:
    return probe_table(view.reference)


def body(view: ReportView) -> str:
    meaning = "\n".join(f"- `{name}`: {text}" for name, text in PROBE_MEANING.items())
    return meaning + "\n\n" + md(table(view).rename(columns={"mean": "mean %"}))


SECTION = Section("Probes", body, tables={"probes": table})
