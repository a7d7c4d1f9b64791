"""The report's "Where the relapses come from": PyTorch seeds touch 100 % and drop below it again far
more often than Keras seeds; do the defaults that natively differ (initialisation, Adam epsilon)
explain it? Per scenario, the native pair's relapse shares beside each matched pair's (`matching`).

A seed has relapsed when its accuracy curve falls below 100 % after first touching it (`survival`);
shares are of the seeds that touched 100 %. The difference of two shares is tested with Fisher's
exact test (a 2 × 2 table of counts: exact where the counts are small), the table's tests one
Benjamini–Hochberg family. How much of the native gap a matching explains (1 − matched gap /
native gap) comes with a seeded bootstrap CI over seeds, and is called not estimable when that CI
spans more than the whole 0–100 % range.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.markdown import counted, md
from harness.reporting.matching import NATIVE_KIND, Pair, pairs
from harness.reporting.section import Section
from harness.reporting.view import ReportView

MIN_GAP_SHARE = 0.10  # a native relapse gap under 10 points of share is not worth explaining
GAP = "gap (PyTorch − Keras, points)"
RESAMPLES = 2_000  # bootstrap resamples of the share explained (seeded: the same records, the same CI)


def _share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else math.nan


def _fisher(a: list[bool], b: list[bool]) -> float:
    if not a or not b or (all(a) and all(b)) or not (any(a) or any(b)):
        return math.nan  # no counts, or every seed alike: not a test
    table = [[sum(a), len(a) - sum(a)], [sum(b), len(b) - sum(b)]]
    return float(sps.fisher_exact(table).pvalue)


def explained(native: Pair, matched: Pair, seed: int = 0) -> tuple[float, float, float]:
    """1 − matched gap / native gap (gap = PyTorch's relapse share − Keras's), with a bootstrap CI
    over seeds (each of the four groups resampled); NaN where the native gap is too small."""
    groups = [np.asarray(g.relapsed, dtype=float) for g in (native.keras, native.torch, matched.keras,
                                                             matched.torch)]
    if any(g.size == 0 for g in groups):
        return math.nan, math.nan, math.nan
    gap = groups[1].mean() - groups[0].mean()
    if abs(gap) < MIN_GAP_SHARE:
        return math.nan, math.nan, math.nan
    point = 1 - (groups[3].mean() - groups[2].mean()) / gap
    rng = np.random.default_rng(seed)
    means = [g[rng.integers(0, g.size, (RESAMPLES, g.size))].mean(axis=1) for g in groups]
    native_gaps = means[1] - means[0]
    keep = np.abs(native_gaps) >= MIN_GAP_SHARE / 2  # resamples whose native gap all but vanished say nothing
    shares = 1 - (means[3] - means[2])[keep] / native_gaps[keep]
    if shares.size < RESAMPLES / 2:
        return float(point), math.nan, math.nan
    low, high = np.percentile(shares, [2.5, 97.5])
    return float(point), float(low), float(high)


def relapse_table(records: list[dict]) -> pd.DataFrame:
    """One row per pair whose seeds carry curves, in scenarios with a native and a matched pair."""
    found = [p for p in pairs(records) if p.keras.relapsed and p.torch.relapsed]
    scenarios = {p.scenario for p in found if p.settings == NATIVE_KIND} & {
        p.scenario for p in found if p.settings != NATIVE_KIND}
    rows = []
    for scenario in dict.fromkeys(p.scenario for p in found if p.scenario in scenarios):
        mine = [p for p in found if p.scenario == scenario]
        native = next(p for p in mine if p.settings == NATIVE_KIND)
        for pair in mine:
            k, t = pair.keras.relapsed, pair.torch.relapsed
            row = {"scenario": scenario, "pair": pair.name, "settings": pair.settings,
                   "Keras relapsed": f"{sum(k)}/{len(k)}", "PyTorch relapsed": f"{sum(t)}/{len(t)}",
                   GAP: 100 * (_share(t) - _share(k)),
                   "Fisher p": _fisher(k, t), stats.P_ADJUSTED: math.nan, "explained": "—"}
            if pair is not native:
                point, low, high = explained(native, pair)
                row["explained"] = (_explained_text(point, low, high) if any(k) or any(t) or math.isnan(point)
                                    else f"{point:.0%}: neither side relapsed ({len(k)} and {len(t)} seeds)")
            rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table[stats.P_ADJUSTED] = stats.adjusted_p_values(table["Fisher p"])
        table["verdict"] = [stats.verdict(q, untestable=stats.IDENTICAL) for q in table[stats.P_ADJUSTED]]
    return table


def _explained_text(point: float, low: float, high: float) -> str:
    if math.isnan(point):
        return "no native gap to explain"
    if math.isnan(low) or high - low > 1.0:
        return f"{point:.0%} by the shares; not estimable at this n (CI {low:.0%} to {high:.0%})"
    return f"{point:.0%} (95 % CI {low:.0%} to {high:.0%})"


def sentence(table: pd.DataFrame, scenario: str) -> str:
    """Per scenario: is there a native relapse gap, and how much of it each matching explains."""
    rows = table[table["scenario"] == scenario]
    native, matched = rows.iloc[0], rows.iloc[1:]
    head = (f"**{scenario}**: PyTorch − Keras relapse share {native[GAP]:+.0f} points natively "
            f"({native['Keras relapsed']} vs {native['PyTorch relapsed']}, {native['verdict']})")
    if native["verdict"] != stats.DIFFERENT:
        return head + ": no native relapse gap established, nothing for the defaults to explain."
    parts = [f"with {row['settings']}: {row[GAP]:+.0f} points "
             f"({row['verdict']}), explained {row['explained']}" for _, row in matched.iterrows()]
    return head + "; " + "; ".join(parts) + "."


def body(view: ReportView) -> str:
    table = relapse_table(view.reference)
    if table.empty:
        return ""
    family = int(table[stats.P_ADJUSTED].notna().sum())
    text = ("Seeds that touch 100 % and later fall below it again (of the seeds that touched it), per "
            "framework, natively and with the defaults matched. Gap = PyTorch's share − Keras's, in points; "
            f"Fisher's exact test, the {counted(family, 'test')} of this table one family "
            "(Benjamini–Hochberg), verdict "
            f"on the adjusted p at α = {stats.ALPHA} (different or inconclusive: no equivalence margin is "
            "set for shares). `explained` = 1 − matched gap / native gap, with a seeded bootstrap 95 % CI "
            f"over seeds ({RESAMPLES:,} resamples); 'not estimable' when the CI is wider than 100 points.")
    sentences = "\n".join(f"- {sentence(table, s)}" for s in dict.fromkeys(table["scenario"]))
    return text + "\n\n" + sentences + "\n\n" + md(table, ".3g")


def table(view: ReportView) -> pd.DataFrame:
    return relapse_table(view.reference)


SECTION = Section("Where the relapses come from", body, tables={"relapses": table})
