"""Framework-free evaluation: per-pattern predictions and the tutorial's probes.

Everything here talks to a trained model only through `Predictor`, so the same
code scores every backend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from backends.base import Predictor
from scenarios import ALPHABET, AlphabetData, ScenarioSpec

RANDOM_PATTERNS = 20
COLD_START_STEPS = 5


@dataclass
class Evaluation:
    accuracy: float
    patterns: list[dict[str, str]]
    probes: dict[str, dict] = field(default_factory=dict)


def _code_input(class_id: int) -> np.ndarray:
    """Feed a predicted class back in as the next one-letter input."""
    return np.full((1, 1, 1), class_id / len(ALPHABET), dtype=np.float32)


def _feed_back(data: AlphabetData, predictor: Predictor, first: str, steps: int) -> str:
    """Reset, feed `first`, then feed each prediction back; returns the predicted letters."""
    predictor.reset_state()
    x = data.encode(first)
    letters = []
    for _ in range(steps):
        class_id = int(np.argmax(predictor.step(x)))
        letters.append(data.letter(class_id))
        x = _code_input(class_id)
    return "".join(letters)


def probe_generate_from_a(data: AlphabetData, predictor: Predictor, rng: np.random.Generator) -> dict:
    generated = _feed_back(data, predictor, "A", len(ALPHABET) - 1)
    expected = ALPHABET[1:]
    correct = sum(g == e for g, e in zip(generated, expected, strict=True))
    return {"generated": generated, "share_correct": correct / len(expected)}


def probe_cold_start_k(data: AlphabetData, predictor: Predictor, rng: np.random.Generator) -> dict:
    letters = _feed_back(data, predictor, "K", COLD_START_STEPS)
    return {"letters": letters, "first_is_L": letters[0] == "L", "first_is_B": letters[0] == "B"}


def probe_random_patterns(
    data: AlphabetData, predictor: Predictor, rng: np.random.Generator
) -> dict:
    indices = rng.integers(0, data.n_samples, size=RANDOM_PATTERNS)
    hits = [int(np.argmax(predictor.predict_proba(data.x[i : i + 1])[0])) == data.y[i] for i in indices]
    return {"indices": [int(i) for i in indices], "share_correct": float(np.mean(hits))}


def probe_reset_each_sample(
    data: AlphabetData, predictor: Predictor, rng: np.random.Generator
) -> dict:
    """Stateful models scored with a zero state before every sample: no carried context."""
    predicted = np.argmax(predictor.predict_proba(data.x), axis=1)
    return {
        "accuracy": float(np.mean(predicted == data.y)),
        "predicted": "".join(data.letter(c) for c in predicted),
    }


def probe_state_carried(data: AlphabetData, predictor: Predictor, rng: np.random.Generator) -> dict:
    """Does the framework carry the state at all? From a reset, the same input fed twice must give
    two different outputs when it does. A framework that drops the state between calls trains a
    stateful model as if stateless, which its accuracy alone would not reveal."""
    predictor.reset_state()
    first, second = predictor.step(data.x[:1]), predictor.step(data.x[:1])
    predictor.reset_state()
    return {"carried": not np.allclose(first, second, rtol=0, atol=1e-7),
            "max_change": float(np.max(np.abs(first - second)))}


PROBES: dict[str, Callable[[AlphabetData, Predictor, np.random.Generator], dict]] = {
    "generate_from_A": probe_generate_from_a,
    "cold_start_K": probe_cold_start_k,
    "random_patterns": probe_random_patterns,
    "reset_each_sample": probe_reset_each_sample,
    "state_carried": probe_state_carried,
}


def predict_training_set(spec: ScenarioSpec, data: AlphabetData, predictor: Predictor) -> np.ndarray:
    """Class probabilities for every training pattern; stateful models carry state in order."""
    if not spec.stateful:
        return predictor.predict_proba(data.x)
    predictor.reset_state()
    return np.stack([predictor.step(data.x[i : i + 1]) for i in range(data.n_samples)])


def evaluate(
    spec: ScenarioSpec, data: AlphabetData, predictor: Predictor, rng: np.random.Generator
) -> Evaluation:
    predicted = np.argmax(predict_training_set(spec, data, predictor), axis=1)
    return score(spec, data, predicted, predictor, rng)


def score(spec: ScenarioSpec, data: AlphabetData, predicted: np.ndarray, predictor: Predictor,
          rng: np.random.Generator) -> Evaluation:
    """The evaluation of a model whose training-set predictions (class ids) are already known,
    so a caller that predicts many seeds at once (anytime evaluation) scores them the same way."""
    patterns = [
        {"input": data.inputs[i], "expected": data.targets[i], "predicted": data.letter(c)}
        for i, c in enumerate(predicted)
    ]
    probes = {name: PROBES[name](data, predictor, rng) for name in spec.probes}
    return Evaluation(float(np.mean(predicted == data.y)), patterns, probes)
