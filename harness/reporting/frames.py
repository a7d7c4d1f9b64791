"""Records → pandas frames: one row per seed record, or per training pattern of every seed.

Pure functions over stored records; every section's table starts from one of these.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.records import steady_us_per_update
from harness.reporting.labels import Label, backend_label, pair_order, scenario_label, scenario_order

# What names a row of the API's tidy tables: the record's own scenario id, framework and execution,
# then the report's labels (the id plus any changed option), which are the tables' row keys.
ID_COLUMNS = ("scenario", "backend", "execution", "scenario_label", "backend_label")


def to_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per seed record (failed ones too), accuracy in %, sorted by scenario, backend, seed."""
    rows = [
        {
            "scenario": scenario_label(r),
            "backend": backend_label(r),
            "seed": r["seed"],
            "status": r["status"],
            "accuracy": None if r.get("accuracy") is None else 100.0 * r["accuracy"],
            "tutorial": (r.get("spec") or {}).get("tutorial_accuracy"),
            "notebook": (r.get("spec") or {}).get("notebook_accuracy"),
            "epochs": r.get("epochs"),
            "tutorial_epochs": (r.get("spec") or {}).get("epochs"),  # what the tutorial trained for
            "profile": r.get("profile"),
            "train_seconds": r.get("train_seconds"),
            "first_epoch_seconds": r.get("first_epoch_seconds"),
            "updates": r.get("updates"),
            "us_per_update": r.get("us_per_update"),
            "seeds_together": r.get("seeds_together", 1),
            "batch_train_seconds": r.get("batch_train_seconds"),
            "steady_us_per_update": steady_us_per_update(r),
        }
        for r in records
    ]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.sort_values(
        ["scenario", "backend", "seed"], key=lambda c: scenario_order(c) if c.name == "scenario"
        else c.map(pair_order) if c.name == "backend" else c  # keras, torch, then jax
    )


def ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "ok"] if not frame.empty else frame


def pattern_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per training pattern of every ok record, scenarios in registry order.

    The one place the per-letter tables and the heatmap start from: `target`, `predicted`,
    `wrong` (bool) and `error_pct` (0 or 100, so a mean is an error rate in %).
    """
    rows = [
        {"scenario": scenario_label(r), "backend": backend_label(r), "input": p["input"],
         "target": p["expected"], "predicted": p["predicted"], "wrong": p["expected"] != p["predicted"]}
        for r in records if r["status"] == "ok" for p in r.get("patterns") or []
    ]
    frame = pd.DataFrame(rows, columns=["scenario", "backend", "input", "target", "predicted", "wrong"])
    frame["error_pct"] = 100.0 * frame["wrong"].astype(float)
    return frame.iloc[scenario_order(frame["scenario"]).argsort(kind="stable")]


def accuracy_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain accuracy (%) per scenario × backend across seeds: the summary a finished run prints
    (the report's Accuracy section adds CIs and the tutorial's place among the seeds)."""
    good = ok(frame)
    if good.empty:
        return pd.DataFrame()
    table = good.groupby(["scenario", "backend"], sort=False).agg(
        epochs=("epochs", "first"),
        n=("accuracy", "size"),
        mean=("accuracy", "mean"),
        std=("accuracy", "std"),
        min=("accuracy", "min"),
        max=("accuracy", "max"),
        tutorial=("tutorial", "first"),
    )
    failed = frame[frame["status"] != "ok"].groupby(["scenario", "backend"]).size()
    table["failed"] = failed.reindex(table.index).fillna(0).astype(int)
    return table.reset_index()


def timing_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Median timing figures per scenario × backend over ok seeds (see README: How training time is
    measured)."""
    good = ok(frame)
    if good.empty:
        return pd.DataFrame()
    return good.groupby(["scenario", "backend"], sort=False).agg(
        n=("train_seconds", "size"),
        median_train_s=("train_seconds", "median"),
        us_per_update=("us_per_update", "median"),
        first_epoch_s=("first_epoch_seconds", "median"),
        updates_per_seed=("updates", "median"),
        seeds_together=("seeds_together", "max"),
        batch_train_s=("batch_train_seconds", "median"),
        us_after_epoch1=("steady_us_per_update", "median"),
    ).reset_index()


def identified(table: pd.DataFrame, records: list[dict[str, Any]],
               backend_of: Label = backend_label) -> pd.DataFrame:
    """A table keyed like every section's (`scenario`, `backend` hold the report's labels) in the API's
    tidy shape: the labels as `scenario_label`/`backend_label`, and in front the scenario id, framework
    and execution they encode, taken from the `records` the rows came from (so a filter such as
    `backend == "torch"` needs no label parsing)."""
    ids = {(scenario_label(r), backend_of(r)): (r["scenario"], r["backend"], r.get("execution", "idiomatic"))
           for r in records}
    keys = zip(table["scenario"], table["backend"], strict=True)
    front = pd.DataFrame([ids.get(k, (None, None, None)) for k in keys], columns=list(ID_COLUMNS[:3]),
                         index=table.index)
    labelled = table.rename(columns={"scenario": "scenario_label", "backend": "backend_label"})
    return pd.concat([front, labelled], axis=1).reset_index(drop=True)
