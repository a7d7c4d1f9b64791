"""The report's "where the gap comes from", on accuracy and time to learn, on synthetic records with known
answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from harness.reporting.gap_time import time_table
from harness.reporting.matching import (
    NATIVE_KIND,
    Settings,
    compare_times,
    effective_settings,
    pairs,
    shared,
    time_pairs,
)
from harness.reporting.report import render
from harness.reporting.sections import gap
from harness.reporting.sections.gap import gap_table
from harness.reporting.survival import fmt_median, median_time
from harness.reporting.view import ReportView
from tests.fakes import make_record
from tests.reporting.by_hand import exact_p, tost_by_hand

OPTIONS = {"encoding": "zero_based", "data_seed": 7, "epochs": None, "init": "native"}


def ablation_section(records: list[dict]) -> str:
    """The section as the report renders it, heading included."""
    return gap.SECTION.render(ReportView(records))


def time_rows(found: list) -> list:
    """Every time pair's row (the logrank tests one family)."""
    return compare_times(time_pairs(found))


def points(accuracy: list[float]) -> list[float]:
    return [100 * a for a in accuracy]


def seeds(backend: str, accuracy: list[float], scenario: str = "one_char", **options) -> list[dict]:
    """One record per accuracy, with the given options (init, adam_eps, gate_activation)."""
    return [make_record(scenario, backend, seed=i, accuracy=a, options={**OPTIONS, **options})
            for i, a in enumerate(accuracy)]


KERAS = [0.80, 0.81, 0.82, 0.80, 0.81, 0.82, 0.80, 0.81]
TORCH_LOW = [0.70, 0.71, 0.72, 0.70, 0.71, 0.72, 0.70, 0.71]  # native gap +10 points, p < 0.001
TORCH_MATCHED = [0.80, 0.81, 0.82, 0.80, 0.81, 0.82, 0.81, 0.80]  # same as keras: gap 0


def test_effective_settings_resolve_native_to_each_frameworks_defaults():
    keras = make_record(backend="keras", options=OPTIONS)
    torch = make_record(backend="torch", options={**OPTIONS, "init": "keras", "adam_eps": 1e-7})
    assert effective_settings(keras) == Settings("keras", 1e-7, "sigmoid")
    assert effective_settings(torch) == Settings("keras", 1e-7, "sigmoid")
    assert shared(effective_settings(keras), effective_settings(torch)) == (
        "same init (Keras's), same Adam eps (1e-07)")
    assert shared(Settings("keras", 1e-7, "sigmoid"), Settings("torch", 1e-8, "sigmoid")) is None
    assert shared(Settings("keras", 1e-7, "sigmoid"), Settings("keras", 1e-8, "hard_sigmoid_2017")) is None
    swapped_init = shared(Settings("torch", 1e-7, "sigmoid"), Settings("keras", 1e-7, "sigmoid"))
    assert swapped_init is None  # matched eps, but the inits swapped: not an ablation of the native pair


def test_matched_init_that_closes_the_gap_is_reported_as_explained():
    records = seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_MATCHED, init="keras")
    table = gap_table(records)
    assert list(table["settings"]) == ["each framework's own defaults", "same init (Keras's)"]
    native, matched = table.iloc[0], table.iloc[1]
    assert native["gap (points)"] == pytest.approx(10.0, abs=0.2)
    assert native["Mann–Whitney p"] < 0.01
    assert abs(matched["gap (points)"]) < 0.5 and matched["Mann–Whitney p"] > 0.5
    share = matched["gap (points)"] / native["gap (points)"]
    assert matched["share of native gap left"] == pytest.approx(share)
    # the matched gap closes because it is shown equivalent (TOST ±2 under 0.05 after BH over the 2
    # pairs), not merely because it is no longer significant; the native +10 is far outside ±2
    by_hand = [tost_by_hand(points(KERAS), points(TORCH_LOW), 2),
               tost_by_hand(points(KERAS), points(TORCH_MATCHED), 2)]
    assert list(table["TOST p"]) == pytest.approx(by_hand)
    assert list(table["TOST BH-adjusted p"]) == pytest.approx(list(sps.false_discovery_control(by_hand)))
    assert table["TOST BH-adjusted p"][1] < 0.05 < table["TOST BH-adjusted p"][0]
    assert list(table["verdict"]) == ["different", "equivalent within ±2 points"]
    text = ablation_section(records)
    assert "matching the defaults closes it: they, not the framework, explain it" in text
    assert "torch[init=keras]" in text


def test_a_gap_that_survives_matching_is_blamed_on_the_framework():
    records = seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_LOW, init="keras")
    text = ablation_section(records)
    assert "a framework difference remains" in text
    assert "closes it" not in text


def test_no_native_gap_means_nothing_to_explain_and_no_matched_pair_means_no_section():
    same = seeds("keras", KERAS) + seeds("torch", TORCH_MATCHED)
    assert ablation_section(same) == ""  # no ablation rows: the section is left out
    records = same + seeds("torch", TORCH_MATCHED, init="keras")
    # the native pair is KERAS vs TORCH_MATCHED, the same values: TOST ±2 by hand well under 0.05 (and
    # the 2 TOST p's of the table are equal, so BH leaves them as they are)
    assert tost_by_hand(points(KERAS), points(TORCH_MATCHED), 2) < 0.001
    assert gap_table(records)["verdict"][0] == "equivalent within ±2 points"
    text = ablation_section(records)
    assert "**one_char**: no native gap established (+0.0 points, equivalent within ±2 points: " in text
    assert "nothing for the defaults to explain" in text


def test_pairs_stay_within_a_scenario_and_the_full_report_includes_the_section():
    records = (seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_MATCHED, init="keras")
               + seeds("keras", KERAS, scenario="stateful")
               + seeds("torch", KERAS, scenario="stateful", init="keras"))
    table = gap_table(records)
    assert set(table["scenario"]) == {"one_char"}  # stateful has no native torch row
    report = render(ReportView(records))
    assert "## Where the Keras–PyTorch gap comes from" in report
    assert report.index("## Backends compared") < report.index("## Where the Keras–PyTorch gap")


def test_both_on_the_2017_gate_is_a_pair_of_its_own():
    records = (seeds("keras", KERAS) + seeds("torch", TORCH_LOW)
               + seeds("keras", KERAS, gate_activation="hard_sigmoid_2017")
               + seeds("torch", TORCH_LOW, gate_activation="hard_sigmoid_2017"))
    table = gap_table(records)
    assert list(table["settings"]) == ["each framework's own defaults", "both hard_sigmoid_2017"]
    assert list(table["pair"])[1] == (
        "keras[gate_activation=hard_sigmoid_2017] − torch[gate_activation=hard_sigmoid_2017]")


# --- the statistics rules: Benjamini–Hochberg over each table, power beside every accuracy gap ---

# +1.1 points below KERAS; exact p (given the ties) = 364 / 12,870 = 0.0283 by enumerating the C(16, 8)
# splits of the pooled midranks (`exact_p`); the normal approximation gave 0.02
TORCH_NEAR = [0.79, 0.80, 0.80, 0.79, 0.80, 0.81, 0.79, 0.80]


def test_a_raw_p_under_alpha_that_bh_lifts_above_it_is_not_called_significant():
    records = (seeds("keras", KERAS) + seeds("torch", TORCH_NEAR)
               + seeds("torch", KERAS, init="keras") + seeds("keras", TORCH_NEAR, init="torch"))
    table = gap_table(records)
    raw = list(table["Mann–Whitney p"])
    by_hand, _ = exact_p(points(KERAS), points(TORCH_NEAR))
    assert raw[0] == pytest.approx(by_hand) == pytest.approx(364 / 12870)
    assert raw[0] < 0.05  # significant alone …
    assert raw[1:] == [1.0, 1.0]  # the matched pairs compare equal samples (with spread: still tests)
    assert list(table["BH-adjusted p"]) == pytest.approx(list(sps.false_discovery_control(raw)))
    assert table["BH-adjusted p"][0] == pytest.approx(3 * raw[0]) and table["BH-adjusted p"][0] > 0.05
    # … not after adjusting over the table's 3 tests; and a +1.1-point gap with this little spread is
    # shown within ±2 (TOST by hand 0.020, the smallest-adjusted of the 3 TOST p's last, so unchanged)
    equivalence = tost_by_hand(points(KERAS), points(TORCH_NEAR), 2)
    assert table["TOST p"][0] == pytest.approx(equivalence) and equivalence == pytest.approx(0.0203, abs=1e-4)
    assert table["TOST BH-adjusted p"][0] == pytest.approx(equivalence)
    assert table["verdict"][0] == "equivalent within ±2 points"
    text = ablation_section(records)
    assert ("no native gap established (+1.1 points, equivalent within ±2 points: p = 0.028, adjusted "
            "0.085; TOST adjusted 0.02;") in text
    assert "closes it" not in text and "the 3 rank tests of this table one family" in text


def detectable_by_hand(a: list[float], b: list[float]) -> float:
    """The gap (points) the rank test detects with 80 % power at two-sided α = 0.05 with these seeds:
    n = 2 (z(0.975) + z(0.80))² σ² / Δ² / (3/π) solved for Δ, σ the pooled SD of the two groups."""
    x, y = np.asarray(points(a)), np.asarray(points(b))
    sd = math.sqrt((((x - x.mean()) ** 2).sum() + ((y - y.mean()) ** 2).sum()) / (len(x) + len(y) - 2))
    z = 1.959964 + 0.841621  # z(1 − 0.05/2) + z(0.80)
    return z * sd * math.sqrt(2 / (min(len(x), len(y)) * 3 / math.pi))


def test_detectable_gap_by_hand_and_zero_spread_in_words():
    # a property of the design, not of the observed gap: KERAS vs TORCH_NEAR, pooled SD 0.76 points,
    # 8 seeds each → 2.80158 · 0.76 · √(2 / (8 · 3/π)) = 1.109 → "1.1"
    records = seeds("keras", KERAS) + seeds("torch", TORCH_NEAR) + seeds("torch", KERAS, init="keras")
    native = gap_table(records).iloc[0]
    expected = detectable_by_hand(KERAS, TORCH_NEAR)
    assert expected == pytest.approx(1.1087, abs=1e-4)
    assert native["detectable gap at this n"] == f"{expected:.2g}" == "1.1"
    assert "seeds for 80 % power" not in gap_table(records)  # no post-hoc power at the observed gap
    flat = (seeds("keras", [0.8] * 6) + seeds("torch", [0.8] * 6)
            + seeds("torch", [0.8] * 6, init="keras"))
    assert set(gap_table(flat)["detectable gap at this n"]) == {"zero spread"}
    assert set(gap_table(flat)["verdict"]) == {"identical (no test)"}
    text = ablation_section(flat)
    assert "every seed of both frameworks scored the same (+0.0 points, no test)" in text
    # keras 80/84 ×4 (SD 2.14), torch 80/82 ×4 (SD 1.07): pooled SD √(40/14) = 1.690 → 2.423 → "2.4"
    noisy = (seeds("keras", [0.80, 0.84] * 4) + seeds("torch", [0.80, 0.82] * 4)
             + seeds("torch", KERAS, init="keras"))
    detectable = gap_table(noisy).iloc[0]["detectable gap at this n"]
    assert detectable == f"{detectable_by_hand([0.80, 0.84] * 4, [0.80, 0.82] * 4):.2g}" == "2.4"
    assert "these seeds (8/8) detect a gap of 2.4 points with 80 % power" in ablation_section(noisy)


# --- time to learn: the same pairs on the epoch each seed learned for good (100 % from then on) ---

CURVE_EPOCHS = list(range(30, 3030, 30))  # every 1 % of a 3,000-epoch run
# The curves below never drop once at 100 %, so first touch and learned for good are the same epoch: the
# first grid epoch ≥ the seed's `at` (`at` rounded up to a multiple of 30). With n = 20 every median sits
# where the Kaplan–Meier curve is exactly one half (10 of 20 learned), so it is the midpoint of the 10th
# and 11th grid times: at = int(centre − 300 + k·600/19) for k = 9, 10:
#   keras 1,966: 1,950.2 → 1,950 and 1,981.8 → 2,010 → median (1,950 + 2,010)/2 = 1,980
#   torch 1,457: 1,441.2 → 1,470 and 1,472.8 → 1,500 → median (1,470 + 1,500)/2 = 1,485
#   torch[init=keras] 1,652: 1,636.2 → 1,650 and 1,667.8 → 1,680 → median 1,665
#   keras[init=torch] 1,656: 1,640.2 → 1,650 and 1,671.8 → 1,680 → median 1,665
# so the native gap is 1,980 − 1,485 = +495 (it was +480 = 1,950 − 1,470 when a median was the lower of
# the two).


def curve(learned_at: int | None) -> dict:
    return {"epochs": CURVE_EPOCHS,
            "accuracy": [1.0 if learned_at is not None and e >= learned_at else 0.9 for e in CURVE_EPOCHS]}


def timed(backend: str, centre: int, n: int = 20, never: int = 0, scenario: str = "one_char",
          accuracy: tuple[float, ...] = (0.80, 0.82), **options) -> list[dict]:
    """n seeds learning evenly over centre ± 300 epochs; the first `never` never learn (censored)."""
    at = np.linspace(centre - 300, centre + 300, n).astype(int)
    return [make_record(scenario, backend, seed=i, accuracy=accuracy[i % len(accuracy)],
                        accuracy_curve=curve(None if i < never else int(at[i])),
                        options={**OPTIONS, **options}) for i in range(n)]


def study(keras: int, torch: int, torch_keras_init: int, keras_torch_init: int, **kw) -> list[dict]:
    """The study's four rows: both native, PyTorch with Keras's init, Keras with PyTorch's."""
    never = kw.pop("never", 0)
    return (timed("keras", keras, never=never, **kw) + timed("torch", torch, **kw)
            + timed("torch", torch_keras_init, init="keras", **kw)
            + timed("keras", keras_torch_init, init="torch", **kw))


def time_line(text: str, scenario: str = "one_char") -> str:
    """The scenario's time-to-learn-for-good sentence (the nested bullet under its accuracy sentence)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"- **{scenario}**"))
    nested = lines[start + 1]
    assert nested.startswith("  - time to learn for good: ")
    return nested


def test_an_init_swap_that_closes_the_time_gap_explains_most_of_it():
    records = study(1966, 1457, 1966, 1457)
    rows = time_rows(pairs(records))
    assert [r.pair.settings for r in rows] == ["each framework's own defaults", "same init (Keras's)",
                                              "same init (PyTorch's)"]
    assert rows[0].gap == 495 and rows[0].significant  # 1,980 − 1,485 on the 30-epoch grid (see above)
    assert [r.left for r in rows[1:]] == [0.0, 0.0] and not any(r.significant for r in rows[1:])
    line = time_line(ablation_section(records))
    assert "Keras − PyTorch is +495 epochs in median natively" in line
    assert "the init explains most of it (100% (95 % CI " in line and "not established" not in line
    assert "no longer significant is not shown equal (times have no equivalence test)" in line


def test_an_init_swap_that_leaves_the_time_gap_explains_none_of_it():
    line = time_line(ablation_section(study(1966, 1457, 1457, 1966)))
    assert "the init explains none of it" in line
    assert "most of it" not in line and "part of it" not in line


def test_the_issues_medians_read_as_part_of_the_gap_no_firmer_than_the_seeds_allow():
    # PyTorch 1,457, Keras 1,966, PyTorch with Keras's init 1,652, Keras with PyTorch's 1,656. With 20
    # seeds (medians above): matched on Keras's init 1,980 − 1,665 = +315 of the native +495 is left
    # (64 %), on PyTorch's 1,665 − 1,485 = +180 (36 %) → the init explains 36–64 %.
    # With 60 seeds (at = int(centre − 300 + k·600/59), the 30th and 31st seeds, k = 29 and 30): keras
    # 1,960.9 → 1,980 and 1,971.1 → 1,980, torch 1,451.9 → 1,470 and 1,462.1 → 1,470 (the curve jumps past
    # one half at one epoch: medians 1,980 and 1,470, native gap +510); torch[init=keras] 1,646.9 → 1,650
    # and 1,657.1 → 1,680, keras[init=torch] 1,650.9 → 1,650 and 1,661.1 → 1,680 (exactly 30 of 60 by
    # 1,650: medians 1,665). Left: 1,980 − 1,665 = 315 → 315/510 = 62 %, 1,665 − 1,470 = 195 → 38 %.
    many = time_line(ablation_section(study(1966, 1457, 1652, 1656, n=60)))
    # each matched pair's share with its seeded bootstrap CI over seeds (RESAMPLES resamples)
    assert "the init explains part of it (38% (95 % CI " in many and ") and 62% (95 % CI " in many
    assert "by the medians), not all: a framework difference" in many
    twenty = time_line(ablation_section(study(1966, 1457, 1652, 1656)))
    assert "(64% of it left;" in twenty and "(36% of it left;" in twenty
    assert ("a framework difference remains (every matched gap is still significant); by the medians the "
            "init explains 36% (95 % CI ") in twenty and ") and 64% (95 % CI " in twenty
    assert ("of it, but the median CIs of torch[init=keras] and keras[init=torch] overlap their native ones, "
            "so how much is not established") in twenty
    five = time_line(ablation_section(study(1966, 1457, 1652, 1656, n=5)))  # the issue's trial size
    assert "no longer significant" in five and "inconclusive at this number of seeds" in five
    assert "explains part" not in five and "most of it" not in five
    assert "not estimable at this n: a bootstrap CI spans more than 100 points" in five


def test_censored_seeds_count_in_the_share_and_the_median_and_are_named():
    records = study(1966, 1457, 1652, 1656, never=8)
    table = time_table(time_rows(pairs(records)))
    native = table.iloc[0]
    assert native["Keras learned"] == "12/20 (60%)" and native["PyTorch learned"] == "20/20 (100%)"
    keras = next(p for p in pairs(records) if p.settings == NATIVE_KIND).a.times
    assert sum(keras.learned) == 12 and keras.n == 20 and max(keras.epochs) == 3000  # censored at the end
    assert native["Keras median (95 % CI)"] == fmt_median(median_time(keras), 3000)
    assert native["Keras median (95 % CI)"].endswith("–not reached)")
    assert "8 of 80 seeds never learned for good and are censored" in time_line(ablation_section(records))
    lost = time_line(ablation_section(study(1966, 1457, 1652, 1656, never=12)))  # fewer than half learn
    assert "the native gap in median epochs is not defined (Keras median not reached (> 3,000)" in lost
    assert "is not read from medians" in lost and "explains part" not in lost


def test_logrank_tests_are_one_family_adjusted_together():
    records = study(1966, 1457, 1652, 1656) + study(1600, 1500, 1550, 1560, scenario="feature_window")
    rows = time_rows(pairs(records))
    raw = [r.p for r in rows]
    assert raw == pytest.approx([float(sps.logrank(r.pair.a.censored(), r.pair.b.censored()).pvalue)
                                 for r in rows])
    assert [r.q for r in rows] == pytest.approx(list(sps.false_discovery_control(raw)))
    table = time_table(rows)
    # a logrank test has no equivalence counterpart: not different is inconclusive, never "no difference"
    assert list(table["verdict"]) == ["different" if q < 0.05 else "inconclusive"
                                      for q in table["BH-adjusted p"]]
    assert "inconclusive" in set(table["verdict"])
    assert "the 6 tests of this table are one family" in ablation_section(records)


def test_without_curves_the_section_has_no_time_to_learn_part():
    records = seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_MATCHED, init="keras")
    text = ablation_section(records)
    assert time_rows(pairs(records)) == []
    assert "time to learn" not in text and "logrank" not in text.lower() and "accuracy curves" not in text
    assert " detectable gap at this n |" in text and "BH-adjusted p" in text and "TOST BH-adjusted p" in text
    # curves on the native rows only: nothing to compare them with, so still no time part
    native_only = (timed("keras", 1966) + timed("torch", 1457)
                   + seeds("torch", TORCH_MATCHED, init="keras"))
    assert time_rows(pairs(native_only)) == [] and "time to learn" not in ablation_section(native_only)


def test_a_report_of_the_study_shows_both_parts_in_one_section():
    report = render(ReportView(study(1966, 1457, 1652, 1656)))
    section = report[report.index("## Where the Keras–PyTorch gap"):]
    section = section[:section.index("\n## ", 5)]
    assert "  - time to learn for good:" in section and "gap (median epochs)" in section
    assert section.index("gap (points)") < section.index("gap (median epochs)")


def test_two_executions_of_one_scenario_read_as_two_cells():
    fast = [{**r, "execution": "fast"} for r in seeds("keras", KERAS) + seeds("torch", TORCH_MATCHED)
            + seeds("torch", TORCH_MATCHED, init="keras")]
    slow = seeds("keras", KERAS) + seeds("torch", TORCH_LOW) + seeds("torch", TORCH_MATCHED, init="keras")
    table = gap_table(fast + slow)
    assert list(dict.fromkeys(table["scenario"])) == ["one_char (fast)", "one_char (idiomatic)"]
    text = ablation_section(fast + slow)
    assert "**one_char (fast)**: no native gap established (+0.0 points, equivalent within ±2 points" in text
    assert "**one_char (idiomatic)**: Keras − PyTorch is +10.0 points natively" in text
