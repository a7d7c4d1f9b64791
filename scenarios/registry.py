"""The six tutorial scenarios, registered once by id."""

from __future__ import annotations

from scenarios.spec import ScenarioSpec

_SCENARIOS: tuple[ScenarioSpec, ...] = (
    ScenarioSpec(
        id="one_char",
        title="Naive LSTM, one char to one char",
        section="Naive LSTM for Learning One-Char to One-Char Mapping",
        data="window", timesteps=1, features=1, window=1,
        units=32, batch_size=1, epochs=500, shuffle=True, stateful=False,
        tutorial_accuracy=84.00, notebook_accuracy=80.00,
    ),
    ScenarioSpec(
        id="feature_window",
        title="Naive LSTM, three-char window as features",
        section="Naive LSTM for a Three-Char Feature Window to One-Char Mapping",
        data="window", timesteps=1, features=3, window=3,
        units=32, batch_size=1, epochs=500, shuffle=True, stateful=False,
        tutorial_accuracy=86.96, notebook_accuracy=78.26,
    ),
    ScenarioSpec(
        id="timestep_window",
        title="Naive LSTM, three-char window as time steps",
        section="Naive LSTM for a Three-Char Time Step Window to One-Char Mapping",
        data="window", timesteps=3, features=1, window=3,
        units=32, batch_size=1, epochs=500, shuffle=True, stateful=False,
        tutorial_accuracy=100.00, notebook_accuracy=95.65,
    ),
    ScenarioSpec(
        id="batch_state",
        title="LSTM state within a batch",
        section="LSTM State Within A Batch",
        data="window", timesteps=1, features=1, window=1,
        units=16, batch_size=None, epochs=5000, shuffle=False, stateful=False,
        tutorial_accuracy=100.00, probes=("random_patterns",),
    ),
    ScenarioSpec(
        id="stateful",
        title="Stateful LSTM, one char to one char",
        section="Stateful LSTM for a One-Char to One-Char Mapping",
        data="window", timesteps=1, features=1, window=1,
        units=50, batch_size=1, epochs=300, shuffle=False, stateful=True,
        tutorial_accuracy=100.00,
        probes=("generate_from_A", "cold_start_K", "reset_each_sample", "state_carried"),
    ),
    ScenarioSpec(
        id="variable_length",
        title="Variable-length input to one char",
        section="LSTM with Variable-Length Input to One-Char Output",
        data="variable_length", timesteps=5, features=1, n_samples=1000, max_len=5,
        units=32, batch_size=1, epochs=500, shuffle=True, stateful=False,
        tutorial_accuracy=98.90, probes=("random_patterns",),
    ),
)

SCENARIOS: dict[str, ScenarioSpec] = {s.id: s for s in _SCENARIOS}


class UnknownScenarioError(KeyError):
    """Raised for a scenario id that is not registered; the message lists the valid ids."""

    def __str__(self) -> str:
        return str(self.args[0])


def scenario_ids() -> list[str]:
    return list(SCENARIOS)


def get_scenario(scenario_id: str) -> ScenarioSpec:
    try:
        return SCENARIOS[scenario_id]
    except KeyError:
        valid = ", ".join(SCENARIOS)
        raise UnknownScenarioError(
            f"unknown scenario {scenario_id!r}; valid choices: {valid}"
        ) from None
