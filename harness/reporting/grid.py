"""Grids: a folder whose records for one scenario differ by options (e.g. units × learning_rate).

Why: with 12 grid points × 2 backends, every table of the report would grow 24 rows per scenario
and its figures 24 boxes. So a sweep is shown once, in the Sweeps section, and every other section
shows one grid point per scenario: the tutorial's settings, or the grid point nearest them
(`reference_view`). `view.ReportView` applies this once for every section.

What counts as a sweep: for a scenario, `units`, `learning_rate`, `epochs` or `data_seed` taking two
or more values (no ablation varies those), or records written by `harness sweep`, whose other varied
options (init, adam_eps, gate_activation, encoding) are then grid knobs too. Without a sweep
command, those training options stay what they are in ablation folders: rows of their own.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import Any

from harness.reporting.labels import DEFAULT_OPTIONS, Label, scenario_label, scenario_sort_key

KNOBS = ("units", "learning_rate", "epochs", "init", "gate_activation", "adam_eps", "encoding", "data_seed")
SWEEP_ONLY = ("units", "learning_rate", "epochs", "data_seed")  # knobs no ablation varies
FROM_SPEC = ("units", "learning_rate", "epochs")  # unset: the scenario's own (the tutorial's) value
DEFAULTS = {"init": "native", "gate_activation": "sigmoid", "adam_eps": "native", "encoding": "zero_based",
            "data_seed": DEFAULT_OPTIONS["data_seed"]}


@dataclass(frozen=True)
class Sweep:
    """One scenario's grid: the knobs that vary, every grid point (sorted) and the reference point."""

    scenario: str
    knobs: tuple[str, ...]
    points: tuple[tuple[Any, ...], ...]
    reference: tuple[Any, ...]
    tutorial: tuple[Any, ...]

    def describe(self, point: tuple[Any, ...]) -> str:
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in zip(self.knobs, point, strict=True))


def fmt_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def knob_value(record: dict[str, Any], knob: str) -> Any:
    """The value a record effectively trained with: an unset option is the tutorial's."""
    options, spec = record.get("options") or {}, record.get("spec") or {}
    if knob == "epochs":
        return record.get("epochs")
    if knob in ("units", "learning_rate"):
        value = options.get(knob)
        return spec.get(knob) if value is None else value
    value = options.get(knob)
    return DEFAULTS[knob] if value is None else value


def tutorial_value(record: dict[str, Any], knob: str) -> Any:
    spec = record.get("spec") or {}
    return spec.get(knob) if knob in FROM_SPEC else DEFAULTS[knob]


def from_sweep_command(record: dict[str, Any]) -> bool:
    """Written by `python -m harness sweep …`."""
    try:
        words = shlex.split(record.get("command") or "")
    except ValueError:
        words = (record.get("command") or "").split()
    return "harness" in words and words[words.index("harness") + 1:][:1] == ["sweep"]


def _sort_value(value: Any) -> tuple:
    """Numbers in numeric order (8 before 16), then strings; None first."""
    if value is None:
        return (0, 0.0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, float(value), "")
    return (2, 0.0, str(value))


def _distance(point: tuple[Any, ...], tutorial: tuple[Any, ...]) -> tuple:
    """How far a grid point is from the tutorial's settings: knobs that differ, then log-distance."""
    differ = sum(p != t for p, t in zip(point, tutorial, strict=True))
    spread = sum(abs(math.log10(p / t)) for p, t in zip(point, tutorial, strict=True)
                 if isinstance(p, (int, float)) and isinstance(t, (int, float)) and p > 0 and t > 0)
    return (differ, spread, tuple(_sort_value(v) for v in point))


def find_sweeps(records: list[dict[str, Any]]) -> dict[str, Sweep]:
    """Scenario id → its sweep, for the scenarios whose ok records form a grid."""
    out = {}
    by_scenario: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r.get("status") == "ok":
            by_scenario.setdefault(r["scenario"], []).append(r)
    for scenario, mine in by_scenario.items():
        varying = [k for k in KNOBS if len({repr(knob_value(r, k)) for r in mine}) > 1]
        commanded = any(from_sweep_command(r) for r in mine)
        knobs = tuple(k for k in varying if commanded or k in SWEEP_ONLY)
        if not knobs:
            continue
        points = {tuple(knob_value(r, k) for k in knobs) for r in mine}
        tutorial = tuple(tutorial_value(mine[0], k) for k in knobs)
        ordered = tuple(sorted(points, key=lambda p: tuple(_sort_value(v) for v in p)))
        reference = min(ordered, key=lambda p: _distance(p, tutorial))
        out[scenario] = Sweep(scenario, knobs, ordered, reference, tutorial)
    return dict(sorted(out.items(), key=lambda kv: scenario_sort_key(kv[0])))


def point_of(record: dict[str, Any], sweep: Sweep) -> tuple[Any, ...]:
    return tuple(knob_value(record, k) for k in sweep.knobs)


def without_knobs(record: dict[str, Any], knobs: tuple[str, ...]) -> dict[str, Any]:
    """A copy whose swept options are unset, so labels no longer carry them."""
    options = {k: v for k, v in (record.get("options") or {}).items() if k not in knobs or k == "epochs"}
    return {**record, "options": options}


def _dedupe(records: list[dict[str, Any]], sweeps: dict[str, Sweep]) -> list[dict[str, Any]]:
    """One record per (scenario, grid point, other options, backend, execution, seed): the last
    written, so `run` and `run --units 32` (the same experiment) do not count a seed twice."""
    latest: dict[tuple, dict[str, Any]] = {}
    for r in records:
        sweep = sweeps.get(r["scenario"])
        if sweep is None:
            latest[("plain", id(r))] = r
            continue
        rest = without_knobs(r, sweep.knobs + SWEEP_ONLY)["options"]
        rest = sorted((k, repr(v)) for k, v in rest.items() if k != "epochs")
        latest[(r["scenario"], point_of(r, sweep), tuple(rest), r["backend"], r.get("execution"),
                r.get("device"), r["seed"])] = r
    return list(latest.values())


def grid_records(records: list[dict[str, Any]], sweeps: dict[str, Sweep]) -> list[dict[str, Any]]:
    """Every record, deduplicated per grid point (no filtering)."""
    return _dedupe(records, sweeps)


def reference_view(records: list[dict[str, Any]], sweeps: dict[str, Sweep]) -> list[dict[str, Any]]:
    """What the report's other sections show: per swept scenario only its reference grid point, with
    the knobs at the tutorial's value unset (plain labels); other scenarios as they are."""
    out = []
    for r in _dedupe(records, sweeps):
        sweep = sweeps.get(r["scenario"])
        if sweep is None:
            out.append(r)
        elif point_of(r, sweep) == sweep.reference:
            at_tutorial = tuple(k for k, v, t in zip(sweep.knobs, sweep.reference, sweep.tutorial,
                                                     strict=True) if v == t)
            out.append(without_knobs(r, at_tutorial))
    return out


def reference_timings(timings: list[dict[str, Any]], sweeps: dict[str, Sweep]) -> list[dict[str, Any]]:
    """The idiomatic timing samples of the reference grid points (a sample's own epochs are the sampler's)."""
    out = []
    for t in timings:
        sweep = sweeps.get(t["scenario"])
        if sweep is None:
            out.append(t)
            continue
        mine = [(k, v) for k, v in zip(sweep.knobs, sweep.reference, strict=True) if k != "epochs"]
        if all(knob_value(t, k) == v for k, v in mine):
            out.append(without_knobs(t, tuple(k for k, _ in mine)))
    return out


def grid_label(sweeps: dict[str, Sweep]) -> Label:
    """A scenario label that names the grid point, e.g. `one_char[units=8, learning_rate=0.01]`."""
    def label(record: dict[str, Any]) -> str:
        sweep = sweeps.get(record["scenario"])
        if sweep is None:
            return scenario_label(record)
        base = scenario_label(without_knobs(record, sweep.knobs))
        point = sweep.describe(point_of(record, sweep))
        return f"{base[:-1]}, {point}]" if base.endswith("]") else f"{base}[{point}]"
    return label
