"""The tutorial's findings on synthetic records whose verdict and wording are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.reporting import stats
from harness.reporting.claims import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    MIXED,
    NO_DATA,
    THRESHOLDS,
    evaluate_findings,
)
from scenarios import ALPHABET
from tests.fakes import make_record
from tests.reporting.by_hand import exact_p, tost_by_hand


def verdicts(records):
    return {(f.number, f.backend): f for f in evaluate_findings(records)}


def one_char(seed, wrong, backend="torch"):
    return make_record("one_char", backend, seed, wrong=dict.fromkeys(wrong, "A"))


def window(seed, n_wrong, backend="torch"):
    """A feature_window seed with its last `n_wrong` of 23 targets wrong: (23 - n_wrong) / 23."""
    return make_record("feature_window", backend, seed, wrong=dict.fromkeys(ALPHABET[26 - n_wrong:], "A"))


def single(seed, n_wrong, backend="torch"):
    """A one_char seed with its last `n_wrong` of 25 targets wrong: (25 - n_wrong) / 25."""
    return one_char(seed, ALPHABET[26 - n_wrong:], backend)


NO_LIFT_IDENTICAL = "no lift: every seed scores the same on the shared targets"


def shared(n_wrong: int) -> float:
    """A `single` or `window` seed's accuracy (%) on the 23 targets both scenarios have (D–Z): their last
    `n_wrong` targets are all among them."""
    return 100.0 * (23 - n_wrong) / 23


def seeds_for_five_points(a: list[float], b: list[float]) -> int:
    """Seeds per group for 80 % power at a 5-point lift: 2 (z(0.975) + z(0.80))² σ² / 5² / (3/π), up."""
    x, y = np.asarray(a), np.asarray(b)
    sd = math.sqrt((((x - x.mean()) ** 2).sum() + ((y - y.mean()) ** 2).sum()) / (x.size + y.size - 2))
    return math.ceil(2 * ((1.959964 + 0.841621) * sd / 5) ** 2 / (3 / math.pi))


def test_end_of_alphabet_wording_follows_share_and_sign_test():
    holds = verdicts([one_char(s, "WXY") for s in range(6)])[(1, "torch")]
    assert (holds.verdict, holds.wording) == (HOLDS, "holds: errors cluster in N–Z")
    assert "100 % of one_char errors (18 of 18 over 6 seeds)" in holds.evidence
    assert "against 52 % by chance; 6 of 6 seeds" in holds.evidence
    assert holds.p_value == pytest.approx(1 / 32) and "sign test p = 0.031" in holds.evidence
    not_mostly = verdicts([one_char(s, "WXYBC") for s in range(6)])[(1, "torch")]  # 3 of 5: 60 %
    assert not_mostly.verdict == MIXED
    assert not_mostly.wording == "more errors in N–Z than chance, not mostly (60 %)"
    few = verdicts([one_char(s, "WXY") for s in range(3)])[(1, "torch")]
    assert few.verdict == INCONCLUSIVE
    assert few.wording == ("leans to N–Z, not significant; too few seeds with errors: p can never go "
                           "below 0.25")
    early = verdicts([one_char(s, "BCD") for s in range(3)])[(1, "torch")]
    assert early.verdict == FAILS and "0 % of one_char errors (0 of 9" in early.evidence
    assert early.wording == "does not hold: errors no nearer the end than chance"
    none = verdicts([make_record("one_char", "torch", 0)])[(1, "torch")]
    assert (none.verdict, none.wording) == (FAILS, "does not hold: no errors at all")


def test_findings_tests_are_one_family_and_the_adjusted_p_decides():
    alone = verdicts([one_char(s, "WXY", "keras") for s in range(6)])[(1, "keras")]
    assert alone.verdict == HOLDS and alone.p_adjusted == pytest.approx(1 / 32)
    # torch's seeds split 3/3 (sign test p = 1): with two tests, keras's p = 0.031 adjusts to 0.0625
    mixed = [one_char(s, "WXY" if s % 2 else "BCD") for s in range(6)]
    found = verdicts([one_char(s, "WXY", "keras") for s in range(6)] + mixed)[(1, "keras")]
    assert found.p_value == pytest.approx(1 / 32) and found.p_value < stats.ALPHA
    assert found.p_adjusted == pytest.approx(2 / 32) and found.p_adjusted >= stats.ALPHA
    assert found.verdict == INCONCLUSIVE and found.wording.startswith("leans to N–Z, not significant")
    assert "sign test p = 0.031, BH-adjusted 0.062" in found.evidence


def test_small_but_real_lift():
    """30 seeds per group with tiny spread, a lift significant and under 5 points. Like for like on D–Z:
    one_char 28 × 19/23 and 2 × 18/23 (82.32 %), the window 28 × 20/23 and 2 × 19/23 (86.67 %): +30/690
    = +4.35 points; as the tutorial compared them, one_char on its 25 targets is 628/750 = 83.73 %:
    +2.93 points."""
    records = ([single(s, 4 if s % 15 else 5) for s in range(30)]
               + [window(s, 3 if s % 15 else 4) for s in range(30)])
    found = verdicts(records)[(2, "torch")]
    assert (found.verdict, found.wording) == (MIXED, "small but real lift (< 5 points)")
    like_for_like = ("on the 23 targets both have (D–Z): feature_window 86.7 % vs one_char 82.3 %, "
                     "lift +4.3 points")
    assert like_for_like in found.evidence
    assert "as the tutorial compared them, each on its own targets (23 vs 25): +2.9 points" in found.evidence
    assert found.p_adjusted < 1e-6
    assert "a 5-point lift needs" in found.evidence and "enough seeds here" in found.evidence


def test_real_lift_and_no_lift():
    # one_char 5 wrong: 18/23 = 78.26 % on D–Z (20/25 = 80 % on its own targets), the window 100 %: +21.7
    # like for like, +20.0 as the tutorial compared them; 5 vs 5 fully apart: exact p = 2 / C(10, 5)
    low = [single(s, 5) for s in range(5)]
    found = verdicts(low + [window(s, 0) for s in range(5)])[(2, "torch")]
    assert (found.verdict, found.wording) == (FAILS, "real lift (≥ 5 points)")
    assert "lift +21.7 points" in found.evidence and "(23 vs 25): +20.0 points" in found.evidence
    assert found.p_value == pytest.approx(2 / 252)
    worse = verdicts([single(s, 0) for s in range(5)] + [window(s, 5) for s in range(5)])[(2, "torch")]
    assert (worse.verdict, worse.wording) == (HOLDS, "no lift: the window scores lower")


def test_no_lift_holds_only_when_an_equivalence_test_shows_it():
    # 45 seeds each, like for like one_char 21, 19, 17 of 23 and the window 22, 19, 17: lift +1.45 points,
    # not significant; TOST ±5 by hand 0.021 (its own family of one): shown within ±5 → holds
    spread = ([single(s, (2, 4, 6)[s % 3]) for s in range(45)]
              + [window(s, (1, 4, 6)[s % 3]) for s in range(45)])
    powered = verdicts(spread)[(2, "torch")]
    ones = [shared((2, 4, 6)[s % 3]) for s in range(45)]
    windows = [shared((1, 4, 6)[s % 3]) for s in range(45)]
    assert powered.p_adjusted >= stats.ALPHA
    assert powered.p_equivalence == pytest.approx(tost_by_hand(windows, ones, 5))
    assert powered.p_equivalence == pytest.approx(0.0211, abs=1e-4)
    assert (powered.verdict, powered.wording) == (HOLDS, "no real lift: within ±5 points (equivalence test)")
    assert "TOST ±5 points p = 0.021, BH-adjusted 0.021" in powered.evidence
    # pooled SD 8.16 points: 2 (2.80158 · 8.16 / 5)² / (3/π) = 43.8 → 44
    assert seeds_for_five_points(windows, ones) == 44
    assert "a 5-point lift needs 44 seeds each" in powered.evidence
    assert "enough seeds here" in powered.evidence
    # 6 seeds each at 0, 5, 10 wrong: no lift like for like, but far too much spread to show it within ±5
    wide = [single(s, (0, 5, 10)[s % 3]) for s in range(6)] + [window(s, (0, 5, 10)[s % 3]) for s in range(6)]
    few = verdicts(wide)[(2, "torch")]
    values = [shared((0, 5, 10)[s % 3]) for s in range(6)]
    assert few.p_value == pytest.approx(1.0)
    by_hand = tost_by_hand(values, values, 5)
    assert few.p_equivalence == pytest.approx(by_hand) == pytest.approx(0.333, abs=1e-3)
    assert few.verdict == INCONCLUSIVE
    assert few.wording == "no detectable lift, not shown absent (not shown within ±5 points either)"
    assert "too few seeds here" in few.evidence
    # 3 seeds each, all values apart (one_char 21, 17, 13 of 23, the window 22, 18, 14): the extreme rank
    # sums come one way each of C(6, 3) = 20, so p can never go below 2/20 = 0.1
    tiny = verdicts([single(s, (2, 6, 10)[s]) for s in range(3)]
                    + [window(s, (1, 5, 9)[s]) for s in range(3)])[(2, "torch")]
    p, floor = exact_p([shared(n) for n in (1, 5, 9)], [shared(n) for n in (2, 6, 10)])
    assert floor == pytest.approx(0.1) and tiny.p_value == pytest.approx(p) == pytest.approx(0.7)
    assert (tiny.verdict, tiny.wording) == (
        INCONCLUSIVE, "no detectable lift, not shown absent (p can never go below 0.1 at this n)")
    same = verdicts([single(s, 0) for s in range(5)] + [window(s, 0) for s in range(5)])[(2, "torch")]
    assert (same.verdict, same.wording) == (HOLDS, NO_LIFT_IDENTICAL)
    assert "zero spread" in same.evidence and math.isnan(same.p_value) and math.isnan(same.p_equivalence)


def test_the_lift_is_judged_on_the_targets_both_scenarios_have():
    # one_char seeds that miss only B and C (no target of the window) score 23/25 = 92 % on their own
    # targets but 100 % on D–Z: like for like there is no lift, as the tutorial compared them +8.0 points
    perfect = [one_char(s, "BC") for s in range(5)] + [window(s, 0) for s in range(5)]
    found = verdicts(perfect)[(2, "torch")]
    assert "on the 23 targets both have (D–Z): feature_window 100.0 % vs one_char 100.0 %, lift +0.0" in (
        found.evidence)
    assert "as the tutorial compared them, each on its own targets (23 vs 25): +8.0 points" in found.evidence
    assert (found.verdict, found.wording) == (HOLDS, NO_LIFT_IDENTICAL)
    # with spread: 30 seeds each missing 0, 1, 2 of their last targets, one_char B and C as well. On D–Z
    # both score (23 − k)/23, the same values: Mann–Whitney p = 1 (its rank sum is the mean), TOST ±5 by
    # hand 7.4e-7. On their own targets one_char is (23 − k)/25: mean 88.0 % against the window's
    # 95.65 %, a +7.7-point "lift" that would have read as a real one
    ks = [s % 3 for s in range(30)]
    records = ([one_char(s, "BC" + ALPHABET[26 - k:] if k else "BC") for s, k in enumerate(ks)]
               + [window(s, k) for s, k in enumerate(ks)])
    found = verdicts(records)[(2, "torch")]
    values = [shared(k) for k in ks]
    assert found.p_value == pytest.approx(1.0)
    assert found.p_equivalence == pytest.approx(tost_by_hand(values, values, 5))
    assert found.p_equivalence == pytest.approx(7.43e-7, rel=1e-3)
    assert (found.verdict, found.wording) == (HOLDS, "no real lift: within ±5 points (equivalence test)")
    published = np.mean(values) - np.mean([100.0 * (23 - k) / 25 for k in ks])
    assert published == pytest.approx(100 * 22 * (1 / 23 - 1 / 25))  # 7.65
    assert "feature_window 95.7 % vs one_char 95.7 %, lift +0.0 points" in found.evidence
    assert f"(23 vs 25): {published:+.1f} points" in found.evidence and "+7.7 points" in found.evidence


def test_a_lift_neither_significant_nor_shown_within_the_margin_is_inconclusive():
    # 6 seeds each, wide spread: one_char 0, 5, 10 wrong (23, 18, 13 of 23 on D–Z), the window 0, 4, 9
    # (23, 19, 14): lift +2/69 = +2.9 points. Exact p by enumerating the C(12, 6) = 924 splits: 0.59,
    # not significant; TOST ±5 by hand 0.42: not shown within ±5. "No detectable lift" is no evidence
    # of none: inconclusive, not holds.
    records = ([single(s, (0, 5, 10)[s % 3]) for s in range(6)]
               + [window(s, (0, 4, 9)[s % 3]) for s in range(6)])
    found = verdicts(records)[(2, "torch")]
    windows = [shared((0, 4, 9)[s % 3]) for s in range(6)]
    ones = [shared((0, 5, 10)[s % 3]) for s in range(6)]
    p, _ = exact_p(windows, ones)
    assert found.p_value == pytest.approx(p) == pytest.approx(0.589, abs=1e-3)
    assert found.p_adjusted >= stats.ALPHA
    by_hand = tost_by_hand(windows, ones, 5)
    assert found.p_equivalence == pytest.approx(by_hand) == pytest.approx(0.424, abs=1e-3)
    assert "lift +2.9 points" in found.evidence
    assert found.verdict == INCONCLUSIVE and found.verdict != HOLDS
    assert found.wording == "no detectable lift, not shown absent (not shown within ±5 points either)"


def test_every_seed_claims_count_the_seeds():
    good = [make_record("batch_state", "keras", s) for s in range(9)]
    bad = make_record("batch_state", "keras", 9, wrong={"Z": "Y"})
    assert verdicts(good)[(4, "keras")].wording == "holds for every seed"
    nine = verdicts([*good, bad])[(4, "keras")]
    assert (nine.verdict, nine.wording) == (MIXED, "holds for 9 of 10 seeds")
    assert nine.evidence.startswith("9 of 10 seeds reach 100 % on batch_state")
    none = verdicts([bad])[(4, "keras")]
    assert (none.verdict, none.wording) == (FAILS, "does not hold: 0 of 1 seeds")
    assert verdicts([bad])[(3, "keras")].verdict == NO_DATA


def stateful(seed, generated, cold):
    return make_record("stateful", "torch", seed, probes={
        "generate_from_A": {"generated": generated, "share_correct": float(generated == "B")},
        "cold_start_K": {"letters": cold, "first_is_L": cold[0] == "L", "first_is_B": cold[0] == "B"},
    })


def test_stateful_counts_seeds_that_do_both():
    assert verdicts([stateful(s, "B", "BCDEF") for s in range(3)])[(5, "torch")].verdict == HOLDS
    found = verdicts([stateful(s, "B", "LMNOP") for s in range(3)])[(5, "torch")]
    assert found.verdict == FAILS
    assert "0 of 3 give B from a cold start at K (L would be right)" in found.evidence
    split = [stateful(0, "B", "BCDEF"), stateful(1, "C", "BCDEF"), stateful(2, "B", "LMNOP")]
    found = verdicts(split)[(5, "torch")]  # 2 generate, 2 give B, but only 1 does both
    assert (found.verdict, found.wording) == (FAILS, "does not hold: 1 of 3 seeds")
    assert found.evidence.endswith("1 of 3 do both")


def variable(seed, accuracy):
    record = make_record("variable_length", "torch", seed)
    return {**record, "accuracy": accuracy, "spec": {**record["spec"], "tutorial_accuracy": 98.9}}


def test_variable_length_wording_and_tutorial_from_the_records():
    found = verdicts([variable(s, 0.99) for s in range(9)] + [variable(9, 0.90)])[(6, "torch")]
    assert (found.verdict, found.wording) == (HOLDS, "holds on average (9 of 10 seeds ≥ 97 %)")
    assert "mean 98.1 % over 10 seeds" in found.evidence and "tutorial 98.9 %" in found.evidence
    short = verdicts([variable(s, 0.93) for s in range(4)])[(6, "torch")]
    assert (short.verdict, short.wording) == (MIXED, "short of it on average (93.0 %)")
    assert verdicts([variable(0, 0.5)])[(6, "torch")].wording == "does not hold: mean 50.0 %"
    assert "too few seeds for one" in verdicts([variable(0, 0.5)])[(6, "torch")].evidence


def test_failed_records_and_variants_do_not_count():
    failed = make_record("batch_state", "keras", 0, status="failed", error="boom")
    variant = make_record("batch_state", "keras", 1, wrong={"Z": "Y"},
                          options={"encoding": "one_based", "data_seed": 7, "epochs": None})
    assert verdicts([failed, variant])[(4, "keras")].verdict == NO_DATA


def test_every_claim_is_reported_per_backend_with_its_p_values():
    records = [make_record("one_char", b, 0) for b in ("keras", "torch")]
    found = verdicts(records)
    assert sorted(found) == [(n, b) for n in range(1, 7) for b in ("keras", "torch")]
    assert all(math.isnan(f.p_value) and math.isnan(f.p_adjusted) for f in found.values())


def test_thresholds_name_the_rules_the_verdicts_use():
    for text in ("13 of 25 targets: 52 % by chance", "'small but real lift'", "'no real lift'",
                 "equivalence test (TOST", "each seed scored on the targets both scenarios have",
                 "is inconclusive when it does not", "80 % power", "Benjamini–Hochberg-adjusted p < 0.05",
                 "≥ 97 %"):
        assert text in THRESHOLDS
