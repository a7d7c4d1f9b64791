"""`harness compare`: the accuracy tests of a comparison are one family (Benjamini–Hochberg)."""

from __future__ import annotations

import pytest

from harness.reporting import frames
from harness.reporting.compare import compare_frames, render_comparison
from harness.store import append_record, results_path
from scenarios import ALPHABET
from tests.fakes import make_record


def seeds(scenario: str, wrong_counts: list[int]) -> list[dict]:
    return [make_record(scenario, "torch", s, wrong=dict.fromkeys(ALPHABET[26 - n:], "A") if n else None)
            for s, n in enumerate(wrong_counts)]


def frame(records: list[dict]):
    return frames.ok(frames.to_frame(records))


def test_a_change_significant_alone_is_not_once_adjusted_over_the_table():
    a = seeds("one_char", [0] * 6)
    b = seeds("one_char", [1] * 4 + [0] * 2)  # Mann–Whitney p = 0.0246
    alone = compare_frames(frame(a), frame(b)).set_index("scenario").loc["one_char"]
    assert alone["Mann–Whitney p"] < 0.05 and alone["BH-adjusted p"] == pytest.approx(alone["Mann–Whitney p"])
    assert alone["accuracy"] == "changed"
    same = [r for scenario in ("batch_state", "stateful") for r in seeds(scenario, [0] * 6)]
    table = compare_frames(frame(a + same), frame(b + same)).set_index("scenario")
    one = table.loc["one_char"]
    assert one["Mann–Whitney p"] < 0.05 <= one["BH-adjusted p"]
    assert one["BH-adjusted p"] == pytest.approx(3 * one["Mann–Whitney p"])
    assert one["accuracy"] == "no significant change"


def test_the_comparison_text_names_the_family(tmp_path):
    for name, wrong in (("a", [0] * 5), ("b", [5] * 5)):
        (tmp_path / name).mkdir()
        for record in seeds("one_char", wrong) + seeds("stateful", [0] * 5):
            append_record(results_path(tmp_path / name), record)
    text = render_comparison(tmp_path / "a", tmp_path / "b")
    assert "the 2 accuracy tests of this table are one family" in text
    assert "Benjamini–Hochberg" in text and "BH-adjusted p" in text
