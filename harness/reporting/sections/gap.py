"""The report's "Where the Keras–PyTorch gap comes from": the native gap beside the same comparison
with the defaults matched (`matching`), on final accuracy and, where seeds carry accuracy curves, on
time to learn for good (`gap_time`). With a third framework every two of them are such a block of
pairs, and the section is "Where the gaps between frameworks come from".

Each table's tests are one Benjamini–Hochberg family (every pair of every block together) and every
verdict uses the adjusted p, as the rest of the report does, so no sentence calls significant what a
table does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import significance, stats
from harness.reporting.gap_time import time_text, time_verdict
from harness.reporting.labels import display
from harness.reporting.markdown import counted, interval, md
from harness.reporting.matching import (
    NATIVE_KIND,
    Pair,
    TimeRow,
    compare_times,
    framework_names,
    pairs,
    several,
    time_pairs,
)
from harness.reporting.section import Section
from harness.reporting.view import ReportView

# The native gap must be at least this many points (and significant) to ask what explains it.
MIN_GAP_POINTS = 1.0
TITLE = "Where the Keras–PyTorch gap comes from"
TITLE_OF_SEVERAL = "Where the gaps between frameworks come from"  # the records pair more frameworks


def power_cell(a: list[float], b: list[float]) -> str:
    """The gap these seeds detect with 80 % power (a property of the design, not of the observed gap),
    or why there is no such number."""
    need = stats.power(a, b, stats.MARGIN_POINTS)
    words = {stats.TOO_FEW: "too few seeds", stats.ZERO_SPREAD: "zero spread"}
    if need.reason in words:
        return words[need.reason]
    return f"{stats.detectable_difference(min(len(a), len(b)), need.sd):.2g}"


def gap_table(records: list[dict[str, Any]], found: list[Pair] | None = None) -> pd.DataFrame:
    """One accuracy row per pair (gap = A − B); the table's rank tests are one family and its
    equivalence tests another (BH each, over every block); an identical pair (every seed the same) is
    not a test."""
    rows, tests, native_gap = [], [], np.nan
    for pair in pairs(records) if found is None else found:
        diff = stats.diff_of_means(pair.a.acc, pair.b.acc)
        test = significance.mann_whitney(pair.a.acc, pair.b.acc)
        tests.append(test)
        if pair.settings == NATIVE_KIND:
            native_gap = diff.diff if abs(diff.diff) >= MIN_GAP_POINTS else np.nan
        rows.append({
            "scenario": pair.scenario, "pair": pair.name, "settings": pair.settings,
            "n": f"{len(pair.a.acc)}/{len(pair.b.acc)}", "gap (points)": diff.diff,
            "95 % CI": interval(diff.low, diff.high),
            "Mann–Whitney p": test.p_value, stats.P_ADJUSTED: np.nan,
            "TOST p": significance.tost(pair.a.acc, pair.b.acc), "TOST BH-adjusted p": np.nan,
            "verdict": "",
            "share of native gap left": np.nan if pair.settings == NATIVE_KIND else diff.diff / native_gap,
            "detectable gap at this n": power_cell(pair.a.acc, pair.b.acc),
        })
    table = pd.DataFrame(rows)
    if not table.empty:
        table[stats.P_ADJUSTED] = stats.adjusted_p_values(table["Mann–Whitney p"])
        table["TOST BH-adjusted p"] = stats.adjusted_p_values(table["TOST p"])
        table["verdict"] = [stats.verdict(q, reachable=t.can_reach(), identical=t.identical, equivalence=e)
                            for q, e, t in zip(table[stats.P_ADJUSTED], table["TOST BH-adjusted p"], tests,
                                               strict=True)]
    return table


def _p_accuracy(row: pd.Series) -> str:
    if row["verdict"] == stats.IDENTICAL:
        return "every seed the same: no test"
    return (f"p = {row['Mann–Whitney p']:.2g}, adjusted {row[stats.P_ADJUSTED]:.2g}; TOST adjusted "
            f"{row['TOST BH-adjusted p']:.2g}")


def _power_words(native: pd.Series) -> str:
    cell = native["detectable gap at this n"]
    if cell == "zero spread":
        return "; every seed of each framework scored the same"
    if cell[:1].isdigit():
        return f"; these seeds ({native['n']}) detect a gap of {cell} points with 80 % power"
    return ""


def accuracy_verdict(rows: pd.DataFrame, words: str = "Keras − PyTorch", head: str = "") -> str:
    """One sentence per block (a scenario's native pair of two frameworks, then its matched pairs): is
    there a gap, and does matching the defaults close it? A matched gap closes only when it is shown
    equivalent to none (TOST), not merely no longer significant. Verdicts use the BH-adjusted p.
    `words` names the two frameworks, `head` the block (default: its scenario)."""
    native, matched = rows.iloc[0], rows.iloc[1:]
    scenario = head or native["scenario"]
    gap = native["gap (points)"]
    if native["verdict"] == stats.IDENTICAL:
        return (f"**{scenario}**: every seed of both frameworks scored the same ({gap:+.1f} points, no "
                "test): nothing for the defaults to explain.")
    if native["verdict"] != stats.DIFFERENT or abs(gap) < MIN_GAP_POINTS:
        return (f"**{scenario}**: no native gap established ({gap:+.1f} points, {native['verdict']}: "
                f"{_p_accuracy(native)}{_power_words(native)}): nothing for the defaults to explain.")
    parts = [f"with {row['settings']} it is {row['gap (points)']:+.1f} points ({_p_accuracy(row)}; "
             f"{row['share of native gap left']:.0%} of it left, {row['verdict']})"
             for _, row in matched.iterrows()]
    closing = [row["settings"] for _, row in matched.iterrows()
               if row["verdict"] in (stats.EQUIVALENT, stats.IDENTICAL)]
    if closing and len(closing) == len(matched):
        cause = "matching the defaults closes it: they, not the framework, explain it"
    elif closing:
        cause = (f"{' and '.join(closing)} closes it, the other matchings do not: the gap "
                 "comes from those defaults, not from the framework alone")
    elif all(row["verdict"] == stats.DIFFERENT for _, row in matched.iterrows()):
        cause = "a framework difference remains beyond these defaults"
    else:
        cause = "inconclusive at this number of seeds"
    return (f"**{scenario}**: {words} is {gap:+.1f} points natively ({_p_accuracy(native)}); "
            + "; ".join(parts) + f" → {cause}.")


def body(view: ReportView) -> str:
    """Shown only when the run holds a matched pair (e.g. `--init keras` rows beside native); its
    time-to-learn part only when those rows carry accuracy curves."""
    found = pairs(view.reference)
    if not found:
        return ""
    table, times = gap_table(view.reference, found), compare_times(time_pairs(found))
    sentences = "\n".join(_block_sentences(table, found, times))
    family = int(np.isfinite(table["Mann–Whitney p"]).sum())
    a, b = framework_names(found)
    rows = (f"a {a} row and a {b} row" if not several(found) else
            "two frameworks' rows (every two of the frameworks here, A − B in the order Keras, PyTorch, JAX)")
    intro = ("The native gap (each framework on its own "
             f"defaults) beside the same comparison with the defaults matched: {rows} "
             "that share what natively differs (initialisation, Adam epsilon) or both run the 2017 gate. "
             "`share of native gap left` = matched gap / native gap (shown when the native gap is at "
             f"least {MIN_GAP_POINTS:g} point). Each table of tests is one family: its p-values are "
             "Benjamini–Hochberg-adjusted together (scipy's `false_discovery_control`), the raw p shown "
             f"beside the adjusted one, and every verdict uses the adjusted p at α = {stats.ALPHA}; the "
             "native rows repeat tests of Backends compared, whose family is another, so their adjusted p "
             "can differ from that table's."
             + (" Where the seeds carry accuracy curves, each scenario's second line reads the same pairs "
                "on time to learn for good." if times else "") + "\n\n")
    accuracy = (f"Accuracy at the end of training: Mann–Whitney U (two-sided, p exact given the ties), "
                f"the {counted(family, 'rank test')} of this table one family; an equivalence test (TOST, "
                "two one-sided "
                f"Welch t-tests, margin ±{stats.MARGIN_POINTS:g} points) for each pair, another family. "
                f"Verdict: different, {stats.EQUIVALENT}, or inconclusive; a matched gap closes only when "
                "it is shown equivalent, not merely when it is no longer significant. `detectable gap at "
                "this n`: the gap in points the rank test detects with "
                f"{100 * stats.POWER:.0f} % power at two-sided "
                f"α = {stats.ALPHA} with these seeds (normal approximation, pooled SD, the rank test's "
                "efficiency 3/π; 'zero spread': every seed of each framework scored the same).\n\n"
                + md(table, ".3g"))
    return "\n\n".join(s for s in (intro + sentences, accuracy, time_text(times)) if s)


def _block_sentences(table: pd.DataFrame, found: list[Pair], times: list[TimeRow]) -> list[str]:
    """Per block (scenario × two frameworks), its accuracy sentence and, with curves, its time line;
    each names its two frameworks when the section holds more than one pair of them."""
    named, out = several(found), []
    for block in dict.fromkeys(p.block for p in found):
        rows = table.iloc[[i for i, p in enumerate(found) if p.block == block]]
        words = " − ".join(display(fw) for fw in block[1:])
        line = accuracy_verdict(rows, words, f"{block[0]} ({words})" if named else block[0])
        mine = [r for r in times if (r.pair.scenario, *r.pair.frameworks) == block]
        out.append(f"- {line}" + (f"\n  - {time_verdict(mine)}" if mine else ""))
    return out


def table(view: ReportView) -> pd.DataFrame:
    return gap_table(view.reference)


def heading(view: ReportView) -> str:
    """The title naming the one pair of frameworks the records pair (the mission's: `TITLE`), or the
    general one when they pair more."""
    kinds = {p.frameworks for p in pairs(view.reference)}
    if len(kinds) != 1:
        return TITLE_OF_SEVERAL if kinds else TITLE
    a, b = (display(fw) for fw in kinds.pop())
    return f"Where the {a}–{b} gap comes from"


SECTION = Section(TITLE, body, tables={"gap": table}, heading=heading)
