"""`python -m harness compare DIR_A DIR_B`: what changed between two runs.

For checking a framework upgrade or a code change: accuracy per scenario × backend with a
Mann–Whitney test, and the ratio of µs per update (B / A) measured in each run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.reporting import aggregate, stats
from harness.reporting.markdown import md
from harness.reporting.timing import idiomatic_table
from harness.store import latest_per_key, latest_timings, load_records, results_path


def _frame(out_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The run's ok seeds, its idiomatic µs per update (as written), and its load warnings."""
    loaded = load_records(results_path(out_dir))
    records = latest_per_key(loaded.records)
    written = idiomatic_table(records, latest_timings(loaded.timings))
    return aggregate.ok(aggregate.to_frame(records)), written, loaded.warnings


def compare_idiomatic(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """µs per update as the frameworks are written, in A and in B, and B / A."""
    if a.empty or b.empty:
        return pd.DataFrame()
    both = a.merge(b, on=["scenario", "backend"], how="outer", suffixes=(" A", " B"))
    table = both[["scenario", "backend", "µs/update A", "µs/update B"]].copy()
    table["time B / A"] = table["µs/update B"] / table["µs/update A"]
    return table


def compare_frames(a: pd.DataFrame, b: pd.DataFrame, alpha: float = stats.ALPHA) -> pd.DataFrame:
    pairs = {tuple(k) for frame in (a, b) for k in frame[["scenario", "backend"]].to_numpy()}
    keys = sorted(pairs, key=lambda k: (aggregate.scenario_sort_key(k[0]), k[1]))
    rows = []
    for scenario, backend in keys:
        in_a = a[(a["scenario"] == scenario) & (a["backend"] == backend)]
        in_b = b[(b["scenario"] == scenario) & (b["backend"] == backend)]
        test = stats.mann_whitney(in_b["accuracy"].tolist(), in_a["accuracy"].tolist())
        us_a, us_b = in_a["us_per_update"].median(), in_b["us_per_update"].median()
        rows.append({
            "scenario": scenario, "backend": backend,
            "n A/B": f"{len(in_a)}/{len(in_b)}",
            "acc A %": in_a["accuracy"].mean(), "acc B %": in_b["accuracy"].mean(),
            "B − A (points)": in_b["accuracy"].mean() - in_a["accuracy"].mean(),
            "Mann–Whitney p": test.p_value,
            "accuracy": _verdict(test, alpha, len(in_a), len(in_b)),
            "µs/update A": us_a, "µs/update B": us_b,
            "time B / A": us_b / us_a if us_a and not np.isnan(us_a) else np.nan,
        })
    return pd.DataFrame(rows)


def _verdict(test: stats.MannWhitney, alpha: float, n_a: int, n_b: int) -> str:
    if not n_a or not n_b:
        return "only in " + ("B" if not n_a else "A")
    if not test.can_reach(alpha):
        return f"undecidable (n={n_a}/{n_b})"
    return "changed" if test.p_value < alpha else "no significant change"


def render_comparison(dir_a: Path, dir_b: Path) -> str:
    a, written_a, warnings_a = _frame(dir_a)
    b, written_b, warnings_b = _frame(dir_b)
    table = compare_frames(a, b)
    lines = [
        f"# alphabet-bench comparison\n\nA = `{dir_a}`, B = `{dir_b}`. Accuracy: two-sided "
        f"Mann–Whitney U over seeds (α = {stats.ALPHA}). Time: median µs per update of each row's own "
        "execution (`[fast]`: the harness's compiled engine), B / A (< 1: B faster).",
        md(table, ".3g"),
    ]
    idiomatic = compare_idiomatic(written_a, written_b)
    if not idiomatic.empty:
        lines.append("As the frameworks are written (idiomatic: timing samples or idiomatic seeds), µs per "
                     "update, B / A:\n\n" + md(idiomatic, ".4g"))
    warnings = warnings_a + warnings_b
    if warnings:
        lines.append("Warnings:\n\n" + "\n".join(f"- {w}" for w in warnings))
    return "\n\n".join(lines) + "\n"
