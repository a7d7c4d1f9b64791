"""`python -m harness compare DIR_A DIR_B`: what changed between two runs.

For checking a framework upgrade or a code change: accuracy per scenario × backend with a
Mann–Whitney test, and the ratio of µs per update (B / A) measured in each run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.reporting import significance, stats
from harness.reporting.frames import ok, to_frame
from harness.reporting.labels import pair_order, scenario_sort_key
from harness.reporting.markdown import md
from harness.reporting.sections.training_time import idiomatic_table
from harness.reporting.view import ReportView

NOISE = 1e-9  # accuracy points: far below one pattern of one seed (100 / 25 / seeds), far above rounding


def _frame(out_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The run's ok seeds (every grid point), its idiomatic µs per update (as written), and its load
    warnings."""
    view = ReportView.load(out_dir)
    return ok(to_frame(view.records)), idiomatic_table(view.records, view.timings), view.warnings


def compare_idiomatic(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """µs per update as the frameworks are written, in A and in B, and B / A."""
    if a.empty or b.empty:
        return pd.DataFrame()
    both = a.merge(b, on=["scenario", "backend"], how="outer", suffixes=(" A", " B"))
    table = both[["scenario", "backend", "µs/update A", "µs/update B"]].copy()
    table["time B / A"] = table["µs/update B"] / table["µs/update A"]
    return table


def _snapped(difference: float) -> float:
    """0 for a difference that is zero up to rounding: equal means summed in another order or over
    another count (99.6 % of 10 seeds vs of 100) differ by ~1e-14, which would print as a change."""
    return 0.0 if abs(difference) < NOISE else difference


def compare_frames(a: pd.DataFrame, b: pd.DataFrame, alpha: float = stats.ALPHA) -> pd.DataFrame:
    """One row per scenario × backend; the rows' accuracy tests are one family (Benjamini–Hochberg),
    so a table of many rows does not call a change on one lucky p."""
    pairs = {tuple(k) for frame in (a, b) for k in frame[["scenario", "backend"]].to_numpy()}
    keys = sorted(pairs, key=lambda k: (scenario_sort_key(k[0]), pair_order(k[1])))  # a newer framework last
    rows, tests = [], []
    for scenario, backend in keys:
        in_a = a[(a["scenario"] == scenario) & (a["backend"] == backend)]
        in_b = b[(b["scenario"] == scenario) & (b["backend"] == backend)]
        test = significance.mann_whitney(in_b["accuracy"].tolist(), in_a["accuracy"].tolist())
        equivalence = significance.tost(in_b["accuracy"].tolist(), in_a["accuracy"].tolist())
        us_a, us_b = in_a["us_per_update"].median(), in_b["us_per_update"].median()
        tests.append((test, equivalence, len(in_a), len(in_b)))
        rows.append({
            "scenario": scenario, "backend": backend,
            "n A/B": f"{len(in_a)}/{len(in_b)}",
            "acc A %": in_a["accuracy"].mean(), "acc B %": in_b["accuracy"].mean(),
            "B − A (points)": _snapped(in_b["accuracy"].mean() - in_a["accuracy"].mean()),
            "Mann–Whitney p": test.p_value, stats.P_ADJUSTED: np.nan, "TOST p": equivalence,
            "TOST BH-adjusted p": np.nan, "accuracy": "",
            "µs/update A": us_a, "µs/update B": us_b,
            "time B / A": us_b / us_a if us_a and not np.isnan(us_a) else np.nan,
        })
    adjusted = stats.adjusted_p_values([test.p_value for test, *_ in tests])
    equivalent = stats.adjusted_p_values([e for _, e, *_ in tests])
    for row, (test, _, n_a, n_b), q, e in zip(rows, tests, adjusted, equivalent, strict=True):
        undecidable = f"undecidable (n={n_a}/{n_b})"
        untestable = undecidable if n_a and n_b else "only in " + ("B" if not n_a else "A")
        row[stats.P_ADJUSTED], row["TOST BH-adjusted p"] = q, e
        row["accuracy"] = stats.verdict(q, reachable=test.can_reach(alpha), identical=test.identical,
                                        equivalence=e, untestable=untestable, undecidable=undecidable,
                                        different="changed", alpha=alpha)
    return pd.DataFrame(rows)


def render_comparison(dir_a: Path, dir_b: Path) -> str:
    a, written_a, warnings_a = _frame(dir_a)
    b, written_b, warnings_b = _frame(dir_b)
    table = compare_frames(a, b)
    family = int(table[stats.P_ADJUSTED].notna().sum()) if not table.empty else 0
    lines = [
        f"# alphabet-bench comparison\n\nA = `{dir_a}`, B = `{dir_b}`. Accuracy: two-sided "
        "Mann–Whitney U over seeds (p exact given the ties), and an equivalence test (TOST, two one-sided "
        f"Welch t-tests) that B and A lie within ±{stats.MARGIN_POINTS:g} points. Many comparisons: the "
        f"{family} rank tests of this table are one family and the equivalence tests another, each "
        "adjusted by Benjamini–Hochberg (false discovery rate); the raw p is shown beside the adjusted "
        f"one and the verdict uses the adjusted ones: changed when the rank test's is < {stats.ALPHA}, "
        f"{stats.EQUIVALENT} when instead the TOST's is, inconclusive otherwise; identical (no test) "
        "when every seed of both scored the same. Time: median µs per update of each row's own "
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
