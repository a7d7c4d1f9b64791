"""The contract between the harness and one framework.

The harness decides everything about the protocol (data, seeds, per-epoch sample
order, epochs); a backend only builds the model and runs the updates it is told
to run, then hands back a `Predictor` so evaluation and probes stay framework-free.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from scenarios import AlphabetData, ResolvedScenario

ProgressFn = Callable[[int], None]  # called with the number of updates just done


DEVICES: tuple[str, ...] = ("cpu", "cuda")


@dataclass(frozen=True)
class RuntimeConfig:
    """Process-wide knobs, applied once per worker before training."""

    threads: int = 1
    deterministic: bool = True
    execution: str = "idiomatic"
    device: str = "cpu"  # "cpu" or "cuda": where model and data live; timing syncs it


def check_config(backend: str, config: RuntimeConfig, executions: tuple[str, ...]) -> None:
    """Refuse an execution or device the backend does not implement, naming the valid ones,
    so nothing runs silently mislabelled."""
    for what, value, choices in (("execution", config.execution, executions),
                                 ("device", config.device, DEVICES)):
        if value not in choices:
            raise ValueError(f"{backend} backend: unsupported {what} {value!r}; "
                             f"valid choices: {', '.join(choices)}")


@dataclass(frozen=True)
class SeedPlan:
    """What the harness fixed for one training seed."""

    seed: int
    init_seed: int  # weight-initialisation stream (framework RNG seed)
    orders: np.ndarray  # (epochs, n_samples) sample order of every epoch


@dataclass
class SeedTraining:
    """What a backend hands back for one seed: the trained model and its training log."""

    seed: int
    predictor: Predictor
    epoch_loss: list[float]
    epoch_accuracy: list[float]
    train_seconds: float  # the training loop only
    first_epoch_seconds: float  # includes tracing / compilation
    updates: int  # optimizer steps
    extra: dict = field(default_factory=dict)
    seeds_together: int = 1  # seeds trained in one batched program with this one
    batch_train_seconds: float | None = None  # wall time of that whole batch (None: trained alone)


class Predictor(Protocol):
    """A trained model, seen through the only operations evaluation needs."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities (n, classes) for a batch, from a zero state."""

    def reset_state(self) -> None:
        """Stateful models: zero the carried state. Stateless: no-op."""

    def step(self, x: np.ndarray) -> np.ndarray:
        """Stateful models: one sample (1, T, F) with state carried; returns (classes,)."""

    def weights(self) -> dict[str, np.ndarray]:
        """Trained parameters as numpy arrays, in the backend's native names and layout."""


class Backend(abc.ABC):
    """One framework. Subclasses import their framework only inside methods."""

    name: str = ""

    @abc.abstractmethod
    def setup(self, config: RuntimeConfig) -> dict:
        """Apply threads and determinism before any model exists; return the knobs set."""

    @abc.abstractmethod
    def versions(self) -> dict[str, str]:
        """Framework versions, for the record."""

    @abc.abstractmethod
    def train(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
    ) -> Iterator[SeedTraining]:
        """Train one independent model per plan, yielding each as soon as it is done."""
