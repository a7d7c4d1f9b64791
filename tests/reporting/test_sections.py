"""The report's sections on synthetic records: many comparisons, power, and the percentile snap."""

from __future__ import annotations

from harness.reporting.frames import to_frame
from harness.reporting.markdown import md
from harness.reporting.sections import accuracy, comparison, findings
from harness.reporting.view import ReportView
from scenarios import ALPHABET, get_scenario
from tests.fakes import make_record


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


def comparison_section(records: list[dict]) -> str:
    """The section as the report renders it, heading included."""
    return comparison.SECTION.render(ReportView(records))


def compared(records: list[dict]) -> dict[str, dict[str, str]]:
    return {row["scenario"]: row for row in table_rows(comparison_section(records))}


def test_benjamini_hochberg_is_shown_and_decides_the_verdict():
    # one_char: 6 seeds at 100 % vs 4 at 96 % and 2 at 100 %: Mann–Whitney p = 0.0246
    near = seeds("one_char", "keras", [0] * 6) + seeds("one_char", "torch", [1] * 4 + [0] * 2)
    alone = compared(near)["one_char"]
    assert float(alone["Mann–Whitney p"]) < 0.05 and alone["BH-adjusted p"] == alone["Mann–Whitney p"]
    assert alone["verdict"] == "different"
    same = [r for scenario in ("batch_state", "stateful") for backend in ("keras", "torch")
            for r in seeds(scenario, backend, [0] * 6)]  # p = 1 each
    rows = compared(near + same)
    one = rows["one_char"]
    assert float(one["Mann–Whitney p"]) < 0.05 <= float(one["BH-adjusted p"])
    assert abs(float(one["BH-adjusted p"]) - 3 * float(one["Mann–Whitney p"])) < 1e-3  # smallest of 3
    assert one["verdict"] == "no significant difference"
    text = comparison_section(near + same)
    assert "the 3 tests of this table are one family" in text and "Benjamini–Hochberg" in text


def test_seeds_for_power_match_the_hand_computation_and_too_few_seeds_is_said():
    # keras 80, 84, 88 vs torch 84, 88, 92: Δ = -4, pooled SD 4 → 2 (2.80158)² (4/4)² = 15.7 → 16;
    # 2 points: 2 (2.80158 · 4 / 2)² = 62.8 → 63
    row = compared(seeds("one_char", "keras", [5, 4, 3]) + seeds("one_char", "torch", [4, 3, 2]))["one_char"]
    assert (row["seeds for observed Δ"], row["seeds for 2 points"]) == ("16", "63")
    assert "too few seeds for the observed difference: 3 per backend, 16 needed" in row["note"]
    assert "n too small: p can never go below 0.1" in row["note"]
    enough = compared(seeds("one_char", "keras", [0] * 6) + seeds("one_char", "torch", [5, 4, 3] * 2))
    assert enough["one_char"]["seeds for observed Δ"] == "1" and "too few" not in enough["one_char"]["note"]


def test_zero_spread_is_said_in_words():
    both = seeds("batch_state", "keras", [0] * 4) + seeds("batch_state", "torch", [0] * 4)
    row = compared(both)["batch_state"]
    assert row["seeds for observed Δ"] == row["seeds for 2 points"] == "zero spread"
    assert "every seed of each backend scored the same, so no seed count is computed" in row["note"]
    flat = compared(seeds("one_char", "keras", [1, 2, 3]) + seeds("one_char", "torch", [1, 2, 3]))["one_char"]
    assert flat["seeds for observed Δ"] == "no difference" and flat["seeds for 2 points"].isdigit()


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
