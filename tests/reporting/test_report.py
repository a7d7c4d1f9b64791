"""Aggregation and report rendering on synthetic records."""

from __future__ import annotations

import re

import matplotlib.image as mpimg
import pytest

from harness.reporting import frames
from harness.reporting.report import render, write_report
from harness.reporting.sections import letters
from harness.reporting.view import ReportView
from harness.store import append_record, results_path
from tests.fakes import make_record


def test_accuracy_table_across_seeds():
    records = [make_record(seed=0), make_record(seed=1, wrong={"Z": "Y"})]
    table = frames.accuracy_summary(frames.to_frame(records))
    row = table.iloc[0]
    assert row["n"] == 2 and row["min"] == pytest.approx(96.0) and row["max"] == 100.0
    assert row["mean"] == pytest.approx(98.0) and row["tutorial"] == 84.0


def test_letter_errors_name_the_letter_rate_and_mistake():
    records = [
        make_record(backend="keras", seed=0, wrong={"Z": "Y"}),
        make_record(backend="keras", seed=1, wrong={"Z": "Y", "X": "Z"}),
        make_record(backend="torch", seed=0),
    ]
    table = letters.mistakes(records)["one_char"].set_index("target letter")
    assert list(table.index) == ["X", "Z"]
    assert table.loc["Z", "keras error %"] == 100.0 and table.loc["Z", "torch error %"] == 0.0
    assert table.loc["X", "keras error %"] == 50.0
    assert table.loc["Z", "most common wrong prediction"] == "Y (2×)"


def test_report_has_every_section_and_the_tutorial_figure():
    # four distinct accuracies (keras 100, 96; torch 92, 88): a rank test with no ties, whose floor at
    # 2 vs 2 seeds is 2 / C(4, 2) = 0.333 (all seeds at 100 % would be identical: no test, no note)
    wrong = {("keras", 0): "", ("keras", 1): "Z", ("torch", 0): "YZ", ("torch", 1): "XYZ"}
    records = [make_record(backend=b, seed=s, wrong=dict.fromkeys(wrong[b, s], "A"))
               for b in ("keras", "torch") for s in range(2)]
    records.append(make_record(scenario="stateful", seed=0, probes={
        "generate_from_A": {"generated": "BCDEFGHIJKLMNOPQRSTUVWXYZ", "share_correct": 1.0},
        "cold_start_K": {"letters": "BCDEF", "first_is_L": False, "first_is_B": True},
    }))
    text = render(ReportView(records))
    for heading in ("## Run", "## Accuracy", "## Backends compared", "## The tutorial's findings",
                    "## Per-letter errors", "## Training time", "## Learning curves", "## Probes"):
        assert heading in text
    assert "n too small: p can never go below 0.333" in text  # 2 vs 2 seeds
    assert "Keras/PyTorch ratio of µs per update, as written" in text  # idiomatic seeds are the measure
    fast = [make_record(backend=b, seed=s, execution="fast") for b in ("keras", "torch") for s in range(2)]
    fast_text = render(ReportView(fast))
    assert fast_text.index("_no idiomatic timing in this folder") < fast_text.index(
        "Keras/PyTorch ratio of the `fast` engines")
    assert "The harness's `fast` engines (not the frameworks as written)" in fast_text
    assert "identical (no test)" in fast_text and "n too small" not in fast_text  # every seed at 100 %
    assert "84.0" in text and "`python -m harness run`" in text
    assert "cold_start_K" in text and "BCDEF" in text
    assert "0:01:00" in text  # wall time from run_started to the last record


def test_report_on_partial_data_shows_failures(tmp_path):
    path = results_path(tmp_path)
    append_record(path, make_record(backend="keras"))
    append_record(path, make_record(backend="torch", status="failed", error="worker exited with code -9"))
    with open(path, "a") as handle:
        handle.write("{not json\n")
    report, warnings = write_report(tmp_path)
    text = report.read_text()
    assert "## Failures" in text and "worker exited with code -9" in text
    assert "## Warnings" in text and len(warnings) == 1


def test_report_writes_figures_and_links_them(tmp_path):
    path = results_path(tmp_path)
    for backend in ("keras", "torch"):
        for seed in range(3):
            append_record(path, make_record(backend=backend, seed=seed, wrong={"Z": "Y"} if seed else {}))
    report, _ = write_report(tmp_path)
    text = report.read_text()
    for name in ("accuracy.png", "letter_errors.png", "learning_curves.png", "speed.png"):
        assert (tmp_path / name).stat().st_size > 1000
        assert f"({name})" in text


def test_report_with_one_backend_and_only_failures_for_another(tmp_path):
    path = results_path(tmp_path)
    append_record(path, make_record(backend="keras", seed=0))
    append_record(path, make_record(backend="torch", seed=0, status="failed", error="boom"))
    text = write_report(tmp_path)[0].read_text()
    accuracy = text.split("## Accuracy")[1].split("##")[0]
    assert re.search(r"\| one_char\s+\| torch\s+\|\s+\d+\s+\|\s+0 \|", accuracy)  # n = 0, not dropped
    assert "no data" in text  # findings without data say so


def test_variable_length_error_by_input_length():
    record = make_record(scenario="variable_length", seed=0)
    record["patterns"] = [
        {"input": "A", "expected": "B", "predicted": "C"},
        {"input": "AB", "expected": "C", "predicted": "C"},
        {"input": "B", "expected": "C", "predicted": "C"},
    ]
    text = render(ReportView([record]))
    section = text.split("by input length")[1]
    assert re.search(r"\|\s+1\s+\|\s+2\s+\|\s+50.0\s+\|", section), section
    assert re.search(r"\|\s+2\s+\|\s+1\s+\|\s+0.0\s+\|", section), section


def test_anytime_and_sweep_figures_are_written_and_linked_only_with_their_data(tmp_path):
    path = results_path(tmp_path)
    curve = {"epochs": [10, 20, 30, 40], "accuracy": [0.2, 0.6, 1.0, 1.0]}
    for backend in ("keras", "torch"):
        for units in (8, 32):
            for seed in range(3):
                record = make_record(backend=backend, seed=seed, accuracy_curve=curve,
                                     command="python -m harness sweep --grid units=8,32",
                                     options={"encoding": "zero_based", "data_seed": 7, "units": units})
                record["spec"].update(units=32, learning_rate=0.001, epochs=40)
                predicted = "".join(p["expected"] for p in record["patterns"])
                record["checkpoints"] = [
                    {"epoch": 20, "accuracy": 0.6, "predicted": "B" * len(predicted), "probes": {}},
                    {"epoch": 40, "accuracy": 1.0, "predicted": predicted, "probes": {}}]
                append_record(path, record)
    text = write_report(tmp_path)[0].read_text()
    for name in ("budget.png", "time_to_learn.png", "sweeps.png", "sweep_time_to_learn.png"):
        assert (tmp_path / name).stat().st_size > 1000 and f"({name})" in text
        height, width = mpimg.imread(tmp_path / name).shape[:2]
        assert width >= 800 and height >= 300
    plain = tmp_path / "plain"
    plain.mkdir()
    append_record(results_path(plain), make_record())
    write_report(plain)
    assert sorted(p.name for p in plain.glob("*.png")) == [
        "accuracy.png", "learning_curves.png", "letter_errors.png", "speed.png"]
