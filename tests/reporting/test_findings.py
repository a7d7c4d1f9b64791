"""The tutorial's findings on synthetic records whose verdict and wording are known."""

from __future__ import annotations

import math

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
    """30 seeds per group, a ≈ 3-point lift with tiny spread: real (significant) and small (< 5)."""
    records = ([single(s, 4 if s % 15 else 5) for s in range(30)]
               + [window(s, 3 if s % 15 else 4) for s in range(30)])
    found = verdicts(records)[(2, "torch")]
    assert (found.verdict, found.wording) == (MIXED, "small but real lift (< 5 points)")
    assert "lift +2.9 points" in found.evidence and found.p_adjusted < 1e-6
    assert "a 5-point lift needs" in found.evidence and "enough seeds here" in found.evidence


def test_real_lift_and_no_lift():
    low = [single(s, 5) for s in range(5)]
    found = verdicts(low + [window(s, 0) for s in range(5)])[(2, "torch")]
    assert (found.verdict, found.wording) == (FAILS, "real lift (≥ 5 points)")
    assert "lift +20.0 points" in found.evidence
    worse = verdicts([single(s, 0) for s in range(5)] + [window(s, 5) for s in range(5)])[(2, "torch")]
    assert (worse.verdict, worse.wording) == (HOLDS, "no lift: the window scores lower")


def test_no_detectable_lift_says_whether_the_seeds_could_have_seen_one():
    spread = ([single(s, (2, 4, 6)[s % 3]) for s in range(45)]
              + [window(s, (1, 4, 6)[s % 3]) for s in range(45)])
    powered = verdicts(spread)[(2, "torch")]
    assert (powered.verdict, powered.wording) == (HOLDS, "no detectable lift")
    assert "a 5-point lift needs 40 seeds each" in powered.evidence
    assert "enough seeds here" in powered.evidence
    wide = [single(s, (0, 5, 10)[s % 3]) for s in range(6)] + [window(s, (0, 5, 10)[s % 3]) for s in range(6)]
    few = verdicts(wide)[(2, "torch")]
    assert few.verdict == INCONCLUSIVE
    assert few.wording == "no detectable lift (too few seeds to detect a 5-point lift; the CI reaches past 5)"
    assert "too few seeds here" in few.evidence
    tiny = verdicts([single(s, 4) for s in range(3)] + [window(s, 3) for s in range(3)])[(2, "torch")]
    assert tiny.wording == "no detectable lift (p can never go below 0.1 at this n)"
    same = verdicts([single(s, 0) for s in range(5)] + [window(s, 0) for s in range(5)])[(2, "torch")]
    assert same.wording == "no detectable lift" and "zero spread" in same.evidence


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
    for text in ("13 of 25 targets: 52 % by chance", "'small but real lift'", "'no detectable lift'",
                 "80 % power", "Benjamini–Hochberg-adjusted p < 0.05", "≥ 97 %"):
        assert text in THRESHOLDS
