"""Figures of the Budget, Time to learn and Sweeps sections (PNG, matplotlib `Figure`, no pyplot).

Same conventions as `figures`: each plotter fills a blank figure or returns False when its data is
missing; colours per backend as in every other figure; bootstraps seeded, so the same records
always draw the same picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import cycle
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator

from harness.reporting import budget, learning, stats
from harness.reporting.aggregate import backend_label, scenario_label
from harness.reporting.figures import WIDTH_IN, _colours, _scenarios
from harness.reporting.sweep_section import grid_table
from harness.reporting.sweeps import find_sweeps, fmt_value, grid_records

LINESTYLES = ("-", "--", ":", "-.")
PLAIN = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")  # 1,000 rather than 10³
MARKERS = ("o", "s", "^", "D", "v", "P")


def _grid(fig: Figure, n: int) -> list[Axes]:
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig.set_size_inches(WIDTH_IN, 3.3 * nrows + 0.8)
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]


def _log_epochs(ax: Axes) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PLAIN)
    # Minor ticks at 2 and 5 × 10^k, labelled plainly: short ranges (24–120 epochs) keep readable
    # labels, where matplotlib's own would print overlapping 2×10² marks.
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    ax.xaxis.set_minor_formatter(PLAIN)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("epoch (log scale)")
    ax.grid(alpha=0.3, which="both")


def _legend(fig: Figure, colours: dict[str, str], extra: list[Line2D]) -> None:
    handles = [Line2D([], [], color=c, linewidth=2, label=b) for b, c in colours.items()] + extra
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize="small")


def _seed_matrix(runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Seeds × epochs accuracy (%): checkpoints, plus the curve when every seed of the cell has one."""
    dense = all((r.get("accuracy_curve") or {}).get("epochs") for r in runs)
    frame = pd.DataFrame([budget.seed_points(r, curve=dense) for r in runs])
    return 100.0 * frame.reindex(columns=sorted(frame.columns))


def _plot_budget(fig: Figure, records: list[dict[str, Any]]) -> bool:
    good = [r for r in budget.ok_records(records) if budget.seed_points(r)]
    if not good:
        return False
    scenarios, colours = _scenarios(good), _colours(good)
    for ax, scenario in zip(_grid(fig, len(scenarios)), scenarios, strict=True):
        mine = [r for r in good if scenario_label(r) == scenario]
        for backend, colour in colours.items():
            runs = [r for r in mine if backend_label(r) == backend]
            if not runs:
                continue
            matrix = _seed_matrix(runs)
            epochs = matrix.columns.to_numpy(dtype=float)
            for _, row in matrix.iterrows():
                ax.plot(epochs, row.to_numpy(), color=colour, alpha=0.18, linewidth=0.7)
            bands = [stats.bootstrap_mean_ci(matrix[e], n_resamples=budget.BAND_RESAMPLES, seed=0)
                     for e in matrix.columns]
            ax.fill_between(epochs, [b.low for b in bands], [b.high for b in bands], color=colour, alpha=0.3,
                            linewidth=0)
            ax.plot(epochs, matrix.mean(axis=0).to_numpy(), color=colour, linewidth=2)
        tutorial = (mine[0].get("spec") or {}).get("epochs")
        if tutorial:
            ax.axvline(tutorial, color="black", linestyle="--", linewidth=1)
        _log_epochs(ax)
        ax.set(ylim=(-2, 102), title=scenario)
    fig.supylabel("accuracy on training patterns (%)")
    _legend(fig, colours, [Line2D([], [], color="black", linestyle="--", label="tutorial's epochs")])
    fig.suptitle("Accuracy against training epochs: mean across seeds, 95 % bootstrap band, seeds faint")
    return True


def _plot_time_to_learn(fig: Figure, records: list[dict[str, Any]]) -> bool:
    full, near = learning.times_by_cell(records, 1.0), learning.times_by_cell(records, learning.LEARNED[1])
    if not full:
        return False
    scenarios = list(dict.fromkeys(s for s, _ in full))
    colours = _colours([r for r in records if r.get("status") == "ok"])
    first = {}  # scenario → its first evaluated epoch: every curve starts at 0 % there
    for r in records:
        if r.get("status") == "ok" and (r.get("accuracy_curve") or {}).get("epochs"):
            label = scenario_label(r)
            first[label] = min(first.get(label, math.inf), r["accuracy_curve"]["epochs"][0])
    for ax, scenario in zip(_grid(fig, len(scenarios)), scenarios, strict=True):
        for backend, colour in colours.items():
            times = full.get((scenario, backend))
            if times is None:
                continue
            for which, style in ((near[(scenario, backend)], ":"), (times, "-")):
                cdf = learning.survival(which).cdf
                q, p = cdf.quantiles, cdf.probabilities
                ax.step(np.r_[first[scenario], q], 100 * np.r_[0.0, p], where="post", color=colour,
                        linestyle=style, linewidth=2 if style == "-" else 1.2)
            low, high = learning.band(cdf)  # the last drawn: time to 100 %
            ax.fill_between(q, 100 * low, 100 * high, step="post", color=colour, alpha=0.2, linewidth=0)
            censored = [e for e, ok in zip(times.epochs, times.learned, strict=True) if not ok]
            if censored:
                ax.plot(censored, 100 * cdf.evaluate(np.asarray(censored)), linestyle="none", marker="|",
                        markersize=12, markeredgewidth=2, color=colour)
        _log_epochs(ax)
        ax.set(ylim=(-2, 102), title=scenario)
    fig.supylabel("seeds that learned by this epoch (%)")
    extra = [Line2D([], [], color="grey", linewidth=2, label="100 % right (band: 95 % CI)"),
             Line2D([], [], color="grey", linestyle=":", label="≥ 95 % right"),
             Line2D([], [], color="grey", linestyle="none", marker="|", markersize=10, label="censored seed")]
    _legend(fig, colours, extra)
    fig.suptitle("Time to learn (Kaplan–Meier, censored seeds kept): share of seeds at 100 % by each epoch")
    return True


def _sweep_panel(ax: Axes, table: pd.DataFrame, knob: str, others: list[str], colours: dict[str, str],
                 value: str, low: str, high: str) -> None:
    """One knob on x (its values in order, evenly spaced), a line per backend × other knobs' values;
    rows flagged `open` (a median not reached) drawn hollow."""
    values = list(dict.fromkeys(table[knob]))
    x_of = {v: i for i, v in enumerate(values)}
    combos = list(dict.fromkeys(tuple(row) for row in table[others].itertuples(index=False)))
    styles = dict(zip(combos, cycle(zip(LINESTYLES, MARKERS, strict=True)), strict=False))
    backends = list(dict.fromkeys(table["backend"]))
    for j, backend in enumerate(backends):
        offset = 0.06 * (j - (len(backends) - 1) / 2)
        for combo, (linestyle, marker) in styles.items():
            rows = table[(table["backend"] == backend)
                         & np.all([table[o] == c for o, c in zip(others, combo, strict=True)], axis=0)]
            if rows.empty:
                continue
            x = np.array([x_of[v] for v in rows[knob]]) + offset
            y = rows[value].to_numpy(dtype=float)
            lo = np.nan_to_num(y - rows[low].to_numpy(dtype=float), nan=0.0).clip(0)
            hi = np.nan_to_num(rows[high].to_numpy(dtype=float) - y, nan=0.0).clip(0)
            name = ", ".join(f"{o}={fmt_value(c)}" for o, c in zip(others, combo, strict=True))
            colour = colours.get(backend, "black")
            ax.errorbar(x, y, yerr=[lo, hi], color=colour, linestyle=linestyle, marker=marker, capsize=3,
                        label=f"{backend}" + (f" · {name}" if name else ""))
            hollow = rows["open"].to_numpy(dtype=bool) if "open" in rows else np.zeros(len(rows), bool)
            ax.plot(x[hollow], y[hollow], linestyle="none", marker=marker, markersize=8, color=colour,
                    markerfacecolor="white", zorder=5)
    ax.set_xticks(range(len(values)), [fmt_value(v) for v in values])
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_xlabel(knob)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="x-small")


def _plot_sweep(fig: Figure, records: list[dict[str, Any]], time_to_learn: bool) -> bool:
    sweeps = find_sweeps(records)
    grid = grid_records(records, sweeps)
    tables = {s: grid_table(grid, sweep) for s, sweep in sweeps.items()}
    if time_to_learn:
        tables = {s: t.assign(ttl_value=t["ttl_median"].fillna(t["ttl_censor"]), open=t["ttl_median"].isna(),
                              ttl_top=t["ttl_high"].fillna(t["ttl_censor"]))
                  for s, t in tables.items() if "ttl_median" in t}
    tables = {s: t for s, t in tables.items() if not t.empty}
    if not tables:
        return False
    ncols = max(len(sweeps[s].knobs) for s in tables)
    fig.set_size_inches(WIDTH_IN, 3.4 * len(tables) + 0.6)
    axes = fig.subplots(len(tables), ncols, squeeze=False)
    colours = _colours([r for r in grid if r.get("status") == "ok"])
    for row, (scenario, table) in zip(axes, tables.items(), strict=True):
        knobs = list(sweeps[scenario].knobs)
        for ax, knob in zip(row, knobs, strict=False):
            others = [k for k in knobs if k != knob]
            if time_to_learn:
                _sweep_panel(ax, table, knob, others, colours, "ttl_value", "ttl_low", "ttl_top")
                ax.set(ylim=(0, 1.08 * float(table["ttl_top"].max())), ylabel="median epoch to 100 %")
                ax.yaxis.set_major_formatter(PLAIN)
            else:
                _sweep_panel(ax, table, knob, others, colours, "mean", "ci_low", "ci_high")
                ax.set(ylim=(max(0.0, ax.get_ylim()[0]), 102), ylabel="accuracy (%)")
            ax.set_title(scenario, fontsize="medium")
        for ax in row[len(knobs):]:
            ax.set_visible(False)
    ttl_title = "Median epoch to 100 % per swept knob (95 % CI; hollow: not reached, drawn at the last epoch)"
    fig.suptitle(ttl_title if time_to_learn else "Final accuracy per swept knob: mean across seeds, 95 % CI")
    return True


Plotter = Callable[[Figure, list[dict[str, Any]]], bool]
# Figures of the one grid point per scenario the main sections show (see sweeps.reference_view)…
ANYTIME_PLOTTERS: tuple[tuple[str, Plotter], ...] = (
    ("budget", _plot_budget),
    ("time_to_learn", _plot_time_to_learn),
)
# …and of every grid point.
SWEEP_PLOTTERS: tuple[tuple[str, Plotter], ...] = (
    ("sweeps", lambda fig, records: _plot_sweep(fig, records, time_to_learn=False)),
    ("sweep_time_to_learn", lambda fig, records: _plot_sweep(fig, records, time_to_learn=True)),
)
