"""What is learned: scenario specs, the registry and the alphabet data. No framework imports."""

from scenarios.data import AlphabetData, build_data
from scenarios.registry import SCENARIOS, UnknownScenarioError, get_scenario, scenario_ids
from scenarios.spec import (
    ALPHABET,
    ENCODINGS,
    GATE_ACTIVATIONS,
    INITS,
    MAX_UNITS,
    NATIVE_ADAM_EPS,
    ResolvedScenario,
    ScenarioOptions,
    ScenarioSpec,
)

__all__ = [
    "ALPHABET",
    "ENCODINGS",
    "GATE_ACTIVATIONS",
    "INITS",
    "MAX_UNITS",
    "NATIVE_ADAM_EPS",
    "SCENARIOS",
    "AlphabetData",
    "ResolvedScenario",
    "ScenarioOptions",
    "ScenarioSpec",
    "UnknownScenarioError",
    "build_data",
    "get_scenario",
    "scenario_ids",
]
