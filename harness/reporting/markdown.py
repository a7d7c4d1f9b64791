"""The markdown helpers every report, comparison and speed table uses: tables, intervals, p-values."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from harness.reporting.stats import Summary


def md(frame: pd.DataFrame, floatfmt: str = ".2f", general: Iterable[str] = ()) -> str:
    """A frame as a pipe table; NaN/None shown as "—". Columns in `general` print in general format
    (`g`): knob values such as 0.001 would read 0.0 under ".1f"."""
    if frame.empty:
        return "_no data_"
    blanked = frame.astype(object).where(frame.notna(), None)  # NaN → "—", not "nan"
    plain = set(general)
    formats = tuple("g" if c in plain else floatfmt for c in frame.columns) if plain else floatfmt
    return blanked.to_markdown(index=False, floatfmt=formats, missingval="—")


def interval(low: float, high: float, fmt: str = ".1f", sep: str = " – ", missing: str = "—") -> str:
    """A confidence interval as 'low – high', or `missing` when the data cannot support one."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return missing
    return f"{low:{fmt}}{sep}{high:{fmt}}"


def mean_interval(summary: Summary, fmt: str = ".1f", sep: str = " – ") -> str:
    """The bootstrap CI of a mean; where every seed scored the same the bootstrap collapses to a point,
    which would read as certainty: then the seeds are said to agree, with the share of seeds that
    could still score otherwise (1 − 0.05^(1/n), the exact one-sided 95 % bound for 0 of n)."""
    if summary.n >= 2 and summary.min == summary.max:
        could = 100 * (1 - 0.05 ** (1 / summary.n))
        return f"all {summary.n} at {summary.min:{fmt}} (≤ {could:.0f} % could differ)"
    return interval(summary.ci_low, summary.ci_high, fmt, sep)


def share_range(shares: list[float]) -> str:
    """'36%–64%', or one figure when they round alike."""
    low, high = min(shares), max(shares)
    return f"{low:.0%}" if round(100 * low) == round(100 * high) else f"{low:.0%}–{high:.0%}"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 test', '3 tests'."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def p_text(name: str, p: float, q: float) -> str:
    """A test's raw and Benjamini–Hochberg-adjusted p in a sentence."""
    return f"{name} p = {p:.2g}, BH-adjusted {q:.2g}" if math.isfinite(p) else f"no {name}: no counts"
