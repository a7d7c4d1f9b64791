"""Time to learn on two clocks, on synthetic curves with known answers: *first touch* (the first evaluated
epoch at 100 %) and *learned for good* (the first evaluated epoch from which every later one is at
100 %), relapses, the midpoint median, the exact CI of the share, the Keras–PyTorch headline, and where
the late collapses are listed."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from harness.reporting import anytime, stats, survival
from harness.reporting.grid import find_sweeps
from harness.reporting.matching import NATIVE_KIND, pairs
from harness.reporting.report import render
from harness.reporting.sections import budget, sweeps, time_to_learn
from harness.reporting.sections.time_to_learn import FIRST_TOUCH, FOR_GOOD
from harness.reporting.survival import Relapse, Times, first_epoch, median_time, relapse, settled_epoch
from harness.reporting.view import ReportView
from tests.fakes import make_record

EPOCHS = [10, 20, 30, 40, 50, 60]

RELAPSES = [0.5, 1.0, 0.7, 1.0, 1.0, 1.0]  # touches at 20, falls to 70 % at 30, settles at 40
NEVER_SETTLES = [0.5, 1.0, 1.0, 0.9, 1.0, 0.9]  # touches at 20, its last evaluation is below 100 %
NEVER_TOUCHES = [0.5, 0.8, 0.96, 0.9, 0.96, 0.99]
AT_ONCE = [1.0] * 6


def curve(accuracy: list[float], epochs: list[int] = EPOCHS) -> dict:
    return {"epochs": epochs, "accuracy": accuracy}


def section(text: str, title: str) -> str:
    """One top-level section of a rendered report ("" when it is not there)."""
    marker = f"## {title}\n"
    return text.split(marker)[1].split("\n## ")[0] if marker in text else ""


# --- the two clocks and the relapse of one seed ---

def test_a_seed_that_relapses_touches_first_and_learns_for_good_later():
    assert first_epoch(curve(RELAPSES), 1.0) == (20, True)
    assert settled_epoch(curve(RELAPSES), 1.0) == (40, True)
    assert relapse(curve(RELAPSES), 1.0) == Relapse(touched=True, relapsed=True, lowest=0.7)


def test_a_seed_whose_last_evaluation_is_below_100_is_censored_for_good_at_its_last_epoch():
    assert first_epoch(curve(NEVER_SETTLES), 1.0) == (20, True)
    assert settled_epoch(curve(NEVER_SETTLES), 1.0) == (60, False)  # censored at the last evaluated epoch
    assert relapse(curve(NEVER_SETTLES), 1.0) == Relapse(True, True, 0.9)


def test_a_seed_that_never_touches_is_censored_on_both_clocks():
    assert first_epoch(curve(NEVER_TOUCHES), 1.0) == (60, False)
    assert settled_epoch(curve(NEVER_TOUCHES), 1.0) == (60, False)
    found = relapse(curve(NEVER_TOUCHES), 1.0)
    assert not found.touched and not found.relapsed and math.isnan(found.lowest)


def test_a_seed_at_100_from_its_first_evaluation_settles_at_once():
    assert first_epoch(curve(AT_ONCE), 1.0) == settled_epoch(curve(AT_ONCE), 1.0) == (10, True)
    assert relapse(curve(AT_ONCE), 1.0) == Relapse(True, False, 1.0)
    assert settled_epoch(curve([0.5, 1.0 - 1e-12]), 1.0) == (20, True)  # float noise still counts as 100 %
    assert settled_epoch(None, 1.0) is None and relapse({"epochs": []}, 1.0) is None


def test_the_clocks_per_cell_keep_every_seed():
    records = [make_record("one_char", "torch", s, accuracy_curve=curve(acc))
               for s, acc in enumerate((RELAPSES, NEVER_SETTLES, NEVER_TOUCHES, AT_ONCE))]
    good = survival.times_by_cell(records, 1.0, clock=settled_epoch)[("one_char", "torch")]
    touch = survival.times_by_cell(records, 1.0, clock=first_epoch)[("one_char", "torch")]
    assert good == Times((40.0, 60.0, 60.0, 10.0), (True, False, False, True))
    assert touch == Times((20.0, 20.0, 60.0, 10.0), (True, True, False, True))
    row = time_to_learn.learning_table(records).iloc[0]
    assert row["n"] == 4 and row["touched 100 %"] == "3/4"
    assert row["relapsed after first touch"] == "2/3, to 70 %"  # RELAPSES and NEVER_SETTLES; lowest 0.7
    # first touch: KM 3/4 after 10, 1/4 after 20 → 20 (for good it sits at one half to the end: below)
    assert row["median epoch, first touch (95 % CI)"].startswith("20 (")


# --- medians: the midpoint where the Kaplan–Meier curve sits exactly at one half ---

def test_an_even_number_of_learned_seeds_has_the_midpoint_median():
    # 4 seeds at 10, 20, 30, 40: S = 3/4, 1/2, 1/4, 0 → exactly one half on [20, 30) → (20 + 30)/2
    assert median_time(Times((10.0, 20.0, 30.0, 40.0), (True,) * 4)).value == 25.0
    assert median_time(Times((40.0, 10.0, 30.0, 20.0), (True,) * 4)).value == 25.0  # order is irrelevant


def test_an_odd_number_of_learned_seeds_has_the_middle_value():
    assert median_time(Times((10.0, 20.0, 30.0, 40.0, 50.0), (True,) * 5)).value == 30.0
    # ties: 10, 20, 20, 30 → S = 3/4 after 10, 1/4 after 20: it jumps over one half at 20
    assert median_time(Times((10.0, 20.0, 20.0, 30.0), (True,) * 4)).value == 20.0


def test_a_censored_median_by_hand():
    # learned at 10, 20, 30, 40; two censored at 25. Kaplan–Meier: S(10) = 5/6, S(20) = 5/6 · 4/5 = 2/3,
    # two leave at 25 (2 at risk), S(30) = 2/3 · 1/2 = 1/3 < 1/2 → median 30 (dropping the censored seeds
    # would give (20 + 30)/2 = 25, counting them as learned at 25 would give 25 too)
    times = Times((10.0, 20.0, 25.0, 25.0, 30.0, 40.0), (True, True, False, False, True, True))
    assert median_time(times).value == 30.0
    # learned at 10, 20, 40, one censored at 30: S = 3/4, 1/2 from 20, the seed leaving at 30 does not move
    # it, S(40) = 1/2 · 0/1 = 0 → exactly one half on [20, 40) → (20 + 40)/2 = 30
    times = Times((10.0, 20.0, 30.0, 40.0), (True, True, False, True))
    assert median_time(times).value == 30.0
    # one censored before anyone learns, then 10, 20, 30, 40 among the 4 left: S = 3/4, 1/2, 1/4, 0 → 25
    times = Times((5.0, 10.0, 20.0, 30.0, 40.0), (False, True, True, True, True))
    assert median_time(times).value == 25.0


def test_a_median_flat_at_one_half_to_the_end_is_the_first_epoch_at_one_half():
    # learned at 10 and 40, two censored at 60: S = 3/4 after 10, 3/4 · 2/3 = 1/2 after 40, and the two
    # censored seeds never take it below one half. `_median_point` documents "the lower value otherwise":
    # 40. (R's survival::quantile.survfit would take the midpoint with the last follow-up, (40 + 60)/2.)
    times = Times((40.0, 60.0, 60.0, 10.0), (True, False, False, True))
    assert median_time(times).value == 40.0


def test_the_midpoint_median_is_what_the_table_shows():
    records = [make_record("one_char", "torch", s, accuracy_curve=curve([0.5] * k + [1.0] * (6 - k)))
               for s, k in enumerate((1, 2, 3, 4))]  # learned for good at 20, 30, 40, 50
    row = time_to_learn.learning_table(records).iloc[0]
    assert row["median epoch, for good (95 % CI)"].startswith("35 (")  # (30 + 40)/2


# --- the share learned for good and its exact binomial CI ---

@pytest.mark.parametrize(("k", "n"), [(3, 5), (0, 5), (5, 5), (7, 9)])
def test_the_share_carries_scipys_exact_binomial_ci(k, n):
    times = Times(tuple([40.0] * k + [60.0] * (n - k)), (True,) * k + (False,) * (n - k))
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    expected = f"{k}/{n} ({100 * ci.low:.0f}–{100 * ci.high:.0f} %)"
    assert time_to_learn.share_learned(times) == expected


def test_the_share_by_hand_and_in_the_rendered_table():
    # 0 of 5: lower 0, upper 1 − 0.025^(1/5) = 0.522; 5 of 5: lower 0.025^(1/5) = 0.478, upper 1
    assert time_to_learn.share_learned(Times((60.0,) * 5, (False,) * 5)) == "0/5 (0–52 %)"
    assert time_to_learn.share_learned(Times((40.0,) * 5, (True,) * 5)) == "5/5 (48–100 %)"
    records = [make_record("one_char", "torch", s, accuracy_curve=curve(acc))
               for s, acc in enumerate((RELAPSES, AT_ONCE, AT_ONCE, NEVER_SETTLES, NEVER_TOUCHES))]
    ci = sps.binomtest(3, 5).proportion_ci(method="exact")
    text = section(render(ReportView(records)), "Time to learn")
    assert f"| 3/5 ({100 * ci.low:.0f}–{100 * ci.high:.0f} %)" in text
    assert "| 3/5 (15–95 %)" in text  # the same, rounded


# --- Keras touches later but settles sooner than PyTorch ---

GRID = list(range(10, 310, 10))


def steps(touch: int, settle: int, dip: float = 0.6) -> dict:
    """0.5 before `touch`, 1.0 at it, `dip` after it until `settle`, 1.0 from `settle` to the end."""
    acc = [0.5 if e < touch else 1.0 if e == touch or e >= settle else dip for e in GRID]
    return curve(acc, GRID)


def two_backends(n: int = 15) -> list[dict]:
    """Keras touches at 120–160 and keeps it; PyTorch touches at 30–70, falls to 60 % and settles at
    220–260. Three seeds at each of the five epochs per backend."""
    keras = [make_record("one_char", "keras", s, accuracy_curve=steps(120 + 10 * (s % 5), 120 + 10 * (s % 5)))
             for s in range(n)]
    torch = [make_record("one_char", "torch", s, accuracy_curve=steps(30 + 10 * (s % 5), 220 + 10 * (s % 5)))
             for s in range(n)]
    return keras + torch


def logrank_p(a: list[int], b: list[int]) -> float:
    return float(sps.logrank(sps.CensoredData(uncensored=a), sps.CensoredData(uncensored=b)).pvalue)


def test_the_table_reads_both_clocks_per_backend():
    table = time_to_learn.learning_table(two_backends()).set_index("backend")
    # 15/15: the exact CI's lower limit is 0.025^(1/15) = 0.782
    assert table.loc["keras", "learned for good (95 % CI)"] == "15/15 (78–100 %)"
    assert table.loc["torch", "learned for good (95 % CI)"] == "15/15 (78–100 %)"
    assert table.loc["keras", "touched 100 %"] == table.loc["torch", "touched 100 %"] == "15/15"
    # 15 seeds, 3 at each of five epochs: the 8th seed is the middle one (S = 9/15, then 6/15 at the 3rd
    # value), so each median is the third of the five epochs: keras 140 on both clocks; torch 50 first
    # touch, 240 for good
    assert table.loc["keras", "median epoch, for good (95 % CI)"].startswith("140 (")
    assert table.loc["keras", "median epoch, first touch (95 % CI)"].startswith("140 (")
    assert table.loc["torch", "median epoch, for good (95 % CI)"].startswith("240 (")
    assert table.loc["torch", "median epoch, first touch (95 % CI)"].startswith("50 (")
    assert table.loc["keras", "relapsed after first touch"] == "0/15"
    assert table.loc["torch", "relapsed after first touch"] == "15/15, to 60 %"


def test_the_headline_says_keras_learns_for_good_sooner_and_torch_touches_sooner():
    records = two_backends()
    keras_good = keras_touch = [120 + 10 * (s % 5) for s in range(15)]
    torch_touch, torch_good = [30 + 10 * (s % 5) for s in range(15)], [220 + 10 * (s % 5) for s in range(15)]
    good, touch = logrank_p(keras_good, torch_good), logrank_p(keras_touch, torch_touch)
    assert good < 0.05 and touch < 0.05  # one scenario: each family of one test, adjusted p = raw p
    for clock, p in ((FOR_GOOD, good), (FIRST_TOUCH, touch)):
        row = time_to_learn.logrank_table(records, clock=clock).iloc[0]
        assert row["logrank p"] == pytest.approx(p) and row["BH-adjusted p"] == pytest.approx(p)
        assert row["verdict"] == "different"
    assert time_to_learn.headline(records) == [
        f"**one_char**: keras learns for good sooner (median 140 vs 240 epochs, adjusted p = {good:.2g}); "
        f"by first touch, torch touches 100 % sooner (median 140 vs 50 epochs, adjusted p = {touch:.2g})."]
    text = section(render(ReportView(records)), "Time to learn")
    assert "keras learns for good sooner" in text and "torch touches 100 % sooner" in text
    assert "Keras vs PyTorch, learned for good at 100 %" in text
    assert "Keras vs PyTorch, first touch at 100 %" in text


def test_too_few_seeds_for_the_headline_to_call_a_side_sooner():
    records = [r for r in two_backends() if r["seed"] < 2]  # 2 seeds per side
    p = logrank_p([120, 130], [220, 230])
    assert p > 0.05
    (sentence,) = time_to_learn.headline(records)
    # midpoint medians of two seeds: keras (120 + 130)/2 = 125 on both clocks, torch (220 + 230)/2 = 225
    # for good and (30 + 40)/2 = 35 first touch; no side is called sooner (the wording of "no difference
    # found" is the statistics rules', not asserted here)
    assert f"when they learn for good (median 125 vs 225 epochs, adjusted p = {p:.2g})" in sentence
    assert f"when they touch 100 % (median 125 vs 35 epochs, adjusted p = {p:.2g})" in sentence
    assert "sooner" not in sentence and sentence.count("inconclusive") == 2


# --- the rest of the report reads time to learn as learned for good ---

def test_the_gap_and_sweeps_read_learned_for_good_not_first_touch():
    options = {"encoding": "zero_based", "data_seed": 7, "epochs": None, "init": "native"}
    records = [make_record("one_char", backend, s, accuracy_curve=curve(RELAPSES), options=opts)
               for backend, opts in (("keras", options), ("torch", options),
                                     ("torch", {**options, "init": "keras"}))
               for s in range(3)]
    native = next(p for p in pairs(records) if p.settings == NATIVE_KIND)
    assert native.a.times == Times((40.0,) * 3, (True,) * 3)  # not 20, the first touch
    swept = [make_record("one_char", backend, s, accuracy_curve=curve(RELAPSES),
                         command="python -m harness sweep --grid units=8,32",
                         options={"encoding": "zero_based", "data_seed": 7, "epochs": None, "units": units})
             for backend in ("keras", "torch") for units in (8, 32) for s in range(3)]
    sweep = find_sweeps(swept)["one_char"]
    table = sweeps.grid_table(swept, sweep)
    assert set(table["ttl_median"]) == {40.0}
    shown = sweeps.format_grid(table, sweep)
    assert set(shown["learned for good"]) == {"3/3"}
    assert set(shown["median epoch, for good (95 % CI)"]) == {"40 (40–40)"}


# --- late collapses: in Time to learn when seeds carry curves, in Budget when only checkpoints ---

def collapsed(backend: str = "keras", seed: int = 3, **fields) -> dict:
    """A seed that ends at 80 % (5 of 25 letters wrong)."""
    return make_record("one_char", backend, seed, wrong=dict.fromkeys("BCDEF", "Z"), **fields)


def checkpointed() -> dict:
    """Right at its checkpoint at 250 epochs, at 80 % at 500."""
    record = collapsed()
    right = "".join(p["expected"] for p in record["patterns"])
    final = "".join(p["predicted"] for p in record["patterns"])
    record["checkpoints"] = [{"epoch": 250, "accuracy": 1.0, "predicted": right, "probes": {}},
                             {"epoch": 500, "accuracy": 0.8, "predicted": final, "probes": {}}]
    return record


def test_with_curves_late_collapses_sit_in_time_to_learn():
    falls = curve([0.5, 1.0, 1.0, 0.9, 0.8, 0.8], [100, 200, 300, 400, 450, 500])  # best 100 % at 200
    records = [collapsed(accuracy_curve=falls),
               make_record("one_char", "torch", 0, accuracy_curve=curve(AT_ONCE))]
    text = render(ReportView(records))
    learning = section(text, "Time to learn")
    spent = section(text, "Budget: accuracy against training epochs")
    assert spent  # the Budget section is there (curves are anytime evaluation) …
    assert "### Late collapses" not in spent  # … but the collapses are listed once, in Time to learn
    assert text.count("### Late collapses") == 1 and "### Late collapses" in learning
    assert "keras: 1 of 1 seeds; torch: 0 of 1 seeds" in learning
    table = time_to_learn.SECTION.tables["late_collapses"](ReportView(records))
    assert list(table["seed"]) == [3] and table.iloc[0]["at epoch"] == 200
    assert table.iloc[0]["drop (points)"] == pytest.approx(20.0)
    row = time_to_learn.learning_table(records).set_index("backend").loc["keras"]
    assert row["relapsed after first touch"] == "1/1, to 80 %"
    assert row["learned for good (95 % CI)"].startswith("0/1 ")  # its last evaluation is below 100 %


def test_with_checkpoints_and_no_curves_late_collapses_stay_in_budget():
    records = [checkpointed(), make_record("one_char", "torch", 0)]
    text = render(ReportView(records))
    assert "## Time to learn" not in text
    spent = section(text, "Budget: accuracy against training epochs")
    assert text.count("### Late collapses") == 1 and "### Late collapses" in spent
    assert f"at least {anytime.COLLAPSE_POINTS:g} points below" in spent and "keras: 1 of 1 seeds" in spent
    assert time_to_learn.SECTION.render(ReportView(records)) == ""
    assert "late_collapses" not in budget.SECTION.tables  # the table is declared once, by Time to learn
    assert list(time_to_learn.SECTION.tables["late_collapses"](ReportView(records))["seed"]) == [3]


def test_a_ci_limit_read_off_the_estimate_is_marked():
    """Four seeds learned at 10, 20, 30, 40: the survival function reaches 0 at 40, where scipy's band
    is undefined, so the upper limit 40 is the estimate's own, marked '*'. With two seeds censored at
    60 the band is defined where it crosses one half (its upper limit is never reached): no mark."""
    from harness.reporting.survival import Times, fmt_median, median_time

    every = median_time(Times((10.0, 20.0, 30.0, 40.0), (True,) * 4))
    assert every.filled and fmt_median(every, 40) == "25 (10–40*)"
    censored = median_time(Times((10.0, 20.0, 30.0, 40.0, 60.0, 60.0), (True,) * 4 + (False,) * 2))
    assert not censored.filled and fmt_median(censored, 60) == "35 (10–not reached)"


def test_the_bootstrap_median_is_scipys_kaplan_meier_median():
    """`survival.km_medians` (arithmetic on counts, for the bootstrap) equals `survival.median_time`
    (scipy) on tied, censored samples, the midpoint convention included."""
    import numpy as np

    from harness.reporting.survival import Times, km_medians, median_time

    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(200):
        epochs = rng.choice([10.0, 20.0, 30.0, 40.0, 50.0], rng.integers(2, 16))
        learned = rng.random(epochs.size) < 0.75
        if learned.any():
            expected = median_time(Times(tuple(epochs), tuple(bool(x) for x in learned))).value
            (got,) = km_medians(epochs, learned, np.arange(epochs.size)[None, :])
            assert (math.isnan(expected) and math.isnan(got)) or got == pytest.approx(expected)
            checked += 1
    assert checked > 150
    four = km_medians(np.array([10.0, 20.0, 30.0, 40.0]), np.array([True] * 4), np.arange(4)[None, :])
    assert four[0] == 25.0


def test_times_within_the_ratio_margin_are_equivalent_not_merely_not_different():
    """30 seeds a side learning evenly over epochs 200–258, PyTorch's 2 epochs later: the logrank finds
    no difference and the bootstrap 90 % CI of the ratio of medians lies within 1/1.25–1.25, so the
    verdict is equivalence; 3 seeds a side spread over 100–500 epochs give too wide a CI."""
    from harness.reporting.survival import RATIO_MARGIN, Times, median_ratio_interval

    keras = Times(tuple(float(200 + 2 * i) for i in range(30)), (True,) * 30)
    torch = Times(tuple(float(202 + 2 * i) for i in range(30)), (True,) * 30)
    low, high = median_ratio_interval(keras, torch)
    assert 1 / RATIO_MARGIN <= low <= 1.0 <= high <= RATIO_MARGIN
    few = median_ratio_interval(Times((100.0, 300.0, 500.0), (True,) * 3),
                                Times((120.0, 320.0, 520.0), (True,) * 3))
    assert few[0] < 1 / RATIO_MARGIN or few[1] > RATIO_MARGIN

    def curve(at: int) -> dict:
        epochs = list(range(100, 400, 2))
        return {"epochs": epochs, "accuracy": [float(e >= at) for e in epochs]}

    records = [make_record("one_char", backend, seed=i, accuracy_curve=curve(start + 2 * i))
               for backend, start in (("keras", 200), ("torch", 202)) for i in range(30)]
    row = time_to_learn.logrank_table(records).iloc[0]
    assert row[stats.P_ADJUSTED] >= 0.05
    assert row["verdict"] == time_to_learn.EQUIVALENT_TIMES == "equivalent within ×1.25"


def test_the_vectorised_bootstrap_medians_equal_one_at_a_time():
    import numpy as np

    from harness.reporting.survival import Times, km_medians, median_time

    rng = np.random.default_rng(5)
    for _ in range(100):
        n = int(rng.integers(2, 20))
        epochs = rng.choice([10.0, 20.0, 30.0, 40.0], n)
        learned = rng.random(n) < 0.7
        picks = rng.integers(0, n, (40, n))
        expected = [median_time(Times(tuple(epochs[p]), tuple(bool(x) for x in learned[p]))).value
                    if learned[p].any() else math.nan for p in picks]
        assert np.allclose(km_medians(epochs, learned, picks), expected, equal_nan=True)
