"""`harness compare`: the accuracy tests of a comparison are one family (Benjamini–Hochberg), the
equivalence tests another, and identical rows are no test at all."""

from __future__ import annotations

import pytest
from scipy import stats as sps

from harness.reporting import frames
from harness.reporting.compare import compare_frames, render_comparison
from harness.reporting.markdown import md
from harness.store import append_record, results_path
from scenarios import ALPHABET
from tests.fakes import make_record
from tests.reporting.by_hand import exact_p, tost_by_hand


def seeds(scenario: str, wrong_counts: list[int]) -> list[dict]:
    return [make_record(scenario, "torch", s, wrong=dict.fromkeys(ALPHABET[26 - n:], "A") if n else None)
            for s, n in enumerate(wrong_counts)]


def frame(records: list[dict]):
    return frames.ok(frames.to_frame(records))


def percent(wrong_counts: list[int], patterns: int = 25) -> list[float]:
    """The accuracies (%) `seeds` gives a scenario of `patterns` targets."""
    return [100.0 * (patterns - n) / patterns for n in wrong_counts]


# one_char: A 7 seeds at 100 %, B 5 at 96 % and 2 at 100 %. Exact p given the ties: the five 96 % seeds
# all fall in B, a hypergeometric tail of C(9, 2) / C(14, 7) = 36 / 3,432 per side, so p = 72 / 3,432
# = 0.021 (also by enumerating the 3,432 splits, `exact_p`). (6 vs 6 with four at 96 %, the old fixture,
# gives 2 · 28 / 924 = 0.061 exactly: not significant even alone; its normal approximation said 0.025.)
A_WRONG, B_WRONG = [0] * 7, [1] * 5 + [0] * 2


def test_a_change_significant_alone_is_not_once_adjusted_over_the_table():
    a, b = seeds("one_char", A_WRONG), seeds("one_char", B_WRONG)
    alone = compare_frames(frame(a), frame(b)).set_index("scenario").loc["one_char"]
    raw = exact_p(percent(B_WRONG), percent(A_WRONG))[0]
    assert raw == pytest.approx(72 / 3432)
    assert alone["Mann–Whitney p"] == pytest.approx(raw)
    assert alone["Mann–Whitney p"] < 0.05 and alone["BH-adjusted p"] == pytest.approx(alone["Mann–Whitney p"])
    assert alone["accuracy"] == "changed"
    # scenarios where every seed of A and B scored the same are no test: they leave the family
    same = [r for scenario in ("batch_state", "stateful") for r in seeds(scenario, [0] * 7)]
    table = compare_frames(frame(a + same), frame(b + same)).set_index("scenario")
    assert table.loc["one_char", "BH-adjusted p"] == pytest.approx(raw)
    assert table.loc["one_char", "accuracy"] == "changed"
    flat = table.loc[["batch_state", "stateful"]]
    assert list(flat["accuracy"]) == ["identical (no test)"] * 2
    assert flat[["Mann–Whitney p", "BH-adjusted p", "TOST p", "TOST BH-adjusted p"]].isna().all().all()
    # unchanged scenarios with spread are tests (p = 1 each): with them one_char's p is one of 3
    spread = [r for scenario in ("batch_state", "stateful") for r in seeds(scenario, [0, 1] * 3 + [0])]
    table = compare_frames(frame(a + spread), frame(b + spread)).set_index("scenario")
    assert list(table.loc[["batch_state", "stateful"], "Mann–Whitney p"]) == [1.0, 1.0]
    one = table.loc["one_char"]
    assert one["Mann–Whitney p"] < 0.05 <= one["BH-adjusted p"]
    assert one["BH-adjusted p"] == pytest.approx(3 * one["Mann–Whitney p"])
    # not shown changed, and B − A = −2.9 points is outside ±2, so not shown equivalent either
    assert one["TOST p"] == pytest.approx(tost_by_hand(percent(B_WRONG), percent(A_WRONG), 2))
    assert one["TOST p"] > 0.5
    assert one["accuracy"] == "inconclusive"


def test_small_unchanged_differences_are_equivalent_within_two_points():
    # 12 seeds each at 100 % or 96 %, 4 of A's and 5 of B's at 96 %: B − A = −0.33 points. With two
    # distinct values the rank sum is fixed by how many 96 % seeds fall in B, so the exact p is a
    # hypergeometric two-sided tail (24 seeds, 9 at 96 %, 12 drawn, 5 observed): 2 · min(P(≤ 5), P(≥ 5))
    # capped at 1 = 1. TOST ±2 by hand: 0.028, so equivalent, where the old wording said only "no change".
    a_wrong, b_wrong = [1] * 4 + [0] * 8, [1] * 5 + [0] * 7
    row = compare_frames(frame(seeds("one_char", a_wrong)),
                         frame(seeds("one_char", b_wrong))).set_index("scenario").loc["one_char"]
    tails = sps.hypergeom.cdf(5, 24, 9, 12), sps.hypergeom.sf(4, 24, 9, 12)
    assert row["Mann–Whitney p"] == pytest.approx(min(1.0, 2 * min(tails))) == 1.0
    by_hand = tost_by_hand(percent(b_wrong), percent(a_wrong), 2)
    assert row["TOST p"] == pytest.approx(by_hand) and by_hand == pytest.approx(0.0275, abs=1e-4)
    assert row["TOST BH-adjusted p"] == pytest.approx(by_hand)  # a family of one
    assert row["accuracy"] == "equivalent within ±2 points"


def test_the_comparison_text_names_the_family(tmp_path):
    for name, wrong in (("a", [0] * 5), ("b", [5] * 5)):
        (tmp_path / name).mkdir()
        for record in (seeds("one_char", wrong) + seeds("stateful", [0, 1, 0, 1, 0])
                       + seeds("batch_state", [0] * 5)):
            append_record(results_path(tmp_path / name), record)
    text = render_comparison(tmp_path / "a", tmp_path / "b")
    # one_char and stateful are tests; batch_state, identical in A and B, is in neither family
    assert "the 2 rank tests of this table are one family and the equivalence tests another" in text
    assert "Benjamini–Hochberg" in text and "BH-adjusted p" in text and "TOST BH-adjusted p" in text
    assert "identical (no test)" in text


def test_a_difference_that_is_zero_up_to_rounding_prints_as_zero():
    # reports/example vs reports/seeds100, timestep_window torch: 99.565 % over 10 seeds and over 100
    # (same mean, other count) subtract to 1.42e-14, which the table printed as a change
    a = seeds("timestep_window", [0] * 4 + [1] + [0] * 5)
    b = seeds("timestep_window", [1] * 4 + [6] + [0] * 95)
    raw = frame(b)["accuracy"].mean() - frame(a)["accuracy"].mean()
    assert raw != 0 and abs(raw) < 1e-12  # the noise this guards against
    table = compare_frames(frame(a), frame(b))
    assert table["B − A (points)"].tolist() == [0.0]
    row = next(line for line in md(table, ".3g").splitlines() if line.startswith("| timestep_window"))
    assert "e-1" not in row and "|                0 |" in row
    # a real difference of one pattern of one seed in a hundred is kept
    b[5] = seeds("timestep_window", [1])[0] | {"seed": 5}
    assert compare_frames(frame(a), frame(b))["B − A (points)"].iloc[0] == pytest.approx(raw - 100 / 23 / 100)
