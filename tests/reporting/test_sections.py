"""The report's sections on synthetic records: many comparisons, power, and the percentile snap."""

from __future__ import annotations

import math

import pytest

from harness.reporting.frames import to_frame
from harness.reporting.markdown import md
from harness.reporting.sections import accuracy, comparison, findings
from harness.reporting.view import ReportView
from scenarios import ALPHABET, get_scenario
from tests.fakes import make_record
from tests.reporting.by_hand import exact_p, tost_by_hand


def table_rows(section: str) -> list[dict[str, str]]:
    """The markdown table of a section as one dict per row, cells stripped."""
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
            for line in lines[2:]]


def seeds(scenario: str, backend: str, wrong_counts: list[int], **fields) -> list[dict]:
    """One record per entry, that seed with its last n targets wrong."""
    return [make_record(scenario, backend, s, wrong=dict.fromkeys(ALPHABET[26 - n:], "A") if n else None,
                        **fields) for s, n in enumerate(wrong_counts)]


def percent(wrong_counts: list[int], patterns: int = 25) -> list[float]:
    """The accuracies (%) `seeds` gives a scenario of `patterns` targets."""
    return [100.0 * (patterns - n) / patterns for n in wrong_counts]


Z = 1.959964 + 0.841621  # z(1 − 0.05/2) + z(0.80)
ARE = 3 / math.pi  # the rank test's efficiency relative to the t-test


def comparison_section(records: list[dict]) -> str:
    """The section as the report renders it, heading included."""
    return comparison.SECTION.render(ReportView(records))


def compared(records: list[dict]) -> dict[str, dict[str, str]]:
    return {row["scenario"]: row for row in table_rows(comparison_section(records))}


def test_benjamini_hochberg_is_shown_and_decides_the_verdict():
    # one_char: 7 seeds at 100 % vs 5 at 96 % and 2 at 100 %. Exact p given the ties: the five 96 %
    # seeds all in torch, C(9, 2) / C(14, 7) = 36 / 3,432 per tail → p = 72 / 3,432 = 0.021, also by
    # enumerating the 3,432 splits. (The old 6 vs 6 with four at 96 % is 2 · 28 / 924 = 0.061 exactly.)
    keras_wrong, torch_wrong = [0] * 7, [1] * 5 + [0] * 2
    near = seeds("one_char", "keras", keras_wrong) + seeds("one_char", "torch", torch_wrong)
    alone = compared(near)["one_char"]
    raw, _ = exact_p(percent(keras_wrong), percent(torch_wrong))
    assert raw == pytest.approx(72 / 3432) and float(alone["Mann–Whitney p"]) == float(f"{raw:.3g}")
    assert float(alone["Mann–Whitney p"]) < 0.05 and alone["BH-adjusted p"] == alone["Mann–Whitney p"]
    assert alone["verdict"] == "different"
    spread = [r for scenario in ("batch_state", "stateful") for backend in ("keras", "torch")
              for r in seeds(scenario, backend, [0, 1] * 3 + [0])]  # the same values in both: p = 1 each
    identical = [r for scenario in ("feature_window", "timestep_window") for backend in ("keras", "torch")
                 for r in seeds(scenario, backend, [0] * 7)]  # every seed 100 %: no test, in no family
    rows = compared(near + spread + identical)
    assert [rows[s]["Mann–Whitney p"] for s in ("batch_state", "stateful")] == ["1", "1"]
    assert {rows[s]["verdict"] for s in ("feature_window", "timestep_window")} == {"identical (no test)"}
    assert {rows[s]["BH-adjusted p"] for s in ("feature_window", "timestep_window")} == {"—"}
    one = rows["one_char"]
    assert float(one["Mann–Whitney p"]) < 0.05 <= float(one["BH-adjusted p"])
    assert abs(float(one["BH-adjusted p"]) - 3 * float(one["Mann–Whitney p"])) < 1e-3  # smallest of 3
    # keras − torch = +2.9 points, outside ±2: TOST by hand ≈ 0.86, so not equivalent either
    assert abs(float(one["TOST p"]) - tost_by_hand(percent(keras_wrong), percent(torch_wrong), 2)) < 1e-3
    assert float(one["TOST p"]) > 0.5
    assert one["verdict"] == "inconclusive"
    text = comparison_section(near + spread + identical)
    assert "the 3 rank tests of this table are one family and the equivalence tests another" in text
    assert "the 2 identical rows are no test and count in neither" in text and "Benjamini–Hochberg" in text


def test_power_matches_the_hand_computation_and_too_few_seeds_is_said():
    # keras 80, 84, 88 vs torch 84, 88, 92: pooled SD 4. Seeds for 2 points: 2 (2.80158 · 4 / 2)² = 62.8,
    # / (3/π) = 65.75 → 66. Detectable at n = 3: 2.80158 · 4 · √(2 / (3 · 3/π)) = 9.36 → "9.4".
    row = compared(seeds("one_char", "keras", [5, 4, 3]) + seeds("one_char", "torch", [4, 3, 2]))["one_char"]
    seeds_2 = math.ceil(2 * (Z * 4 / 2) ** 2 / ARE)
    detectable = Z * 4 * math.sqrt(2 / (3 * ARE))
    assert (row["detectable Δ at this n"], row["seeds for 2 points"]) == (f"{detectable:.2g}", str(seeds_2))
    assert (row["detectable Δ at this n"], row["seeds for 2 points"]) == ("9.4", "66")
    assert "seeds for observed Δ" not in row  # no post-hoc power at the observed difference
    assert "too few seeds for a 2-point gap: 3 per backend, 66 needed" in row["note"]
    # 80, 84, 88 vs 84, 88, 92 tie at 84 and 88 (midranks 1, 2.5, 2.5, 4.5, 4.5, 6): the extreme rank
    # sums still come one way each of 20, so the floor is 2/20 = 0.1, and no p here can be significant
    p, floor = exact_p(percent([5, 4, 3]), percent([4, 3, 2]))
    assert floor == pytest.approx(0.1) and float(row["Mann–Whitney p"]) == pytest.approx(p) == 0.5
    assert "n too small: p can never go below 0.1" in row["note"]
    assert row["verdict"] == "undecidable at this n"
    # keras 100 × 12 vs torch 96/100 × 6: pooled SD √(48/22) = 1.477 → 2 (2.80158 · 1.477 / 2)² / (3/π)
    # = 8.97 → 9 seeds for 2 points, 12 here; detectable at n = 12: 2.80158 · 1.477 · √(2 / (12 · 3/π)) = 1.73
    twelve = seeds("one_char", "keras", [0] * 12) + seeds("one_char", "torch", [1, 0] * 6)
    enough = compared(twelve)["one_char"]
    sd = math.sqrt(48 / 22)
    assert enough["seeds for 2 points"] == str(math.ceil(2 * (Z * sd / 2) ** 2 / ARE)) == "9"
    assert enough["detectable Δ at this n"] == f"{Z * sd * math.sqrt(2 / (12 * ARE)):.2g}" == "1.7"
    assert "too few" not in enough["note"]


def test_zero_spread_is_said_in_words():
    both = seeds("batch_state", "keras", [0] * 4) + seeds("batch_state", "torch", [0] * 4)
    row = compared(both)["batch_state"]
    assert row["detectable Δ at this n"] == row["seeds for 2 points"] == "zero spread"
    assert row["note"] == ("zero spread: every seed of each backend scored the same, so no seed count is "
                           "computed")
    assert row["verdict"] == "identical (no test)"  # and so no "n too small" note: there is no test
    # no observed difference: power is the design's, the same as for the Δ = −4 above (pooled SD 4, n = 3)
    flat = compared(seeds("one_char", "keras", [1, 2, 3]) + seeds("one_char", "torch", [1, 2, 3]))["one_char"]
    assert (flat["detectable Δ at this n"], flat["seeds for 2 points"]) == ("9.4", "66")
    # 96, 92, 88 in both: midranks 1.5, 1.5, 3.5, 3.5, 5.5, 5.5; the extreme sums 6.5 = 1.5 + 1.5 + either
    # 3.5 and 14.5 = either 3.5 + 5.5 + 5.5 come 2 ways of 20 each, so the floor with these ties is
    # 2 · 2/20 = 0.2, not 0.1
    _, floor = exact_p(percent([1, 2, 3]), percent([1, 2, 3]))
    assert floor == pytest.approx(0.2) and "n too small: p can never go below 0.2" in flat["note"]


def test_printed_figures_are_snapped_and_ties_count_half():
    window = seeds("feature_window", "torch", [3] * 5)  # every seed exactly 20/23; the tutorial's 86.96
    steps = seeds("timestep_window", "torch", [1] * 4, spec={
        "tutorial_accuracy": 100.0, "notebook_accuracy": get_scenario("timestep_window").notebook_accuracy})
    records = window + steps
    with_records = md(accuracy.accuracy_table(to_frame(records), records), ".1f")
    rows = {row["scenario"]: row for row in table_rows(with_records)}
    assert rows["feature_window"]["tutorial"] == "86.96 → 20/23"
    assert rows["feature_window"]["tutorial pct"] == "50.0"
    assert rows["timestep_window"]["notebook"] == "95.65 → 22/23"  # 22/23 for every seed
    assert rows["timestep_window"]["notebook pct"] == "50.0"
    assert rows["timestep_window"]["tutorial pct"] == "100.0"  # 23/23: above every seed
    section = accuracy.SECTION.render(ReportView(records))  # the report's: the registry's counts
    assert section.startswith("## Accuracy\n\n") and "snapped to the nearest attainable k/n" in section
    without_records = md(accuracy.accuracy_table(to_frame(records)), ".1f")
    registry = {row["scenario"]: row for row in table_rows(without_records)}
    assert registry == rows  # without records: the registry's pattern counts, the same n
    assert {row["scenario"]: row for row in table_rows(section)} == rows


def test_findings_section_names_its_family_and_shows_both_p_values():
    records = seeds("one_char", "keras", [3] * 6) + seeds("one_char", "torch", [3] * 6)
    text = findings.SECTION.render(ReportView(records))
    assert "the 2 tests behind finding 1 (one per finding and backend) are one family" in text
    assert "BH-adjusted" in text
    rows = [row for row in table_rows(text) if row["#"] == "1"]
    assert {row["verdict"] for row in rows} == {"holds: errors cluster in N–Z"}


def test_backends_are_compared_at_the_same_settings():
    from harness.reporting.sections.comparison import matched_pairs

    labels = ["keras[fast]", "torch[fast]", "keras[fast,init=torch]", "torch[fast,init=keras]"]
    assert matched_pairs(labels) == [("keras[fast]", "torch[fast]")]  # the swaps are the ablation's
    both = ["keras[fast,adam_eps=1e-07]", "torch[fast,adam_eps=1e-07]"]
    assert matched_pairs(both) == [tuple(both)]
    unmatched = ["keras[fast,init=torch]", "torch[fast]"]
    assert matched_pairs(unmatched) == [tuple(unmatched)]  # no matched pair: every pair
