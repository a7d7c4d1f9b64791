"""The contract between the harness and one framework.

The harness decides everything about the protocol (data, seeds, per-epoch sample
order, epochs); a backend only builds the model and runs the updates it is told
to run, then hands back a `Predictor` so evaluation and probes stay framework-free.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from backends.timing import ProgressFn, Timing
from scenarios import AlphabetData, ResolvedScenario

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

    def checked_orders(self, scenario: ResolvedScenario) -> np.ndarray:
        """The orders as int64, refusing a shape other than the scenario's: a wrong plan must
        fail before training, never train another protocol."""
        orders = np.asarray(self.orders, dtype=np.int64)
        if orders.shape != scenario.orders_shape:
            raise ValueError(f"plan for seed {self.seed}: orders shape {orders.shape}, "
                             f"expected {scenario.orders_shape} (epochs, samples)")
        return orders


@dataclass
class SeedTraining:
    """What a backend hands back for one seed: the trained model and its training log."""

    seed: int
    predictor: Predictor
    epoch_loss: list[float]
    epoch_accuracy: list[float]
    timing: Timing  # of the loop that trained this seed (and the seeds trained with it)
    updates: int  # optimizer steps of this seed
    extra: dict = field(default_factory=dict)

    @property
    def train_seconds(self) -> float:
        """This seed's share of its training loop."""
        return self.timing.per_seed_seconds

    @property
    def first_epoch_seconds(self) -> float:
        return self.timing.first_epoch_seconds

    @property
    def seeds_together(self) -> int:
        return self.timing.seeds_together

    @property
    def batch_train_seconds(self) -> float | None:
        """The whole batch's loop when seeds trained together; None for a seed trained alone."""
        return self.timing.train_seconds if self.timing.seeds_together > 1 else None


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
