"""harness.reporting.stats on hand-computed cases, degenerate inputs and a bootstrap coverage check."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from harness.reporting.significance import mann_whitney, sign_test
from harness.reporting.stats import (
    Interval,
    adjusted_p_values,
    bootstrap_mean_ci,
    detectable_difference,
    diff_of_means,
    percentile_of,
    percentile_of_attainable,
    pooled_sd,
    seeds_for_power,
    snap_to_attainable,
    summary,
)


def test_mann_whitney_separated_groups_by_hand():
    low = mann_whitney([1, 2, 3], [4, 5, 6])
    assert low.u == 0
    assert low.prob_superiority == 0
    assert low.p_value == pytest.approx(2 / 20)  # exact: 1 of C(6,3)=20 orderings per tail
    high = mann_whitney([4, 5, 6], [1, 2, 3])
    assert high.u == 9
    assert high.prob_superiority == 1
    assert high.p_value == pytest.approx(0.1)


def test_mann_whitney_ties_by_hand():
    # Pairs (a, b): 1<2, 1<3, 2=2, 2<3, 2=2, 2<3 → 0 wins, 2 ties over 6 pairs.
    result = mann_whitney([1, 2, 2], [2, 3])
    assert result.u == pytest.approx(1.0)
    assert result.prob_superiority == pytest.approx(1 / 6)
    assert 0 < result.p_value <= 1
    # Reversed: 4 wins, 2 ties → (4 + 1) / 6.
    assert mann_whitney([2, 3], [1, 2, 2]).prob_superiority == pytest.approx(5 / 6)


@pytest.mark.parametrize(
    ("n_a", "n_b", "expected", "reachable"),
    [(3, 3, 0.1, False), (5, 5, 2 / 252, True), (2, 2, 1 / 3, False), (1, 1, 1.0, False)],
)
def test_min_p_value(n_a, n_b, expected, reachable):
    result = mann_whitney(list(range(n_a)), list(range(100, 100 + n_b)))
    assert result.min_p_value == pytest.approx(expected)
    assert result.can_reach(0.05) is reachable
    assert result.p_value >= result.min_p_value - 1e-12


def test_min_p_value_is_attained_by_separated_groups():
    result = mann_whitney([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert result.p_value == pytest.approx(result.min_p_value)


def test_identical_groups_are_no_test_without_warnings():
    """Every value the same: nothing to test (p NaN, so no BH family counts it), said as identical."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = mann_whitney([100.0] * 5, [100.0] * 4)
        single = mann_whitney([84.0], [84.0])
    assert result.identical and math.isnan(result.p_value) and not result.can_reach()
    assert result.prob_superiority == 0.5
    assert result.u == pytest.approx(10.0)
    assert single.identical and math.isnan(single.p_value) and single.prob_superiority == 0.5
    assert not mann_whitney([100.0] * 5, [100.0, 95.0]).identical


def test_mann_whitney_empty_groups():
    for a, b in [([], [1, 2]), ([1, 2], []), ([], [])]:
        result = mann_whitney(a, b)
        assert math.isnan(result.u) and math.isnan(result.p_value)
        assert math.isnan(result.prob_superiority) and math.isnan(result.min_p_value)
        assert result.can_reach() is False


def test_bootstrap_coverage_is_near_nominal():
    rng = np.random.default_rng(12345)
    covered = 0
    trials = 200
    for i in range(trials):
        sample = rng.normal(loc=10.0, scale=2.0, size=30)
        ci = bootstrap_mean_ci(sample, n_resamples=2000, seed=i)
        covered += ci.low <= 10.0 <= ci.high
    assert 0.88 <= covered / trials <= 0.99


def test_bootstrap_is_deterministic_per_seed():
    values = [84.0, 100.0, 92.0, 100.0, 76.0, 88.0]
    first = bootstrap_mean_ci(values, seed=7)
    assert bootstrap_mean_ci(values, seed=7) == first
    assert first.low <= np.mean(values) <= first.high
    # Few lattice-valued seeds can land on the same percentiles; continuous data shows the seed matters.
    spread = np.random.default_rng(0).normal(90.0, 5.0, size=8)
    assert bootstrap_mean_ci(spread, seed=1) != bootstrap_mean_ci(spread, seed=2)
    assert bootstrap_mean_ci(spread, seed=1) == bootstrap_mean_ci(spread, seed=1)


def test_bootstrap_degenerate_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = bootstrap_mean_ci([])
        one = bootstrap_mean_ci([84.0])
        same = bootstrap_mean_ci([100.0] * 6)
    assert math.isnan(empty.low) and math.isnan(empty.high)
    assert math.isnan(one.low) and math.isnan(one.high)
    assert same == Interval(100.0, 100.0)


def test_bootstrap_rejects_bad_confidence():
    with pytest.raises(ValueError):
        bootstrap_mean_ci([1.0, 2.0], confidence=1.5)


def test_diff_of_means_separated_groups():
    rng = np.random.default_rng(3)
    a = rng.normal(90.0, 2.0, size=10)
    b = rng.normal(60.0, 2.0, size=10)
    result = diff_of_means(a, b, n_resamples=2000)
    assert result.diff == pytest.approx(a.mean() - b.mean())
    assert result.diff > 0 and result.low > 0
    assert result.low <= 30.0 <= result.high
    flipped = diff_of_means(b, a, n_resamples=2000)
    assert flipped.diff < 0 and flipped.high < 0
    assert diff_of_means(a, b, n_resamples=2000) == result


def test_diff_of_means_degenerate_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = diff_of_means([], [1.0, 2.0])
        single = diff_of_means([90.0], [80.0, 70.0])
        constant = diff_of_means([100.0] * 3, [84.0] * 4)
    assert math.isnan(empty.diff) and math.isnan(empty.low) and math.isnan(empty.high)
    assert single.diff == pytest.approx(15.0)
    assert math.isnan(single.low) and math.isnan(single.high)
    assert (constant.diff, constant.low, constant.high) == (16.0, 16.0, 16.0)


def test_percentile_of_known_values():
    assert percentile_of(3, [1, 2, 3, 4, 5]) == 50.0
    assert percentile_of(100, [100] * 5) == 50.0
    assert percentile_of(0, [1, 2, 3]) == 0.0
    assert percentile_of(10, [1, 2, 3]) == 100.0
    assert math.isnan(percentile_of(3, []))


def test_summary_on_known_list():
    result = summary([84.0, 100.0, 92.0, 100.0])
    assert result.n == 4
    assert result.mean == pytest.approx(94.0)
    assert result.std == pytest.approx(np.std([84.0, 100.0, 92.0, 100.0], ddof=1))
    assert result.std == pytest.approx(math.sqrt(176 / 3))  # deviations -10, 6, -2, 6
    assert result.median == pytest.approx(96.0)
    assert (result.min, result.max) == (84.0, 100.0)
    assert result.ci_low <= 94.0 <= result.ci_high
    assert result.ci_low >= 84.0 and result.ci_high <= 100.0


def test_summary_drops_failed_seeds_and_handles_small_n():
    assert summary([84.0, None, float("nan")]).n == 1
    single = summary([84.0])
    assert single.mean == 84.0 and single.median == 84.0
    assert math.isnan(single.std) and math.isnan(single.ci_low) and math.isnan(single.ci_high)
    empty = summary([])
    assert empty.n == 0
    assert all(math.isnan(getattr(empty, f)) for f in ("mean", "std", "median", "min", "max", "ci_low"))
    same = summary([100.0] * 5)
    assert same.std == 0.0 and same.ci_low == same.ci_high == 100.0


def test_seeds_for_power_by_hand():
    # z_0.975 + z_0.8 = 1.95996 + 0.84162 = 2.80158; the t-test needs 2 (2.80158 · 5 / 2)² = 98.1 seeds,
    # the rank test that many over its efficiency 3/π = 0.95493: 102.7 → 103
    assert seeds_for_power(2.0, 5.0) == 103
    assert seeds_for_power(-2.0, 5.0) == 103  # the sign of the difference does not matter
    assert seeds_for_power(4.0, 4.0) == 17  # 2 · 2.80158² / 0.95493 = 16.4
    for difference, sd in ((2.0, 0.0), (0.0, 5.0), (2.0, math.nan)):
        assert math.isnan(seeds_for_power(difference, sd))


def test_detectable_difference_by_hand_and_inverts_the_seed_count():
    # 2.80158 · 4 · √(2 / (20 · 0.95493)) = 3.626
    assert detectable_difference(20, 4.0) == pytest.approx(3.626, abs=1e-3)
    assert seeds_for_power(detectable_difference(20, 4.0) + 1e-9, 4.0) == 20
    assert math.isnan(detectable_difference(1, 4.0)) and math.isnan(detectable_difference(20, math.nan))


def test_pooled_sd_by_hand():
    assert pooled_sd([80, 84, 88], [84, 88, 92]) == pytest.approx(4.0)  # (32 + 32) / 4 = 16
    assert pooled_sd([100.0] * 3, [100.0] * 4) == 0.0
    assert math.isnan(pooled_sd([1.0], [2.0]))


def test_adjusted_p_values_are_benjamini_hochberg():
    # sorted 0.01, 0.02, 0.04 over m = 3: 0.01·3/1 = 0.03, 0.02·3/2 = 0.03, 0.04·3/3 = 0.04
    assert adjusted_p_values([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.03])
    # one raw p under 0.05 in a family of three with two nulls: 0.03 · 3 = 0.09
    assert adjusted_p_values([0.03, 1.0, 1.0])[0] == pytest.approx(0.09)
    nan_kept = adjusted_p_values([0.03, None, math.nan])
    assert nan_kept[0] == pytest.approx(0.03) and math.isnan(nan_kept[1]) and math.isnan(nan_kept[2])


def test_snap_to_the_nearest_attainable_fraction():
    assert snap_to_attainable(86.96, 23) == (20, pytest.approx(2000 / 23))
    assert snap_to_attainable(95.65, 23)[0] == 22
    assert snap_to_attainable(84.0, 25)[0] == 21
    assert snap_to_attainable(100.0, 23)[0] == 23
    with pytest.raises(ValueError):
        snap_to_attainable(50.0, 0)


def test_percentile_of_a_printed_figure_counts_exact_ties_half():
    seeds = [100.0 * 20 / 23] * 5  # every seed exactly 20/23, printed 86.96 by the tutorial
    assert percentile_of(86.96, seeds) == 100.0  # raw: "above every seed"
    assert percentile_of_attainable(86.96, seeds, 23) == 50.0
    mixed = [100.0 * 22 / 23] * 2 + [100.0] * 8  # the notebook's 95.65 is 22/23: 2 ties, none below
    assert percentile_of_attainable(95.65, mixed, 23) == 10.0
    assert math.isnan(percentile_of_attainable(86.96, [], 23))


def test_sign_test_by_hand():
    assert sign_test(6, 0) == (pytest.approx(1 / 32), pytest.approx(1 / 32))  # 2 · 0.5⁶
    assert sign_test(3, 3)[0] == pytest.approx(1.0)
    assert sign_test(2, 0)[1] == 0.5
    assert all(math.isnan(v) for v in sign_test(0, 0))
