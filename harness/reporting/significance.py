"""The tests a report makes: the rank test (exact given the ties), the equivalence test (TOST) and
the sign test. Each returns what the verdicts need (`stats.verdict` words them).

Seed accuracies take few distinct values (k/n of a scenario's patterns), so the rank test's p is
computed from the exact permutation distribution with the ties as they are, never the normal
approximation, which comes out too small on such data; the same distribution gives the smallest p
these values could ever reach.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from harness.reporting.stats import ALPHA, MARGIN_POINTS, clean


@dataclass(frozen=True)
class MannWhitney:
    """Rank test result plus the floor on its p-value, since tiny n can never be 'significant'.

    `identical`: every value of both groups is the same, so there is nothing to test (p is NaN and
    the comparison counts in no family)."""

    u: float
    p_value: float
    prob_superiority: float
    min_p_value: float
    identical: bool = False

    def can_reach(self, alpha: float = ALPHA) -> bool:
        """Whether these sample sizes and ties could ever give p <= alpha (False if sizes are 0)."""
        return not math.isnan(self.min_p_value) and self.min_p_value <= alpha


def min_p_value(n_a: int, n_b: int) -> float:
    """Smallest two-sided exact p for these sizes (no ties): 2 / C(n_a + n_b, n_a), capped at 1."""
    if n_a <= 0 or n_b <= 0:
        return math.nan
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a))


def rank_sum_distribution(pooled: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact permutation distribution of the sum of n midranks drawn from the pooled values: every
    one of the C(N, n) ways to split the pooled sample, ties kept as they are. Returns (doubled rank
    sums, probabilities). Counted by dynamic programming over the tie groups, so it is exact for any
    N this harness sees (a few hundred seeds) where enumerating the splits would not be."""
    ranks2 = np.rint(2 * stats.rankdata(pooled)).astype(int)  # doubled midranks: integers
    values, sizes = np.unique(ranks2, return_counts=True)
    top = int(np.sort(ranks2)[::-1][:n].sum())
    ways = np.zeros((n + 1, top + 1))  # ways[k, s]: subsets of k items whose doubled rank sum is s
    ways[0, 0] = 1.0
    for value, size in zip(values, sizes, strict=True):
        grown = ways.copy()
        for j in range(1, min(int(size), n) + 1):
            shift = j * int(value)
            if shift > top:
                break
            grown[j:, shift:] += math.comb(int(size), j) * ways[:-j or None, :top + 1 - shift]
        ways = grown
    counts = ways[n]
    support = np.nonzero(counts)[0]
    return support, counts[support] / counts.sum()


def exact_mann_whitney_p(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Two-sided p of the rank-sum test, exact and conditional on the ties (2 × the smaller tail,
    capped at 1, as scipy's exact method), and the smallest p this tie pattern allows at all."""
    pooled = np.concatenate([x, y])
    sums, probs = rank_sum_distribution(pooled, x.size)
    observed = int(np.rint(2 * stats.rankdata(pooled)[: x.size].sum()))
    low, high = probs[sums <= observed].sum(), probs[sums >= observed].sum()
    floor = 2.0 * min(probs[0], probs[-1])
    return float(min(1.0, 2.0 * min(low, high))), float(min(1.0, floor))


def mann_whitney(a: Iterable[float | None], b: Iterable[float | None]) -> MannWhitney:
    """Two-sided Mann–Whitney U: a rank test, robust to the skewed, tied accuracies of few seeds. The
    p-value is exact given the ties (seed accuracies take few distinct values, where the normal
    approximation comes out too small), and so is the floor no arrangement of these values can beat."""
    x, y = clean(a), clean(b)
    if x.size == 0 or y.size == 0:
        return MannWhitney(math.nan, math.nan, math.nan, math.nan)
    pairs = x.size * y.size
    if np.ptp(np.concatenate([x, y])) == 0:
        return MannWhitney(pairs / 2.0, math.nan, 0.5, math.nan, identical=True)
    u = float(stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").statistic)
    p, floor = exact_mann_whitney_p(x, y)
    return MannWhitney(u, p, u / pairs, floor)


def tost(a: Iterable[float | None], b: Iterable[float | None], margin: float = MARGIN_POINTS) -> float:
    """Equivalence of two means within ±margin: two one-sided Welch t-tests (TOST); p is the larger of
    the two one-sided p-values. NaN (not a test) with fewer than 2 values a side, or with no spread
    within either group: a few flat seeds would otherwise be "equivalent" with certainty."""
    x, y = clean(a), clean(b)
    if x.size < 2 or y.size < 2 or np.ptp(np.concatenate([x, y])) == 0:
        return math.nan  # identical groups: nothing to test
    diff = float(x.mean() - y.mean())
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(va + vb)
    if se == 0:
        return math.nan  # no spread within either group: nothing to estimate the error from
    dof = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    above_lower = stats.t.sf((diff + margin) / se, dof)  # H0: diff ≤ −margin
    below_upper = stats.t.cdf((diff - margin) / se, dof)  # H0: diff ≥ +margin
    return float(max(above_lower, below_upper))


def sign_test(above: int, below: int) -> tuple[float, float]:
    """Two-sided sign test of `above` against `below` (ties already dropped): (p, the smallest p
    these counts could ever give). NaN for no counts. Seeds are the independent units."""
    total = above + below
    if total <= 0:
        return math.nan, math.nan
    return float(stats.binomtest(above, total, 0.5).pvalue), min(1.0, 2.0 * 0.5 ** total)
