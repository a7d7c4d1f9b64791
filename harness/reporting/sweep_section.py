"""The report's "Sweeps" section: accuracy and time to learn at every grid point, and the Keras − PyTorch
gap per grid point with its Mann–Whitney test, BH-adjusted across the grid points of one scenario
(many grid points, many tests: without the adjustment some would look "different" by chance)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import stats
from harness.reporting.aggregate import backend_label
from harness.reporting.learning import Median, Times, first_epoch, fmt_median, framework_pairs, median_time
from harness.reporting.markdown import interval, md
from harness.reporting.sweeps import Sweep, find_sweeps, fmt_value, grid_records, point_of, without_knobs


def _cells(records: list[dict[str, Any]], sweep: Sweep) -> dict[tuple, list[dict[str, Any]]]:
    """(grid point, backend label without the swept knobs) → ok records (one per seed), grid order."""
    cells: dict[tuple, list[dict[str, Any]]] = {}
    for r in grid_records(records, {sweep.scenario: sweep}):
        if r["scenario"] == sweep.scenario and r.get("status") == "ok" and r.get("accuracy") is not None:
            key = (point_of(r, sweep), backend_label(without_knobs(r, sweep.knobs)))
            cells.setdefault(key, []).append(r)
    order = {p: i for i, p in enumerate(sweep.points)}
    return dict(sorted(cells.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])))


def _times(runs: list[dict[str, Any]]) -> Times | None:
    found = [first_epoch(r.get("accuracy_curve"), 1.0) for r in runs]
    found = [f for f in found if f is not None]
    if not found:
        return None
    return Times(tuple(float(e) for e, _ in found), tuple(ok for _, ok in found))


def grid_table(records: list[dict[str, Any]], sweep: Sweep) -> pd.DataFrame:
    """One row per grid point × backend: accuracy with its CI, and time to 100 % where curves exist.
    Numeric columns (mean, ci_low, …, ttl_*) feed the figure; `format_grid` makes the markdown."""
    rows = []
    for (point, backend), runs in _cells(records, sweep).items():
        s = stats.summary([100.0 * r["accuracy"] for r in runs])
        row: dict[str, Any] = {**dict(zip(sweep.knobs, point, strict=True)), "backend": backend, "n": s.n,
                               "mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high, "min": s.min}
        times = _times(runs)
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
        out["learned 100 %"] = [f"{int(k)}/{int(n)}" if not pd.isna(n) else "—"
                                for k, n in zip(table["ttl_learned"], table["ttl_n"], strict=True)]
        out["median epoch to 100 % (95 % CI)"] = [
            "—" if pd.isna(c) else fmt_median(_median(row), c)
            for row, c in zip(table.itertuples(), table["ttl_censor"], strict=True)]
    return out


def _md(table: pd.DataFrame, knobs: tuple[str, ...], floatfmt: str) -> str:
    """`markdown.md` with the knob columns in general format: tabulate reads "0.001" as a number and
    ".1f" would print it 0.0."""
    if table.empty:
        return md(table)
    formats = tuple("g" if c in knobs else floatfmt for c in table.columns)
    blanked = table.astype(object).where(table.notna(), None)
    return blanked.to_markdown(index=False, floatfmt=formats, missingval="—")


def _median(row: Any) -> Median:
    return Median(row.ttl_median, row.ttl_low, row.ttl_high)


def gap_table(records: list[dict[str, Any]], sweep: Sweep, alpha: float = stats.ALPHA) -> pd.DataFrame:
    """Keras − PyTorch at each grid point: difference of means (bootstrap CI), Mann–Whitney p, and the
    p BH-adjusted across this scenario's grid points; the verdict reads the adjusted p."""
    cells = _cells(records, sweep)
    rows = []
    for point in sweep.points:
        keys = [(point, b) for p, b in cells if p == point]
        for _, keras, torch in framework_pairs(keys):
            a = [100.0 * r["accuracy"] for r in cells[(point, keras)]]
            b = [100.0 * r["accuracy"] for r in cells[(point, torch)]]
            diff, test = stats.diff_of_means(a, b), stats.mann_whitney(a, b)
            rows.append({**dict(zip(sweep.knobs, point, strict=True)),
                         "pair": f"{keras} − {torch}", "n": f"{len(a)}/{len(b)}",
                         "gap (points)": diff.diff, "95 % CI": interval(diff.low, diff.high),
                         "Mann–Whitney p": test.p_value, "_reachable": test.can_reach(alpha)})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["BH-adjusted p"] = stats.adjusted_p_values(table["Mann–Whitney p"])
    table["verdict"] = [
        "no data" if math.isnan(p) else "undecidable at this n" if not reach
        else "different" if p < alpha else "no significant difference"
        for p, reach in zip(table["BH-adjusted p"], table.pop("_reachable"), strict=True)]
    return table


def gap_sentence(table: pd.DataFrame, sweep: Sweep) -> str:
    if table.empty:
        return ""
    different = table[table["verdict"] == "different"]
    if different.empty:
        smallest = np.nanmin(table["BH-adjusted p"]) if table["BH-adjusted p"].notna().any() else math.nan
        return (f"{sweep.scenario}: no grid point shows a significant Keras − PyTorch gap after adjustment "
                f"(smallest adjusted p = {smallest:.2g}, {len(table)} grid points).")
    where = "; ".join(", ".join(f"{k}={fmt_value(row[k])}" for k in sweep.knobs)
                      + f": {row['gap (points)']:+.1f} points" for _, row in different.iterrows())
    return (f"{sweep.scenario}: Keras − PyTorch differs at {len(different)} of {len(table)} grid points "
            f"after adjustment ({where}).")


def sweeps_section(records: list[dict[str, Any]]) -> str:
    """Rendered only when some scenario's records form a grid (see `sweeps.find_sweeps`)."""
    sweeps = find_sweeps(records)
    if not sweeps:
        return ""
    grid = grid_records(records, sweeps)
    parts = [
        "## Sweeps\n\nPer swept scenario, every grid point × backend: final accuracy (%) across seeds with "
        "the 95 % CI of the mean (seeded bootstrap) and, where seeds carry an accuracy curve, how many got "
        "every pattern right and the median epoch they first did (censored seeds included, as in Time to "
        "learn). Then the Keras − PyTorch gap at each grid point: difference of means with its bootstrap "
        "CI, a two-sided Mann–Whitney U test, and its p Benjamini–Hochberg-adjusted across the grid points "
        f"of the scenario (raw beside adjusted; the verdict reads the adjusted p at α = {stats.ALPHA}).\n\n"
        "![accuracy against each swept knob](sweeps.png)"]
    if any((r.get("accuracy_curve") or {}).get("epochs") for r in grid if r["scenario"] in sweeps):
        parts[0] += " ![epochs to 100 % against each swept knob](sweep_time_to_learn.png)"
    for sweep in sweeps.values():
        tutorial = sweep.describe(sweep.tutorial)
        parts.append(f"### {sweep.scenario}: {' × '.join(sweep.knobs)}\n\n{len(sweep.points)} grid points; "
                     f"the tutorial's settings: {tutorial}.\n\n"
                     + _md(format_grid(grid_table(grid, sweep), sweep), sweep.knobs, ".1f"))
        gaps = gap_table(grid, sweep)
        if not gaps.empty:
            parts.append(_md(gaps, sweep.knobs, ".3g") + "\n\n" + gap_sentence(gaps, sweep))
    return "\n\n".join(parts)
