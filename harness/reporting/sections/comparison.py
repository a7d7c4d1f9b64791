"""The report's "Backends compared": per scenario, backends run with the same settings (keras[fast] vs
torch[fast]); the table's tests are one family (Benjamini–Hochberg)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from harness.reporting import stats
from harness.reporting.frames import ok
from harness.reporting.markdown import interval, md
from harness.reporting.section import Section
from harness.reporting.view import ReportView

POWER_POINTS = 2.0  # the fixed Keras–PyTorch difference every comparison is powered for


def _power_cells(a: list[float], b: list[float], diff: float) -> tuple[str, str, str]:
    """Seeds per backend for 80 % power at the observed difference and at POWER_POINTS, and the
    plain-words note (zero spread, too few seeds) that goes with them: a 'no difference' verdict
    means little when the run could not have seen one."""
    need = stats.power(a, b, diff)
    if need.reason == stats.TOO_FEW:
        return "—", "—", "too few seeds to estimate the spread"
    if need.reason == stats.ZERO_SPREAD:
        return ("zero spread", "zero spread",
                "zero spread: every seed of each backend scored the same, so no seed count is computed")
    fixed = f"{stats.seeds_for_power(POWER_POINTS, need.sd):.0f}"
    if need.reason == stats.NO_EFFECT:
        return "no difference", fixed, ""
    n = min(len(a), len(b))
    note = (f"too few seeds for the observed difference: {n} per backend, {need.seeds:.0f} needed"
            if n < need.seeds else "")
    return f"{need.seeds:.0f}", fixed, note


def _settings(label: str) -> str:
    """A backend label's settings, without the framework: `torch[fast,init=keras]` -> `[fast,init=keras]`."""
    return label[label.find("["):] if "[" in label else ""


def matched_pairs(labels: list[str]) -> list[tuple[str, str]]:
    """Backends run with the same settings (keras[fast] vs torch[fast]): what differs is the framework.
    Rows with changed defaults are compared by the gap section; a scenario with no matched pair
    compares every pair."""
    pairs = list(combinations(sorted(labels), 2))
    matched = [(a, b) for a, b in pairs if _settings(a) == _settings(b)]
    return matched or pairs


def comparison_table(frame: pd.DataFrame, alpha: float = stats.ALPHA) -> pd.DataFrame:
    """One row per scenario and pair of backends with the same settings, from a `frames.to_frame` frame."""
    rows, tests = [], []
    for scenario, group in ok(frame).groupby("scenario", sort=False):
        by_backend = {b: g["accuracy"].tolist() for b, g in group.groupby("backend", sort=True)}
        for a, b in matched_pairs(list(by_backend)):
            diff = stats.diff_of_means(by_backend[a], by_backend[b])
            test = stats.mann_whitney(by_backend[a], by_backend[b])
            observed, fixed, power_note = _power_cells(by_backend[a], by_backend[b], diff.diff)
            notes = ([] if test.can_reach(alpha)
                     else [f"n too small: p can never go below {test.min_p_value:.3g}"])
            tests.append(test)
            rows.append({
                "scenario": scenario, "A": a, "B": b,
                "n A/B": f"{len(by_backend[a])}/{len(by_backend[b])}",
                "mean A − B (points)": diff.diff, "95 % CI": interval(diff.low, diff.high),
                "P(A seed beats B seed)": test.prob_superiority,
                "Mann–Whitney p": test.p_value, stats.P_ADJUSTED: np.nan, "verdict": "",
                "seeds for observed Δ": observed, f"seeds for {POWER_POINTS:g} points": fixed,
                "note": "; ".join([*notes, power_note] if power_note else notes),
            })
    adjusted = stats.adjusted_p_values([t.p_value for t in tests])
    for row, test, q in zip(rows, tests, adjusted, strict=True):
        row[stats.P_ADJUSTED] = q
        row["verdict"] = stats.verdict(q, reachable=test.can_reach(alpha), alpha=alpha)
    return pd.DataFrame(rows)


def table(view: ReportView) -> pd.DataFrame:
    return comparison_table(view.frame)


def body(view: ReportView) -> str:
    found = table(view)
    family = int(found[stats.P_ADJUSTED].notna().sum()) if not found.empty else 0
    alpha = stats.ALPHA
    text = ("Per scenario, backends run with the same settings (e.g. keras[fast] vs "
            "torch[fast]; rows with changed defaults are compared in the ablation section when there is "
            "one): difference of mean accuracy (bootstrap CI), the "
            "probability that a random seed of A beats a random seed of B (ties count half), and a "
            f"two-sided Mann–Whitney U test. Many comparisons: the {family} tests of this table are one "
            "family, their p-values adjusted together by Benjamini–Hochberg (false discovery rate, "
            "scipy's `false_discovery_control`); the raw p is shown beside the adjusted one and the "
            f"verdict uses the adjusted one, significant when it is < {alpha}. Power: seeds per backend "
            f"needed to detect the observed difference, and a fixed {POWER_POINTS:g}-point difference, "
            f"with {100 * stats.POWER:.0f} % power at two-sided α = {stats.ALPHA} (unadjusted): normal "
            "approximation to a two-sample t-test on per-seed accuracies in points, with the pooled SD, "
            "n = 2 (z(1 − α/2) + z(power))² σ² / Δ², rounded up.\n\n")
    return text + md(found, ".3g")


SECTION = Section("Backends compared", body, tables={"comparison": table})
