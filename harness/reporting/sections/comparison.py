"""The report's "Backends compared": per scenario, backends run with the same settings (keras[fast] vs
torch[fast]; with k frameworks every one of their k(k−1)/2 pairs); the table's tests are one family
(Benjamini–Hochberg), all pairs of all scenarios together."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from harness.reporting import significance, stats
from harness.reporting.frames import ok
from harness.reporting.labels import framework_of, pair_order
from harness.reporting.markdown import counted, interval, md
from harness.reporting.section import Section
from harness.reporting.view import ReportView

POWER_POINTS = stats.MARGIN_POINTS  # the difference between frameworks every comparison is powered for


def _power_cells(a: list[float], b: list[float]) -> tuple[str, str, str]:
    """The difference these seeds detect with 80 % power, the seeds per backend a POWER_POINTS gap
    needs, and the plain-words note (zero spread, too few seeds) that goes with them: an
    'inconclusive' verdict means little when the run could not have seen a difference. Both are
    properties of the design, never of the observed difference (no post-hoc power)."""
    need = stats.power(a, b, POWER_POINTS)
    if need.reason == stats.TOO_FEW:
        return "—", "—", "too few seeds to estimate the spread"
    if need.reason == stats.ZERO_SPREAD:
        return ("zero spread", "zero spread",
                "zero spread: every seed of each backend scored the same, so no seed count is computed")
    n = min(len(a), len(b))
    detectable = stats.detectable_difference(n, need.sd)
    note = (f"too few seeds for a {POWER_POINTS:g}-point gap: {n} per backend, {need.seeds:.0f} needed"
            if n < need.seeds else "")
    return f"{detectable:.2g}", f"{need.seeds:.0f}", note


def _settings(label: str) -> str:
    """A backend label's settings, without the framework: `torch[fast,init=keras]` -> `[fast,init=keras]`."""
    return label[label.find("["):] if "[" in label else ""


def matched_pairs(labels: list[str]) -> list[tuple[str, str]]:
    """Backends run with the same settings (keras[fast] vs torch[fast]): what differs is the framework.
    Rows with changed defaults are compared by the gap section; a scenario with no matched pair
    compares every pair. With a third framework each pair of them is matched alike (keras ↔ jax,
    torch ↔ jax), the newer framework B (`labels.pair_order`)."""
    pairs = list(combinations(sorted(labels, key=pair_order), 2))
    matched = [(a, b) for a, b in pairs if _settings(a) == _settings(b)]
    return matched or pairs


def comparison_table(frame: pd.DataFrame, alpha: float = stats.ALPHA) -> pd.DataFrame:
    """One row per scenario and pair of backends with the same settings, from a `frames.to_frame` frame.
    The rank tests are one family and the equivalence tests another (Benjamini–Hochberg each)."""
    rows, tests = [], []
    for scenario, group in ok(frame).groupby("scenario", sort=False):
        by_backend = {b: g["accuracy"].tolist() for b, g in group.groupby("backend", sort=True)}
        for a, b in matched_pairs(list(by_backend)):
            diff = stats.diff_of_means(by_backend[a], by_backend[b])
            test = significance.mann_whitney(by_backend[a], by_backend[b])
            equivalence = significance.tost(by_backend[a], by_backend[b])
            detectable, fixed, power_note = _power_cells(by_backend[a], by_backend[b])
            notes = ([] if test.can_reach(alpha) or test.identical
                     else [f"n too small: p can never go below {test.min_p_value:.3g}"])
            tests.append((test, equivalence))
            rows.append({
                "scenario": scenario, "A": a, "B": b,
                "n A/B": f"{len(by_backend[a])}/{len(by_backend[b])}",
                "mean A − B (points)": diff.diff, "95 % CI": interval(diff.low, diff.high),
                "P(A seed beats B seed)": test.prob_superiority,
                "Mann–Whitney p": test.p_value, stats.P_ADJUSTED: np.nan,
                "TOST p": equivalence, "TOST BH-adjusted p": np.nan, "verdict": "",
                "detectable Δ at this n": detectable, f"seeds for {POWER_POINTS:g} points": fixed,
                "note": "; ".join([*notes, power_note] if power_note else notes),
            })
    adjusted = stats.adjusted_p_values([t.p_value for t, _ in tests])
    equivalent = stats.adjusted_p_values([e for t, e in tests])
    for row, (test, _), q, e in zip(rows, tests, adjusted, equivalent, strict=True):
        row[stats.P_ADJUSTED], row["TOST BH-adjusted p"] = q, e
        row["verdict"] = stats.verdict(q, reachable=test.can_reach(alpha), identical=test.identical,
                                       equivalence=e, alpha=alpha)
    return pd.DataFrame(rows)


def table(view: ReportView) -> pd.DataFrame:
    return comparison_table(view.frame)


def body(view: ReportView) -> str:
    found = table(view)
    family = int(found[stats.P_ADJUSTED].notna().sum()) if not found.empty else 0
    identical = int((found["verdict"] == stats.IDENTICAL).sum()) if not found.empty else 0
    alpha = stats.ALPHA
    verb = "is" if identical == 1 else "are"
    skipped = (f"; the {counted(identical, 'identical row')} {verb} no test and count in neither"
               if identical else "")
    frameworks = sorted({framework_of(x) for x in [*found.get("A", []), *found.get("B", [])]}, key=pair_order)
    several = (f"With {len(frameworks)} frameworks ({', '.join(frameworks)}) every pair of them is a row of "
               "its scenario, and the tests of all pairs are the one family. " if len(frameworks) > 2 else "")
    text = ("Per scenario, backends run with the same settings (e.g. keras[fast] vs "
            "torch[fast]; rows with changed defaults are compared in the gap section when there is "
            "one): difference of mean accuracy (bootstrap CI), the probability that a random seed of A "
            "beats a random seed of B (ties count half), a two-sided Mann–Whitney U test whose p is exact "
            "given the ties (seed accuracies take few distinct values, where the normal approximation "
            "comes out too small), and an equivalence test: two one-sided Welch t-tests (TOST) that the "
            f"means lie within ±{stats.MARGIN_POINTS:g} points. Verdicts: `different` when the rank test's "
            f"adjusted p is < {alpha}, `{stats.EQUIVALENT}` when instead the TOST's is, `inconclusive` "
            "otherwise (no difference found is not evidence of none); `identical (no test)` when every "
            f"seed of both scored the same. {several}Many comparisons: the "
            f"{counted(family, 'rank test')} of this table are "
            "one family and the equivalence tests another, each adjusted by Benjamini–Hochberg (scipy's "
            f"`false_discovery_control`){skipped}. Power, a property of the design (no post-hoc power): "
            "`detectable Δ at this n` is the difference "
            f"in points the rank test detects with {100 * stats.POWER:.0f} % power at two-sided "
            f"α = {stats.ALPHA} (unadjusted) with these seeds, and `seeds for {POWER_POINTS:g} points` the "
            "seeds per backend a 2-point difference needs: normal approximation with the pooled SD, "
            "n = 2 (z(1 − α/2) + z(power))² σ² / Δ² divided by the rank test's asymptotic relative "
            "efficiency 3/π, rounded up.\n\n")
    return text + md(found, ".3g")


SECTION = Section("Backends compared", body, tables={"comparison": table})
