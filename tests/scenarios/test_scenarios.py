"""Data builders and registry: the tutorial's arrays, exactly."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from scenarios import (
    ALPHABET,
    SCENARIOS,
    ResolvedScenario,
    ScenarioOptions,
    UnknownScenarioError,
    build_data,
    get_scenario,
    scenario_ids,
)


def data_for(scenario_id: str, **options):
    return build_data(ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(**options)))


def test_registry_has_the_six_tutorial_tasks_in_order():
    assert scenario_ids() == [
        "one_char", "feature_window", "timestep_window", "batch_state", "stateful", "variable_length",
    ]
    assert SCENARIOS["batch_state"].epochs == 5000 and SCENARIOS["stateful"].units == 50


def test_unknown_scenario_names_the_valid_choices():
    with pytest.raises(UnknownScenarioError, match="valid choices: one_char, feature_window"):
        get_scenario("two_char")


@pytest.mark.parametrize(
    ("scenario_id", "shape"),
    [
        ("one_char", (25, 1, 1)),
        ("feature_window", (23, 1, 3)),
        ("timestep_window", (23, 3, 1)),
        ("batch_state", (25, 1, 1)),
        ("stateful", (25, 1, 1)),
        ("variable_length", (1000, 5, 1)),
    ],
)
def test_shapes(scenario_id, shape):
    data = data_for(scenario_id)
    assert data.x.shape == shape and data.x.dtype == np.float32
    assert data.y.shape == (shape[0],) and data.n_classes == 26


def test_window_pairs_follow_the_alphabet():
    data = data_for("timestep_window")
    assert data.inputs[0] == "ABC" and data.targets[0] == "D"
    assert data.inputs[-1] == "WXY" and data.targets[-1] == "Z"
    np.testing.assert_allclose(data.x[0, :, 0], np.array([0, 1, 2]) / 26)
    assert data.y[0] == 3
    features = data_for("feature_window")
    np.testing.assert_allclose(features.x[1, 0, :], np.array([1, 2, 3]) / 26)


def test_one_based_encoding_is_the_seed_notebooks():
    data = data_for("one_char", encoding="one_based")
    assert data.n_classes == 27
    assert data.y[0] == 2  # 'B' is 2 when 'A' is 1
    np.testing.assert_allclose(data.x[0, 0, 0], 1 / 26)
    assert data.one_hot().shape == (25, 27)
    assert data.letter(0) == "?" and data.letter(1) == "A"


def test_variable_length_is_prepadded_and_consistent():
    data = data_for("variable_length")
    for row in range(50):
        letters = data.inputs[row]
        assert 1 <= len(letters) <= 5
        assert ALPHABET.index(data.targets[row]) == ALPHABET.index(letters[-1]) + 1
        assert letters in ALPHABET  # a contiguous run of the alphabet
        codes = np.rint(data.x[row, :, 0] * 26).astype(int)
        expected = [0] * (5 - len(letters)) + [ALPHABET.index(c) for c in letters]
        assert codes.tolist() == expected
    assert max(ALPHABET.index(t) for t in data.targets) <= 25


def test_variable_length_is_reproducible_from_the_data_seed():
    first, again = data_for("variable_length"), data_for("variable_length")
    other = data_for("variable_length", data_seed=8)
    assert first.inputs == again.inputs and np.array_equal(first.x, again.x)
    assert first.inputs != other.inputs


def test_tutorial_draw_uses_numpy_randint_bounds():
    rng = np.random.RandomState(7)
    start = rng.randint(24)
    end = rng.randint(start, min(start + 5, 25))
    assert data_for("variable_length").inputs[0] == ALPHABET[start : end + 1]


def test_encode_matches_the_training_rows():
    data = data_for("variable_length")
    np.testing.assert_allclose(data.encode(data.inputs[3]), data.x[3:4])


@pytest.mark.parametrize("encoding", ["zero_based", "one_based"])
@pytest.mark.parametrize("scenario_id", scenario_ids())
def test_protocol_arithmetic_matches_the_data(scenario_id, encoding):
    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(encoding=encoding, epochs=3))
    n = build_data(scenario).n_samples
    assert scenario.n_samples == n
    assert scenario.batch_size == (scenario.spec.batch_size or n)
    assert scenario.orders_shape == (3, n)
    assert scenario.updates_per_seed == 3 * scenario.steps_per_epoch


@pytest.mark.parametrize(
    ("scenario_id", "batch_size", "steps"),
    [("one_char", 1, 25), ("batch_state", None, 1), ("variable_length", 1, 1000),
     ("one_char", 7, 4), ("one_char", 25, 1), ("feature_window", 10, 3)],  # 25 = 7+7+7+4; 23 = 10+10+3
)
def test_steps_per_epoch_count_a_short_last_batch(scenario_id, batch_size, steps):
    spec = replace(get_scenario(scenario_id), batch_size=batch_size)
    scenario = ResolvedScenario(spec, ScenarioOptions(epochs=2))
    assert scenario.steps_per_epoch == steps
    assert scenario.updates_per_seed == 2 * steps


def test_spec_hash_changes_with_options():
    spec = get_scenario("one_char")
    base = ResolvedScenario(spec).spec_hash()
    assert base == ResolvedScenario(spec).spec_hash()
    assert base != ResolvedScenario(spec, ScenarioOptions(encoding="one_based")).spec_hash()


def test_scenarios_and_harness_import_no_framework():
    code = (
        "import sys, scenarios, backends, harness.cli, harness.reporting.report, harness.runs.scheduler;"
        "bad = [m for m in ('torch', 'tensorflow', 'keras', 'jax', 'ray') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
