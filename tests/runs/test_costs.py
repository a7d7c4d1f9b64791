"""The planner's cost fit (harness/runs/costs.py) recovers the constants that made the records."""

from __future__ import annotations

import pytest

from harness.runs.costs import JOB_OVERHEAD_S, fit, main


def fast_job(run: str, scenario: str, seeds: int, updates: int, per_step_us: float, per_seed_us: float,
             first_extra: float, epochs: int = 10) -> list[dict]:
    steady = updates * (epochs - 1) / epochs * (per_step_us + seeds * per_seed_us) / 1e6
    first = steady / (epochs - 1) + first_extra
    return [{"status": "ok", "run_id": run, "scenario": scenario, "backend": "torch", "seed": s,
             "runtime": {"execution": "fast"}, "seeds_together": seeds, "epochs": epochs,
             "updates": updates, "batch_train_seconds": steady + first, "first_epoch_seconds": first}
            for s in range(seeds)]


def test_the_fit_separates_per_step_from_per_seed_costs_across_seed_counts():
    records = (fast_job("a", "one_char", 10, 12_500, 90.0, 10.0, 3.0)
               + fast_job("a", "variable_length", 10, 500_000, 90.0, 10.0, 5.0)
               + fast_job("b", "one_char", 100, 12_500, 90.0, 10.0, 4.0)
               + fast_job("b", "variable_length", 100, 500_000, 90.0, 10.0, 4.0))
    cost = fit(records)[("torch", "fast")]
    assert cost.per_step_us == pytest.approx(90.0, abs=0.5)
    assert cost.per_seed_update_us == pytest.approx(10.0, abs=0.05)
    assert cost.start == pytest.approx(4.0 + JOB_OVERHEAD_S, abs=0.1)  # the median first-epoch extra


def test_failed_seeds_are_left_out_and_one_seed_count_gives_the_whole_step_per_seed():
    records = fast_job("a", "one_char", 10, 12_500, 0.0, 20.0, 1.0)
    records.append({**records[0], "status": "error", "run_id": "z", "batch_train_seconds": 1e6})
    cost = fit(records)[("torch", "fast")]
    assert cost.per_step_us == 0.0 and cost.per_seed_update_us == pytest.approx(20.0, abs=0.05)


def test_the_command_needs_a_folder(capsys):
    assert main([]) == 2 and "usage" in capsys.readouterr().err
