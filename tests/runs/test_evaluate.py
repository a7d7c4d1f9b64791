"""Evaluation and the tutorial's probes, on predictors whose answers are known."""

from __future__ import annotations

import numpy as np

from harness.runs.evaluate import evaluate
from scenarios import ResolvedScenario, ScenarioOptions, build_data, get_scenario
from tests.fakes import NextLetter


def setup(scenario_id: str, **options):
    scenario = ResolvedScenario(get_scenario(scenario_id), ScenarioOptions(**options))
    return scenario.spec, build_data(scenario)


def test_perfect_predictor_scores_100_and_lists_patterns():
    spec, data = setup("timestep_window")
    result = evaluate(spec, data, NextLetter(), np.random.default_rng(0))
    assert result.accuracy == 1.0
    assert result.patterns[0] == {"input": "ABC", "expected": "D", "predicted": "D"}


def test_stateful_probes_on_a_perfect_model():
    spec, data = setup("stateful")
    result = evaluate(spec, data, NextLetter(), np.random.default_rng(0))
    assert result.probes["generate_from_A"] == {"generated": "BCDEFGHIJKLMNOPQRSTUVWXYZ",
                                                "share_correct": 1.0}
    assert result.probes["cold_start_K"]["letters"] == "LMNOP"
    assert result.probes["cold_start_K"]["first_is_L"]


def test_cold_start_detects_the_tutorials_replay():
    spec, data = setup("stateful")
    replay = NextLetter(replay=True)
    result = evaluate(spec, data, replay, np.random.default_rng(0))
    assert result.accuracy == 1.0  # carried state in order: B, C, D, ...
    assert result.probes["cold_start_K"]["letters"] == "BCDEF"
    assert result.probes["cold_start_K"]["first_is_B"] and not result.probes["cold_start_K"]["first_is_L"]
    # reset_each_sample scores through predict_proba (zero state), which reads the input
    assert result.probes["reset_each_sample"]["accuracy"] == 1.0


def test_random_patterns_are_seeded():
    spec, data = setup("variable_length")
    a = evaluate(spec, data, NextLetter(), np.random.default_rng(1)).probes["random_patterns"]
    b = evaluate(spec, data, NextLetter(), np.random.default_rng(1)).probes["random_patterns"]
    c = evaluate(spec, data, NextLetter(), np.random.default_rng(2)).probes["random_patterns"]
    assert a == b and a["indices"] != c["indices"] and a["share_correct"] == 1.0
    assert len(a["indices"]) == 20


def test_one_based_probes_decode_letters():
    spec, data = setup("stateful", encoding="one_based")
    result = evaluate(spec, data, NextLetter(n_classes=27, offset=1), np.random.default_rng(0))
    assert result.accuracy == 1.0
    assert result.probes["generate_from_A"]["share_correct"] == 1.0


def test_state_carried_probe_tells_a_carrying_model_from_one_that_drops_its_state():
    spec, data = setup("stateful")
    carrying = evaluate(spec, data, NextLetter(replay=True), np.random.default_rng(0))
    assert carrying.probes["state_carried"]["carried"] is True  # B then C for the same input
    forgetting = evaluate(spec, data, NextLetter(), np.random.default_rng(0))  # reads only the input
    assert forgetting.probes["state_carried"] == {"carried": False, "max_change": 0.0}
