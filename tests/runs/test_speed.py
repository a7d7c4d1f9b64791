"""`python -m harness speed`: both executions side by side."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from dataclasses import asdict

import pandas as pd
import pytest

from harness.runs import floor as floor_module
from harness.runs.floor import NEEDS_JAX, FloorError, Shape, measure_floor
from harness.runs.plan import RunRequest
from harness.runs.speed import add_floor, floor_shape
from scenarios import ResolvedScenario, ScenarioOptions, get_scenario
from tests.cli import harness

needs_jax = pytest.mark.skipif(importlib.util.find_spec("jax") is None,
                               reason="the floor program needs jax: the keras-jax extra "
                               "(pip install -e '.[keras-jax]')")
TINY = Shape(timesteps=2, features=1, units=8, classes=26, samples=50)


def test_speed_command_measures_both_executions_side_by_side(tmp_path):
    out = tmp_path / "speed.md"
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "2", "--epochs", "3",
                     "--out", str(out), "--no-floor")
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "fast speed-up ×" in text
    rows = [line for line in text.splitlines() if line.startswith("| one_char")]
    assert any("idiomatic" in r for r in rows) and any("| fast" in r for r in rows)


def test_speed_command_reports_a_run_whose_seeds_all_failed(tmp_path):
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "1", "--epochs", "2",
                     "--no-floor", env={"CRASH_MODE": "raise", "CRASH_SEED": "0"})
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| one_char")]
    assert len(rows) == 2 and all(line.rstrip(" |").endswith("1") for line in rows)  # failed = 1
    assert "fast speed-up ×" not in result.stdout


def test_speed_scaling_view_over_seed_counts_has_a_table_and_a_log_log_figure(tmp_path):
    out = tmp_path / "speed.md"
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "1", "3",
                     "--epochs", "3", "--out", str(out), "--no-floor")
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "against the seeds trained together" in text and "![µs per seed-update" in text
    header = next(line for line in text.splitlines() if "| 1 seeds |" in line.replace("   ", " "))
    assert "3 seeds" in header
    rows = [line for line in text.splitlines() if line.startswith("| one_char") and "| fast " in line]
    assert len(rows) >= 2  # fast measured at 1 and at 3 seeds together; idiomatic once
    assert (tmp_path / "speed.png").stat().st_size > 1000


@needs_jax
def test_floor_program_at_a_tiny_size_gives_a_positive_finite_cost_with_the_same_structure_both_ways():
    floor = measure_floor(TINY, seeds=2, epochs=1)
    assert math.isfinite(floor.us_per_seed_update) and floor.us_per_seed_update > 0
    assert (floor.seeds, floor.epochs, floor.updates_per_seed, floor.shape) == (2, 1, 50, TINY)
    # The module run directly, as a user would, reports the same fields for the same shape.
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in asdict(TINY).items()]
    direct = subprocess.run([sys.executable, "-m", "harness.runs.floor", "--seeds", "2", "--epochs", "1",
                             "--repeats", "1", *flags], capture_output=True, text=True, timeout=300)
    assert direct.returncode == 0, direct.stderr[-2000:]
    raw = json.loads(direct.stdout.splitlines()[-1])
    assert set(raw) == set(asdict(floor)) and raw["shape"] == asdict(TINY) and raw["us_per_seed_update"] > 0


def test_without_jax_the_floor_says_which_extra_installs_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(floor_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "jax" else real(name, *a))
    assert floor_module.unavailable() == NEEDS_JAX and "'.[keras-jax]'" in NEEDS_JAX
    with pytest.raises(FloorError, match="keras-jax"):
        measure_floor(TINY, seeds=1, epochs=1)
    frame = pd.DataFrame([{"scenario": "one_char", "seeds": 1, "µs after epoch 1": 5.0}])
    same, notes = add_floor(frame, RunRequest(scenarios=("one_char",), backends=("crash",), seeds=(0,)))
    assert "× floor" not in same.columns and notes == [f"No floor: {NEEDS_JAX}."]


def test_floor_shape_is_the_scenarios_own_and_says_where_the_protocol_differs():
    def shape(scenario_id, **options):
        return floor_shape(ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(**options)))

    expected = Shape(timesteps=5, features=1, units=32, classes=26, samples=1000)
    assert shape("variable_length") == (expected, None)
    assert shape("variable_length", units=64, encoding="one_based")[0].units == 64
    assert shape("variable_length", encoding="one_based")[0].classes == 27
    assert shape("feature_window")[0].features == 3 and shape("timestep_window")[0].timesteps == 3
    none, why = shape("batch_state")
    assert none is None and "no floor" in why
    stateful, note = shape("stateful")
    assert stateful.units == 50 and "closest shape" in note


def _table(text: str) -> pd.DataFrame:
    """The first markdown table of `text`, as strings."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return pd.DataFrame(block[2:], columns=block[0])


@needs_jax
def test_speed_table_states_each_rows_steady_cost_as_a_multiple_of_the_floor(tmp_path):
    out = tmp_path / "speed.md"
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "2", "--epochs", "3",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    table = _table(text)
    assert {"floor µs", "× floor"} <= set(table.columns) and set(table["execution"]) == {"idiomatic", "fast"}
    steady, floor, ratio = (table[c].astype(float) for c in ("µs after epoch 1", "floor µs", "× floor"))
    assert (floor > 0).all()
    assert ((ratio - steady / floor).abs() <= 0.02 * ratio).all()  # printed to 3 significant figures
    assert "one_char, 2 seeds: floor" in text and "`idiomatic`" in text and "`fast`" in text


def test_no_floor_leaves_the_floor_out(tmp_path):
    result = harness("speed", "--backend", "crash", "--scenario", "one_char", "--seeds", "1", "--epochs", "2",
                     "--no-floor")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not any(word in result.stdout for word in ("× floor", "floor µs", "No floor"))


def test_speed_jobs_take_torchs_compiled_path_unless_the_user_chose_one(monkeypatch):
    """A speed job is seconds of work, which torch's per-job rule would run eagerly: the command
    measures the path a tutorial-length run takes, and leaves the environment as it found it."""
    import os

    from backends.pytorch.paths import PATH_ENV
    from harness.runs.speed import _steady_paths

    monkeypatch.delenv(PATH_ENV, raising=False)
    with _steady_paths():
        assert os.environ[PATH_ENV] == "compiled"
    assert PATH_ENV not in os.environ
    monkeypatch.setenv(PATH_ENV, "eager")
    with _steady_paths():
        assert os.environ[PATH_ENV] == "eager"
    assert os.environ[PATH_ENV] == "eager"
