"""Sweeps: grid detection, the reference view the other sections show, the grid and per-point gap tables."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from scipy import stats as sps

from harness.reporting import stats
from harness.reporting.grid import find_sweeps, grid_label, reference_timings, reference_view
from harness.reporting.report import render
from harness.reporting.sections import sweeps
from harness.reporting.sections.sweeps import gap_table, grid_table
from harness.reporting.view import ReportView
from harness.store import latest_per_key, load_records
from tests.fakes import make_record
from tests.reporting.by_hand import tost_by_hand

SWEEP = "python -m harness sweep --grid units=8,32 learning_rate=0.001,0.01"
ROOT = Path(__file__).resolve().parents[2]


def sweeps_section(records: list[dict]) -> str:
    """The section as the report renders it, heading included."""
    return sweeps.SECTION.render(ReportView(records))


def point(backend: str, seed: int, units: int, lr: float, wrong: str = "", **fields) -> dict:
    """A one_char seed at a grid point, `wrong`: target letters it gets wrong."""
    options = {"encoding": "zero_based", "data_seed": 7, "epochs": None, "units": units, "learning_rate": lr}
    record = make_record("one_char", backend, seed, wrong=dict.fromkeys(wrong, "A"), options=options,
                         command=SWEEP, **fields)
    record["spec"].update(units=32, learning_rate=0.001, epochs=500)
    return record


def grid() -> list[dict]:
    """units × learning_rate × {keras, torch} × 6 seeds; torch loses 4–5 letters at units=8, lr=0.01 only."""
    out = []
    for units in (8, 32):
        for lr in (0.001, 0.01):
            for s in range(6):
                out.append(point("keras", s, units, lr, "Z" if s == 0 else ""))
                gap = units == 8 and lr == 0.01
                wrong = ("BCDE" + "F" * (s % 2)) if gap else ("Y" if s == 1 else "")
                out.append(point("torch", s, units, lr, wrong))
    return out


def test_grid_is_found_in_numeric_order_with_the_tutorial_as_reference():
    sweeps = find_sweeps(grid())
    sweep = sweeps["one_char"]
    assert sweep.knobs == ("units", "learning_rate")
    assert sweep.points == ((8, 0.001), (8, 0.01), (32, 0.001), (32, 0.01))  # 8 before 32, not "32" < "8"
    assert sweep.reference == sweep.tutorial == (32, 0.001)


def test_reference_view_shows_one_grid_point_with_plain_labels():
    records = grid()
    view = reference_view(records, find_sweeps(records))
    assert len(view) == 12 and {r["options"].get("units") for r in view} == {None}
    text = render(ReportView(records))
    accuracy = text.split("## Accuracy")[1].split("\n## ")[0]
    assert accuracy.count("| one_char ") == 2  # one row per backend, not 4 grid points × 2
    assert "units=8" not in accuracy
    assert "## Sweep in this folder" in text
    assert "shown: units=32, learning_rate=0.001 (the tutorial's)" in text


def test_grid_table_has_every_point_and_backend():
    records = grid()
    table = grid_table(records, find_sweeps(records)["one_char"])
    assert len(table) == 8
    at = (table["units"] == 8) & (table["learning_rate"] == 0.01) & (table["backend"] == "torch")
    row = table[at].iloc[0]
    assert row["n"] == 6 and row["mean"] == pytest.approx(100 * (1 - 4.5 / 25))
    assert "ttl_median" not in table  # no accuracy curves recorded


def test_gap_per_grid_point_is_bh_adjusted_across_the_scenarios_grid():
    records = grid()
    table = gap_table(records, find_sweeps(records)["one_char"])
    assert len(table) == 4 and list(table.columns[:3]) == ["units", "learning_rate", "pair"]
    assert list(table["BH-adjusted p"]) == pytest.approx(stats.adjusted_p_values(table["Mann–Whitney p"]))
    assert (table["BH-adjusted p"] >= table["Mann–Whitney p"]).all()
    points = zip(table["units"], table["learning_rate"], strict=True)
    verdicts = dict(zip(points, table["verdict"], strict=True))
    # units=8, lr=0.01: keras 96, 100 ×5 vs torch 84/80 ×3 — every torch seed below every keras seed,
    # exact p 2 / C(12, 6) = 2/924 = 0.0022, BH-adjusted ×4 = 0.0087: different
    assert table["Mann–Whitney p"][1] == pytest.approx(2 / 924)
    assert verdicts[(8, 0.01)] == "different"
    # elsewhere keras and torch both score 96, 100 ×5: gap 0, TOST ±2 by hand 0.030 at each of the three
    # points and ≈ 1 at the gap; BH over the grid's 4 TOST p's: 0.030 · 4/3 = 0.040 < 0.05: equivalent
    even, gap = [96.0] + [100.0] * 5, [100 * (1 - n / 25) for n in (4, 5) * 3]
    tosts = [tost_by_hand(even, even, 2), tost_by_hand(even, gap, 2), tost_by_hand(even, even, 2),
             tost_by_hand(even, even, 2)]
    assert list(table["TOST p"]) == pytest.approx(tosts)
    assert list(table["TOST BH-adjusted p"]) == pytest.approx(list(sps.false_discovery_control(tosts)))
    assert tosts[0] == pytest.approx(0.0299, abs=1e-4)
    assert table["TOST BH-adjusted p"][0] == pytest.approx(tosts[0] * 4 / 3) and tosts[0] * 4 / 3 < 0.05
    equivalent = [verdicts[p] for p in ((8, 0.001), (32, 0.001), (32, 0.01))]
    assert equivalent == ["equivalent within ±2 points"] * 3
    assert table.loc[table["verdict"] == "different", "gap (points)"].iloc[0] == pytest.approx(18.0 - 4.0 / 6)
    text = sweeps_section(records)
    assert ("one_char, Keras − PyTorch over 4 grid points after adjustment: 1 different, 3 equivalent within "
            "±2 points (units=8, learning_rate=0.01: +17.3 points).") in text
    assert "![accuracy against each swept knob](sweeps.png)" in text


def test_time_to_learn_per_grid_point_when_curves_exist():
    curve = {"epochs": [10, 20, 30], "accuracy": [0.5, 1.0, 1.0]}
    records = [point(b, s, u, 0.001, accuracy_curve=curve) for b in ("keras", "torch") for s in range(3)
               for u in (8, 32)]
    text = sweeps_section(records)
    assert "| 3/3 " in text and "20 (20–20)" in text
    assert "sweep_time_to_learn.png" in text


def test_run_flags_are_ablation_rows_not_a_sweep():
    native = [make_record("one_char", b, s) for b in ("keras", "torch") for s in range(2)]
    options = {"encoding": "zero_based", "data_seed": 7, "epochs": None, "init": "keras"}
    ablated = [make_record("one_char", "torch", s, options=options) for s in range(2)]
    assert find_sweeps(native + ablated) == {}
    swept = [{**r, "command": "python -m harness sweep --grid init=native,keras"} for r in native + ablated]
    assert find_sweeps(swept)["one_char"].knobs == ("init",)


def test_committed_ablation_folder_is_not_a_sweep(tmp_path):
    plain = tmp_path / "results.jsonl"
    with gzip.open(ROOT / "reports" / "ablation" / "results.jsonl.gz", "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    records = latest_per_key(load_records(plain).records)
    assert find_sweeps(records) == {}
    assert reference_view(records, {}) == records


def test_epochs_sweep_keeps_budgets_apart_and_the_same_experiment_is_counted_once():
    short = [point("torch", s, 32, 0.001, epochs=100) for s in range(2)]
    for r in short:
        r["options"]["epochs"] = 100
    full = [point("torch", s, 32, 0.001) for s in range(2)]
    again = point("torch", 0, 32, 0.001)  # the tutorial's units, unset rather than 32: the same experiment
    again["options"].pop("units")
    records = [r for r in short + full + [again] if r["options"].pop("learning_rate", None) or True]
    sweeps = find_sweeps(records)
    assert sweeps["one_char"].knobs == ("epochs",) and sweeps["one_char"].reference == (500,)
    table = grid_table(records, sweeps["one_char"])
    assert list(table["epochs"]) == [100, 500] and list(table["n"]) == [2, 2]


def test_failures_name_their_grid_point_and_timings_follow_the_reference():
    records = grid()
    records.append(point("torch", 9, 8, 0.01, status="failed", error="boom"))
    text = render(ReportView(records))
    assert "one_char[units=8, learning_rate=0.01]" in text.split("## Failures")[1]
    assert grid_label(find_sweeps(records))(records[0]) == "one_char[units=8, learning_rate=0.001]"
    samples = [point("torch", 0, units, 0.001, kind="idiomatic_timing") for units in (8, 32)]
    kept = reference_timings(samples, find_sweeps(records))
    assert len(kept) == 1 and kept[0]["seed"] == 0 and "units" not in kept[0]["options"]


def test_no_section_without_a_grid():
    assert sweeps_section([make_record(backend=b) for b in ("keras", "torch")]) == ""
    text = render(ReportView([make_record(backend=b) for b in ("keras", "torch")]))
    assert "## Sweep" not in text
