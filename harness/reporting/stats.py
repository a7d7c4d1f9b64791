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
class MannWhitney:
    """Rank test result plus the floor on its p-value, since tiny n can never be 'significant'."""

    u: float
    p_value: float
    prob_superiority: float
    min_p_value: float

    def can_reach(self, alpha: float = ALPHA) -> bool:
        """Whether these sample sizes could ever give p <= alpha (False if sizes are 0)."""
        return not math.isnan(self.min_p_value) and self.min_p_value <= alpha


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


def _clean(values: Iterable[float | None]) -> np.ndarray:
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
    x = _clean(values)
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
    x, y = _clean(a), _clean(b)
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


def min_p_value(n_a: int, n_b: int) -> float:
    """Smallest two-sided exact p for these sizes (no ties): 2 / C(n_a + n_b, n_a), capped at 1."""
    if n_a <= 0 or n_b <= 0:
        return math.nan
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))


def mann_whitney(a: Iterable[float | None], b: Iterable[float | None]) -> MannWhitney:
    """Two-sided Mann–Whitney U: a rank test, robust to the skewed, tied accuracies of few seeds."""
    x, y = _clean(a), _clean(b)
    if x.size == 0 or y.size == 0:
        return MannWhitney(math.nan, math.nan, math.nan, math.nan)
    pairs = x.size * y.size
    floor = min_p_value(x.size, y.size)
    if np.ptp(np.concatenate([x, y])) == 0:
        # scipy's normal approximation divides by a zero tie-corrected variance here.
        return MannWhitney(pairs / 2.0, 1.0, 0.5, floor)
    result = stats.mannwhitneyu(x, y, alternative="two-sided", method="auto")
    u = float(result.statistic)
    return MannWhitney(u, float(result.pvalue), u / pairs, floor)


def percentile_of(value: float, values: Iterable[float | None]) -> float:
    """Where a reference figure (e.g. the tutorial's) falls among the seeds, in percent."""
    x = _clean(values)
    if x.size == 0 or not math.isfinite(value):
        return math.nan
    return float(stats.percentileofscore(x, value, kind="mean"))


def summary(values: Iterable[float | None], seed: int = 0) -> Summary:
    """The per-group row of a report: location, spread, range and a bootstrap CI of the mean."""
    x = _clean(values)
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


def seeds_for_power(difference: float, pooled_sd: float, alpha: float = ALPHA,
                    power: float = POWER) -> float:
    """Seeds per group a two-sided two-sample t-test needs to detect `difference` with `power`
    (normal approximation): n = 2 (z_{1-α/2} + z_power)² σ² / Δ², rounded up. NaN when the
    spread is zero or unknown, or the difference is zero (no finite number exists)."""
    if not (math.isfinite(difference) and math.isfinite(pooled_sd)) or pooled_sd <= 0 or difference == 0:
        return math.nan
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    return float(math.ceil(2 * (z * pooled_sd / difference) ** 2))


def pooled_sd(a: Iterable[float | None], b: Iterable[float | None]) -> float:
    """The pooled standard deviation of two groups (NaN with fewer than 3 values in all)."""
    x, y = _clean(a), _clean(b)
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
    x = _clean(values)
    if x.size == 0 or not math.isfinite(printed) or n <= 0:
        return math.nan
    k, _ = snap_to_attainable(printed, n)
    return float(stats.percentileofscore(np.rint(x * n / 100.0), k, kind="mean"))


def sign_test(above: int, below: int) -> tuple[float, float]:
    """Two-sided sign test of `above` against `below` (ties already dropped): (p, the smallest p
    these counts could ever give). NaN for no counts. Seeds are the independent units."""
    total = above + below
    if total <= 0:
        return math.nan, math.nan
    return float(stats.binomtest(above, total, 0.5).pvalue), min(1.0, 2.0 * 0.5 ** total)


DIFFERENT, NO_DIFFERENCE = "different", "no significant difference"
P_ADJUSTED = "BH-adjusted p"  # the column of Benjamini–Hochberg-adjusted p-values, in every table


def verdict(adjusted: float, *, reachable: bool = True, untestable: str = "no data",
            undecidable: str = "undecidable at this n", words: tuple[str, str] = (DIFFERENT, NO_DIFFERENCE),
            alpha: float = ALPHA) -> str:
    """What a test of one family says, from its adjusted p: `untestable` when there is no p,
    `undecidable` when these sample sizes could never reach `alpha`, else words[0] (significant) or
    words[1]. Every table of tests words its verdicts through here."""
    if not math.isfinite(adjusted):
        return untestable
    if not reachable:
        return undecidable
    return words[0] if adjusted < alpha else words[1]


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
