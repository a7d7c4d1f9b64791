"""The report's "Where the Keras–PyTorch gap comes from": the native gap beside the same comparison
with the defaults matched (`matching`), on final accuracy and, where seeds carry accuracy curves, on
time to learn for good (100 % at every later evaluation).

Each table's tests are one Benjamini–Hochberg family and every verdict uses the adjusted p, as the
rest of the report does, so no sentence calls significant what a table does not. For time: the
native gap = the framework's effect at one init + the init's effect in the other framework, so the
share of it left in a matched pair is what the init does not explain.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness.reporting import significance, stats
from harness.reporting.markdown import counted, interval, md, share_range
from harness.reporting.matching import (
    MIN_GAP_STEPS,
    NATIVE_KIND,
    Pair,
    TimeRow,
    compare_times,
    pairs,
    time_pairs,
)
from harness.reporting.section import Section
from harness.reporting.survival import Times, fmt_median, medians_overlap
from harness.reporting.view import ReportView

# The native gap must be at least this many points (and significant) to ask what explains it.
MIN_GAP_POINTS = 1.0
CLOSED = 0.25  # at most this share of the native time gap left (and no longer significant): explains most
LITTLE = 0.75  # at least this share left (and still significant): explains little


def power_cell(keras: list[float], torch: list[float]) -> str:
    """The gap these seeds detect with 80 % power (a property of the design, not of the observed gap),
    or why there is no such number."""
    need = stats.power(keras, torch, stats.MARGIN_POINTS)
    words = {stats.TOO_FEW: "too few seeds", stats.ZERO_SPREAD: "zero spread"}
    if need.reason in words:
        return words[need.reason]
    return f"{stats.detectable_difference(min(len(keras), len(torch)), need.sd):.2g}"


def gap_table(records: list[dict[str, Any]], found: list[Pair] | None = None) -> pd.DataFrame:
    """One accuracy row per pair; the table's rank tests are one family and its equivalence tests
    another (BH each); an identical pair (every seed the same) is not a test."""
    rows, tests, native_gap = [], [], np.nan
    for pair in pairs(records) if found is None else found:
        diff = stats.diff_of_means(pair.keras.acc, pair.torch.acc)
        test = significance.mann_whitney(pair.keras.acc, pair.torch.acc)
        tests.append(test)
        if pair.settings == NATIVE_KIND:
            native_gap = diff.diff if abs(diff.diff) >= MIN_GAP_POINTS else np.nan
        rows.append({
            "scenario": pair.scenario, "pair": pair.name, "settings": pair.settings,
            "n": f"{len(pair.keras.acc)}/{len(pair.torch.acc)}", "gap (points)": diff.diff,
            "95 % CI": interval(diff.low, diff.high),
            "Mann–Whitney p": test.p_value, stats.P_ADJUSTED: np.nan,
            "TOST p": significance.tost(pair.keras.acc, pair.torch.acc), "TOST BH-adjusted p": np.nan,
            "verdict": "",
            "share of native gap left": np.nan if pair.settings == NATIVE_KIND else diff.diff / native_gap,
            "detectable gap at this n": power_cell(pair.keras.acc, pair.torch.acc),
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


def accuracy_verdict(table: pd.DataFrame, scenario: str) -> str:
    """One sentence per scenario: is there a gap, and does matching the defaults close it? A matched
    gap closes only when it is shown equivalent to none (TOST), not merely no longer significant.
    Verdicts use the BH-adjusted p."""
    rows = table[table["scenario"] == scenario]
    native, matched = rows.iloc[0], rows.iloc[1:]
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
    return (f"**{scenario}**: Keras − PyTorch is {gap:+.1f} points natively ({_p_accuracy(native)}); "
            + "; ".join(parts) + f" → {cause}.")


def _learned(times: Times) -> str:
    return f"{sum(times.learned)}/{times.n} ({sum(times.learned) / times.n:.0%})"


def _test_verdict(row: TimeRow) -> str:
    seeds = set(zip(row.pair.keras.epochs + row.pair.torch.epochs,
                    row.pair.keras.learned + row.pair.torch.learned, strict=True))
    untestable = "not testable (every seed the same time)" if len(seeds) == 1 else "not testable"
    return stats.verdict(row.q if math.isfinite(row.p) else math.nan, untestable=untestable)


def time_table(rows: list[TimeRow]) -> pd.DataFrame:
    """The rows as the report shows them: medians with CI, share learned, gap, p raw and adjusted."""
    return pd.DataFrame([{
        "scenario": r.pair.scenario, "pair": r.pair.pair, "settings": r.pair.settings,
        "n": f"{r.pair.keras.n}/{r.pair.torch.n}",
        "Keras learned": _learned(r.pair.keras), "PyTorch learned": _learned(r.pair.torch),
        "Keras median (95 % CI)": fmt_median(r.keras, max(r.pair.keras.epochs)),
        "PyTorch median (95 % CI)": fmt_median(r.torch, max(r.pair.torch.epochs)),
        "gap (median epochs)": r.gap, "share of native gap left": r.left,
        "logrank p": r.p, stats.P_ADJUSTED: r.q, "verdict": _test_verdict(r),
    } for r in rows])


def _p(row: TimeRow) -> str:
    return "logrank not testable" if math.isnan(row.p) else f"logrank p = {row.p:.2g}, adjusted {row.q:.2g}"


def _explained(rows: list[TimeRow]) -> str:
    """Each matched pair's share of the native gap explained, with its bootstrap CI, or the range of
    the shares and that they cannot be estimated at this n."""
    cis = [r.explained_ci for r in rows]
    if any(not math.isfinite(low) or high - low > 1.0 for low, high in cis):
        shares = share_range([1 - r.left for r in rows])
        return f"{shares} (not estimable at this n: a bootstrap CI spans more than 100 points)"
    return " and ".join(f"{1 - r.left:.0%} (95 % CI {low:.0%} to {high:.0%})"
                        for r, (low, high) in zip(rows, cis, strict=True))


def _censoring(rows: list[TimeRow]) -> str | None:
    """How many of the scenario's seeds never learned for good (each group counted once)."""
    seen = {label: t for r in rows
            for label, t in zip(r.pair.labels, (r.pair.keras, r.pair.torch), strict=True)}.values()
    censored, total = sum(t.n - sum(t.learned) for t in seen), sum(t.n for t in seen)
    return (f"{censored} of {total} seeds never learned for good and are censored, so the medians are "
            "Kaplan–Meier estimates") if censored else None


def _overlapping(native: TimeRow, matched: list[TimeRow]) -> str | None:
    """The swapped sides credited with a share of the gap (under LITTLE of it left) whose median CI
    still overlaps their native group's: the init's own effect is not shown apart from seed noise."""
    claims = [r for r in matched if r.pair.swapped and math.isfinite(r.left) and r.left < LITTLE]
    stuck = [r.pair.labels[0 if r.pair.swapped == "keras" else 1] for r in claims
             if medians_overlap(getattr(r, r.pair.swapped), getattr(native, r.pair.swapped))]
    if not stuck:
        return None
    return (f"the median CI of {stuck[0]} overlaps its native one" if len(stuck) == 1
            else f"the median CIs of {' and '.join(stuck)} overlap their native ones")


def _conclusion(native: TimeRow, matched: list[TimeRow], subject: str) -> str:
    """How much of a significant native gap matching explains, no firmer than the evidence."""
    shares = [r for r in matched if math.isfinite(r.left)]
    if not shares:
        return f"how much {subject} explains cannot be read from medians (a median not reached)"
    explained = _explained(shares)
    overlap = _overlapping(native, matched)
    hedge = f", but {overlap}, so how much is not established at this number of seeds" if overlap else ""
    closing = [r for r in shares if abs(r.left) <= CLOSED and not r.significant]
    unproven = "; no longer significant is not shown equal (times have no equivalence test)"
    if len(closing) == len(matched):
        return f"by the medians {subject} explains most of it ({explained}){hedge or unproven}"
    if closing:
        return (f"by the medians {' and '.join(r.pair.settings for r in closing)} closes most of it, the "
                f"other matchings do not ({explained} explained by the medians){hedge or unproven}")
    if all(r.significant for r in matched):
        if all(r.left >= 1 for r in shares):
            left = share_range([r.left for r in shares])
            return f"{subject} explains none of it: matched, the gap is {left} of the native one"
        if all(r.left >= LITTLE for r in shares):
            return f"{subject} explains little of it ({explained}): the frameworks differ beyond it"
        if overlap:
            return (f"a framework difference remains (every matched gap is still significant); by the "
                    f"medians {subject} explains {explained} of it{hedge}")
        return (f"{subject} explains part of it ({explained} by the medians), not all: a framework "
                "difference remains")
    return (f"by the medians {subject} explains {explained} of it, but not every matched gap is significant "
            f"and none has closed: inconclusive at this number of seeds{f'; {overlap}' if overlap else ''}")


def _native_medians(row: TimeRow) -> str:
    return (f"Keras median {fmt_median(row.keras, max(row.pair.keras.epochs))}, PyTorch "
            f"{fmt_median(row.torch, max(row.pair.torch.epochs))}")


def time_verdict(rows: list[TimeRow]) -> str:
    """One sentence on a scenario's time to learn for good: is there a native gap, how much does matching
    explain?"""
    native, matched = rows[0], rows[1:]
    init_only = all(r.pair.settings.startswith("same init (") and "," not in r.pair.settings for r in matched)
    subject = "the init" if init_only else "matching the defaults"
    parts = [f"with {r.pair.settings} it is {r.gap:+,.0f} epochs"
             + (f" ({r.left:.0%} of it left; {_p(r)}, "
                f"{'still different' if r.significant else 'no longer significant'})"
                if math.isfinite(r.left) else f" ({_p(r)})")
             for r in matched if math.isfinite(r.gap)]
    parts += [f"with {r.pair.settings} a median is not reached ({_p(r)})"
              for r in matched if math.isnan(r.gap)]
    head = "time to learn for good: "
    if math.isnan(native.gap):
        reading = (f"the native gap in median epochs is not defined ({_native_medians(native)}; "
                   f"{_p(native)}, {'a significant' if native.significant else 'no significant'} difference)")
        return (head + "; ".join([reading, *parts])
                + f" → how much {subject} explains is not read from medians.")
    small = abs(native.gap) < MIN_GAP_STEPS * native.pair.step
    if small or not native.significant:
        reading = (f"no significant native gap after adjustment (Keras − PyTorch {native.gap:+,.0f} epochs "
                   f"in median: {_native_medians(native)}; {_p(native)})")
        if small and native.significant:
            reading = (f"the native gap ({native.gap:+,.0f} epochs in median) is under {MIN_GAP_STEPS} "
                       f"evaluation steps of {native.pair.step:,.0f} epochs ({_p(native)})")
        return head + "; ".join([reading, *parts]) + f" → nothing established for {subject} to explain."
    reading = (f"Keras − PyTorch is {native.gap:+,.0f} epochs in median natively "
               f"({_native_medians(native)}; {_p(native)})")
    censoring = _censoring(rows)
    return (head + "; ".join([reading, *parts]) + f" → {_conclusion(native, matched, subject)}"
            + (f"; {censoring}" if censoring else "") + ".")


def time_text(rows: list[TimeRow]) -> str:
    """The time-to-learn table with its reading rules; empty when no pair has curves."""
    if not rows:
        return ""
    family = sum(math.isfinite(r.q) for r in rows)
    return (f"Time to learn for good, per pair: the first evaluated epoch from which a seed gets every "
            "training pattern right at every later evaluation (see Time to learn); seeds that never settle "
            "are censored at their last evaluated epoch and "
            "the medians (95 % CI) are scipy's Kaplan–Meier estimates. `gap` = Keras median − PyTorch median "
            "(positive: Keras slower); `share of native gap left` = matched gap / native gap (shown when the "
            f"native gap is at least {MIN_GAP_STEPS} evaluation steps). Logrank test (scipy, two-sided, "
            f"censoring-aware); the {counted(family, 'test')} of this table are one family, "
            "Benjamini–Hochberg-adjusted "
            f"together, the verdict on the adjusted p at α = {stats.ALPHA}.\n\n"
            + md(time_table(rows), ".3g"))


def body(view: ReportView) -> str:
    """Shown only when the run holds a matched pair (e.g. `--init keras` rows beside native); its
    time-to-learn part only when those rows carry accuracy curves."""
    found = pairs(view.reference)
    if not found:
        return ""
    table, times = gap_table(view.reference, found), compare_times(time_pairs(found))
    by_scenario = {s: [r for r in times if r.pair.scenario == s] for s in dict.fromkeys(table["scenario"])}
    sentences = "\n".join(f"- {accuracy_verdict(table, s)}" + (f"\n  - {time_verdict(t)}" if t else "")
                          for s, t in by_scenario.items())
    family = int(np.isfinite(table["Mann–Whitney p"]).sum())
    intro = ("The native gap (each framework on its own "
             "defaults) beside the same comparison with the defaults matched: a Keras row and a PyTorch "
             "row that share what natively differs (initialisation, Adam epsilon) or both run the 2017 gate. "
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


def table(view: ReportView) -> pd.DataFrame:
    return gap_table(view.reference)


SECTION = Section("Where the Keras–PyTorch gap comes from", body, tables={"gap": table})
