"""The report's tests computed independently of its code, for tests to check it against."""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats as sps


def exact_p(a: list[float], b: list[float]) -> tuple[float, float]:
    """Two-sided rank-sum p exact given the ties, and the smallest p these tied values allow, by brute
    force: every one of the C(N, len(a)) ways to draw a's midranks from the pooled sample; p is 2 × the
    smaller tail at a's observed rank sum, the floor 2 × the smaller of the two extreme sums' shares."""
    ranks = sps.rankdata(np.array(a + b, dtype=float))
    observed = ranks[: len(a)].sum()
    sums = np.array([ranks[list(c)].sum() for c in itertools.combinations(range(len(ranks)), len(a))])
    p = min(1.0, 2 * min(np.mean(sums <= observed + 1e-9), np.mean(sums >= observed - 1e-9)))
    floor = min(1.0, 2 * min(np.mean(sums <= sums.min() + 1e-9), np.mean(sums >= sums.max() - 1e-9)))
    return p, floor


def tost_by_hand(a: list[float], b: list[float], margin: float) -> float:
    """TOST written out: Welch's t of mean(a) − mean(b) against −margin and +margin, with the
    Welch–Satterthwaite df; p is the larger of the two one-sided p-values."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    diff = x.mean() - y.mean()
    return float(max(sps.t.sf((diff + margin) / se, df), sps.t.cdf((diff - margin) / se, df)))
