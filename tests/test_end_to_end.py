"""The whole path through the CLI, per backend: workers → records → report.

Real training at small budgets, plus the tutorial's full epochs on `timestep_window`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.records import validate_record
from scenarios import scenario_ids
from tests.conftest import backend_param

# An install with one framework (.[torch] or .[keras]) runs its half and skips the other.
BACKENDS = [backend_param(name) for name in ("keras", "torch")]


def harness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          timeout=900)


def all_records_of(out: Path) -> list[dict]:
    lines = (out / "results.jsonl").read_text().splitlines()
    return [validate_record(json.loads(line)) for line in lines]


def records_of(out: Path) -> list[dict]:
    """The seed records (the timing samples a fast run takes first are records of their own kind)."""
    return [r for r in all_records_of(out) if r["kind"] == "seed"]


@pytest.fixture(scope="module", params=BACKENDS)
def small_run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"small-{request.param}")
    result = harness("run", "--all", "--backend", request.param, "--epochs", "2", "--seed", "0",
                     "--workers", "2", "--idiomatic-timing", "--out", str(out))  # a run of seconds: asked
    assert result.returncode == 0, result.stderr[-3000:]
    return request.param, out


def test_every_scenario_gives_a_complete_record(small_run):
    backend, out = small_run
    records = records_of(out)
    assert sorted(r["scenario"] for r in records) == sorted(scenario_ids())
    for r in records:
        assert r["status"] == "ok" and r["backend"] == backend and r["profile"] == "custom"
        assert r["epochs"] == 2 and len(r["epoch_loss"]) == 2 and 0.0 <= r["accuracy"] <= 1.0
        assert r["updates"] == 2 * (1 if r["scenario"] == "batch_state" else len(r["patterns"]))
        assert r["train_seconds"] > 0 and r["first_epoch_seconds"] <= r["train_seconds"]
        assert r["runtime"]["threads"] == 1 and r["runtime"]["deterministic"] is True
        assert all(r["framework_versions"].values())
        assert set(r["seed_streams"]) == {"init", "shuffle", "probe"}
        assert r["command"].startswith("python -m harness run --all")
    by_id = {r["scenario"]: r for r in records}
    assert len(by_id["variable_length"]["patterns"]) == 1000
    assert set(by_id["stateful"]["probes"]) == {"generate_from_A", "cold_start_K", "reset_each_sample",
                                                "state_carried"}
    assert by_id["stateful"]["probes"]["state_carried"]["carried"] is True  # the framework keeps state
    assert set(by_id["batch_state"]["probes"]) == {"random_patterns"}


def test_the_idiomatic_timing_sample_times_every_scenario_in_blocks_of_epochs(small_run):
    backend, out = small_run
    samples = [r for r in all_records_of(out) if r["kind"] == "idiomatic_timing"]
    assert sorted(r["scenario"] for r in samples) == sorted(scenario_ids())
    for r in samples:
        assert r["status"] == "ok" and r["backend"] == backend and r["execution"] == "idiomatic"
        blocks = r["timing_sample"]["blocks_us_per_update"]
        assert len(blocks) == 3 and all(us > 0 for us in blocks)  # one lap per epoch: three real blocks
        assert min(blocks) <= r["us_per_update"] <= max(blocks)
        assert r["epochs"] == 1 + 3 * r["timing_sample"]["block_epochs"] and not r["patterns"]


def test_report_covers_every_scenario(small_run):
    _, out = small_run
    text = (out / "report.md").read_text()
    for heading in ("## Run", "## Accuracy", "## Training time", "## Per-letter errors", "## Probes"):
        assert heading in text
    for sid in scenario_ids():
        assert f"| {sid}" in text
    assert (out / "logs").is_dir()


def test_same_seed_same_predictions(small_run):
    backend, out = small_run
    again = out.parent / f"{out.name}-again"
    result = harness("run", "--scenario", "one_char", "stateful", "variable_length", "--backend", backend,
                     "--epochs", "2", "--seed", "0", "--workers", "1", "--no-idiomatic-timing",
                     "--out", str(again))
    assert result.returncode == 0, result.stderr[-3000:]
    first = {r["scenario"]: r for r in records_of(out)}
    for r in records_of(again):
        assert r["patterns"] == first[r["scenario"]]["patterns"]
        assert r["epoch_loss"] == first[r["scenario"]]["epoch_loss"]
        assert r["probes"] == first[r["scenario"]]["probes"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_tutorial_epochs_timestep_window_learns_the_mapping(backend, tmp_path):
    """The tutorial's claim at its full 500 epochs, on two seeds."""
    result = harness("run", "--scenario", "timestep_window", "--backend", backend, "--seeds", "2",
                     "--workers", "2", "--no-idiomatic-timing", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    records = records_of(tmp_path)
    assert [r["profile"] for r in records] == ["full", "full"]
    assert all(r["epochs"] == 500 for r in records)
    mean = sum(r["accuracy"] for r in records) / len(records)
    assert mean >= 0.95, [r["accuracy"] for r in records]


@pytest.mark.parametrize("backend", BACKENDS)
def test_stateful_state_is_carried_within_an_epoch(backend, tmp_path):
    """A trained stateful model predicts differently with carried state than with resets."""
    result = harness("run", "--scenario", "stateful", "--backend", backend, "--epochs", "60",
                     "--seed", "0", "--no-idiomatic-timing", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    (record,) = records_of(tmp_path)
    carried = "".join(p["predicted"] for p in record["patterns"])
    reset = record["probes"]["reset_each_sample"]["predicted"]
    assert carried != reset
    assert record["accuracy"] > record["probes"]["reset_each_sample"]["accuracy"]
