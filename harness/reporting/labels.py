"""How a record is named in every table and figure: its scenario label and its backend label.

One place, so a row of the accuracy table, a box of a figure and a line of a verdict always name
the same experiment the same way, and sort it the same way (registry order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from scenarios import ScenarioOptions, scenario_ids

DEFAULT_OPTIONS = ScenarioOptions().as_dict()
# How a backend trains: shown with the backend label, not the scenario label.
TRAINING_OPTIONS = ("init", "adam_eps", "gate_activation")

Label = Callable[[dict[str, Any]], str]  # record → the label a table shows for it


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
