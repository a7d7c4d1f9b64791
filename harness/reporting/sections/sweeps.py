"""The report's "Sweeps": accuracy and time to learn at every grid point, and the Keras − PyTorch gap
(with a third framework, every pair's) per grid point with its Mann–Whitney test, BH-adjusted across
the grid points (and pairs) of one scenario (many grid points, many tests: without the adjustment some
would look "different" by chance)."""

from __future__ import annotations

from itertools import cycle
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from harness.reporting import significance, stats
from harness.reporting.grid import Sweep, fmt_value, grid_records, point_of, without_knobs
from harness.reporting.labels import backend_label, framework_pairs, pair_words
from harness.reporting.markdown import interval, md
from harness.reporting.plotting import PLAIN, WIDTH_IN, colours, ok_records
from harness.reporting.section import Plot, Section
from harness.reporting.survival import (
    Median,
    as_times,
    fmt_median,
    median_time,
    settled_epoch,
)
from harness.reporting.view import ReportView

LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P")


def _cells(records: list[dict[str, Any]], sweep: Sweep) -> dict[tuple, list[dict[str, Any]]]:
    """(grid point, backend label without the swept knobs) → ok records (one per seed), grid order."""
    cells: dict[tuple, list[dict[str, Any]]] = {}
    for r in grid_records(records, {sweep.scenario: sweep}):
        if r["scenario"] == sweep.scenario and r.get("status") == "ok" and r.get("accuracy") is not None:
            key = (point_of(r, sweep), backend_label(without_knobs(r, sweep.knobs)))
            cells.setdefault(key, []).append(r)
    order = {p: i for i, p in enumerate(sweep.points)}
    return dict(sorted(cells.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])))


def grid_table(records: list[dict[str, Any]], sweep: Sweep) -> pd.DataFrame:
    """One row per grid point × backend: accuracy with its CI, and time to learn for good where curves exist.
    Numeric columns (mean, ci_low, …, ttl_*) feed the figure; `format_grid` makes the markdown."""
    rows = []
    for (point, backend), runs in _cells(records, sweep).items():
        s = stats.summary([100.0 * r["accuracy"] for r in runs])
        row: dict[str, Any] = {**dict(zip(sweep.knobs, point, strict=True)), "backend": backend, "n": s.n,
                               "mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high, "min": s.min}
        times = as_times(settled_epoch(r.get("accuracy_curve"), 1.0) for r in runs)
        if times is not None:
            m = median_time(times)
            row.update(ttl_learned=sum(times.learned), ttl_n=times.n, ttl_median=m.value, ttl_low=m.low,
                       ttl_high=m.high, ttl_censor=max(times.epochs))
        rows.append(row)
    return pd.DataFrame(rows)


def format_grid(table: pd.DataFrame, sweep: Sweep) -> pd.DataFrame:
    out = table[[*sweep.knobs, "backend", "n"]].copy()
    out["mean accuracy %"] = table["mean"]
    out["95 % CI"] = [interval(lo, hi) for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)]
    out["min %"] = table["min"]
    if "ttl_n" in table:
        out["learned for good"] = [f"{int(k)}/{int(n)}" if not pd.isna(n) else "—"
                                for k, n in zip(table["ttl_learned"], table["ttl_n"], strict=True)]
        out["median epoch, for good (95 % CI)"] = [
            "—" if pd.isna(c) else fmt_median(_median(row), c)
            for row, c in zip(table.itertuples(), table["ttl_censor"], strict=True)]
    return out


def _median(row: Any) -> Median:
    return Median(row.ttl_median, row.ttl_low, row.ttl_high)


def gap_table(records: list[dict[str, Any]], sweep: Sweep, alpha: float = stats.ALPHA) -> pd.DataFrame:
    """Keras − PyTorch (every pair of frameworks) at each grid point: difference of means (bootstrap CI),
    Mann–Whitney p (exact given the ties) and TOST p, each BH-adjusted across this scenario's grid
    points and pairs; the three-way verdict reads the adjusted ones."""
    cells = _cells(records, sweep)
    rows = []
    for point in sweep.points:
        keys = [(point, b) for p, b in cells if p == point]
        for _, first, second in framework_pairs(keys):
            a = [100.0 * r["accuracy"] for r in cells[(point, first)]]
            b = [100.0 * r["accuracy"] for r in cells[(point, second)]]
            diff, test = stats.diff_of_means(a, b), significance.mann_whitney(a, b)
            rows.append({**dict(zip(sweep.knobs, point, strict=True)),
                         "pair": f"{first} − {second}", "n": f"{len(a)}/{len(b)}",
                         "gap (points)": diff.diff, "95 % CI": interval(diff.low, diff.high),
                         "Mann–Whitney p": test.p_value, "TOST p": significance.tost(a, b), "_test": test})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table[stats.P_ADJUSTED] = stats.adjusted_p_values(table["Mann–Whitney p"])
    table["TOST BH-adjusted p"] = stats.adjusted_p_values(table["TOST p"])
    tests = table.pop("_test")
    table["verdict"] = [stats.verdict(q, reachable=t.can_reach(alpha), identical=t.identical, equivalence=e,
                                      alpha=alpha)
                        for q, e, t in zip(table[stats.P_ADJUSTED], table["TOST BH-adjusted p"], tests,
                                           strict=True)]
    return table


def _frameworks(pair: str) -> str:
    """A row's `pair` ('keras[fast] − torch[fast]') as its frameworks: 'Keras − PyTorch'."""
    return pair_words(*pair.split(" − "))


def gap_sentence(table: pd.DataFrame, sweep: Sweep) -> str:
    """How many grid points show a Keras − PyTorch difference, an equivalence, or neither; with more
    pairs of frameworks, one sentence per pair (the counts are each pair's, the adjustment the table's)."""
    if table.empty:
        return ""
    named = table["pair"].map(_frameworks)
    said = [_pair_sentence(table[named == words], sweep, words) for words in dict.fromkeys(named)]
    return said[0] if len(said) == 1 else "\n".join(f"- {s}" for s in said)


def _pair_sentence(table: pd.DataFrame, sweep: Sweep, words: str) -> str:
    counts = table["verdict"].value_counts()
    different = table[table["verdict"] == stats.DIFFERENT]
    where = "; ".join(", ".join(f"{k}={fmt_value(row[k])}" for k in sweep.knobs)
                      + f": {row['gap (points)']:+.1f} points" for _, row in different.iterrows())
    kinds = (stats.DIFFERENT, stats.EQUIVALENT, stats.INCONCLUSIVE, stats.UNDECIDABLE)
    shares = [f"{counts.get(v, 0)} {v}" for v in kinds if counts.get(v, 0)]
    others = len(table) - sum(counts.get(v, 0) for v in kinds)
    if others:
        shares.append(f"{others} without a test")
    return (f"{sweep.scenario}, {words} over {len(table)} grid points after adjustment: "
            + ", ".join(shares) + (f" ({where})" if where else "") + ".")


def _sweep_panel(ax: Axes, table: pd.DataFrame, knob: str, others: list[str], colour_of: dict[str, str],
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
            colour = colour_of.get(backend, "black")
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


def _draw(fig: Figure, view: ReportView, time_to_learn: bool) -> bool:
    sweeps, grid = view.sweeps, view.grid
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
    colour_of = colours(ok_records(grid))
    for row, (scenario, table) in zip(axes, tables.items(), strict=True):
        knobs = list(sweeps[scenario].knobs)
        for ax, knob in zip(row, knobs, strict=False):
            others = [k for k in knobs if k != knob]
            if time_to_learn:
                _sweep_panel(ax, table, knob, others, colour_of, "ttl_value", "ttl_low", "ttl_top")
                ax.set(ylim=(0, 1.08 * float(table["ttl_top"].max())), ylabel="median epoch, for good")
                ax.yaxis.set_major_formatter(PLAIN)
            else:
                _sweep_panel(ax, table, knob, others, colour_of, "mean", "ci_low", "ci_high")
                ax.set(ylim=(max(0.0, ax.get_ylim()[0]), 102), ylabel="accuracy (%)")
            ax.set_title(scenario, fontsize="medium")
        for ax in row[len(knobs):]:
            ax.set_visible(False)
    ttl_title = ("Median epoch learned for good per swept knob (95 % CI; hollow: not reached, drawn at the "
                 "last epoch)")
    fig.suptitle(ttl_title if time_to_learn else "Final accuracy per swept knob: mean across seeds, 95 % CI")
    return True

ACCURACY = Plot("sweeps", "accuracy against each swept knob", lambda fig, view: _draw(fig, view, False))
TIME_TO_LEARN = Plot("sweep_time_to_learn", "epochs to learn for good against each swept knob",
                     lambda fig, view: _draw(fig, view, True))


def body(view: ReportView) -> str:
    """Shown only when some scenario's records form a grid (see `grid.find_sweeps`)."""
    sweeps, grid = view.sweeps, view.grid
    if not sweeps:
        return ""
    tables = {sid: gap_table(grid, sweep) for sid, sweep in sweeps.items()}
    named = list(dict.fromkeys(w for t in tables.values() if not t.empty for w in t["pair"].map(_frameworks)))
    gap = ("the Keras − PyTorch gap" if named in ([], ["Keras − PyTorch"])
           else f"the gap of each pair of frameworks ({', '.join(named)})")
    parts = [
        "Per swept scenario, every grid point × backend: final accuracy (%) across seeds with "
        "the 95 % CI of the mean (seeded bootstrap) and, where seeds carry an accuracy curve, how many "
        "learned every pattern for good and the median epoch from which they kept it (censored seeds "
        f"included, as in Time to learn). Then {gap} at each grid point: difference of means"
        " with its bootstrap CI, a two-sided Mann–Whitney U test (p exact given the ties) and an "
        f"equivalence test (TOST, ±{stats.MARGIN_POINTS:g} points), each family of tests Benjamini–Hochberg-"
        f"adjusted across the grid points{' and pairs' if len(named) > 1 else ''} of the scenario "
        "(raw beside adjusted); the verdict reads the "
        f"adjusted p at α = {stats.ALPHA}: different, {stats.EQUIVALENT}, or inconclusive."
        + ACCURACY.link(view, "\n\n")]
    if any((r.get("accuracy_curve") or {}).get("epochs") for r in grid if r["scenario"] in sweeps):
        parts[0] += TIME_TO_LEARN.link(view, " ")
    for sid, sweep in sweeps.items():
        tutorial = sweep.describe(sweep.tutorial)
        parts.append(f"### {sweep.scenario}: {' × '.join(sweep.knobs)}\n\n{len(sweep.points)} grid points; "
                     f"the tutorial's settings: {tutorial}.\n\n"
                     + md(format_grid(grid_table(grid, sweep), sweep), ".1f", sweep.knobs))
        gaps = tables[sid]
        if not gaps.empty:
            parts.append(md(gaps, ".3g", sweep.knobs) + "\n\n" + gap_sentence(gaps, sweep))
    return "\n\n".join(parts)


def grid_tables(view: ReportView) -> dict[str, pd.DataFrame]:
    """Per swept scenario, its grid table (accuracy and time to learn per grid point × backend)."""
    return {sid: grid_table(view.grid, sweep) for sid, sweep in view.sweeps.items()}


SECTION = Section("Sweeps", body, (ACCURACY, TIME_TO_LEARN))
