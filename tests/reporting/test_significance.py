"""The report's tests: the rank test exact given the ties, the equivalence test, and the three-way verdict."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.frames import to_frame
from harness.reporting.sections.comparison import comparison_table
from harness.reporting.significance import mann_whitney, rank_sum_distribution, tost
from tests.fakes import make_record


def test_exact_p_of_a_tiny_tied_sample_by_hand():
    """x = [1, 2, 2], y = [2, 3]: pooled midranks 1, 3, 3, 3, 5 (the three 2s share rank 3). x's rank sum
    is 1 + 3 + 3 = 7. The C(5, 3) = 10 ways to choose x's three ranks give sums: {1,3,3} ×3 = 7,
    {1,3,5} ×3 = 9, {3,3,3} ×1 = 9, {3,3,5} ×3 = 11 → P(7) = 3/10, P(9) = 4/10, P(11) = 3/10.
    Two-sided: 2 · min(P(≤ 7), P(≥ 7)) = 2 · 3/10 = 0.6; the floor (the extreme sums) 2 · 3/10 too."""
    sums, probs = rank_sum_distribution(np.array([1.0, 2, 2, 2, 3]), 3)
    assert list(sums) == [14, 18, 22]  # doubled rank sums 7, 9, 11
    assert list(probs) == pytest.approx([0.3, 0.4, 0.3])
    result = mann_whitney([1, 2, 2], [2, 3])
    assert result.p_value == pytest.approx(0.6) and result.min_p_value == pytest.approx(0.6)


def _enumerated(x: list[float], y: list[float]) -> float:
    pooled = np.array(x + y, dtype=float)
    ranks = sps.rankdata(pooled)
    observed = ranks[: len(x)].sum()
    sums = np.array([ranks[list(c)].sum() for c in itertools.combinations(range(len(pooled)), len(x))])
    return min(1.0, 2 * min(np.mean(sums <= observed + 1e-9), np.mean(sums >= observed - 1e-9)))


@pytest.mark.parametrize("seed", range(5))
def test_exact_p_equals_full_enumeration_on_tied_samples(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        x = rng.choice([80.0, 90.0, 100.0], rng.integers(2, 7)).tolist()
        y = rng.choice([80.0, 90.0, 100.0], rng.integers(2, 7)).tolist()
        if len(set(x + y)) > 1:
            assert mann_whitney(x, y).p_value == pytest.approx(_enumerated(x, y), abs=1e-12)


def test_heavy_ties_give_a_larger_p_than_the_normal_approximation():
    """The issue's case: few distinct values, where the asymptotic p comes out too small."""
    x, y = [100.0] * 15 + [95.65] * 5, [100.0] * 9 + [95.65] * 8 + [91.3] * 3
    exact = mann_whitney(x, y).p_value
    assert exact > sps.mannwhitneyu(x, y, method="asymptotic").pvalue
    assert exact == pytest.approx(sps.mannwhitneyu(x, y, method=sps.PermutationMethod(
        n_resamples=99_999, rng=0)).pvalue, abs=0.005)


def test_the_floor_counts_the_ties():
    """All tied but one value: however they fall, p cannot go below 2 · (ways to put the odd one in x)."""
    result = mann_whitney([100.0] * 5 + [90.0], [100.0] * 6)
    assert result.min_p_value == pytest.approx(1.0)  # 2 · 6/12 capped: no arrangement is extreme enough
    assert not result.can_reach()
    untied = mann_whitney([1.0, 2, 3], [4.0, 5, 6])
    assert untied.min_p_value == pytest.approx(2 / math.comb(6, 3))


def test_tost_by_hand():
    """a = [1, 2, 3] (mean 2, var 1), b = [1.5, 1.75, 2] (mean 1.75, var 0.0625): diff 0.25,
    se = √(1/3 + 0.0625/3) = 0.59512, Welch df = 0.354167² / ((1/3)²/2 + 0.0208333²/2) = 2.2490;
    margin 2: t = (0.25 + 2)/se = 3.7808 against the lower margin, (0.25 − 2)/se = −2.9406 against the
    upper; p = the larger one-sided p = max(sf(3.7808), cdf(−2.9406)) at df 2.2490."""
    se = math.sqrt(1 / 3 + 0.0625 / 3)
    dof = (1 / 3 + 0.0625 / 3) ** 2 / ((1 / 3) ** 2 / 2 + (0.0625 / 3) ** 2 / 2)
    assert se == pytest.approx(0.59512, abs=1e-5) and dof == pytest.approx(2.2490, abs=1e-4)
    by_hand = max(sps.t.sf(2.25 / se, dof), sps.t.cdf(-1.75 / se, dof))
    assert tost([1, 2, 3], [1.5, 1.75, 2], margin=2.0) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(sps.t.cdf(-1.75 / se, dof))  # the upper margin is the binding one
    assert tost([1, 2, 3], [1.5, 1.75, 2], margin=0.5) > 0.05  # too much spread to show ±0.5
    # no spread within either group: no error to estimate, so no test (a few flat seeds are not
    # "equivalent with certainty"); identical groups and single values neither
    assert math.isnan(tost([90.0] * 4, [91.0] * 4, margin=2.0))
    assert math.isnan(tost([90.0] * 4, [90.0] * 4)) and math.isnan(tost([1.0], [1.0, 2.0]))


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"adjusted": 0.01}, "different"),
    ({"adjusted": 0.2, "equivalence": 0.01}, stats.EQUIVALENT),
    ({"adjusted": 0.2, "equivalence": 0.2}, "inconclusive"),
    ({"adjusted": 0.2}, "inconclusive"),
    ({"adjusted": 0.01, "reachable": False, "equivalence": 0.3}, "undecidable at this n"),
    ({"adjusted": math.nan, "identical": True}, "identical (no test)"),
    ({"adjusted": math.nan}, "no data"),
])
def test_three_way_verdict(kwargs, expected):
    assert stats.verdict(**kwargs) == expected


def test_no_difference_alone_is_never_equivalence():
    assert stats.verdict(0.9) == stats.INCONCLUSIVE != stats.EQUIVALENT


def _seeds(backend: str, scenario: str, wrong: list[dict]) -> list[dict]:
    return [make_record(scenario, backend, seed=i, wrong=w, execution="fast") for i, w in enumerate(wrong)]


def test_a_zero_spread_pair_is_not_a_test_and_leaves_the_family():
    """batch_state: every seed of both backends at 100 %; one_char: a real comparison. The family the
    report states (and BH adjusts over) holds the one real test."""
    same = _seeds("keras", "batch_state", [{}] * 4) + _seeds("torch", "batch_state", [{}] * 4)
    differ = (_seeds("keras", "one_char", [{"B": "C"}] * 4)
              + _seeds("torch", "one_char", [{"B": "C", "Z": "A", "Y": "A"}] * 2 + [{"B": "C"}] * 2))
    table = comparison_table(to_frame(same + differ)).set_index("scenario")
    assert table.loc["batch_state", "verdict"] == "identical (no test)"
    assert math.isnan(table.loc["batch_state", "Mann–Whitney p"])
    assert math.isnan(table.loc["batch_state", "TOST p"])
    assert table.loc["one_char", stats.P_ADJUSTED] == pytest.approx(table.loc["one_char", "Mann–Whitney p"])
    assert int(table[stats.P_ADJUSTED].notna().sum()) == 1
