"""What a seed was like during training: its checkpoints and its accuracy curve (anytime evaluation).

Shared by the Budget section (accuracy and verdicts at each checkpoint epoch) and the Time to learn
section (when a seed learns, whether it keeps it): a seed right at epoch 250 and wrong at 500
collapsed late, whichever section lists it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.reporting.labels import Label, backend_label, scenario_label, scenario_sort_key
from harness.reporting.markdown import md

COLLAPSE_POINTS = 10.0  # best checkpoint/curve accuracy minus final accuracy that counts as a collapse


def scored(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r.get("status") == "ok" and r.get("accuracy") is not None]


def has_checkpoints(records: list[dict[str, Any]]) -> bool:
    return any(r.get("checkpoints") for r in scored(records))


def has_anytime(records: list[dict[str, Any]]) -> bool:
    """Whether the Budget section has anything to show: checkpoints or accuracy curves."""
    return any(r.get("checkpoints") or (r.get("accuracy_curve") or {}).get("epochs")
               for r in scored(records))


def seed_points(record: dict[str, Any], curve: bool = True) -> dict[int, float]:
    """epoch → accuracy (0–1) of one seed: its checkpoints, and its accuracy curve when `curve`."""
    points = {int(c["epoch"]): float(c["accuracy"]) for c in record.get("checkpoints") or []}
    data = record.get("accuracy_curve") or {}
    if curve:
        points.update(zip(map(int, data.get("epochs") or []), map(float, data.get("accuracy") or []),
                          strict=False))
    return dict(sorted(points.items()))


def as_of(record: dict[str, Any], epoch: int) -> dict[str, Any] | None:
    """The record as if training had stopped at `epoch`, from its checkpoint there (None if it has none,
    or one whose predictions do not match its patterns)."""
    checkpoint = next((c for c in record.get("checkpoints") or [] if c["epoch"] == epoch), None)
    if checkpoint is None or record.get("status") != "ok":
        return None
    predicted, patterns = checkpoint.get("predicted") or "", record.get("patterns") or []
    if len(predicted) != len(patterns):
        return None
    return {**record, "accuracy": checkpoint["accuracy"], "epochs": epoch,
            "probes": checkpoint.get("probes") or {},
            "patterns": [{**p, "predicted": letter} for p, letter in zip(patterns, predicted, strict=True)],
            "checkpoints": [], "accuracy_curve": None}


def checkpoint_epochs(records: list[dict[str, Any]]) -> list[int]:
    return sorted({int(c["epoch"]) for r in scored(records) for c in r.get("checkpoints") or []})


def late_collapses(records: list[dict[str, Any]], label: Label = scenario_label) -> pd.DataFrame:
    """Seeds whose final accuracy is at least COLLAPSE_POINTS below their best evaluated accuracy."""
    rows = []
    for r in scored(records):
        points = seed_points(r)
        if not points:
            continue
        best_epoch = max(points, key=lambda e: (points[e], -e))  # the earliest epoch of the best value
        drop = 100.0 * (points[best_epoch] - r["accuracy"])
        if drop >= COLLAPSE_POINTS - 1e-9:
            rows.append({"backend": backend_label(r), "scenario": label(r), "seed": r["seed"],
                         "best %": 100.0 * points[best_epoch], "at epoch": best_epoch,
                         "final %": 100.0 * r["accuracy"], "final epoch": r.get("epochs"),
                         "drop (points)": drop})
    columns = ["backend", "scenario", "seed", "best %", "at epoch", "final %", "final epoch", "drop (points)"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["backend", "scenario", "seed"], key=lambda c: c.map(scenario_sort_key)
                             if c.name == "scenario" else c).reset_index(drop=True)


def collapse_text(records: list[dict[str, Any]], label: Label) -> str:
    table = late_collapses(records, label)
    evaluated: dict[str, int] = {}
    for r in scored(records):
        if seed_points(r):
            evaluated[backend_label(r)] = evaluated.get(backend_label(r), 0) + 1
    counts = "; ".join(f"{b}: {(table['backend'] == b).sum()} of {n} seeds"
                       for b, n in sorted(evaluated.items()))
    text = (f"### Late collapses\n\nSeeds whose final accuracy is at least {COLLAPSE_POINTS:g} points below "
            f"the best accuracy they had at any checkpoint or curve point. {counts}.")
    return text + "\n\n" + (md(table, ".1f") if not table.empty else "_none_")
