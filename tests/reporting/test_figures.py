"""Figures render from synthetic records, survive partial data and show the right numbers."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from harness.reporting.plotting import write_plots
from harness.reporting.report import ORDER
from harness.reporting.sections.letters import letter_error_matrix
from harness.reporting.view import ReportView
from tests.fakes import make_record

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYS = {"letter_errors", "accuracy", "learning_curves", "speed"}
PLOTS = [plot for section in ORDER for plot in section.plots]  # every figure the report writes


def write_figures(records: list[dict], out_dir: Path) -> dict[str, Path]:
    """Every figure of the report its data allows (no checkpoints, curves or grid here: those are skipped)."""
    return write_plots(ReportView(records), out_dir, PLOTS)


def _records() -> list[dict]:
    """2 backends × 3 seeds × 3 scenarios: distinct mistakes, speeds and losses of unequal length."""
    out = []
    for scenario, epochs in (("one_char", 50), ("feature_window", 40), ("stateful", 30)):
        for backend, speed in (("keras", 4000.0), ("torch", 900.0)):
            for seed in range(3):
                wrong = {"Z": "Y", "M": "L"} if seed == 0 else {"Q": "P"} if backend == "torch" else {}
                loss = [3.0 * math.exp(-(0.1 + 0.02 * seed) * e) for e in range(epochs - seed)]  # ragged
                out.append(make_record(scenario, backend, seed, wrong=wrong, epoch_loss=loss,
                                       us_per_update=speed * (1 + 0.1 * seed)))
    return out


def _assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    height, width = mpimg.imread(path).shape[:2]
    assert width >= 800 and height >= 300


def test_all_four_figures_are_written(tmp_path: Path) -> None:
    written = write_figures(_records(), tmp_path)
    assert set(written) == KEYS
    for key, path in written.items():
        assert path == tmp_path / f"{key}.png"
        _assert_png(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.png" for k in KEYS)


def test_one_backend_one_scenario_one_seed(tmp_path: Path) -> None:
    written = write_figures([make_record("timestep_window", "torch", 0, wrong={"K": "J"})], tmp_path)
    assert set(written) == KEYS
    for path in written.values():
        _assert_png(path)


def test_no_ok_records_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "figs"
    assert write_figures([make_record(status="failed", error="boom")], out) == {}
    assert write_figures([], out) == {}
    assert not out.exists() or not any(out.iterdir())


def test_missing_loss_and_speed_skip_only_those_figures(tmp_path: Path) -> None:
    written = write_figures([make_record(epoch_loss=[], us_per_update=None)], tmp_path)
    assert set(written) == {"letter_errors", "accuracy"}


def test_failed_records_are_ignored() -> None:
    records = [make_record("one_char", "torch", 0, wrong={"Z": "Y"}),
               make_record("one_char", "torch", 1, status="failed", error="boom"),
               make_record("one_char", "keras", 0, status="failed", error="boom")]
    matrices = letter_error_matrix(records)
    assert set(matrices) == {"torch"}
    assert matrices["torch"].loc["Z", "one_char"] == 100.0


def test_letter_error_matrix_numbers() -> None:
    records = [make_record("one_char", "torch", 0, wrong={"Z": "Y"}),
               make_record("one_char", "torch", 1),
               make_record("feature_window", "torch", 0, wrong={"D": "E"}),
               make_record("one_char", "keras", 0)]
    matrices = letter_error_matrix(records)
    torch, keras = matrices["torch"], matrices["keras"]
    assert list(torch.columns) == ["one_char", "feature_window"]  # registry order
    assert list(torch.index) == list("BCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert torch.loc["Z", "one_char"] == pytest.approx(50.0)
    assert torch.loc["B", "one_char"] == 0.0
    assert torch.loc["D", "feature_window"] == 100.0
    assert math.isnan(torch.loc["B", "feature_window"])  # window-3 scenarios never target B or C
    assert math.isnan(torch.loc["C", "feature_window"])
    assert keras.loc["Z", "one_char"] == 0.0
    assert keras["feature_window"].isna().all()  # keras never ran it: blank, not 0
    assert letter_error_matrix([]) == {}
