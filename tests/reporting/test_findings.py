"""The tutorial's findings on synthetic records whose verdict is known."""

from __future__ import annotations

from harness.reporting.findings import FAILS, HOLDS, MIXED, NO_DATA, evaluate_findings
from tests.fakes import make_record


def verdicts(records):
    return {(f.number, f.backend): f for f in evaluate_findings(records)}


def late_errors(seed):
    return make_record("one_char", "torch", seed, wrong={"W": "Z", "X": "Z", "Y": "Z"})


def early_errors(seed):
    return make_record("one_char", "torch", seed, wrong={"B": "C", "C": "D", "D": "E"})


def test_end_of_alphabet_holds_and_fails():
    assert verdicts([late_errors(s) for s in range(3)])[(1, "torch")].verdict == HOLDS
    found = verdicts([early_errors(s) for s in range(3)])[(1, "torch")]
    assert found.verdict == FAILS and "0% of one_char errors (0 of 9" in found.evidence
    assert verdicts([make_record("one_char", "torch", 0)])[(1, "torch")].verdict == FAILS


def test_feature_lift_is_tested_with_statistics():
    single = [make_record("one_char", "torch", s, wrong=dict.fromkeys("BCDEF", "Z")) for s in range(5)]
    no_lift = [make_record("feature_window", "torch", s, wrong=dict.fromkeys("DEFG", "Z")) for s in range(5)]
    big_lift = [make_record("feature_window", "torch", s) for s in range(5)]
    assert verdicts(single + no_lift)[(2, "torch")].verdict == HOLDS
    found = verdicts(single + big_lift)[(2, "torch")]
    assert found.verdict == FAILS and "lift +20.0 points" in found.evidence


def test_every_seed_claims_give_mixed_when_some_seeds_miss():
    good = [make_record("batch_state", "keras", s) for s in range(3)]
    bad = make_record("batch_state", "keras", 3, wrong={"Z": "Y"})
    assert verdicts(good)[(4, "keras")].verdict == HOLDS
    assert verdicts([*good, bad])[(4, "keras")].verdict == MIXED
    assert verdicts([bad])[(4, "keras")].verdict == FAILS
    assert verdicts([bad])[(3, "keras")].verdict == NO_DATA


def stateful(seed, generated, cold):
    return make_record("stateful", "torch", seed, probes={
        "generate_from_A": {"generated": generated, "share_correct": float(generated == "B")},
        "cold_start_K": {"letters": cold, "first_is_L": cold[0] == "L", "first_is_B": cold[0] == "B"},
    })


def test_stateful_needs_both_generation_and_cold_start_failure():
    assert verdicts([stateful(s, "B", "BCDEF") for s in range(3)])[(5, "torch")].verdict == HOLDS
    found = verdicts([stateful(s, "B", "LMNOP") for s in range(3)])[(5, "torch")]
    assert found.verdict == FAILS and "0% give B" in found.evidence


def test_failed_records_and_variants_do_not_count():
    failed = make_record("batch_state", "keras", 0, status="failed", error="boom")
    variant = make_record("batch_state", "keras", 1, wrong={"Z": "Y"},
                          options={"encoding": "one_based", "data_seed": 7, "epochs": None})
    assert verdicts([failed, variant])[(4, "keras")].verdict == NO_DATA


def test_every_claim_is_reported_per_backend():
    records = [make_record("one_char", b, 0) for b in ("keras", "torch")]
    assert sorted(verdicts(records)) == [(n, b) for n in range(1, 7) for b in ("keras", "torch")]
