"""Small-sample statistics for per-seed accuracies (n ≈ 3..10, percentages with many ties), and the
one wording of a test's verdict.

Every function tolerates empty groups, single seeds and all-equal values, returning NaN
rather than raising, so a report over a partly failed run still renders. Non-finite
values (failed seeds carry NaN/None) are dropped first. Bootstraps take an explicit seed
so the same records always render the same report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

ALPHA = 0.05  # the significance level of every test a report or comparison makes


DIFFERENT, INCONCLUSIVE, IDENTICAL = "different", "inconclusive", "identical (no test)"
UNDECIDABLE = "undecidable at this n"
P_ADJUSTED = "BH-adjusted p"  # the column of Benjamini–Hochberg-adjusted p-values, in every table
MARGIN_POINTS = 2.0  # accuracies within ± this many points are "equivalent" (TOST) in every table
EQUIVALENT = f"equivalent within ±{MARGIN_POINTS:g} points"


def verdict(adjusted: float, *, reachable: bool = True, identical: bool = False,
            equivalence: float = math.nan, equivalent: str = EQUIVALENT, untestable: str = "no data",
            undecidable: str = UNDECIDABLE, different: str = DIFFERENT,
            alpha: float = ALPHA) -> str:
    """What a comparison of one family says: `different` when the adjusted p of its test is below
    alpha; `equivalent` when, instead, the adjusted p of its equivalence test (TOST) is; otherwise
    `inconclusive` ("no difference found" is not evidence of none), or `undecidable` when these
    sample sizes could never reach alpha. `identical`: every value the same, nothing to test;
    `untestable`: no p at all. Every table of tests words its verdicts through here."""
    if identical:
        return IDENTICAL
    if not math.isfinite(adjusted):
        return untestable
    if reachable and adjusted < alpha:
        return different
    if math.isfinite(equivalence) and equivalence < alpha:
        return equivalent
    return INCONCLUSIVE if reachable else undecidable


@dataclass(frozen=True)
class Interval:
    """A confidence interval; NaN bounds when the data cannot support one (n < 2)."""

    low: float
    high: float


@dataclass(frozen=True)
class Difference:
    """mean(a) - mean(b) with a bootstrap CI, so a gap is shown with its uncertainty."""

    diff: float
    low: float
    high: float


@dataclass(frozen=True)
class Summary:
    """Descriptive figures for one group of seeds."""

    n: int
    mean: float
    std: float
    median: float
    min: float
    max: float
    ci_low: float
    ci_high: float


def clean(values: Iterable[float | None]) -> np.ndarray:
    """Float array without None/NaN/inf: failed seeds must not poison the figures."""
    array = np.asarray([np.nan if v is None else v for v in values], dtype=float).ravel()
    return array[np.isfinite(array)]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")


def _resampled_means(x: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_resamples` with-replacement resamples of x, vectorised."""
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    return x[idx].mean(axis=1)


def _percentile_bounds(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_mean_ci(
    values: Iterable[float | None],
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap CI of the mean; assumes nothing about the shape of the seed spread."""
    _check_confidence(confidence)
    x = clean(values)
    if x.size < 2:
        return Interval(math.nan, math.nan)
    if np.ptp(x) == 0:
        return Interval(float(x[0]), float(x[0]))
    rng = np.random.default_rng(seed)
    return Interval(*_percentile_bounds(_resampled_means(x, n_resamples, rng), confidence))


def diff_of_means(
    a: Iterable[float | None],
    b: Iterable[float | None],
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> Difference:
    """mean(a) - mean(b) with a CI from resampling each group independently (unpaired seeds)."""
    _check_confidence(confidence)
    x, y = clean(a), clean(b)
    if x.size == 0 or y.size == 0:
        return Difference(math.nan, math.nan, math.nan)
    diff = float(x.mean() - y.mean())
    if x.size < 2 or y.size < 2:
        return Difference(diff, math.nan, math.nan)
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return Difference(diff, diff, diff)
    rng = np.random.default_rng(seed)
    samples = _resampled_means(x, n_resamples, rng) - _resampled_means(y, n_resamples, rng)
    return Difference(diff, *_percentile_bounds(samples, confidence))


def percentile_of(value: float, values: Iterable[float | None]) -> float:
    """Where a reference figure (e.g. the tutorial's) falls among the seeds, in percent."""
    x = clean(values)
    if x.size == 0 or not math.isfinite(value):
        return math.nan
    return float(stats.percentileofscore(x, value, kind="mean"))


def summary(values: Iterable[float | None], seed: int = 0) -> Summary:
    """The per-group row of a report: location, spread, range and a bootstrap CI of the mean."""
    x = clean(values)
    if x.size == 0:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, nan, nan, nan)
    ci = bootstrap_mean_ci(x, seed=seed)
    return Summary(
        n=int(x.size),
        mean=float(x.mean()),
        std=float(x.std(ddof=1)) if x.size >= 2 else math.nan,
        median=float(np.median(x)),
        min=float(x.min()),
        max=float(x.max()),
        ci_low=ci.low,
        ci_high=ci.high,
    )


POWER = 0.80  # the power every "seeds needed" figure is computed for


def adjusted_p_values(p_values: Iterable[float | None]) -> list[float]:
    """Benjamini–Hochberg adjusted p-values over one family of tests (scipy's
    `false_discovery_control`); NaN entries (tests that could not run) stay NaN and do not count
    towards the family's size."""
    ps = [math.nan if p is None else float(p) for p in p_values]
    finite = [i for i, p in enumerate(ps) if math.isfinite(p)]
    out = [math.nan] * len(ps)
    if finite:
        adjusted = stats.false_discovery_control([ps[i] for i in finite], method="bh")
        for i, value in zip(finite, np.atleast_1d(adjusted), strict=True):
            out[i] = float(value)
    return out


ARE = 3 / math.pi  # the Mann–Whitney test's asymptotic relative efficiency to the t-test (normal data)


def _z(alpha: float, power: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def seeds_for_power(difference: float, pooled_sd: float, alpha: float = ALPHA,
                    power: float = POWER) -> float:
    """Seeds per group the two-sided Mann–Whitney test needs to detect `difference` with `power`: the
    t-test's normal approximation 2 (z_{1-α/2} + z_power)² σ² / Δ² divided by the rank test's
    asymptotic relative efficiency 3/π, rounded up. NaN when the spread is zero or unknown, or the
    difference is zero (no finite number exists)."""
    if not (math.isfinite(difference) and math.isfinite(pooled_sd)) or pooled_sd <= 0 or difference == 0:
        return math.nan
    return float(math.ceil(2 * (_z(alpha, power) * pooled_sd / difference) ** 2 / ARE))


def detectable_difference(n: int, pooled_sd: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest difference of means the Mann–Whitney test detects with `power` at n seeds per group
    (the inverse of `seeds_for_power`): a property of the design, not of the observed difference."""
    if n < 2 or not math.isfinite(pooled_sd) or pooled_sd < 0:
        return math.nan
    return float(_z(alpha, power) * pooled_sd * math.sqrt(2.0 / (n * ARE)))


def pooled_sd(a: Iterable[float | None], b: Iterable[float | None]) -> float:
    """The pooled standard deviation of two groups (NaN with fewer than 3 values in all)."""
    x, y = clean(a), clean(b)
    dof = x.size + y.size - 2
    if x.size < 1 or y.size < 1 or dof < 1:
        return math.nan
    ss = float(((x - x.mean()) ** 2).sum() + ((y - y.mean()) ** 2).sum())
    return math.sqrt(ss / dof)


def snap_to_attainable(printed: float, n: int) -> tuple[int, float]:
    """The attainable accuracy k/n (as k and in %) nearest a figure printed rounded.

    A seed's accuracy over n patterns can only be k/n; the tutorial printed 20/23 as 86.96, so
    compared raw it would sit above the seeds that scored exactly what it scored.
    """
    if n <= 0 or not math.isfinite(printed):
        raise ValueError(f"need a finite figure and n > 0, got {printed} and {n}")
    k = int(np.clip(round(printed * n / 100.0), 0, n))
    return k, 100.0 * k / n


def percentile_of_attainable(printed: float, values: Iterable[float | None], n: int) -> float:
    """`percentile_of` a printed figure snapped to the nearest k/n, compared as counts k so that a
    seed scoring exactly that fraction ties with it (and counts half) despite float rounding."""
    x = clean(values)
    if x.size == 0 or not math.isfinite(printed) or n <= 0:
        return math.nan
    k, _ = snap_to_attainable(printed, n)
    return float(stats.percentileofscore(np.rint(x * n / 100.0), k, kind="mean"))


TOO_FEW, ZERO_SPREAD, NO_EFFECT = "too few seeds", "zero spread", "no difference"


@dataclass(frozen=True)
class Power:
    """Seeds per group for POWER at a difference, from the two groups' pooled SD; `reason` says why
    there is no number (TOO_FEW: spread unknown, ZERO_SPREAD, NO_EFFECT: a zero difference)."""

    sd: float
    seeds: float
    reason: str = ""


def power(a: Iterable[float | None], b: Iterable[float | None], difference: float) -> Power:
    """`seeds_for_power` at `difference` with the pooled SD of a and b, or the reason it has no value."""
    sd = pooled_sd(a, b)
    if not math.isfinite(sd):
        return Power(sd, math.nan, TOO_FEW)
    if sd == 0:
        return Power(sd, math.nan, ZERO_SPREAD)
    seeds = seeds_for_power(difference, sd)
    return Power(sd, seeds, "" if math.isfinite(seeds) else NO_EFFECT)
