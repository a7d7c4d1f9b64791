"""Framework-free stand-ins for trained models and records, for fast unit tests."""

from __future__ import annotations

import copy

import numpy as np

from harness.records import ResultRecord
from scenarios import ALPHABET, get_scenario


class NextLetter:
    """Predicts the letter after the last input letter; optionally 'replays' like the tutorial.

    With `replay=True` and carried state it ignores the input and emits the alphabet from
    B onwards after every reset, as the tutorial's stateful model does from a cold start.
    """

    def __init__(self, n_classes: int = 26, offset: int = 0, replay: bool = False) -> None:
        self.n_classes, self.offset, self.replay, self.t = n_classes, offset, replay, 0

    def _one_hot(self, class_id: int) -> np.ndarray:
        out = np.zeros(self.n_classes)
        out[min(class_id, self.n_classes - 1)] = 1.0
        return out

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        last = np.rint(x[:, -1, -1] * 26).astype(int)
        return np.stack([self._one_hot(code + 1) for code in last])

    def reset_state(self) -> None:
        self.t = 0

    def step(self, x: np.ndarray) -> np.ndarray:
        self.t += 1
        if self.replay:
            return self._one_hot(self.t + self.offset)
        return self.predict_proba(x)[0]


def make_record(scenario: str = "one_char", backend: str = "torch", seed: int = 0,
                wrong: dict[str, str] | None = None, status: str = "ok", **fields) -> dict:
    """A schema-valid record; `wrong` maps target letters to the (wrong) letter predicted."""
    spec = get_scenario(scenario)
    wrong = wrong or {}
    length = spec.window
    patterns = [
        {"input": ALPHABET[i : i + length], "expected": ALPHABET[i + length],
         "predicted": wrong.get(ALPHABET[i + length], ALPHABET[i + length])}
        for i in range(26 - length)
    ]
    accuracy = sum(p["expected"] == p["predicted"] for p in patterns) / len(patterns)
    record = ResultRecord(
        run_id="test-run", scenario=scenario, options={"encoding": "zero_based", "data_seed": 7,
                                                        "epochs": None},
        spec_hash="abc", spec={"tutorial_accuracy": spec.tutorial_accuracy, "id": scenario},
        profile="full", epochs=spec.epochs, backend=backend, execution="idiomatic",
        framework_versions={backend: "1.0"}, runtime={"threads": 1}, seed=seed,
        seed_streams={"init": 1, "shuffle": 2, "probe": 3}, status=status,
        accuracy=accuracy if status == "ok" else None,
        patterns=patterns if status == "ok" else [],
        epoch_loss=[3.0, 2.0], epoch_accuracy=[0.1, 0.5], train_seconds=1.0,
        first_epoch_seconds=0.1, updates=100, us_per_update=10_000.0,
        machine={"cpu": "test cpu", "cores": 2, "python": "3.11"},
        command="python -m harness run", run_started="2026-01-01T00:00:00+00:00",
        timestamp="2026-01-01T00:01:00+00:00",
    ).to_dict()
    record.update(fields)
    return copy.deepcopy(record)
