"""The time-to-learn half of "Where the Keras–PyTorch gap comes from" (`gap`): per pair, time to learn
for good (100 % at every later evaluation), its native gap in median epochs, and how much of it matching
the defaults explains. The native gap = the framework's effect at one init + the init's effect in the
other framework, so the share of it left in a matched pair is what the init does not explain.
"""

from __future__ import annotations

import math

import pandas as pd

from harness.reporting import stats
from harness.reporting.markdown import counted, md, share_range
from harness.reporting.matching import MIN_GAP_STEPS, TimeRow, framework_names
from harness.reporting.survival import Times, fmt_median, medians_overlap

CLOSED = 0.25  # at most this share of the native time gap left (and no longer significant): explains most
LITTLE = 0.75  # at least this share left (and still significant): explains little


def _learned(times: Times) -> str:
    return f"{sum(times.learned)}/{times.n} ({sum(times.learned) / times.n:.0%})"


def _test_verdict(row: TimeRow) -> str:
    seeds = set(zip(row.pair.a.epochs + row.pair.b.epochs, row.pair.a.learned + row.pair.b.learned,
                    strict=True))
    untestable = "not testable (every seed the same time)" if len(seeds) == 1 else "not testable"
    return stats.verdict(row.q if math.isfinite(row.p) else math.nan, untestable=untestable)


def time_table(rows: list[TimeRow]) -> pd.DataFrame:
    """The rows as the report shows them: medians with CI, share learned, gap, p raw and adjusted. The
    sides are headed by framework (Keras, PyTorch) when every row is of the same two, else A and B."""
    a, b = framework_names([r.pair for r in rows])
    return pd.DataFrame([{
        "scenario": r.pair.scenario, "pair": r.pair.pair, "settings": r.pair.settings,
        "n": f"{r.pair.a.n}/{r.pair.b.n}",
        f"{a} learned": _learned(r.pair.a), f"{b} learned": _learned(r.pair.b),
        f"{a} median (95 % CI)": fmt_median(r.a, max(r.pair.a.epochs)),
        f"{b} median (95 % CI)": fmt_median(r.b, max(r.pair.b.epochs)),
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
            for label, t in zip(r.pair.labels, (r.pair.a, r.pair.b), strict=True)}.values()
    censored, total = sum(t.n - sum(t.learned) for t in seen), sum(t.n for t in seen)
    return (f"{censored} of {total} seeds never learned for good and are censored, so the medians are "
            "Kaplan–Meier estimates") if censored else None


def _overlapping(native: TimeRow, matched: list[TimeRow]) -> str | None:
    """The swapped sides credited with a share of the gap (under LITTLE of it left) whose median CI
    still overlaps their native group's: the init's own effect is not shown apart from seed noise."""
    claims = [r for r in matched if r.pair.swapped and math.isfinite(r.left) and r.left < LITTLE]
    stuck = [r.pair.labels[0 if r.pair.swapped == "a" else 1] for r in claims
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
    a, b = framework_names([row.pair])
    return (f"{a} median {fmt_median(row.a, max(row.pair.a.epochs))}, {b} "
            f"{fmt_median(row.b, max(row.pair.b.epochs))}")


def time_verdict(rows: list[TimeRow]) -> str:
    """One sentence on a scenario's time to learn for good: is there a native gap, how much does matching
    explain?"""
    native, matched = rows[0], rows[1:]
    words = " − ".join(framework_names([native.pair]))
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
        reading = (f"no significant native gap after adjustment ({words} {native.gap:+,.0f} epochs "
                   f"in median: {_native_medians(native)}; {_p(native)})")
        if small and native.significant:
            reading = (f"the native gap ({native.gap:+,.0f} epochs in median) is under {MIN_GAP_STEPS} "
                       f"evaluation steps of {native.pair.step:,.0f} epochs ({_p(native)})")
        return head + "; ".join([reading, *parts]) + f" → nothing established for {subject} to explain."
    reading = (f"{words} is {native.gap:+,.0f} epochs in median natively "
               f"({_native_medians(native)}; {_p(native)})")
    censoring = _censoring(rows)
    return (head + "; ".join([reading, *parts]) + f" → {_conclusion(native, matched, subject)}"
            + (f"; {censoring}" if censoring else "") + ".")


def time_text(rows: list[TimeRow]) -> str:
    """The time-to-learn table with its reading rules; empty when no pair has curves."""
    if not rows:
        return ""
    family = sum(math.isfinite(r.q) for r in rows)
    a, b = framework_names([r.pair for r in rows])
    return (f"Time to learn for good, per pair: the first evaluated epoch from which a seed gets every "
            "training pattern right at every later evaluation (see Time to learn); seeds that never settle "
            "are censored at their last evaluated epoch and "
            f"the medians (95 % CI) are scipy's Kaplan–Meier estimates. `gap` = {a} median − {b} median "
            f"(positive: {a} slower); `share of native gap left` = matched gap / native gap (shown when the "
            f"native gap is at least {MIN_GAP_STEPS} evaluation steps). Logrank test (scipy, two-sided, "
            f"censoring-aware); the {counted(family, 'test')} of this table are one family, "
            "Benjamini–Hochberg-adjusted "
            f"together, the verdict on the adjusted p at α = {stats.ALPHA}.\n\n"
            + md(time_table(rows), ".3g"))
