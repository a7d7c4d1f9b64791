"""The terminal's tables at 80 columns (a pipe's, a CI log's width) and wider: whole headers, no line
past the width, and the run summary's two µs columns measured alike (steady, after epoch 1).

Synthetic records only (`tests.fakes.make_record`): nothing here trains.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from rich.console import Console, RenderableType

from backends import backend_names, distribution_versions
from harness.reporting.sections.run import wall_time
from harness.runs.display import COLUMNS, summary_table
from harness.runs.plan import RunRequest
from harness.runs.study import started_now, study_parts
from harness.terminal import backend_table, scenario_table
from scenarios import SCENARIOS
from tests.fakes import make_record

SWEEP_OPTIONS = {"encoding": "zero_based", "data_seed": 7, "epochs": None, "units": 64,
                 "learning_rate": 0.003}


def render(renderable: RenderableType, width: int, soft_wrap: bool = False) -> str:
    """What a console of `width` columns prints (no colour), trailing blanks dropped."""
    console = Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=soft_wrap)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())  # type: ignore[attr-defined]


def fast_seed(scenario: str, backend: str, seed: int, **fields) -> dict:
    """A fast seed of 11 epochs × 10 updates: 0.4 s of the 0.5 s in epoch 1 (compilation), so steady
    µs/update = 1e6 · 0.1 / 100 = 1,000 while the compile-included `us_per_update` says 4,545."""
    return make_record(scenario, backend, seed, execution="fast", epochs=11, updates=110, train_seconds=0.5,
                       first_epoch_seconds=0.4, us_per_update=4545.0, **fields)


def sample(scenario: str, backend: str, blocks: list[float]) -> dict:
    return make_record(scenario, backend, 0, kind="idiomatic_timing",
                       timing_sample={"warmup_epochs": 1, "block_epochs": 2, "blocks_us_per_update": blocks})


RECORDS = [fast_seed(s, b, seed) for s in ("one_char", "timestep_window", "variable_length")
           for b in ("keras", "torch") for seed in range(3)]
TIMINGS = [sample(s, "keras", [2000.0]) for s in ("one_char", "timestep_window")] + \
          [sample(s, "torch", [300.0, 500.0]) for s in ("one_char", "timestep_window")]


def row(text: str, scenario: str, backend: str) -> list[str]:
    """The cells of `backend`'s line in `scenario`'s block, split on the column gaps."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() and line.split()[0] == scenario)
    line = next(line for line in lines[start + 1:] if line.strip().split()[0] == backend)
    return re.split(r"\s{2,}", line.strip())


@pytest.mark.parametrize("width", [80, 120])
def test_summary_headers_are_whole_and_no_line_passes_the_width(width):
    text = render(summary_table(RECORDS, 3725, TIMINGS), width)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    for header in ("scenario", "backend", "seeds", "mean %", "sd", "fast", "idiomatic", "µs/update"):
        assert header in text
    assert "took 1:02:05" in text
    assert "median per weight update after epoch 1 (no compilation" in " ".join(text.split())  # legend


def test_summary_shows_steady_us_for_both_executions_never_the_compile_included_figure():
    text = render(summary_table(RECORDS, 10, TIMINGS), 80)
    header = next(line for line in text.splitlines() if "idiomatic" in line)
    assert header.index("fast") < header.index("idiomatic")
    assert row(text, "one_char", "keras[fast]") == ["keras[fast]", "3", "100.0", "0.0", "1,000", "2,000"]
    assert row(text, "one_char", "torch[fast]")[-2:] == ["1,000", "400"]  # the samples' median
    assert row(text, "variable_length", "torch[fast]")[-2:] == ["1,000", "—"]  # not sampled
    assert "4,545" not in text  # fast's us_per_update, compilation included: never shown


def test_an_idiomatic_row_has_no_fast_figure_and_its_own_steady_seeds_as_idiomatic():
    records = [make_record("one_char", "torch", s, epochs=11, updates=110, train_seconds=0.6,
                           first_epoch_seconds=0.1) for s in range(2)]  # 1e6 · 0.5 / 100 = 5,000
    text = render(summary_table(records, 10, []), 80)
    assert row(text, "one_char", "torch")[-2:] == ["—", "5,000"]


def test_a_wider_console_shows_more_columns_and_the_tutorial_sits_under_the_means():
    narrow, wide = (render(summary_table(RECORDS, 10, TIMINGS), width) for width in (80, 120))
    assert max(map(len, wide.splitlines())) > max(map(len, narrow.splitlines()))
    wide_only = [header for header, only in COLUMNS if only]
    assert wide_only == ["epochs", "min %", "max %"]
    assert not any(h in narrow for h in wide_only) and all(h in wide for h in wide_only)
    assert row(wide, "one_char", "keras[fast]")[1:7] == ["3", "11", "100.0", "0.0", "100.0", "100.0"]
    for text in (narrow, wide):
        tutorial = next(line for line in text.splitlines() if line.startswith("one_char"))
        mean = next(line for line in text.splitlines() if line.startswith("  keras[fast]"))
        assert tutorial.split() == ["one_char", "tutorial", "84.0"]
        assert tutorial.index("84.0") + 4 == mean.index("100.0") + 5  # right-aligned in the mean column


def test_long_sweep_and_ablation_labels_still_fit_80_columns():
    records = [fast_seed("one_char", "torch", s, options=SWEEP_OPTIONS) for s in range(2)]
    ablation = {**SWEEP_OPTIONS, "init": "torch", "adam_eps": 1e-8}
    records += [fast_seed("one_char", "keras", 0, options=ablation)]
    text = render(summary_table(records, 10, []), 80)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80
    assert "µs/update" in text and "idiomatic" in text and "mean %" in text


def test_the_legend_wraps_even_on_the_runs_soft_wrapping_console():
    text = render(summary_table(RECORDS, 10, TIMINGS), 80, soft_wrap=True)
    assert max(len(line) for line in text.splitlines()) <= 80


def test_an_empty_folder_renders_the_headers_alone():
    text = render(summary_table([], 0, []), 80)
    assert "mean %" in text and "keras" not in text


def test_list_scenarios_wrap_no_title_past_two_lines_at_80_and_none_at_120():
    for width, most in ((80, 2), (120, 1)):
        text = render(scenario_table(), width)
        lines = text.splitlines()
        assert "…" not in text and max(map(len, lines)) <= width
        for header in ("id", "title", "tutorial %", "epochs", "updates"):
            assert header in lines[1]
        starts = [i for i, line in enumerate(lines) if line.split() and line.split()[0] in SCENARIOS]
        assert len(starts) == len(SCENARIOS)
        for i in starts:  # a title's further lines: those after its id's with the id column blank
            taken = 1 + next(n for n, line in enumerate([*lines[i + 1:], ""]) if not line.startswith("  "))
            assert taken <= most, lines[i:i + taken]
        assert "98.90" in text and "500,000" in text


@pytest.mark.parametrize("width", [80, 120])
def test_list_backends_never_cut_a_package_from_its_version(width):
    text = render(backend_table(), width)
    assert "…" not in text and max(map(len, text.splitlines())) <= width
    for header in ("name", "installed", "default", "GPU", "versions", "pip install -e"):
        assert header in text
    for name in backend_names():
        assert f"'.[{name}]'" in text or name in text
        for package, version in distribution_versions(name).items():
            if version:
                assert any(f"{package} {version}" in line for line in text.splitlines()), (package, text)


def test_list_backends_join_versions_on_one_line_where_they_fit():
    joined = [", ".join(f"{k} {v}" for k, v in distribution_versions(name).items() if v)
              for name in backend_names()]
    several = [j for j in joined if ", " in j]
    if not several:
        pytest.skip("no backend with two installed packages here")
    assert all(j in render(backend_table(), 200) for j in several)
    assert not any(j in render(backend_table(), 80) for j in several if len(j) > 30)


def test_each_study_part_stamped_with_its_own_start_has_its_own_wall_time():
    """The sweep reported 0:08:19 for a 3.5-minute run: every part carried the study's start."""
    base = RunRequest((), ("torch",), (), workers=1, cores=1, run_started="2026-01-01T00:00:00+00:00")
    first, *_, sweep = study_parts(base, budget_seeds=2, sweep_seeds=2, scale=2)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    budget = started_now(first, t0).request
    swept = started_now(sweep, t0 + dt.timedelta(minutes=5)).request
    assert budget.run_started == "2026-01-01T00:00:00+00:00"
    assert swept.run_started == "2026-01-01T00:05:00+00:00"
    assert sweep.request.run_started == base.run_started  # the part itself is left as it was
    assert started_now(first).request.run_started != base.run_started  # now, by default
    records = [make_record(run_id="budget", run_started=budget.run_started,
                           timestamp="2026-01-01T00:04:50+00:00"),
               make_record(run_id="sweep", run_started=swept.run_started,
                           timestamp="2026-01-01T00:08:19+00:00")]
    assert wall_time(records) == "budget: 0:04:50; sweep: 0:03:19"

