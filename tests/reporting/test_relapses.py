"""Where the relapses come from: relapse shares per pair, Fisher's exact test, the share explained."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from harness.reporting.report import render
from harness.reporting.sections import relapses
from harness.reporting.view import ReportView
from tests.fakes import make_record

EPOCHS = [10, 20, 30, 40]
KEEPS = {"epochs": EPOCHS, "accuracy": [0.5, 1.0, 1.0, 1.0]}  # touches 100 % at 20 and keeps it
FALLS = {"epochs": EPOCHS, "accuracy": [0.5, 1.0, 0.6, 1.0]}  # touches at 20, relapses to 60 %


def seeds(backend: str, relapsing: int, n: int = 12, **options) -> list[dict]:
    return [make_record("stateful", backend, seed=i, accuracy_curve=FALLS if i < relapsing else KEEPS,
                        options={"encoding": "zero_based", "data_seed": 7, "epochs": None, **options})
            for i in range(n)]


def study(matched_relapsing: int) -> list[dict]:
    """Keras never relapses, PyTorch 10 of 12 seeds natively; PyTorch with Keras's epsilon (1e-7)
    `matched_relapsing` of 12."""
    return seeds("keras", 0) + seeds("torch", 10) + seeds("torch", matched_relapsing, adam_eps=1e-7)


def test_shares_fisher_and_the_share_explained_by_hand():
    table = relapses.relapse_table(study(1)).set_index("settings")
    native, matched = table.loc["each framework's own defaults"], table.loc["same Adam eps (1e-07)"]
    assert (native["Keras relapsed"], native["PyTorch relapsed"]) == ("0/12", "10/12")
    assert native[relapses.GAP] == pytest.approx(100 * 10 / 12)
    assert native["Fisher p"] == pytest.approx(sps.fisher_exact([[0, 12], [10, 2]]).pvalue)
    assert matched["Fisher p"] == pytest.approx(sps.fisher_exact([[0, 12], [1, 11]]).pvalue)
    # 1 − (1/12 − 0) / (10/12 − 0) = 0.9: the epsilon explains 90 % of the native relapse gap
    assert matched["explained"].startswith("90% ")
    point, low, high = relapses.explained(*relapses.pairs(study(1))[:2])
    assert point == pytest.approx(0.9) and low <= 0.9 <= high


def test_the_sentence_reads_the_adjusted_verdicts():
    text = relapses.SECTION.render(ReportView(study(1)))
    assert text.startswith("## Where the relapses come from\n\n")
    line = next(line for line in text.splitlines() if line.startswith("- **stateful**"))
    assert "PyTorch − Keras relapse share +83 points natively (0/12 vs 10/12, different)" in line
    assert "with same Adam eps (1e-07): +8 points (inconclusive), explained 90%" in line


def test_an_unexplained_gap_and_no_native_gap():
    unexplained = relapses.relapse_table(study(10)).set_index("settings")
    assert unexplained.loc["same Adam eps (1e-07)", "explained"].startswith("0% ")
    flat = seeds("keras", 1) + seeds("torch", 1) + seeds("torch", 1, adam_eps=1e-7)
    text = relapses.SECTION.render(ReportView(flat))
    assert "no native relapse gap established, nothing for the defaults to explain" in text
    assert math.isnan(relapses.explained(*relapses.pairs(flat)[:2])[0])


def test_no_matched_pair_or_no_curve_no_section():
    assert relapses.SECTION.render(ReportView(seeds("keras", 0) + seeds("torch", 10))) == ""
    no_curves = [make_record("stateful", b, seed=i) for b in ("keras", "torch") for i in range(3)]
    assert "## Where the relapses come from" not in render(ReportView(no_curves))
    assert "## Where the relapses come from" in render(ReportView(study(1)))
