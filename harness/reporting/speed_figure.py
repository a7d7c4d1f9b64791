"""The speed figure's data and drawing: steady µs per update, as written beside the harness's engine.

One speed truth: the figure draws what the "Training time" tables lead with, never the whole-job
figure that includes compilation (which made a 0.65–1.3× ratio look like "PyTorch 2–3× faster").
Idiomatic bars come from the idiomatic seeds' steady µs where a scenario × backend has them, else
from its timing sample's blocks (as the idiomatic table); `fast` bars are the seeds' µs after epoch 1.

Bars of one panel that were trained in different runs ran at other times under other load: each
gets a mark naming its run (†2, †3 …), and the figure and the section say they are not comparable.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from harness.records import steady_us_per_update
from harness.reporting.labels import backend_label, scenario_label, scenario_sort_key
from harness.reporting.plotting import PLAIN, WIDTH_IN, colours

IDIOMATIC = "idiomatic (as written)"
FAST = "fast (harness engine), after epoch 1"
EXECUTIONS = (IDIOMATIC, FAST)
HATCH = "///"
SLOT_IN = 0.3  # inches per bar: labels stay legible with many backends
LABEL_IN = 1.0  # room right of the longest bar for its value and mark
COLUMNS = ["scenario", "backend", "written", "execution", "run", "started", "us"]


def as_written(record: dict[str, Any]) -> str:
    """The record's backend label without its execution mark: one colour per model across panels."""
    return backend_label({**record, "execution": "idiomatic"})


def samples(records: list[dict[str, Any]], timings: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per steady µs-per-update sample: idiomatic seeds (else timing-sample blocks), fast seeds."""
    rows = []
    for r in records:
        steady = steady_us_per_update(r)
        if r.get("status") != "ok" or steady is None or steady <= 0:  # a log axis draws only > 0
            continue
        execution = IDIOMATIC if r.get("execution", "idiomatic") == "idiomatic" else FAST
        rows.append((scenario_label(r), backend_label(r), as_written(r), execution, r.get("run_id") or "",
                     r.get("run_started") or "", steady))
    seeded = {(s, w) for s, _, w, e, *_ in rows if e == IDIOMATIC}
    for t in timings:
        key = (scenario_label(t), as_written(t))
        if t.get("status") == "ok" and key not in seeded:
            run = (t.get("run_id") or "", t.get("run_started") or "")
            rows += [(key[0], key[1], key[1], IDIOMATIC, *run, us)
                     for us in (t.get("timing_sample") or {}).get("blocks_us_per_update", []) if us > 0]
    return pd.DataFrame(rows, columns=COLUMNS)


def colour_map(table: pd.DataFrame) -> dict[str, str]:
    """As-written label → colour, in `plotting.colours` order (Keras blue, PyTorch orange, variants
    spare colours), so keras and keras[fast] share a colour and the hatch tells them apart."""
    return colours([{"backend": w, "options": {}, "execution": "idiomatic"} for w in set(table["written"])])


def run_numbers(frame: pd.DataFrame) -> dict[str, int]:
    """Run id → 1, 2, … in the order the runs started (their ids break ties)."""
    firsts = frame.groupby("run")["started"].min().reset_index()
    order = sorted(zip(firsts["started"], firsts["run"], strict=True))
    return {run: i for i, (_, run) in enumerate(order, start=1)}


def bars(records: list[dict[str, Any]], timings: list[dict[str, Any]]) -> pd.DataFrame:
    """Per execution × scenario × backend: the median steady µs, the runs it comes from, and a mark
    (`†2`) where those runs are not its panel's main run (the run behind most of the panel's bars)."""
    frame = samples(records, timings)
    if frame.empty:
        return pd.DataFrame(columns=[*COLUMNS[:4], "us", "runs", "mark"])
    number = run_numbers(frame)
    table = frame.groupby(["execution", "scenario", "backend", "written"], sort=False).agg(
        us=("us", "median"), runs=("run", lambda s: tuple(sorted({number[r] for r in s})))).reset_index()
    rank = {w: i for i, w in enumerate(colour_map(table))}
    table = table.sort_values(["execution", "scenario", "written"], key=lambda c: c.map(
        {"execution": EXECUTIONS.index, "scenario": scenario_sort_key, "written": rank.get}[c.name]),
        ignore_index=True)
    table["mark"] = ""
    for _, panel in table.groupby("execution", sort=False):
        counts = panel["runs"].value_counts()
        main = min(counts.index[counts == counts.max()])  # the earliest of the most common
        other = panel.index[panel["runs"] != main]
        table.loc[other, "mark"] = ["†" + ",".join(map(str, runs)) for runs in table.loc[other, "runs"]]
    return table


def caveat(table: pd.DataFrame, runs: dict[int, str] | None = None) -> str:
    """The sentence a figure with bars from several runs carries; "" when every panel is one run's.
    `runs` (number → run id) names the runs, for the report's words."""
    marked = table[table["mark"] != ""] if not table.empty else table
    if marked.empty:
        return ""
    marks = ", ".join(sorted(set(marked["mark"]), key=lambda m: (len(m), m)))
    names = "" if runs is None else " (" + "; ".join(f"run {n}: `{runs[n]}`" for n in sorted(runs)) + ")"
    return (f"Bars marked {marks} were trained in another run than the unmarked bars of their panel{names}: "
            "at another time, under other load, so their speed is not comparable with the unmarked bars'.")


def caption(records: list[dict[str, Any]], timings: list[dict[str, Any]]) -> str:
    """The section's words on the figure: what each panel draws, and the caveat with the runs named."""
    table = bars(records, timings)
    if table.empty:
        return ""
    present = set(table["execution"])
    panels = []
    if IDIOMATIC in present:
        panels.append("the frameworks as written (the idiomatic table's `µs/update`)")
    if FAST in present:
        panels.append("the harness's `fast` engines, hatched (the `fast` table's `µs after epoch 1`)")
    frame = samples(records, timings)
    runs = {n: run for run, n in run_numbers(frame).items()}
    scale = "each panel on its own log scale" if len(panels) > 1 else "on a log scale"
    text = ("The figure: median µs per weight update after epoch 1 (tracing and compilation left out) per "
            f"scenario × backend; {' beside '.join(panels)}, {scale}. The whole-job `us_per_update`, "
            "compilation included, is not drawn.")
    note = caveat(table, runs)
    return text + (" " + note if note else "")


def value_text(us: float) -> str:
    """Three significant digits, thousands grouped: 7.70, 16.0, 739, 1,076."""
    return f"{us:,.0f} µs" if us >= 100 else f"{us:.1f} µs" if us >= 10 else f"{us:.2f} µs"


def layout(table: pd.DataFrame) -> tuple[list[str], dict[str, float], dict[tuple[str, str], float]]:
    """Scenarios in registry order, each scenario's centre, and each bar's y (in bar slots): a
    scenario is as tall as its panel with the most bars, the other panel's bars centred in it."""
    scenarios = sorted(set(table["scenario"]), key=scenario_sort_key)
    centre, ys, top = {}, {}, 0.0
    for scenario in scenarios:
        here = table[table["scenario"] == scenario]
        slots = int(here.groupby("execution").size().max())
        for _, group in here.groupby("execution", sort=False):
            start = top + (slots - len(group)) / 2
            for k, (written, execution) in enumerate(zip(group["written"], group["execution"], strict=True)):
                ys[(scenario, execution + "|" + written)] = start + k + 0.5
        centre[scenario] = top + slots / 2
        top += slots + 0.8  # a gap between scenarios
    return scenarios, centre, ys


def draw_panel(ax: Axes, panel: pd.DataFrame, colour_of: dict[str, str], ys: dict) -> None:
    """One execution's bars on a log axis that starts at a whole decade (bar lengths stay honest)."""
    fast = panel["execution"].iloc[0] == FAST
    for row in panel.itertuples(index=False):
        y = ys[(row.scenario, row.execution + "|" + row.written)]
        ax.barh(y, row.us, height=0.85, color=colour_of[row.written], hatch=HATCH if fast else None,
                edgecolor="white" if fast else None, linewidth=0)
        ax.text(row.us * 1.08, y, f"{value_text(row.us)} {row.mark}".strip(), va="center", fontsize=8)
    left, high = math.floor(math.log10(panel["us"].min())), math.log10(panel["us"].max())
    label = LABEL_IN / (ax.get_position().width * ax.figure.get_figwidth())  # the share a label needs
    ax.set_xscale("log")
    ax.set_xlim(10.0**left, 10 ** (high + label * (high - left) / (1 - label)))
    ax.xaxis.set_major_formatter(PLAIN)
    ax.set(title=panel["execution"].iloc[0], xlabel="µs per weight update (median, log scale)")
    ax.grid(axis="x", alpha=0.3, which="both")


def draw_speed(fig: Figure, records: list[dict[str, Any]], timings: list[dict[str, Any]]) -> bool:
    """Steady µs per update per scenario × backend, one panel per execution present."""
    table = bars(records, timings)
    if table.empty:
        return False
    scenarios, centre, ys = layout(table)
    present = [e for e in EXECUTIONS if (table["execution"] == e).any()]
    fig.set_size_inches(WIDTH_IN, max(3.5, 2.4 + SLOT_IN * (max(ys.values()) + 0.5)))
    axes = np.atleast_1d(fig.subplots(1, len(present), sharey=True)).tolist()
    colour_of = colour_map(table)
    for ax, execution in zip(axes, present, strict=True):
        draw_panel(ax, table[table["execution"] == execution], colour_of, ys)
    axes[0].set_yticks([centre[s] for s in scenarios], scenarios)
    axes[0].set_ylim(max(ys.values()) + 0.9, -0.4)  # registry order top to bottom, like the tables
    missing = "" if IDIOMATIC in present else " (no idiomatic timing in this folder)"
    fig.suptitle(f"Training speed after epoch 1: lower is faster{missing}")
    handles = [Patch(color=c, label=b) for b, c in colour_of.items()]
    handles += [Patch(facecolor="grey", label=IDIOMATIC) if e == IDIOMATIC else
                Patch(facecolor="grey", hatch=HATCH, edgecolor="white", label=FAST) for e in present]
    note = caveat(table)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize="small",
               title=note.replace(", under", ",\nunder") if note else None, title_fontsize="small")
    return True
