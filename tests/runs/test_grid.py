"""Sweep grids: the Cartesian product of options, checked values, and resume of a half-done sweep."""

from __future__ import annotations

import pytest

from harness.records import record_key
from harness.runs.grid import GRID_KEYS, grid_points, parse_grid
from harness.runs.plan import RunRequest, plan_jobs
from harness.runs.worker import failed_record
from scenarios import ResolvedScenario, ScenarioOptions, get_scenario


def test_grid_is_the_product_in_the_order_given():
    grid = parse_grid(["units=8,16,32", "learning_rate=0.001,0.01"])
    assert grid == {"units": (8, 16, 32), "learning_rate": (0.001, 0.01)}
    points = grid_points(ScenarioOptions(epochs=40), grid)
    assert [(p.units, p.learning_rate) for p in points] == [
        (8, 0.001), (8, 0.01), (16, 0.001), (16, 0.01), (32, 0.001), (32, 0.01)]
    assert all(p.epochs == 40 for p in points)  # the base options stay
    assert parse_grid(["units=8,8,16"]) == {"units": (8, 16)}  # a repeated value runs once


def test_every_grid_key_is_an_option():
    fields = ScenarioOptions.__dataclass_fields__
    assert set(GRID_KEYS) <= set(fields)


@pytest.mark.parametrize(("items", "message"), [
    ([], "empty grid"),
    (["units"], "not KEY=V1,V2"),
    (["width=8"], "unknown grid key 'width'; valid keys: units, learning_rate"),
    (["units="], "empty value"),
    (["units=8,,16"], "empty value"),
    (["units=8", "units=16"], "given twice"),
    (["units=eight"], "'eight' is not an integer"),
    (["units=0"], "not an integer from 1"),
    (["learning_rate=0"], "0 < value ≤ 1"),
    (["adam_eps=1"], "0 < value < 1"),
    (["init=xavier"], "not one of native, keras, torch"),
    (["gate_activation=relu"], "not one of sigmoid, hard_sigmoid_2017"),
])
def test_bad_grids_name_what_is_valid(items, message):
    with pytest.raises(ValueError, match=message):
        parse_grid(items)


def test_grid_points_have_their_own_keys_labels_and_hashes():
    points = grid_points(ScenarioOptions(), parse_grid(["units=8,16", "learning_rate=0.01"]))
    spec = get_scenario("one_char")
    hashes = {ResolvedScenario(spec, p).spec_hash() for p in points}
    assert len(hashes) == 2
    assert ResolvedScenario(spec, points[0]).units == 8
    assert ResolvedScenario(spec, points[0]).learning_rate == 0.01
    assert points[0].as_dict()["units"] == 8
    # Options left at the tutorial's are not stored, so older records keep their keys and hashes.
    assert "units" not in ScenarioOptions().as_dict() and "learning_rate" not in ScenarioOptions().as_dict()


def test_a_half_done_sweep_resumes_only_the_missing_points():
    points = grid_points(ScenarioOptions(epochs=5), parse_grid(["units=8,16", "learning_rate=0.001,0.01"]))
    request = RunRequest(("one_char",), ("torch",), (0, 1), cores=1, execution="fast", grid=points)
    assert request.seed_runs == 8
    jobs = plan_jobs(request, "run")
    assert sorted((j.scenario.options.units, j.scenario.options.learning_rate) for j in jobs) == [
        (8, 0.001), (8, 0.01), (16, 0.001), (16, 0.01)]
    finished = [job for job in jobs if job.scenario.options.units == 8]  # half the grid is stored
    done = frozenset(record_key(failed_record(job, s, "x")) for job in finished for s in job.seeds)
    rest = plan_jobs(request, "run", done)
    assert sorted((j.scenario.options.units, j.scenario.options.learning_rate) for j in rest) == [
        (16, 0.001), (16, 0.01)]
    assert all(j.seeds == (0, 1) for j in rest)
