"""Where a Keras–PyTorch gap in *time to learn* comes from: the ablation pairs, on time to 100 %.

Why: two frameworks can end at the same accuracy and still differ in how long they take, and the
init that explains part of an accuracy gap may explain more or less of the time. Per pair (the
native one and each matched one of `ablation.py`) the median epoch to 100 % of each side, read
through `learning.py` (first evaluated epoch at 100 %, seeds that never get there censored; median
and CI from scipy's Kaplan–Meier), the gap in median epochs and a logrank test (scipy). The native
gap = the framework's effect at one init + the init's effect in the other framework, so the share
of it left in a matched pair is what the init does not explain.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import pandas as pd
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.learning import Median, Times, fmt_median, median_time
from harness.reporting.markdown import md

NATIVE_KIND = "each framework's own defaults"
MIN_GAP_STEPS = 2  # a native gap smaller than two evaluation steps could be the curve's grain alone
CLOSED = 0.25  # at most this share of the native gap left (and no longer significant): explains most
LITTLE = 0.75  # at least this share left (and still significant): explains little


@dataclass(frozen=True)
class TimePair:
    """A Keras group and a PyTorch group of one ablation pair, their seeds' times to 100 %."""

    scenario: str
    labels: tuple[str, str]  # the Keras and the PyTorch group's backend labels
    settings: str  # NATIVE_KIND, or what the two share (`ablation.shared`)
    keras: Times
    torch: Times
    swapped: str | None  # "keras"/"torch": the side trained off its own defaults, if only one is
    step: float  # the coarsest evaluation step of the curves: times are known to within it

    @property
    def pair(self) -> str:
        return " − ".join(self.labels)


@dataclass(frozen=True)
class TimeRow:
    """A pair's medians, gap in median epochs, share of the native gap left and logrank p (raw, BH)."""

    pair: TimePair
    keras: Median
    torch: Median
    gap: float
    left: float
    p: float
    q: float

    @property
    def significant(self) -> bool:
        return self.q < stats.ALPHA  # False for NaN: an untestable pair is never called different


def logrank(a: Times, b: Times) -> float:
    """scipy's two-sided logrank p; NaN when no seed learned in either or every time is the same."""
    if not (any(a.learned) or any(b.learned)):
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero variance: scipy returns NaN, we keep it
        p = float(sps.logrank(a.censored(), b.censored()).pvalue)
    return p if math.isfinite(p) else math.nan


def compare(pairs: list[TimePair]) -> list[TimeRow]:
    """Every pair's row; the logrank tests of all of them are one family (Benjamini–Hochberg)."""
    rows: list[TimeRow] = []
    native_gap = math.nan
    for pair in pairs:
        k, t = median_time(pair.keras), median_time(pair.torch)
        gap = k.value - t.value
        if pair.settings == NATIVE_KIND:
            native_gap = gap if abs(gap) >= MIN_GAP_STEPS * pair.step else math.nan
        left = math.nan if pair.settings == NATIVE_KIND else gap / native_gap
        rows.append(TimeRow(pair, k, t, gap, left, logrank(pair.keras, pair.torch), math.nan))
    adjusted = stats.adjusted_p_values([row.p for row in rows])
    return [TimeRow(r.pair, r.keras, r.torch, r.gap, r.left, r.p, q)
            for r, q in zip(rows, adjusted, strict=True)]


def _learned(times: Times) -> str:
    return f"{sum(times.learned)}/{times.n} ({sum(times.learned) / times.n:.0%})"


def _test_verdict(row: TimeRow) -> str:
    if math.isnan(row.p):
        identical = len(set(zip(row.pair.keras.epochs + row.pair.torch.epochs,
                                row.pair.keras.learned + row.pair.torch.learned, strict=True))) == 1
        return "not testable (every seed the same time)" if identical else "not testable"
    return "different" if row.significant else "no significant difference"


def time_table(rows: list[TimeRow]) -> pd.DataFrame:
    """The rows as the report shows them: medians with CI, share learned, gap, p raw and adjusted."""
    return pd.DataFrame([{
        "scenario": r.pair.scenario, "pair": r.pair.pair, "settings": r.pair.settings,
        "n": f"{r.pair.keras.n}/{r.pair.torch.n}",
        "Keras learned": _learned(r.pair.keras), "PyTorch learned": _learned(r.pair.torch),
        "Keras median (95 % CI)": fmt_median(r.keras, max(r.pair.keras.epochs)),
        "PyTorch median (95 % CI)": fmt_median(r.torch, max(r.pair.torch.epochs)),
        "gap (median epochs)": r.gap, "share of native gap left": r.left,
        "logrank p": r.p, "BH-adjusted p": r.q, "verdict": _test_verdict(r),
    } for r in rows])


def _p(row: TimeRow) -> str:
    return "logrank not testable" if math.isnan(row.p) else f"logrank p = {row.p:.2g}, adjusted {row.q:.2g}"


def _range(shares: list[float]) -> str:
    low, high = min(shares), max(shares)
    return f"{low:.0%}" if round(100 * low) == round(100 * high) else f"{low:.0%}–{high:.0%}"


def _overlap(a: Median, b: Median) -> bool:
    """Whether two medians' CIs overlap (an upper limit not reached counts as open-ended)."""
    if math.isnan(a.low) or math.isnan(b.low):
        return True
    a_high, b_high = (math.inf if math.isnan(m.high) else m.high for m in (a, b))
    return a.low <= b_high and b.low <= a_high


def _censoring(rows: list[TimeRow]) -> str | None:
    """How many of the scenario's seeds never reached 100 % (each group counted once)."""
    seen = {label: t for r in rows
            for label, t in zip(r.pair.labels, (r.pair.keras, r.pair.torch), strict=True)}.values()
    censored, total = sum(t.n - sum(t.learned) for t in seen), sum(t.n for t in seen)
    return (f"{censored} of {total} seeds never reached 100 % and are censored, so the medians are "
            "Kaplan–Meier estimates") if censored else None


def _overlapping(native: TimeRow, matched: list[TimeRow]) -> str | None:
    """The swapped sides credited with a share of the gap (under LITTLE of it left) whose median CI
    still overlaps their native group's: the init's own effect is not shown apart from seed noise."""
    claims = [r for r in matched if r.pair.swapped and math.isfinite(r.left) and r.left < LITTLE]
    stuck = [r.pair.labels[0 if r.pair.swapped == "keras" else 1] for r in claims
             if _overlap(getattr(r, r.pair.swapped), getattr(native, r.pair.swapped))]
    if not stuck:
        return None
    return (f"the median CI of {stuck[0]} overlaps its native one" if len(stuck) == 1
            else f"the median CIs of {' and '.join(stuck)} overlap their native ones")


def _conclusion(native: TimeRow, matched: list[TimeRow], subject: str) -> str:
    """How much of a significant native gap matching explains, no firmer than the evidence."""
    shares = [r for r in matched if math.isfinite(r.left)]
    if not shares:
        return f"how much {subject} explains cannot be read from medians (a median not reached)"
    explained = _range([1 - r.left for r in shares])
    overlap = _overlapping(native, matched)
    hedge = f", but {overlap}, so how much is not established at this number of seeds" if overlap else ""
    closing = [r for r in shares if abs(r.left) <= CLOSED and not r.significant]
    if len(closing) == len(matched):
        if overlap:
            return f"by the medians {subject} explains most of it ({explained}){hedge}"
        return f"{subject} explains most of it ({explained})"
    if closing:
        return (f"{' and '.join(r.pair.settings for r in closing)} closes most of it, the other matchings "
                f"do not ({explained} explained by the medians){hedge}")
    if all(r.significant for r in matched):
        if all(r.left >= 1 for r in shares):
            return (f"{subject} explains none of it: matched, the gap is {_range([r.left for r in shares])} "
                    "of the native one")
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
    """One sentence on a scenario's time to 100 %: is there a native gap, how much does matching explain?"""
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
    head = "time to 100 %: "
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
    return (f"Time to 100 %, per pair: the first evaluated epoch at which a seed gets every training pattern "
            "right (see Time to learn); seeds that never do are censored at their last evaluated epoch and "
            "the medians (95 % CI) are scipy's Kaplan–Meier estimates. `gap` = Keras median − PyTorch median "
            "(positive: Keras slower); `share of native gap left` = matched gap / native gap (shown when the "
            f"native gap is at least {MIN_GAP_STEPS} evaluation steps). Logrank test (scipy, two-sided, "
            f"censoring-aware); the {family} tests of this table are one family, Benjamini–Hochberg-adjusted "
            f"together, the verdict on the adjusted p at α = {stats.ALPHA}.\n\n"
            + md(time_table(rows), ".3g"))
