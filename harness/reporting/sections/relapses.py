"""The report's "Where the relapses come from": PyTorch seeds touch 100 % and drop below it again far
more often than Keras seeds; do the defaults that natively differ (initialisation, Adam epsilon)
explain it? Per scenario, the native pair's relapse shares beside each matched pair's (`matching`).

With a third framework every two of them whose defaults can be matched are such a block (gap = B's
share − A's, A − B in the order Keras, PyTorch, JAX), all in the table's one family.

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
from harness.reporting.labels import display
from harness.reporting.markdown import counted, md
from harness.reporting.matching import NATIVE_KIND, Pair, framework_names, pairs, several
from harness.reporting.section import Section
from harness.reporting.view import ReportView

MIN_GAP_SHARE = 0.10  # a native relapse gap under 10 points of share is not worth explaining
GAP = "gap (PyTorch − Keras, points)"  # the column with the mission's pair alone; `gap_column` in general
RESAMPLES = 2_000  # bootstrap resamples of the share explained (seeded: the same records, the same CI)


def _share(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else math.nan


def _fisher(a: list[bool], b: list[bool]) -> float:
    if not a or not b or (all(a) and all(b)) or not (any(a) or any(b)):
        return math.nan  # no counts, or every seed alike: not a test
    table = [[sum(a), len(a) - sum(a)], [sum(b), len(b) - sum(b)]]
    return float(sps.fisher_exact(table).pvalue)


def gap_column(found: list[Pair]) -> str:
    """'gap (PyTorch − Keras, points)', or 'gap (B − A, points)' when the pairs are of several frameworks."""
    a, b = framework_names(found)
    return f"gap ({b} − {a}, points)"


def explained(native: Pair, matched: Pair, seed: int = 0) -> tuple[float, float, float]:
    """1 − matched gap / native gap (gap = B's relapse share − A's: PyTorch's − Keras's), with a bootstrap
    CI over seeds (each of the four groups resampled); NaN where the native gap is too small."""
    groups = [np.asarray(g.relapsed, dtype=float) for g in (native.a, native.b, matched.a, matched.b)]
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


def relapse_pairs(records: list[dict]) -> list[Pair]:
    """The pairs whose seeds carry curves, in blocks (scenario × two frameworks) with a native and a
    matched pair: the rows of `relapse_table`, in its order."""
    found = [p for p in pairs(records) if p.a.relapsed and p.b.relapsed]
    blocks = {p.block for p in found if p.settings == NATIVE_KIND} & {
        p.block for p in found if p.settings != NATIVE_KIND}
    return [p for p in found if p.block in blocks]


def relapse_table(records: list[dict], found: list[Pair] | None = None) -> pd.DataFrame:
    """One row per pair of `relapse_pairs` (A and B columns headed by framework, `framework_names`);
    the Fisher tests of every block one family."""
    found = relapse_pairs(records) if found is None else found
    a_name, b_name = framework_names(found)
    rows = []
    for block in dict.fromkeys(p.block for p in found):
        mine = [p for p in found if p.block == block]
        native = next(p for p in mine if p.settings == NATIVE_KIND)
        for pair in mine:
            k, t = pair.a.relapsed, pair.b.relapsed
            row = {"scenario": block[0], "pair": pair.name, "settings": pair.settings,
                   f"{a_name} relapsed": f"{sum(k)}/{len(k)}", f"{b_name} relapsed": f"{sum(t)}/{len(t)}",
                   gap_column(found): 100 * (_share(t) - _share(k)),
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


def sentence(rows: pd.DataFrame, frameworks: tuple[str, str] = ("keras", "torch"), head: str = "") -> str:
    """Per block (a scenario's native pair of two frameworks, then its matched pairs): is there a native
    relapse gap, and how much of it each matching explains. `head` names the block (default: its
    scenario)."""
    a, b = (display(fw) for fw in frameworks)
    sides = [c for c in rows.columns if c.endswith(" relapsed")]
    gap = next(c for c in rows.columns if c.startswith("gap ("))
    native, matched = rows.iloc[0], rows.iloc[1:]
    head = (f"**{head or native['scenario']}**: {b} − {a} relapse share {native[gap]:+.0f} points natively "
            f"({native[sides[0]]} vs {native[sides[1]]}, {native['verdict']})")
    if native["verdict"] != stats.DIFFERENT:
        return head + ": no native relapse gap established, nothing for the defaults to explain."
    parts = [f"with {row['settings']}: {row[gap]:+.0f} points "
             f"({row['verdict']}), explained {row['explained']}" for _, row in matched.iterrows()]
    return head + "; " + "; ".join(parts) + "."


def body(view: ReportView) -> str:
    found = relapse_pairs(view.reference)
    table = relapse_table(view.reference, found)
    if table.empty:
        return ""
    a, b = framework_names(found)
    family = int(table[stats.P_ADJUSTED].notna().sum())
    text = ("Seeds that touch 100 % and later fall below it again (of the seeds that touched it), per "
            f"framework, natively and with the defaults matched. Gap = {b}'s share − {a}'s, in points; "
            f"Fisher's exact test, the {counted(family, 'test')} of this table one family "
            "(Benjamini–Hochberg), verdict "
            f"on the adjusted p at α = {stats.ALPHA} (different or inconclusive: no equivalence margin is "
            "set for shares). `explained` = 1 − matched gap / native gap, with a seeded bootstrap 95 % CI "
            f"over seeds ({RESAMPLES:,} resamples); 'not estimable' when the CI is wider than 100 points.")
    lines = []
    for block in dict.fromkeys(p.block for p in found):
        rows = table.iloc[[i for i, p in enumerate(found) if p.block == block]]
        words = " − ".join(display(fw) for fw in block[1:])
        lines.append(f"- {sentence(rows, block[1:], f'{block[0]} ({words})' if several(found) else '')}")
    return text + "\n\n" + "\n".join(lines) + "\n\n" + md(table, ".3g")


def table(view: ReportView) -> pd.DataFrame:
    return relapse_table(view.reference)


SECTION = Section("Where the relapses come from", body, tables={"relapses": table})
