"""Records → pandas tables. Pure functions; the report only formats what these return."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from harness.records import steady_us_per_update
from scenarios import ScenarioOptions, scenario_ids

DEFAULT_OPTIONS = ScenarioOptions().as_dict()


# How a backend trains: shown with the backend label, not the scenario label.
TRAINING_OPTIONS = ("init", "adam_eps", "gate_activation")


def scenario_label(record: dict[str, Any]) -> str:
    """The scenario id, plus any data option that differs from the default (epochs aside)."""
    options = record.get("options") or {}
    changed = [
        f"{k}={v}" for k, v in sorted(options.items())
        if k != "epochs" and k not in TRAINING_OPTIONS and DEFAULT_OPTIONS.get(k) != v
    ]
    return record["scenario"] + (f"[{','.join(changed)}]" if changed else "")


def backend_label(record: dict[str, Any]) -> str:
    """e.g. `torch`, `keras[fast]`, `torch[fast,init=keras]`: execution and training options."""
    options = record.get("options") or {}
    marks = [] if record.get("execution", "idiomatic") == "idiomatic" else [record["execution"]]
    marks += [] if record.get("device", "cpu") == "cpu" else [record["device"]]
    marks += [f"{k}={options[k]}" for k in TRAINING_OPTIONS
              if k in options and options[k] != DEFAULT_OPTIONS.get(k)]
    return record["backend"] + (f"[{','.join(marks)}]" if marks else "")


def scenario_sort_key(label: str) -> tuple[int, str]:
    """Registry order, option variants right after their base scenario, unknown ids last."""
    ids, base = scenario_ids(), label.split("[")[0]
    return (ids.index(base) if base in ids else len(ids), label)


def scenario_order(labels: pd.Series) -> pd.Series:
    """`scenario_sort_key` for a column, for sorting frames."""
    return labels.map(scenario_sort_key)


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


def to_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
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
        ["scenario", "backend", "seed"], key=lambda c: scenario_order(c) if c.name == "scenario" else c
    )


def ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "ok"] if not frame.empty else frame


def accuracy_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Accuracy (%) per scenario × backend across seeds, beside the tutorial's single run."""
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


def letter_errors(records: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Per scenario: target letters any backend gets wrong, error rate per backend, top mistake."""
    frame = pattern_frame(records)
    out: dict[str, pd.DataFrame] = {}
    for scenario, group in frame.groupby("scenario", sort=False):
        rates = group.pivot_table(index="target", columns="backend", values="error_pct", aggfunc="mean")
        wrong = group[group["wrong"]]
        if wrong.empty:
            continue
        rates = rates.loc[sorted(set(wrong["target"]))]
        top = wrong.groupby("target")["predicted"].agg(lambda s: _top_mistake(Counter(s)))
        table = rates.rename(columns=lambda b: f"{b} error %")
        table["most common wrong prediction"] = top
        out[str(scenario)] = table.reset_index().rename(columns={"target": "target letter"})
    return out


def _top_mistake(counts: Counter) -> str:
    letter, n = counts.most_common(1)[0]
    return f"{letter} ({n}×)"


def probe_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per scenario × backend summarising each probe across seeds."""
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
