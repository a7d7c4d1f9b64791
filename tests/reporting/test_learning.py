"""Time to learn: first epoch at 100 % on synthetic curves, censoring, scipy's median/CI and logrank
(both clocks on every-monotone curves here; `test_two_clocks` has the curves where they differ)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from harness.reporting import stats, survival
from harness.reporting.report import render
from harness.reporting.sections import time_to_learn
from harness.reporting.view import ReportView
from tests.fakes import make_record

EPOCHS = list(range(5, 105, 5))  # every 5 epochs up to 100


def curve(learned_at: int | None, near_at: int | None = None) -> dict:
    """Accuracy 0.5, ≥ 0.95 from `near_at`, 1.0 from `learned_at` (never when None)."""
    acc = []
    for e in EPOCHS:
        value = 0.5
        if near_at is not None and e >= near_at:
            value = 0.96
        if learned_at is not None and e >= learned_at:
            value = 1.0
        acc.append(value)
    return {"epochs": EPOCHS, "accuracy": acc}


def seed(backend: str, n: int, learned_at: int | None, scenario: str = "one_char", **fields) -> dict:
    near = None if learned_at is None else learned_at - 10
    return make_record(scenario, backend, n, accuracy_curve=curve(learned_at, near), **fields)


def test_first_epoch_and_censoring():
    assert survival.first_epoch(curve(35), 1.0) == (35, True)
    assert survival.first_epoch(curve(35, 20), 0.95) == (20, True)
    assert survival.first_epoch(curve(None), 1.0) == (100, False)  # censored at the last evaluated epoch
    assert survival.first_epoch(None, 1.0) is None
    assert survival.first_running_epoch([0.2, 0.9, 1.0, 1.0]) == 3
    assert survival.first_running_epoch([0.2]) is None


def test_a_seed_that_never_learns_is_counted_as_censored():
    records = [seed("torch", 0, 35), seed("torch", 1, 50), seed("torch", 2, None)]
    times = survival.times_by_cell(records)[("one_char", "torch")]
    assert times.epochs == (35.0, 50.0, 100.0) and times.learned == (True, True, False)
    assert survival.times_by_cell(records, clock=survival.settled_epoch)[("one_char", "torch")] == times
    row = time_to_learn.learning_table(records).iloc[0]
    # 2 of 3 learned; the exact 95 % CI of 2/3: lower = the 2.5 % quantile of Beta(2, 2), where
    # 3x² − 2x³ = 0.025 → x ≈ 0.094; upper = the 97.5 % quantile of Beta(3, 1) = 0.975^(1/3) ≈ 0.992
    assert row["n"] == 3 and row["learned for good (95 % CI)"] == "2/3 (9–99 %)"
    assert row["touched 100 %"] == "2/3" and row["relapsed after first touch"] == "0/2"
    # Kaplan–Meier: 2/3 after 35, 1/3 after 50 (the censored seed at 100 comes later) → median 50
    assert row["median epoch, for good (95 % CI)"].startswith("50 (")
    assert row["median epoch, first touch (95 % CI)"].startswith("50 (")


def test_median_and_ci_come_from_scipy():
    times = survival.Times((10.0, 20.0, 20.0, 30.0, 40.0, 50.0, 50.0), (True,) * 5 + (False,) * 2)
    m = survival.median_time(times)
    sf = sps.ecdf(sps.CensoredData(uncensored=[10, 20, 20, 30, 40], right=[50, 50])).sf
    ci = sf.confidence_interval(0.95, method="log-log")
    first_below = lambda p: sf.quantiles[np.nonzero(p <= 0.5)[0][0]]  # noqa: E731
    assert m.value == first_below(sf.probabilities) == 30.0
    assert m.low == first_below(ci.low.probabilities) == 10.0
    assert math.isnan(m.high)  # the upper band never crosses one half: not reached
    assert survival.fmt_median(m, 50) == "30 (10–not reached)"


def test_every_seed_at_the_same_epoch_and_none_at_all():
    same = survival.median_time(survival.Times((40.0, 40.0, 40.0), (True, True, True)))
    assert (same.value, same.low, same.high) == (40.0, 40.0, 40.0)
    none = survival.median_time(survival.Times((100.0, 100.0), (False, False)))
    assert math.isnan(none.value)
    assert survival.fmt_median(none, 100) == "not reached (> 100)"


def test_logrank_keras_vs_torch_with_bh_across_scenarios():
    records = [seed("keras", s, 20 + 5 * s) for s in range(4)]
    records += [seed("torch", s, 70 + 5 * s) for s in range(4)]
    records += [seed("keras", s, 30, "stateful") for s in range(3)]
    records += [seed("torch", s, 30 if s else None, "stateful") for s in range(3)]
    table = time_to_learn.logrank_table(records).set_index("scenario")
    fast = sps.CensoredData(uncensored=[20, 25, 30, 35])
    slow = sps.CensoredData(uncensored=[70, 75, 80, 85])
    assert table.loc["one_char", "logrank p"] == pytest.approx(sps.logrank(fast, slow).pvalue)
    assert list(table["BH-adjusted p"]) == pytest.approx(stats.adjusted_p_values(table["logrank p"]))
    assert table.loc["one_char", "verdict"] == "different"
    assert table.loc["stateful", "learned A/B"] == "3/2"


def test_logrank_is_not_testable_when_nobody_learns():
    records = [seed(b, s, None) for b in ("keras", "torch") for s in range(2)]
    row = time_to_learn.logrank_table(records).iloc[0]
    assert math.isnan(row["logrank p"]) and row["verdict"] == "not testable"


def test_section_states_resolution_and_labels_the_running_accuracy():
    records = [seed(b, s, 40, epoch_accuracy=[0.5, 1.0]) for b in ("keras", "torch") for s in range(3)]
    text = render(ReportView(records))
    section = text.split("## Time to learn")[1].split("\n## ")[0]
    assert "every 5 epochs (one_char)" in section
    assert "running train acc first 100 %" in section and "a different quantity" in section
    assert "2, 3/3 seeds" in section
    assert "![share of seeds that learned by each epoch](time_to_learn.png)" in section
    assert "logrank" in section and "BH-adjusted p" in section


def test_no_section_without_curves():
    assert time_to_learn.SECTION.render(ReportView([make_record()])) == ""
    assert "## Time to learn" not in render(ReportView([make_record(backend=b) for b in ("keras", "torch")]))
