"""Figures render from synthetic records, survive partial data and show the right numbers."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import matplotlib.image as mpimg
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from harness.reporting.plotting import write_plots
from harness.reporting.report import ORDER
from harness.reporting.sections import learning_curves, training_time
from harness.reporting.sections.letters import letter_error_matrix
from harness.reporting.speed_figure import FAST, IDIOMATIC
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
    no_timing = make_record(epoch_loss=[], us_per_update=None, first_epoch_seconds=None)  # no steady µs
    written = write_figures([no_timing], tmp_path)
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


# --- The speed figure: steady µs of both executions, runs told apart -------------------------------

INIT_KERAS = {"encoding": "zero_based", "data_seed": 7, "epochs": None, "init": "keras"}


def steady(backend: str, seed: int, seconds: float, run: str = "run-a", **fields) -> dict:
    """11 epochs × 10 updates, a 0.1 s first epoch: 1e6 (seconds − 0.1) / 100 µs per update after
    epoch 1, and a whole-job `us_per_update` that includes the first epoch (what must not be drawn)."""
    return make_record("one_char", backend, seed, epochs=11, updates=110, train_seconds=seconds,
                       first_epoch_seconds=0.1, us_per_update=1e6 * seconds / 110, run_id=run, **fields)


def drawn(records: list[dict], timings: list[dict] | None = None) -> Figure:
    fig = Figure(layout="constrained")
    FigureCanvasAgg(fig)
    assert training_time.draw(fig, ReportView(records, timings or []))
    fig.canvas.draw()
    return fig


def panel_bars(fig: Figure) -> dict[str, list[float]]:
    """Panel title → its bars' lengths (µs), top to bottom."""
    out = {}
    for ax in fig.axes:
        bars = sorted((p for p in ax.patches if isinstance(p, Rectangle)), key=lambda p: p.get_y())
        out[ax.get_title()] = [p.get_width() for p in bars]
    return out


def test_speed_figure_draws_idiomatic_and_fast_steady_us_side_by_side():
    records = ([steady("keras", s, t) for s, t in enumerate((1.1, 2.1, 3.1))]  # 10,000 / 20,000 / 30,000
               + [steady(b, s, t, execution="fast") for b, t in (("keras", 0.2), ("torch", 0.15))
                  for s in range(2)])  # 1,000 and 500 µs after epoch 1; whole job 1,818 and 1,364
    timings = [make_record("one_char", "torch", 0, kind="idiomatic_timing", run_id="run-a",
                           timing_sample={"warmup_epochs": 1, "block_epochs": 2,
                                          "blocks_us_per_update": [300.0, 100.0, 200.0]})]
    fig = drawn(records, timings)
    legend = fig.legends[0]
    assert {IDIOMATIC, FAST} <= {t.get_text() for t in legend.get_texts()}
    assert legend.get_title().get_text() == ""  # one run: no caveat
    bars = panel_bars(fig)
    assert bars[IDIOMATIC] == pytest.approx([20_000.0, 200.0])  # keras seeds' median, torch's sample
    assert bars[FAST] == pytest.approx([1_000.0, 500.0])  # steady, not the whole job's 1,818 / 1,364
    view = ReportView(records, timings)  # the figure draws exactly what the section's tables say
    assert sorted(bars[IDIOMATIC]) == pytest.approx(sorted(training_time.table(view)["µs/update"]))
    assert sorted(bars[FAST]) == pytest.approx(sorted(training_time.engine_table(view)["µs after epoch 1"]))
    labels = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert labels == ["20,000 µs", "200 µs", "1,000 µs", "500 µs"]


def test_speed_figure_marks_bars_from_another_run_and_says_so():
    records = ([steady(b, s, 0.2, execution="fast") for b in ("keras", "torch") for s in range(2)]
               + [steady("torch", s, 0.15, run="run-b", execution="fast", options=INIT_KERAS,
                         run_started="2026-01-01T01:00:00+00:00") for s in range(2)])
    fig = drawn(records)
    assert [ax.get_title() for ax in fig.axes] == [FAST]  # no idiomatic data: one panel
    assert [t.get_text() for t in fig.axes[0].texts] == ["1,000 µs", "1,000 µs", "500 µs †2"]
    assert "not comparable" in fig.legends[0].get_title().get_text()
    text = training_time.SECTION.render(ReportView(records))
    assert "Bars marked †2 were trained in another run" in text
    assert "run 1: `run-a`; run 2: `run-b`" in text
    same_run = training_time.SECTION.render(ReportView(records[:4]))
    assert "†" not in same_run and "The figure: median µs per weight update after epoch 1" in same_run


# --- Learning curves: one legend outside the panels, legible epoch ticks ---------------------------

def test_learning_curves_legend_covers_no_panel_and_epoch_ticks_do_not_collide():
    records = [make_record(scenario, backend, seed, epoch_loss=[3.0 * 0.9997**e for e in range(epochs)],
                           options={"encoding": "zero_based", "data_seed": 7, "epochs": epochs, **extra})
               for scenario, epochs in (("one_char", 4000), ("batch_state", 40_000), ("stateful", 2400))
               for backend, extra in (("keras", {}), ("torch", {}), ("torch", {"init": "keras"}))
               for seed in range(2)]
    fig = Figure(layout="constrained")
    FigureCanvasAgg(fig)
    assert learning_curves.draw(fig, ReportView(records))
    fig.canvas.draw()
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    box = fig.legends[0].get_window_extent()
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"keras", "torch", "torch[init=keras]"}
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent()), ax.get_title()
        ticks = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
        assert len(ticks) >= 3
        assert not any(a.overlaps(b) for a, b in itertools.pairwise(ticks)), ax.get_title()
